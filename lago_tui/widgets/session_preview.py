"""A read-only preview of one session: its settings, branches and last events.

The session list shows it beside (wide terminals) or below (tall ones) the table. It loads
in a thread worker once the highlight has settled (debounced), drops results for a session
that is no longer the one asked for, and retries by itself while the journal is busy.
Every journal string goes through :mod:`lago_tui.safe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from ..journal import JournalError
from ..journal.errors import (
    JournalBusy,
    JournalCorrupt,
    JournalNotFound,
    JournalPermission,
    JournalTooNew,
    NotAJournal,
    NotFound,
)
from ..journal.views import BranchInfo, SessionDetail, TimelineEvent
from ..safe import one_line, safe_content
from ..summary import family, number, plural, relative, role_label, summarize, timestamp

__all__ = ["PreviewData", "SessionPreview", "render_preview"]

RECENT_EVENTS = 8
"""How many of the last events of the main branch the preview shows."""
_LINE = 240  # cells kept of any one line (the widget crops further to its width)
_DEBOUNCE = 0.1
_BUSY_RETRY = 1.0

_FAMILY_STYLE = {
    "message": "$text-primary",
    "tool": "$text-accent",
    "error": "$text-error",
    "branch": "$text-warning",
    "run": "$text-secondary",
    "session": "$text-success",
}
_FATAL = (NotAJournal, JournalCorrupt, JournalTooNew, JournalPermission)


@dataclass(frozen=True, slots=True)
class PreviewData:
    """What the worker loads for one session."""

    detail: SessionDetail
    recent: tuple[TimelineEvent, ...]
    events_on_main: int


def _label(text: str) -> Content:
    return Content.styled(f"{text:<9}", "$text-muted")


def _branch_lines(detail: SessionDetail) -> list[Content]:
    """Branches as a small tree: children under their parent, with fork points and merges."""
    children: dict[str | None, list[BranchInfo]] = {}
    ids = {b.branch_id for b in detail.branches}
    for branch in detail.branches:
        parent = branch.parent_branch_id if branch.parent_branch_id in ids else None
        if branch.branch_id == "main" or parent == branch.branch_id:
            parent = None
        children.setdefault(parent, []).append(branch)
    lines: list[Content] = []
    seen: set[str] = set()

    def walk(branch: BranchInfo, prefix: str, connector: str, depth: int) -> None:
        if branch.branch_id in seen or depth > 32:
            return
        seen.add(branch.branch_id)
        parts: list[Content | str | tuple[str, str]] = [
            (prefix + connector, "$text-muted"),
            safe_content(branch.name or branch.branch_id, "bold", single_line=True, width=60),
        ]
        if branch.parent_branch_id:
            parts.append((f"  fork @{branch.fork_point_seq}", "$text-warning"))
        parts.append((f"  {plural(branch.event_count, 'event')}", "$text-muted"))
        if branch.merges:
            parts.append(("  merged", "$text-success"))
        lines.append(Content.assemble(*parts))
        kids = children.get(branch.branch_id, [])
        child_prefix = prefix + ("   " if connector.startswith("└") else "│  " if connector else "")
        for position, child in enumerate(kids):
            last = position == len(kids) - 1
            walk(child, child_prefix, "└─ " if last else "├─ ", depth + 1)

    for root in children.get(None, []):
        walk(root, "", "", 0)
    for branch in detail.branches:  # anything a cycle or a missing parent left out
        if branch.branch_id not in seen:
            walk(branch, "", "?─ ", 0)
    return lines


def _event_line(event: TimelineEvent) -> Content:
    kind = family(event.kind, event.payload)
    label = one_line(role_label(event), 14)
    return Content.assemble(
        (f"{event.seq:>4} ", "$text-muted"),
        Content.styled(f"{label:<14} ", _FAMILY_STYLE.get(kind, "")),
        safe_content(summarize(event, limit=_LINE), single_line=True, width=_LINE),
    )


def render_preview(data: PreviewData, now_us: int) -> Content:
    """The preview text (pure: the same data and clock give the same content)."""
    summary = data.detail.summary
    totals = data.detail.totals
    lines: list[Content] = [
        safe_content(summary.name, "bold $accent", single_line=True, width=_LINE),
        Content.styled(summary.session_id, "$text-muted"),
        Content(""),
        Content.assemble(_label("model"), safe_content(summary.model or "-", single_line=True, width=_LINE)),
    ]
    if summary.params:
        for position, (key, value) in enumerate(sorted(summary.params.items())):
            lines.append(
                Content.assemble(
                    _label("params" if position == 0 else ""),
                    safe_content(key, "$text-secondary", single_line=True, width=40),
                    "=",
                    safe_content(value, single_line=True, width=_LINE),
                )
            )
    else:
        lines.append(Content.assemble(_label("params"), ("-", "$text-muted")))
    lines += [
        Content.assemble(_label("created"), timestamp(summary.created_at, zone=True)),
        Content.assemble(
            _label("active"),
            timestamp(summary.last_activity, zone=True),
            (f"  {relative(summary.last_activity, now_us)}", "$text-muted"),
        ),
        Content.assemble(
            _label("state"),
            ("closed", "$text-muted") if summary.closed else ("open", "bold $text-success"),
        ),
        Content.assemble(
            _label("totals"),
            f"{plural(totals.events, 'event')} · {plural(summary.tokens, 'token')} · "
            f"{plural(totals.tool_calls, 'tool call')}",
            (f" · {number(totals.failures)} failed", "$text-error") if totals.failures else "",
        ),
        Content(""),
        Content.styled(f"Branches ({len(data.detail.branches)})", "bold"),
        *_branch_lines(data.detail),
        Content(""),
        Content.styled(
            f"Last events on main ({number(min(len(data.recent), data.events_on_main))} of "
            f"{number(data.events_on_main)})",
            "bold",
        ),
    ]
    if data.recent:
        lines += [_event_line(event) for event in data.recent]
    else:
        lines.append(Content.styled("no events", "$text-muted"))
    return Content("\n").join(lines)


class SessionPreview(VerticalScroll):
    """The preview pane. Call :meth:`show_session` as the highlight moves; :meth:`reload` on change.

    It takes the focus (tab from the list) so that a preview taller than its pane can be read with the
    keys; the mouse wheel scrolls it too.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Scroll down", show=False),
        Binding("k", "scroll_up", "Scroll up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
        Binding("h", "scroll_left", "Scroll left", show=False),
        Binding("l", "scroll_right", "Scroll right", show=False),
    ]

    DEFAULT_CSS = """
    SessionPreview {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    SessionPreview > #preview-body {
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.session_id: str | None = None
        """The session shown (or being loaded)."""
        self.data: PreviewData | None = None
        self._timer: Timer | None = None
        self._retry: Timer | None = None
        self._loaded_id: str | None = None
        self._shown_now: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("no session selected", "$text-muted"), id="preview-body")

    @property
    def body(self) -> Static:
        return self.query_one("#preview-body", Static)

    # ------------------------------------------------------------------ API

    def show_session(self, session_id: str | None, *, force: bool = False) -> None:
        """Preview ``session_id`` once the highlight settles (``None`` clears the pane)."""
        if session_id == self.session_id and not force and (self._loaded_id == session_id or self._timer):
            return
        self.session_id = session_id
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if session_id is None:
            self.data = None
            self._loaded_id = None
            self.body.update(Content.styled("no session selected", "$text-muted"))
            return
        self._timer = self.set_timer(_DEBOUNCE, self._start_load)

    def reload(self) -> None:
        """Load the shown session again (the journal changed)."""
        if self.session_id is not None:
            self.show_session(self.session_id, force=True)

    def repaint(self, now_us: int | None = None) -> None:
        """Render the loaded data again (the clock moved on, or times are shown in another zone)."""
        if self.data is not None and self._loaded_id == self.session_id:
            now = self.app.clock() if now_us is None else now_us  # type: ignore[attr-defined]
            self._shown_now = now
            self.body.update(render_preview(self.data, now))

    def next_change_in(self, now_us: int) -> float:
        """Seconds until the shown relative time would read differently."""
        from ..summary import relative_changes_in

        if self.data is None:
            return float("inf")
        return relative_changes_in(self.data.detail.summary.last_activity, now_us)

    # ------------------------------------------------------------------ loading

    def _start_load(self) -> None:
        self._timer = None
        if self._retry is not None:
            self._retry.stop()
            self._retry = None
        if self.session_id is not None and self.is_attached:
            self._load(self.session_id)

    @work(thread=True, exclusive=True, group="session-preview", exit_on_error=False)
    def _load(self, session_id: str) -> None:
        journal = self.app.journal
        try:
            detail = journal.session(session_id)
            timeline = journal.timeline(detail.summary.session_id, "main", detail=detail)
            length = timeline.length
            recent = timeline.window(max(0, length - RECENT_EVENTS), RECENT_EVENTS)
            data: PreviewData | BaseException = PreviewData(detail, tuple(recent), length)
        except Exception as error:  # shown, never raised: the UI must not crash
            data = error
        self.app.call_from_thread(self._loaded, session_id, data)

    def _loaded(self, session_id: str, data: PreviewData | BaseException) -> None:
        if session_id != self.session_id or not self.is_attached:
            return  # stale: the highlight moved on meanwhile
        if isinstance(data, PreviewData):
            self.data = data
            self._loaded_id = session_id
            self._shown_now = self.app.clock()  # type: ignore[attr-defined]
            self.body.update(render_preview(data, self._shown_now))
            return
        self._loaded_id = None
        if isinstance(data, JournalBusy):
            note = getattr(data, "retry_note", None) or "The journal is busy (another process is writing); retrying…"
            self.body.update(Content.styled(note, "$text-warning"))
            if self._retry is None:
                self._retry = self.set_timer(_BUSY_RETRY, self._start_load)
        elif isinstance(data, NotFound):
            self.body.update(Content.styled("this session is no longer in the journal", "$text-muted"))
        elif isinstance(data, JournalNotFound):
            self.body.update(Content.styled("no journal yet", "$text-muted"))
        elif isinstance(data, _FATAL):
            self.body.update(Content.styled("cannot read the journal", "$text-error"))
            self.app.show_journal_error(data)  # type: ignore[attr-defined]
        else:
            what = "journal error" if isinstance(data, JournalError) else type(data).__name__
            self.body.update(
                Content.assemble(
                    (f"{what}: ", "$text-error"),
                    safe_content(str(data), single_line=True, width=_LINE),
                    ("\nctrl+r retries", "$text-muted"),
                )
            )
