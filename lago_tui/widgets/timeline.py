"""A branch's timeline: a `VirtualTable` over a journal `Timeline` (only windows are ever fetched).

Rows carry the previous event's timestamp (fetched with the window) so the gap column is
right on every row, including the first row of a page. Inherited rows (before a fork) are
dim with a ``┆`` gutter; the first row after each fork point gets a ``↳`` gutter mark; when the
timeline spans several branches a branch column names the branch of every row (seqs restart at 1
on each branch). Search matches are marked on their seq and the matched text is highlighted.
Every journal string goes through :mod:`lago_tui.safe` before it is drawn.

Columns give way as the table narrows: the gap column first, then the time; the summary (what
identifies an event) keeps what is left.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message

from ..journal import TimelineAPI, TimelineEvent
from ..safe import safe_text
from ..summary import family, gap, role_label, summarize, timestamp
from .virtual_list import Column, RenderContext, VirtualTable

__all__ = ["SearchMarks", "TimelineRow", "TimelineSource", "TimelineView", "kind_class", "row_key", "summary_of",
           "timeline_columns"]


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


@dataclass(frozen=True, slots=True)
class SearchMarks:
    """What the current search marks: ``needles`` (lowercase text highlighted where shown) and
    ``positions`` (sorted positions of the matching events; None while they are being counted)."""

    needles: tuple[str, ...]
    positions: Sequence[int] | None = None

    def matches(self, position: int) -> bool:
        positions = self.positions
        if positions is None:
            return False
        i = bisect_left(positions, position)
        return i < len(positions) and positions[i] == position


# Family (or message role) -> glyph.
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


SUMMARY_LIMIT = 400  # characters of a summary (summarize's limit): how far h / l can scroll


def summary_of(ev: TimelineEvent, names: dict[str, str]) -> str:
    """The summary shown for an event (raw journal text): merges name their source branch, as forks do."""
    if ev.kind == "BranchMerged":
        p = ev.payload
        source = p.get("source_branch_id")
        if isinstance(source, str):
            text = f"merge ← {names.get(source, source)}"
            merge_seq = p.get("merge_seq")
            return text + (f" @{merge_seq}" if merge_seq is not None else "")
    return summarize(ev)


def timeline_columns(width: int, branch_names: Sequence[str], longest_seq: int) -> tuple[Column, ...]:
    """The columns at ``width`` cells: the gap, then the time give way; a branch column when the
    timeline spans several branches (``branch_names`` of its segments)."""
    cols = [Column("gutter", "", width=1), Column("seq", "seq", width=max(4, len(str(longest_seq))), align="right")]
    if branch_names:
        longest = max(safe_text(n, single_line=True, width=40).cell_len for n in branch_names)
        cap = 16 if width >= 96 else 10
        cols.append(Column("branch", "branch", width=max(4, min(cap, longest))))
    if width >= 60:
        cols.append(Column("time", "time", width=8))
    if width >= 96:
        cols.append(Column("gap", "gap", width=7, align="right"))  # "+1000ms" (999.6 ms rounds up)
    cols.append(Column("kind", "kind", width=19 if width >= 64 else 14))
    cols.append(Column("summary", "summary", min_width=10))
    return tuple(cols)


class TimelineView(VirtualTable[TimelineRow]):
    """The timeline table. Colours come from component classes (theme variables)."""

    PAGE_SIZE = 128
    MAX_PAGES = 24  # 3,072 rows cached: enough to scroll back and forth, little memory on a 200k branch

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "scroll_cells(-1)", "Scroll the summaries left", show=False),
        Binding("right,l", "scroll_cells(1)", "Scroll the summaries right", show=False),
        Binding("w", "toggle_wrap", "Wrap the summaries (3 lines a row)", show=False),
    ]

    WRAP_LINES = 3

    class CellsScrolled(Message):
        """The summaries were scrolled sideways (``offset`` characters are hidden on their left), or their
        wrapping changed (``view.row_height``)."""

        def __init__(self, view: TimelineView, offset: int) -> None:
            self.view = view
            self.offset = offset
            super().__init__()

        @property
        def control(self) -> TimelineView:
            return self.view

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        f"timeline--{name}" for name in _GLYPHS
    } | {"timeline--inherited", "timeline--fork", "timeline--dim", "timeline--failure", "timeline--match",
         "timeline--match-text", "timeline--branch-name"}

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
        & > .timeline--match { color: $text-warning; text-style: bold underline; }
        & > .timeline--match-text { background: $warning 40%; text-style: bold; }
        & > .timeline--branch-name { color: $text-accent; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            timeline_columns(100, (), 1),
            self._render_timeline_row,
            keep_key=row_key,
            page_size=self.PAGE_SIZE,
            max_pages=self.MAX_PAGES,
            placeholder="loading…",
            id=id,
            classes=classes,
        )
        self._styles: dict[str, Style] = {}
        self.branch_names: dict[str, str] = {}
        self.search: SearchMarks | None = None
        self._segment_names: tuple[str, ...] = ()  # branch names of a multi-branch timeline, else ()
        self._longest_seq = 1
        self._columns_width = -1
        self.cell_offset = 0  # characters of each summary scrolled out on the left (h / l)

    # columns --------------------------------------------------------------

    def describe_timeline(self, timeline: TimelineAPI | None) -> None:
        """Adapt the columns to ``timeline`` (a branch column when it spans several branches)."""
        if timeline is None:
            names: tuple[str, ...] = ()
            longest = 1
        else:
            bounds = timeline.segment_bounds
            names = tuple(self.branch_names.get(b, b) for b, _ in bounds) if len(bounds) > 1 else ()
            longest = max((last for _, last in bounds), default=1)
        if names != self._segment_names or longest != self._longest_seq:
            self._segment_names, self._longest_seq = names, longest
            self._columns_width = -1
            self._fit_columns()

    def _fit_columns(self) -> None:
        width = self.scrollable_content_region.width if self.is_mounted else 100
        if width <= 0 or width == self._columns_width:
            return
        self._columns_width = width
        self.columns = timeline_columns(width, self._segment_names, self._longest_seq)

    def _on_resize(self, _event: events.Resize) -> None:
        # (VirtualTable's own _on_resize runs after this one: Textual dispatches to each class.)
        self._fit_columns()

    def action_scroll_cells(self, direction: int) -> None:
        """h / l: show the summaries from further right (or back), half a column at a time, as less -S
        (not while they wrap: then all of them shows)."""
        if self.row_height > 1:
            return
        widths = dict(zip((c.key for c in self.columns), self._column_widths(self.scrollable_content_region.width)))
        step = max(8, widths.get("summary", 16) // 2)
        offset = max(0, min(SUMMARY_LIMIT - step, self.cell_offset + direction * step))
        if offset != self.cell_offset:
            self.cell_offset = offset
            self.refresh_rows()
            self.post_message(self.CellsScrolled(self, offset))

    def action_toggle_wrap(self) -> None:
        """w: each row three lines high, its summary wrapped over them (again: one line a row)."""
        self.row_height = 1 if self.row_height > 1 else self.WRAP_LINES
        if self.row_height > 1 and self.cell_offset:
            self.cell_offset = 0
        self.post_message(self.CellsScrolled(self, self.cell_offset))

    def set_search(self, marks: SearchMarks | None) -> None:
        """Mark (and highlight) the matches of a search; None clears."""
        if marks == self.search:
            return
        self.search = marks
        self.refresh_rows()

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
        cells: dict[str, Text | str] = {}
        if row.fork:
            cells["gutter"] = Text("↳", self._style("fork"))
        elif inherited:
            cells["gutter"] = Text("┆", self._style("inherited"))
        else:
            cells["gutter"] = " "
        search = self.search
        matched = search is not None and search.matches(ev.position)
        seq_style = self._style("match") if matched else self._style("dim") + dim
        cells["seq"] = Text(str(ev.seq), seq_style)
        widths = dict(zip((c.key for c in self.columns), ctx.widths))
        if "branch" in widths:
            name = self.branch_names.get(ev.branch_id, ev.branch_id)
            style = dim if inherited else self._style("branch-name")
            cells["branch"] = safe_text(name, style, single_line=True, width=max(1, widths["branch"]))
        if "time" in widths:
            cells["time"] = Text(timestamp(ev.ts, with_date=False)[:8], dim)
        if "gap" in widths:
            cells["gap"] = Text("" if row.prev_ts is None else gap(ev.ts - row.prev_ts), self._style("dim") + dim)
        cls = kind_class(ev)
        kind_style = self._style(cls) + dim
        kind = Text(_GLYPHS.get(cls, "?") + " ", kind_style)
        kind.append_text(safe_text(role_label(ev), kind_style, single_line=True, width=max(1, widths["kind"] - 2)))
        summary_style = dim
        if cls == "error" or (ev.outcome is not None and ev.outcome.kind == "ToolCallFailed"):
            summary_style = self._style("failure") + dim
        width = widths.get("summary", 80)
        offset = self.cell_offset
        summary = safe_text(summary_of(ev, self.branch_names), summary_style, single_line=True,
                            width=max(1, width * self.row_height + offset))
        if offset:
            summary = Text("…", self._style("dim")) + summary[offset + 1:] if len(summary) > offset else Text("")
        if search is not None and search.needles:
            match_text = self._style("match-text")
            for cell in (kind, summary):
                _highlight(cell, search.needles, match_text)
        cells["kind"] = kind
        cells["summary"] = summary
        return [cells.get(column.key, "") for column in self.columns]

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


def _highlight(text: Text, needles: Sequence[str], style: Style) -> None:
    """Style every case-insensitive occurrence of each needle in ``text`` (in place)."""
    plain = text.plain.lower()
    for needle in needles:
        if not needle:
            continue
        start = plain.find(needle)
        while start != -1:
            text.stylize(style, start, start + len(needle))
            start = plain.find(needle, start + len(needle))
