"""A branch's timeline: a `VirtualTable` over a journal `Timeline` (only windows are ever fetched).

Rows carry the previous event's timestamp (fetched with the window) so the gap column is
right on every row, including the first row of a page. Inherited rows (before a fork) are
dim with a ``┆`` gutter; the first row after each fork point gets a ``↳`` gutter mark.
Every journal string goes through :mod:`lago_tui.safe` before it is drawn.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text

from ..journal import TimelineAPI, TimelineEvent
from ..safe import safe_text
from ..summary import family, gap, role_label, summarize, timestamp
from .virtual_list import Column, RenderContext, VirtualTable

__all__ = ["TimelineRow", "TimelineSource", "TimelineView", "kind_class"]


@dataclass(frozen=True, slots=True)
class TimelineRow:
    ev: TimelineEvent
    prev_ts: int | None  # timestamp of the row before (None for the first row)
    fork: bool  # first row after a fork point (a segment boundary)


def row_key(row: TimelineRow) -> Hashable:
    return (row.ev.branch_id, row.ev.seq)


class TimelineSource:
    """`RowSource` over a journal `Timeline`. Called only from the table's fetch thread."""

    def __init__(self, timeline: TimelineAPI, *, follow_refresh: bool = True) -> None:
        self.timeline = timeline
        self.follow_refresh = follow_refresh
        self._loaded = False

    def count(self) -> int:
        # The first load uses the length the Timeline was built with; reloads pick up appends.
        if self._loaded and self.follow_refresh:
            return self.timeline.refresh()
        self._loaded = True
        return self.timeline.length

    def fetch(self, start: int, count: int) -> Sequence[TimelineRow]:
        first = max(0, start - 1)
        events = self.timeline.window(first, count + (start - first))
        forks = set(self.timeline.fork_positions)
        rows: list[TimelineRow] = []
        prev: int | None = None
        for ev in events:
            if ev.position >= start:
                rows.append(TimelineRow(ev, prev, ev.position in forks))
            prev = ev.ts
        return rows

    def index_of(self, key: Hashable) -> int | None:
        if not isinstance(key, tuple) or len(key) != 2:
            return None
        branch_id, seq = key
        return self.timeline.position_of(branch_id, seq)


# Family (or message role) -> (component class suffix, glyph).
_GLYPHS: dict[str, str] = {
    "user": "▶",
    "assistant": "◀",
    "system": "■",
    "tool-msg": "◆",
    "message": "◇",
    "tool": "⚙",
    "run": "▸",
    "branch": "⎇",
    "file": "✎",
    "policy": "⚖",
    "error": "✗",
    "session": "●",
    "custom": "◇",
    "unknown": "?",
}


def kind_class(ev: TimelineEvent) -> str:
    """The style key of an event: message role, or family."""
    fam = family(ev.kind, ev.payload)
    if fam == "message" and ev.kind == "Message":
        role = ev.payload.get("role")
        if role in ("user", "assistant", "system"):
            return str(role)
        if role == "tool":
            return "tool-msg"
    return fam


class TimelineView(VirtualTable[TimelineRow]):
    """The timeline table. Colours come from component classes (theme variables)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        f"timeline--{name}" for name in _GLYPHS
    } | {"timeline--inherited", "timeline--fork", "timeline--dim", "timeline--failure"}

    DEFAULT_CSS = """
    TimelineView {
        & > .timeline--user { color: $text-success; text-style: bold; }
        & > .timeline--assistant { color: $text-primary; text-style: bold; }
        & > .timeline--system { color: $text-warning; }
        & > .timeline--tool-msg { color: $text-secondary; }
        & > .timeline--message { color: $text-primary; }
        & > .timeline--tool { color: $text-secondary; }
        & > .timeline--run { color: $text-muted; }
        & > .timeline--branch { color: $text-accent; text-style: bold; }
        & > .timeline--file { color: $text-success; }
        & > .timeline--policy { color: $text-warning; }
        & > .timeline--error { color: $text-error; text-style: bold; }
        & > .timeline--session { color: $text-accent; }
        & > .timeline--custom { color: $foreground; }
        & > .timeline--unknown { color: $text-muted; text-style: italic; }
        & > .timeline--inherited { color: $text-muted; text-style: dim; }
        & > .timeline--fork { color: $text-accent; text-style: bold; }
        & > .timeline--dim { color: $text-muted; }
        & > .timeline--failure { color: $text-error; }
    }
    """

    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("gutter", "", width=1),
        Column("seq", "seq", width=6, align="right"),
        Column("time", "time", width=8),
        Column("gap", "gap", width=6, align="right"),
        Column("kind", "kind", width=19),
        Column("summary", "summary", min_width=10),
    )

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            self.COLUMNS,
            self._render_timeline_row,
            keep_key=row_key,
            page_size=128,
            placeholder="loading…",
            id=id,
            classes=classes,
        )
        self._styles: dict[str, Style] = {}
        self.branch_names: dict[str, str] = {}

    # styles ---------------------------------------------------------------

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"timeline--{name}", partial=True)
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}

    def _on_theme_changed(self, theme: object) -> None:
        self._styles = {}
        super()._on_theme_changed(theme)

    # rendering ------------------------------------------------------------

    def _render_timeline_row(self, row: TimelineRow, index: int, ctx: RenderContext) -> list[Text | str]:
        ev = row.ev
        inherited = ev.inherited
        dim = self._style("inherited") if inherited else Style()
        if row.fork:
            gutter = Text("↳", self._style("fork"))
        elif inherited:
            gutter = Text("┆", self._style("inherited"))
        else:
            gutter = Text(" ")
        seq = Text(str(ev.seq), self._style("dim") + dim)
        clock = Text(timestamp(ev.ts, with_date=False)[:8], dim)
        gap_text = Text("" if row.prev_ts is None else gap(ev.ts - row.prev_ts), self._style("dim") + dim)
        cls = kind_class(ev)
        kind_style = self._style(cls) + dim
        label = role_label(ev)
        kind = Text(_GLYPHS.get(cls, "?") + " ", kind_style)
        kind.append_text(safe_text(label, kind_style, single_line=True, width=max(1, ctx.widths[4] - 2)))
        width = ctx.widths[5] if len(ctx.widths) > 5 else 80
        summary_style = dim
        if cls == "error" or (ev.outcome is not None and ev.outcome.kind == "ToolCallFailed"):
            summary_style = self._style("failure") + dim
        summary = safe_text(summarize(ev), summary_style, single_line=True, width=max(1, width))
        return [gutter, seq, clock, gap_text, kind, summary]

    def fork_description(self, row: TimelineRow, timeline: TimelineAPI | None) -> str | None:
        """'fork @N from PARENT' for a row at a segment boundary (plain text: names are journal text)."""
        if not row.fork or timeline is None:
            return None
        segs = timeline.segment_bounds
        for i in range(1, len(segs)):
            if segs[i][0] == row.ev.branch_id:
                parent = self.branch_names.get(segs[i - 1][0], segs[i - 1][0])
                return f"fork @{segs[i - 1][1]} from {parent}"
        return None


def describe_kinds(kinds: Any) -> str:
    return ", ".join(kinds) if kinds else "all kinds"
