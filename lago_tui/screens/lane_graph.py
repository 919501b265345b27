"""The lane graph (``L`` on the session detail screen): branches as lanes against time, like ``git log --graph``.

Rows are the moments that shape the tree (see :mod:`lago_tui.lanes`): where each branch forked, how far it
went (its head), where it merged back. ``enter`` opens the branch of the row: at its fork for a fork (or the
session's start), at its head for a head, at the merge event for a merge (dismissing with a
:class:`~lago_tui.screens.compare.JumpTo`). Branch heads and merge times are read in a thread worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from ..journal import JournalBusy, JournalError, SessionDetail
from ..lanes import LaneRow, lane_rows
from ..safe import safe_text
from ..widgets.list_source import ListSource
from ..widgets.virtual_list import Column, RenderContext, VirtualTable
from .compare import JumpTo
from ..widgets.footer import Footer  # Help docked right: never cut

__all__ = ["LaneGraphScreen", "LaneTable", "read_times"]

MAX_TIMED_BRANCHES = 300  # beyond this, heads are placed at their branch's creation time (no per-branch reads)


def read_times(journal, detail: SessionDetail) -> tuple[dict[str, int], dict[tuple[str, str, int], int]]:  # noqa: ANN001
    """(branch -> time of its last own event, (source, target, at_seq) -> time of the merge); blocking."""
    last_ts: dict[str, int] = {}
    merge_ts: dict[tuple[str, str, int], int] = {}
    if len(detail.branches) > MAX_TIMED_BRANCHES:
        return last_ts, merge_ts
    session_id = detail.summary.session_id
    for b in detail.branches:
        if b.head_seq == 0:
            continue
        timeline = journal.timeline(session_id, b.branch_id, detail=detail)
        tail = timeline.window(timeline.length - 1, 1)
        if tail and tail[0].branch_id == b.branch_id:
            last_ts[b.branch_id] = tail[0].ts
        for m in b.merges:
            target = journal.timeline(session_id, m.target_branch_id, detail=detail)
            pos = target.position_of(m.target_branch_id, m.at_seq)
            found = target.window(pos, 1) if pos is not None else []
            if found and found[0].branch_id == m.target_branch_id and found[0].seq == m.at_seq:
                merge_ts[(m.source_branch_id, m.target_branch_id, m.at_seq)] = found[0].ts
    return last_ts, merge_ts


def _when(us: int) -> str:
    try:
        return datetime.fromtimestamp(us / 1_000_000, tz=UTC).strftime("%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"


class LaneTable(VirtualTable[tuple[int, LaneRow]]):
    """graph | when | what."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "lanes--graph", "lanes--fork", "lanes--merge", "lanes--head", "lanes--dim", "lanes--current",
    }

    DEFAULT_CSS = """
    LaneTable {
        & > .lanes--graph { color: $text-accent; }
        & > .lanes--fork { color: $text-accent; text-style: bold; }
        & > .lanes--merge { color: $text-success; text-style: bold; }
        & > .lanes--head { color: $text-primary; }
        & > .lanes--dim { color: $text-muted; }
        & > .lanes--current { text-style: bold underline; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(self._columns_for(1), self._render, keep_key=lambda row: row[0], placeholder="…", id=id)
        self.names: dict[str, str] = {}
        self.current: str | None = None  # the branch open on the detail screen

    @staticmethod
    def _columns_for(lanes: int) -> tuple[Column, ...]:
        return (Column("graph", "", width=min(40, max(2, 2 * lanes))), Column("when", "time", width=14),
                Column("what", "", min_width=10))

    def set_rows(self, rows: Sequence[LaneRow], key: int | None = None) -> None:
        self.columns = self._columns_for(max((r.lanes for r in rows), default=1))
        self.set_source(ListSource(rows), key=key)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"lanes--{name}", partial=True)

    def _branch_name(self, branch_id: str, style: Style | str = "") -> Text:
        return safe_text(self.names.get(branch_id, branch_id), style, single_line=True, width=40)

    def _render(self, item: tuple[int, LaneRow], index: int, ctx: RenderContext) -> list[Text | str]:
        _, row = item
        dim = self._style("dim")
        b = row.branch
        what = Text()
        name_style = self._style(row.kind if row.kind in ("fork", "merge", "head") else "fork")
        if b.branch_id == self.current:
            name_style = name_style + self._style("current")
        if row.kind == "start":
            what.append("● ", dim)
            what.append_text(self._branch_name(b.branch_id, name_style))
            what.append("  session starts", dim)
        elif row.kind == "fork":
            what.append("⎇ ", dim)
            what.append_text(self._branch_name(b.branch_id, name_style))
            what.append("  from ", dim)
            assert row.other is not None
            what.append_text(self._branch_name(row.other.branch_id))
            what.append(f" @{b.fork_point_seq}", dim)
        elif row.kind == "merge":
            assert row.other is not None and row.merge is not None
            what.append("↩ ", dim)
            what.append_text(self._branch_name(b.branch_id, name_style))
            what.append(f" @{row.merge.merge_seq} merged into ", dim)
            what.append_text(self._branch_name(row.other.branch_id))
            what.append(f" @{row.merge.at_seq}", dim)
        else:
            what.append_text(self._branch_name(b.branch_id, name_style))
            what.append(f"  head @{b.head_seq:,}", dim)
            if b.head_seq == 0:
                what.append(" (no events of its own)", dim)
        what.no_wrap = True
        what.overflow = "ellipsis"
        graph = Text(row.graph, self._style("graph"))
        return [graph, Text(_when(row.ts), dim), what]


class LaneGraphScreen(Screen[JumpTo | None]):
    """Lanes of a session's branches; enter dismisses with where to go."""

    OFFERS_NEW_SESSION = False  # a view over one session: its footer keeps the room for its own keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back"),
        Binding("enter", "open", "Open branch"),
    ]

    DEFAULT_CSS = """
    LaneGraphScreen { layout: vertical; }
    LaneGraphScreen #lanes-header { height: 1; padding: 0 1; background: $panel; }
    LaneGraphScreen #lanes-table { height: 1fr; border: round $panel-lighten-2; }
    LaneGraphScreen #lanes-table:focus { border: round $accent; }
    """

    def __init__(self, detail: SessionDetail, current: str | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.current = current
        self.rows: list[LaneRow] = []

    def compose(self) -> ComposeResult:
        head = safe_text(self.detail.summary.name, "bold", single_line=True, width=60)
        head.append(f"  {len(self.detail.branches)} branch{'es' if len(self.detail.branches) != 1 else ''}"
                    " · oldest first · enter opens the branch", "dim")
        yield Static(head, id="lanes-header")
        table = LaneTable(id="lanes-table")
        table.names = {b.branch_id: b.name for b in self.detail.branches}
        table.current = self.current
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LaneTable).focus()
        self._load()

    def _load(self) -> None:
        detail = self.detail

        def work() -> None:
            try:
                last_ts, merge_ts = read_times(self.app.journal, detail)  # type: ignore[attr-defined]
            except JournalBusy:
                self.app.call_from_thread(self.set_timer, 1.0, self._load)
                return
            except JournalError as err:
                self.app.call_from_thread(self.notify, str(err), severity="error", markup=False)
                last_ts, merge_ts = {}, {}
            self.app.call_from_thread(self._loaded, lane_rows(detail, last_ts, merge_ts))

        self.run_worker(work, thread=True, group="lanes", exclusive=True, exit_on_error=False)

    def _loaded(self, rows: list[LaneRow]) -> None:
        self.rows = rows
        key = next((i for i, r in enumerate(rows) if r.kind in ("fork", "start") and r.branch.branch_id == self.current),
                   0)
        self.query_one(LaneTable).set_rows(rows, key=key)

    @on(VirtualTable.RowSelected, "#lanes-table")
    def _selected(self, _event: VirtualTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        item = self.query_one(LaneTable).highlighted_row
        if item is None:
            return
        row = item[1]
        b = row.branch
        if row.kind == "merge" and row.other is not None and row.merge is not None:
            self.dismiss(JumpTo(row.other.branch_id, row.other.branch_id, row.merge.at_seq))
        elif row.kind == "head":
            self.dismiss(JumpTo(b.branch_id, b.branch_id, b.head_seq) if b.head_seq else self._at_fork(b.branch_id))
        else:
            self.dismiss(self._at_fork(b.branch_id))

    def _at_fork(self, branch_id: str) -> JumpTo:
        b = self.detail.branch(branch_id)
        assert b is not None
        if b.parent_branch_id and b.fork_point_seq > 0:
            return JumpTo(b.branch_id, b.parent_branch_id, b.fork_point_seq)
        return JumpTo(b.branch_id, b.branch_id, 1 if b.head_seq else 0)

    def action_back(self) -> None:
        self.dismiss(None)
