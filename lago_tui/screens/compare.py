"""Compare two branches: their events after the common fork point side by side, with totals.

``d`` on the session detail screen opens it with the branch shown and its parent (or another branch);
``b`` picks the other branch (``^seq``: an event of an ancestor of the compared branch), ``tab`` switches the side whose event ``enter`` jumps to (the screen then
dismisses with a :class:`JumpTo`), ``n``/``N`` go to the next/previous difference. The comparison runs in a
thread worker (``JournalAPI.compare_branches``); journal strings are shown through :mod:`lago_tui.safe`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..journal import (
    BranchInfo,
    Comparison,
    ComparisonRow,
    JournalBusy,
    JournalError,
    SessionDetail,
)
from ..safe import safe_text
from ..summary import duration, tokens
from ..widgets.list_source import ListSource
from ..widgets.virtual_list import Column, RenderContext, VirtualTable
from ..widgets.footer import Footer  # Help docked right: never cut

__all__ = ["BranchPickerScreen", "CompareScreen", "CompareTable", "JumpTo", "default_other_branch"]


@dataclass(frozen=True)
class JumpTo:
    """Open ``timeline_branch_id``'s timeline with the cursor on event (``branch_id``, ``seq``)."""

    timeline_branch_id: str
    branch_id: str
    seq: int


def default_other_branch(detail: SessionDetail, branch_id: str) -> str | None:
    """The branch to compare with by default: the parent; for a root, its first child (else any other)."""
    info = detail.branch(branch_id)
    if info is not None and info.parent_branch_id and detail.branch(info.parent_branch_id) is not None:
        return info.parent_branch_id
    children = [b for b in detail.branches if b.parent_branch_id == branch_id]
    others = children or [b for b in detail.branches if b.branch_id != branch_id]
    return others[0].branch_id if others else None


# ---------------------------------------------------------------------------------------------- table


_MARKS = {"same": " ", "changed": "~", "left": "−", "right": "+"}


class CompareTable(VirtualTable[tuple[int, ComparisonRow]]):
    """Rows of a comparison: mark | left seq, kind, summary | right seq, kind, summary."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "compare--same", "compare--changed", "compare--left", "compare--right", "compare--dim", "compare--active",
    }

    DEFAULT_CSS = """
    CompareTable {
        & > .compare--same { color: $text-muted; }
        & > .compare--changed { color: $text-warning; text-style: bold; }
        & > .compare--left { color: $text-error; text-style: bold; }
        & > .compare--right { color: $text-success; text-style: bold; }
        & > .compare--dim { color: $text-muted; }
        & > .compare--active { text-style: underline; }
    }
    """

    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("mark", "", width=1),
        Column("lseq", "seq", width=7, align="right"),
        Column("lkind", "left", width=14),
        Column("lsummary", "", min_width=8),
        Column("rseq", "seq", width=7, align="right"),
        Column("rkind", "right", width=14),
        Column("rsummary", "", min_width=8),
    )

    NARROW_COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("mark", "", width=1),
        Column("lseq", "seq", width=4, align="right"),
        Column("lkind", "left", width=9),
        Column("lsummary", "", min_width=6),
        Column("rseq", "seq", width=4, align="right"),
        Column("rkind", "right", width=9),
        Column("rsummary", "", min_width=6),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(self.COLUMNS, self._render, keep_key=lambda row: row[0], page_size=256,
                         placeholder="comparing…", id=id)
        self.side = "left"
        self.branches = ("", "")  # the compared branches: events of their ancestors show as ^seq

    def on_resize(self) -> None:
        wanted = self.NARROW_COLUMNS if self.size.width < 110 else self.COLUMNS
        if self.columns != wanted:
            self.columns = wanted

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"compare--{name}", partial=True)

    def _render(self, item: tuple[int, ComparisonRow], index: int, ctx: RenderContext) -> list[Text | str]:
        _, row = item
        status_style = self._style(row.status)
        same = row.status == "same"
        cells: list[Text | str] = [Text(_MARKS[row.status], status_style)]
        for k, side in enumerate((row.left, row.right)):
            width = ctx.widths[3 + 3 * k]
            base = self._style("dim") if same else Style()
            if ctx.highlighted and self.side == ("left", "right")[k]:
                base = base + self._style("active")
            if side is None:
                cells += [Text(""), Text(""), Text("")]
                continue
            inherited = side.branch_id != self.branches[k]
            cells.append(Text(("^" if inherited else "") + str(side.seq), self._style("dim")))
            kind_style = base + (Style() if same else status_style)
            cells.append(safe_text(side.kind, kind_style, single_line=True, width=max(1, ctx.widths[2 + 3 * k])))
            cells.append(safe_text(side.summary, base, single_line=True, width=max(1, width)))
        return cells


# ---------------------------------------------------------------------------------------------- screen


class CompareScreen(Screen[JumpTo | None]):
    """Two branches compared; dismisses with a :class:`JumpTo` (enter) or None (back)."""

    OFFERS_NEW_SESSION = False  # a view over one session: its footer keeps the room for its own keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back"),
        Binding("enter", "jump", "Jump to event"),
        Binding("tab", "switch_side", "Left/right"),
        Binding("b", "pick_branch", "Other branch"),
        Binding("x", "swap", "Swap sides"),
        Binding("n", "next_difference", "Next difference"),
        Binding("N", "previous_difference", "Previous", show=False),
    ]

    DEFAULT_CSS = """
    CompareScreen { layout: vertical; }
    CompareScreen #cmp-header { height: 3; padding: 0 1; background: $panel; }
    CompareScreen #cmp-table { height: 1fr; border: round $panel-lighten-2; }
    CompareScreen #cmp-table:focus { border: round $accent; }
    CompareScreen #cmp-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, detail: SessionDetail, left: str, right: str | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.left = left
        self.right = right if right is not None else default_other_branch(detail, left)
        self.comparison: Comparison | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Static(Text("Comparing…", "dim"), id="cmp-header")
        yield CompareTable(id="cmp-table")
        yield Static("", id="cmp-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(CompareTable).focus()
        if self.right is None:
            self.query_one("#cmp-header", Static).update(Text("This session has no other branch to compare with.", "dim"))
            return
        self._compare()

    def _branch_label(self, branch_id: str, style: str = "") -> Text:
        info = self.detail.branch(branch_id)
        return safe_text(info.name if info else branch_id, style, single_line=True, width=40)

    # ------------------------------------------------------------------ loading

    def _compare(self) -> None:
        assert self.right is not None
        session_id, left, right = self.detail.summary.session_id, self.left, self.right
        self.comparison = None
        self.query_one(CompareTable).reset()
        header = Text("Comparing ")
        header.append_text(self._branch_label(left, "bold"))
        header.append(" with ")
        header.append_text(self._branch_label(right, "bold"))
        header.append("…")
        self.query_one("#cmp-header", Static).update(header)

        def work() -> None:
            try:
                result = self.app.journal.compare_branches(session_id, left, right)  # type: ignore[attr-defined]
            except JournalBusy:
                self.app.call_from_thread(self._busy)
                return
            except JournalError as err:
                self.app.call_from_thread(self._failed, str(err))
                return
            self.app.call_from_thread(self._compared, result)

        self.run_worker(work, thread=True, group="compare", exclusive=True, exit_on_error=False)

    def _busy(self) -> None:
        self.busy = True
        self.query_one("#cmp-status", Static).update(Text("journal busy, retrying…", "bold"))
        self.set_timer(1.0, self._compare)

    def _failed(self, message: str) -> None:
        self.query_one("#cmp-header", Static).update(safe_text(message, "bold", single_line=True, width=200))
        self.notify(message, severity="error", markup=False)

    def _compared(self, comparison: Comparison) -> None:
        if (comparison.left_branch_id, comparison.right_branch_id) != (
            self._id_of(self.left), self._id_of(self.right or "")
        ):
            return  # an older comparison
        self.busy = False
        self.comparison = comparison
        self._render_header()
        first = next((i for i, r in enumerate(comparison.rows) if r.status != "same"), 0)
        self.query_one(CompareTable).branches = (comparison.left_branch_id, comparison.right_branch_id)
        self.query_one(CompareTable).set_source(ListSource(comparison.rows), key=first)  # on the first difference
        self._update_status()

    def _id_of(self, ref: str) -> str:
        info = self.detail.branch(ref)
        return info.branch_id if info else ref

    def _render_header(self) -> None:
        c = self.comparison
        if c is None:
            return
        lt, rt = c.left_totals, c.right_totals
        head = Text()
        head.append_text(self._branch_label(c.left_branch_id, "bold"))
        head.append(" vs ")
        head.append_text(self._branch_label(c.right_branch_id, "bold"))
        head.append("   fork ", "dim")
        head.append_text(self._branch_label(c.fork_branch_id))
        head.append(f" @{c.fork_seq}", "dim")
        counts = c.counts()
        tally = Text()
        tally.append(f"{counts['same']:,} same · ", "dim")
        tally.append(f"{counts['changed']:,} changed", "bold" if counts["changed"] else "dim")
        tally.append(" · ", "dim")
        tally.append(f"{counts['left']:,} only left", "bold" if counts["left"] else "dim")
        tally.append(" · ", "dim")
        tally.append(f"{counts['right']:,} only right", "bold" if counts["right"] else "dim")
        figures = Text()
        diff = rt.minus(lt)
        for label, a, b, d in (
            ("events", f"{lt.events:,}", f"{rt.events:,}", f"{diff['events']:+,}"),
            ("tokens", tokens(lt.tokens_in + lt.tokens_out), tokens(rt.tokens_in + rt.tokens_out),
             _signed_tokens(diff["tokens_in"] + diff["tokens_out"])),
            ("tools", f"{lt.tool_calls:,}", f"{rt.tool_calls:,}", f"{diff['tool_calls']:+,}"),
            ("failures", f"{lt.failures:,}", f"{rt.failures:,}", f"{diff['failures']:+,}"),
            ("wall", duration(lt.wall_time_us / 1000) or "0ms", duration(rt.wall_time_us / 1000) or "0ms",
             ("+" if diff["wall_time_us"] >= 0 else "-") + (duration(abs(diff["wall_time_us"]) / 1000) or "0ms")),
        ):
            figures.append(f"{label} ", "dim")
            figures.append(f"{a} | {b} ")
            figures.append(f"({d})", "dim")
            figures.append("   ")
        for part in (head, tally, figures):
            part.no_wrap = True
            part.overflow = "ellipsis"
        self.query_one("#cmp-header", Static).update(Text("\n").join([head, tally, figures]))

    def _update_status(self) -> None:
        table = self.query_one(CompareTable)
        status = Text()
        status.append("enter jumps to the ")
        status.append(table.side, "bold")
        status.append(" event · tab switches side · b other branch · n/N next/previous difference")
        if table.row_count:
            status.append(f"   {table.cursor + 1:,}/{table.row_count:,}")
        self.query_one("#cmp-status", Static).update(status)

    @on(VirtualTable.RowHighlighted, "#cmp-table")
    def _moved(self, _event: VirtualTable.RowHighlighted) -> None:
        self._update_status()

    @on(VirtualTable.RowSelected, "#cmp-table")
    def _selected(self, _event: VirtualTable.RowSelected) -> None:
        self.action_jump()

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.dismiss(None)

    def action_jump(self) -> None:
        c = self.comparison
        table = self.query_one(CompareTable)
        item = table.highlighted_row
        if c is None or item is None:
            return
        _, row = item
        sides = [(row.left, c.left_branch_id), (row.right, c.right_branch_id)]
        if table.side == "right":
            sides.reverse()
        for side, timeline in sides:
            if side is not None:
                self.dismiss(JumpTo(timeline, side.branch_id, side.seq))
                return

    def action_switch_side(self) -> None:
        table = self.query_one(CompareTable)
        table.side = "right" if table.side == "left" else "left"
        table.refresh_rows()
        self._update_status()

    def action_swap(self) -> None:
        if self.right is None:
            return
        self.left, self.right = self.right, self.left
        self._compare()

    def action_next_difference(self) -> None:
        self._difference(+1)

    def action_previous_difference(self) -> None:
        self._difference(-1)

    def _difference(self, step: int) -> None:
        """Go to the start of the next (previous) block of differing rows, as ]c / [c do in vimdiff."""
        c = self.comparison
        if c is None:
            return
        table = self.query_one(CompareTable)
        rows = c.rows

        def starts_block(i: int) -> bool:
            return rows[i].status != "same" and (i == 0 or rows[i - 1].status == "same")

        i = table.cursor + step
        while 0 <= i < len(rows) and not starts_block(i):
            i += step
        if 0 <= i < len(rows):
            table.move_cursor(i)
        else:
            self.notify("No more differences", timeout=2)

    def action_pick_branch(self) -> None:
        choices = [b for b in self.detail.branches if b.branch_id != self._id_of(self.left)]
        if not choices:
            self.notify("This session has no other branch", severity="warning")
            return
        self.app.push_screen(BranchPickerScreen(choices, self.detail, self.right), self._picked)

    def _picked(self, branch_id: str | None) -> None:
        if branch_id is None or branch_id == self.right:
            return
        self.right = branch_id
        self._compare()


def _signed_tokens(n: int) -> str:
    return ("+" if n >= 0 else "-") + tokens(abs(n))


class BranchPickerScreen(ModalScreen[str | None]):
    """Pick a branch of the session (dismisses with its id, or None)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    BranchPickerScreen { align: center middle; }
    BranchPickerScreen > Vertical {
        width: 70%; max-width: 90; height: auto; max-height: 80%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    BranchPickerScreen #picker-title { text-style: bold; margin-bottom: 1; }
    BranchPickerScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, branches: Sequence[BranchInfo], detail: SessionDetail, current: str | None) -> None:
        super().__init__()
        self.branches = list(branches)
        self.detail = detail
        self.current = current

    def compose(self) -> ComposeResult:
        names = {b.branch_id: b.name for b in self.detail.branches}
        options = []
        for b in self.branches:
            prompt = safe_text(b.name, "bold", single_line=True, width=40)
            if b.parent_branch_id:
                prompt.append("  from ", "dim")
                prompt.append_text(safe_text(names.get(b.parent_branch_id, b.parent_branch_id), "dim",
                                             single_line=True, width=30))
                prompt.append(f" @{b.fork_point_seq}", "dim")
            prompt.append(f"  {b.event_count:,} events", "dim")
            options.append(Option(prompt, id=b.branch_id))
        with Vertical():
            yield Static("Compare with which branch?", id="picker-title", markup=False)
            yield OptionList(*options, id="picker-list")

    def on_mount(self) -> None:
        listing = self.query_one(OptionList)
        ids = [b.branch_id for b in self.branches]
        listing.highlighted = ids.index(self.current) if self.current in ids else 0
        listing.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
