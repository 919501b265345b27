"""What the agent knew and had done as of one event: tokens, tool calls, runs, files, agent state, messages.

:meth:`StatePanel.show_at` asks the journal for the state (``JournalAPI.state_at``) in a thread worker,
a short moment after the last call, so holding a key down through the timeline asks once, not per row; the
shown state stays until the new one arrives. Journal strings reach the screen only through
:mod:`lago_tui.safe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from ..journal import JournalBusy, JournalError, StateAt
from ..safe import safe_text
from ..summary import tokens as fmt_tokens
from .inspector import json_text

__all__ = ["StatePanel"]

DEBOUNCE = 0.08  # seconds after the last request before the state is asked for
BUSY_RETRY = 1.0
MESSAGES_SHOWN = 30
MESSAGE_CHARS = 600
FILES_SHOWN = 200


@dataclass(frozen=True)
class _Request:
    session_id: str
    branch_id: str
    seq: int
    branch_name: str


class StatePanel(VerticalScroll, can_focus=True):
    """The state at one event of a branch (``show_at``); scrolls like the inspector."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "state-panel--label", "state-panel--heading", "state-panel--key", "state-panel--string",
        "state-panel--number", "state-panel--literal", "state-panel--punct", "state-panel--warning",
        "state-panel--error", "state-panel--ok",
    }

    DEFAULT_CSS = """
    StatePanel {
        & > .state-panel--label { color: $text-muted; }
        & > .state-panel--heading { color: $text-accent; text-style: bold; }
        & > .state-panel--key { color: $text-primary; }
        & > .state-panel--string { color: $text-success; }
        & > .state-panel--number { color: $text-warning; }
        & > .state-panel--literal { color: $text-accent; text-style: italic; }
        & > .state-panel--punct { color: $text-muted; }
        & > .state-panel--warning { color: $text-warning; text-style: bold; }
        & > .state-panel--error { color: $text-error; text-style: bold; }
        & > .state-panel--ok { color: $text-success; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
    ]

    class Loaded(Message):
        """A state arrived and is shown."""

        def __init__(self, panel: StatePanel, state: StateAt) -> None:
            self.panel = panel
            self.state = state
            super().__init__()

        @property
        def control(self) -> StatePanel:
            return self.panel

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.state: StateAt | None = None
        self.pending: _Request | None = None  # asked for, not shown yet
        self._shown: _Request | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("No event selected.", "dim"), id="state-body")

    # ------------------------------------------------------------------ requests

    def show_at(self, session_id: str, branch_id: str, seq: int, *, branch_name: str | None = None) -> None:
        """Show the state of ``branch_id`` as of its event ``seq`` (0: its fork point), soon."""
        request = _Request(session_id, branch_id, seq, branch_name or branch_id)
        if request == self._shown and self.state is not None:
            self.pending = None
            return
        self.pending = request
        self._set_subtitle("…")
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self._start)

    def show_placeholder(self, text: str) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.pending = self._shown = None
        self.state = None
        self._set_subtitle("")
        self.query_one("#state-body", Static).update(Text(text, "dim"))

    def _start(self) -> None:
        request = self.pending
        if request is None:
            return
        journal = self.app.journal  # type: ignore[attr-defined]

        def work() -> None:
            try:
                state = journal.state_at(request.session_id, request.branch_id, request.seq)
            except JournalBusy:
                self.app.call_from_thread(self._busy, request)
                return
            except JournalError as err:
                self.app.call_from_thread(self._failed, request, str(err))
                return
            self.app.call_from_thread(self._arrived, request, state)

        self.run_worker(work, thread=True, group="state-panel", exclusive=True, exit_on_error=False)

    def _busy(self, request: _Request) -> None:
        if request == self.pending:
            self._set_subtitle("journal busy, retrying…")
            self._timer = self.set_timer(BUSY_RETRY, self._start)

    def _failed(self, request: _Request, message: str) -> None:
        if request != self.pending:
            return
        self.pending = None
        self._set_subtitle("")
        body = Text()
        body.append("Could not read the state: ", self.get_component_rich_style("state-panel--error"))
        body.append_text(safe_text(message, single_line=True, width=300))
        self.query_one("#state-body", Static).update(body)

    def _arrived(self, request: _Request, state: StateAt) -> None:
        if request != self.pending:
            return  # the cursor moved on meanwhile: a newer request is on its way
        self.pending = None
        self._shown = request
        self.state = state
        self._set_subtitle("")
        self.query_one("#state-body", Static).update(self.build(state, request.branch_name))
        self.post_message(self.Loaded(self, state))

    def _set_subtitle(self, text: str) -> None:
        self.border_subtitle = text

    # ------------------------------------------------------------------ rendering

    def _styles(self) -> dict[str, Style]:
        get = self.get_component_rich_style
        return {name: get(f"state-panel--{name}", partial=True) for name in
                ("label", "heading", "key", "string", "number", "literal", "punct", "warning", "error", "ok")}

    def build(self, state: StateAt, branch_name: str) -> Text:
        st = self._styles()
        label, heading = st["label"], st["heading"]
        out = Text()
        out.append(f"at seq {state.at_seq} of ", label)
        out.append_text(safe_text(branch_name, heading, single_line=True, width=60))
        out.append("\n")

        def line(name: str, *parts: tuple[str, Style | str]) -> None:
            out.append(f"{name:<10}", label)
            for text, style in parts:
                out.append(text, style)
            out.append("\n")

        line("tokens", (f"{fmt_tokens(state.tokens_in)} in", ""), (" / ", label),
             (f"{fmt_tokens(state.tokens_out)} out", ""))
        counts = state.tool_counts()
        status_style = {"pending": st["warning"], "ok": st["ok"], "error": st["error"], "failed": st["error"]}
        parts: list[tuple[str, Style | str]] = [(f"{len(state.tool_calls):,}", "")]
        for status, n in counts.items():
            if n:
                parts += [(" · ", label), (f"{n:,} {status}", status_style[status])]
        line("tools", *parts)
        runs: dict[str, int] = {}
        for run in state.runs:
            runs[run.status] = runs.get(run.status, 0) + 1
        run_style = {"running": st["warning"], "finished": st["ok"], "errored": st["error"]}
        parts = [(f"{len(state.runs):,}", "")]
        for status, n in runs.items():
            parts += [(" · ", label), (f"{n:,} {status}", run_style.get(status, ""))]
        line("runs", *parts)
        line("files", (f"{len(state.files):,}", ""), ("   messages ", label), (f"{len(state.messages):,}", ""))

        pending = [c for c in state.tool_calls if c.status == "pending"]
        if pending:
            out.append("\n── pending tool calls ──\n", heading)
            for call in pending[-20:]:
                out.append(f"  seq {call.seq:<6} ", label)
                out.append_text(safe_text(call.tool_name, st["warning"], single_line=True, width=30))
                out.append("  ")
                out.append_text(safe_text(call.call_id, label, single_line=True, width=40))
                out.append("\n")
        running = [r for r in state.runs if r.status == "running"]
        if running:
            out.append("\n── running ──\n", heading)
            for run in running[-10:]:
                out.append("  ")
                out.append_text(safe_text(run.run_id, single_line=True, width=60))
                out.append("\n")
        if state.files:
            out.append(f"\n── files ({len(state.files):,}) ──\n", heading)
            for path, entry in list(state.files.items())[:FILES_SHOWN]:
                out.append("  ")
                out.append_text(safe_text(path, st["key"], single_line=True, width=80))
                size = "" if entry.size_bytes is None else f"  {entry.size_bytes:,} B"
                out.append(size, label)
                if entry.blob_hash:
                    out.append("  ")
                    out.append_text(safe_text(entry.blob_hash, label, single_line=True, width=12))
                out.append("\n")
            if len(state.files) > FILES_SHOWN:
                out.append(f"  … {len(state.files) - FILES_SHOWN:,} more\n", label)
        if state.state not in ({}, None):
            out.append("\n── agent state ──\n", heading)
            out.append_text(json_text(state.state, st))
            out.append("\n")
        if state.messages:
            shown = state.messages[-MESSAGES_SHOWN:]
            total = len(state.messages)
            title = f"last {len(shown)} of {total:,} messages" if total > len(shown) else f"messages ({total:,})"
            out.append(f"\n── {title} ──\n", heading)
            for m in shown:
                out.append_text(safe_text(m.role, st["key"], single_line=True, width=20))
                out.append(f" · seq {m.seq}" + ("" if m.branch_id == state.branch_id else " (inherited)") + "\n",
                           label)
                content = m.content[:MESSAGE_CHARS]
                out.append_text(safe_text(content, max_chars=None))
                if len(m.content) > MESSAGE_CHARS:
                    out.append(f" … [{len(m.content) - MESSAGE_CHARS:,} more characters]", label)
                out.append("\n")
        return out
