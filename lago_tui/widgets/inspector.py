"""The event inspector: the payload first (message text, then highlighted JSON), the envelope after.

Everything is built as :class:`rich.text.Text` here, from journal strings passed through
:mod:`lago_tui.safe` (so no markup is ever parsed and control characters show as escapes).
Long text is cut (``INSPECT_CHARS``) with a hint; :class:`FullTextScreen` shows all of it,
rendering only the lines on screen (a 1 MB message stays instant).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from ..journal import TimelineEvent
from ..safe import safe_text, visible
from ..summary import duration, timestamp
from .footer import Footer  # Help docked right: never cut

__all__ = ["INSPECT_CHARS", "FullTextScreen", "Inspector", "TextPager", "full_text_of", "json_text", "wrap_words"]

INSPECT_CHARS = 4_000
"""Characters of message content shown in the inspector before the "show all" hint."""
JSON_STRING_CHARS = 600
"""Characters of each JSON string value shown in the inspector's payload view."""


def _iso(us: int) -> str:
    try:
        return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat(timespec="microseconds")
    except (OverflowError, OSError, ValueError):
        return "?"


def json_text(
    value: Any, styles: dict[str, Style], *, indent: int = 2, max_string: int | None = JSON_STRING_CHARS,
    max_items: int = 500,
) -> Text:
    """Pretty, highlighted JSON of untrusted data built directly as a Text (never parsed as markup)."""
    out = Text()
    key_style, str_style = styles.get("key", Style()), styles.get("string", Style())
    num_style, lit_style = styles.get("number", Style()), styles.get("literal", Style())
    punct = styles.get("punct", Style())

    def string(s: str, style: Style) -> None:
        cut = max_string is not None and len(s) > max_string
        shown = s[:max_string] if cut else s
        out.append_text(safe_text(json.dumps(shown, ensure_ascii=False), style, max_chars=None))
        if cut:
            out.append(f" … [{len(s) - len(shown):,} more characters]", "dim")

    def walk(v: Any, level: int) -> None:
        pad = " " * (indent * (level + 1))
        if isinstance(v, dict):
            if not v:
                out.append("{}", punct)
                return
            out.append("{\n", punct)
            items = list(v.items())
            for i, (k, item) in enumerate(items[:max_items]):
                out.append(pad)
                string(str(k), key_style)
                out.append(": ", punct)
                walk(item, level + 1)
                out.append(",\n" if i < len(items) - 1 else "\n", punct)
            if len(items) > max_items:
                out.append(f"{pad}… {len(items) - max_items} more keys\n", "dim")
            out.append(" " * (indent * level) + "}", punct)
        elif isinstance(v, list):
            if not v:
                out.append("[]", punct)
                return
            out.append("[\n", punct)
            for i, item in enumerate(v[:max_items]):
                out.append(pad)
                walk(item, level + 1)
                out.append(",\n" if i < len(v) - 1 else "\n", punct)
            if len(v) > max_items:
                out.append(f"{pad}… {len(v) - max_items} more items\n", "dim")
            out.append(" " * (indent * level) + "]", punct)
        elif isinstance(v, str):
            string(v, str_style)
        elif isinstance(v, bool) or v is None:
            out.append(json.dumps(v), lit_style)
        elif isinstance(v, (int, float)):
            out.append(json.dumps(v), num_style)
        else:
            string(str(v), str_style)

    walk(value, 0)
    return out


def message_text(ev: TimelineEvent) -> str | None:
    """The long free text of an event (message content, delta, error, final answer), if any."""
    p = ev.payload
    for key in ("content", "delta", "final_answer", "message", "error"):
        value = p.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def full_text_of(ev: TimelineEvent) -> str:
    """What the full view shows: the message text, else the whole pretty payload JSON."""
    text = message_text(ev)
    if text is not None:
        return text
    return json.dumps(ev.to_wire(), indent=2, ensure_ascii=False)


class Inspector(VerticalScroll, can_focus=True):
    """Details of one event. ``show_event(ev, note)``; ``note`` is plain trusted text (fork info)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "inspector--label",
        "inspector--key",
        "inspector--string",
        "inspector--number",
        "inspector--literal",
        "inspector--punct",
        "inspector--heading",
        "inspector--note",
    }

    DEFAULT_CSS = """
    Inspector {
        & > .inspector--label { color: $text-muted; }
        & > .inspector--key { color: $text-primary; }
        & > .inspector--string { color: $text-success; }
        & > .inspector--number { color: $text-warning; }
        & > .inspector--literal { color: $text-accent; text-style: italic; }
        & > .inspector--punct { color: $text-muted; }
        & > .inspector--heading { color: $text-accent; text-style: bold; }
        & > .inspector--note { color: $text-warning; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.event: TimelineEvent | None = None
        self.truncated = False
        self.branch_names: dict[str, str] = {}
        # Kept here, not queried: a screen may fill the inspector before its own children are mounted.
        self._body = Static(Text("No event selected.", "dim"), id="inspector-body")

    def compose(self) -> ComposeResult:
        yield self._body

    def _styles(self) -> dict[str, Style]:
        get = self.get_component_rich_style
        return {name: get(f"inspector--{name}", partial=True) for name in
                ("label", "key", "string", "number", "literal", "punct", "heading", "note")}

    def show_placeholder(self, text: str) -> None:
        self.event = None
        self.truncated = False
        self._body.update(Text(text, "dim"))

    def show_event(self, ev: TimelineEvent, note: str | None = None) -> None:
        self.event = ev
        body = self.build(ev, note)
        self._body.update(body)
        self.scroll_to(y=0, animate=False)

    def build(self, ev: TimelineEvent, note: str | None = None) -> Text:
        """The payload first (what the event says), then the envelope (where it sits)."""
        st = self._styles()
        label, heading = st["label"], st["heading"]
        branch = self.branch_names.get(ev.branch_id, ev.branch_id)
        out = Text()
        out.append_text(safe_text(ev.kind, heading, single_line=True, width=60))
        out.append(f"  seq {ev.seq}", label)
        out.append("  on ", label)
        out.append_text(safe_text(branch, single_line=True, width=40))
        if ev.inherited:
            out.append("  (inherited)", st["note"])
        out.append(f"  {timestamp(ev.ts)}", label)
        out.append("\n")
        if note:
            out.append_text(safe_text(note, st["note"], single_line=True, width=200))
            out.append("\n")
        if ev.outcome is not None:
            o = ev.outcome
            text = f"→ {o.status} in {duration(o.duration_ms)} ({o.kind})" + (f": {o.error}" if o.error else "")
            out.append_text(safe_text(text, st["note"] if o.kind == "ToolCallFailed" else "", single_line=True,
                                      width=300))
            out.append("\n")

        self.truncated = False
        content = message_text(ev)
        if content is not None:
            role = ev.payload.get("role")
            out.append(f"── {role if isinstance(role, str) and role.isidentifier() else 'text'} ──\n", heading)
            shown = content[:INSPECT_CHARS]
            out.append_text(safe_text(shown, max_chars=None))
            if len(content) > INSPECT_CHARS:
                self.truncated = True
                out.append(f"\n… [{len(content) - INSPECT_CHARS:,} more characters] press o/enter to show all",
                           st["note"])
            out.append("\n")
        out.append("── payload ──\n", heading)
        out.append_text(json_text(ev.payload, st))
        out.append("\n── envelope ──\n", heading)

        def field(name: str, value: Text | str | None) -> None:
            out.append(f"{name:<15}", label)
            if value is None:
                out.append("—", label)
            elif isinstance(value, Text):
                out.append_text(value)
            else:
                out.append_text(safe_text(value, single_line=True, width=200))
            out.append("\n")

        field("event_id", ev.event_id)
        field("session_id", ev.session_id)
        shown_branch = safe_text(branch, single_line=True, width=60)
        if branch != ev.branch_id:
            shown_branch.append("  ")
            shown_branch.append_text(safe_text(ev.branch_id, label, single_line=True, width=60))
        field("branch", shown_branch)
        field("seq", str(ev.seq))
        field("run_id", ev.run_id)
        field("parent_id", ev.parent_id)
        field("timestamp", Text(f"{ev.ts}  {_iso(ev.ts)}"))
        field("schema_version", str(ev.schema_version))
        metadata = ev.metadata
        out.append(f"{'metadata':<15}", label)
        out.append_text(json_text(metadata, st) if metadata else Text("{}", st["punct"]))
        return out


_ESCAPE_RE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def wrap_words(line: str, width: int) -> list[str]:
    """``line`` cut into pieces of at most ``width`` visible characters, between words where there is a
    space: the spaces stay at the end of their piece (where they show as nothing, even past the width),
    so joining the pieces gives the line back. A word longer than ``width`` is cut where it must be.
    Linear in the length (a 1 MB line is fine)."""
    pieces: list[str] = []
    start, n = 0, len(line)
    while n - start > width:
        end = start + width
        space = line.rfind(" ", start + 1, end + 1)
        if space == -1:
            cut = end
        else:
            cut = space + 1
            while cut < n and line[cut] == " ":
                cut += 1
        pieces.append(line[start:cut])
        start = cut
    if start < n or not pieces:
        pieces.append(line[start:])
    return pieces


class TextPager(ScrollView, can_focus=True):
    """Read-only, wrapped, virtual view of a (possibly huge) text: only visible lines are rendered."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "End", show=False),
    ]

    DEFAULT_CSS = """
    TextPager { height: 1fr; background: $surface; }
    """

    def __init__(self, text: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._source = visible(text)  # escapes for controls, bidi, zero-width...
        self._lines: list[str] = []
        self._wrapped_at = -1

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def _wrap(self, width: int) -> None:
        width = max(1, width)
        if width == self._wrapped_at:
            return
        self._wrapped_at = width
        lines: list[str] = []
        for line in self._source.split("\n"):
            line = line.replace("\t", "    ")
            if len(line) <= width:
                lines.append(line)
            else:
                lines.extend(wrap_words(line, width))
        self._lines = lines
        self.virtual_size = Size(width, len(lines))

    def on_resize(self) -> None:
        self._wrap(self.scrollable_content_region.width)
        self.refresh()

    def on_mount(self) -> None:
        self._wrap(self.scrollable_content_region.width or 80)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        base = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, base)
        line = self._lines[index]
        text = Text(line, no_wrap=True, overflow="crop")
        for match in _ESCAPE_RE.finditer(line):
            text.stylize("reverse", match.start(), match.end())
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(0, width, base)


class FullTextScreen(Screen[None]):
    """The whole text of one event, scrollable; escape/q closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,o", "close", "Close"),
    ]

    DEFAULT_CSS = """
    FullTextScreen #full-title { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, title: Text, text: str) -> None:
        super().__init__()
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="full-title")
        yield TextPager(self._text, id="full-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextPager).focus()

    def action_close(self) -> None:
        self.dismiss(None)
