"""The integrity problems of one session (``!`` on the session detail screen); enter jumps to each.

The list comes from ``JournalAPI.problems(session)`` in a thread worker. Dismisses with a
:class:`~lago_tui.screens.compare.JumpTo` (the problem's branch, its event) or None.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from ..journal import JournalBusy, JournalError, Problem, SessionDetail
from ..journal.analysis_views import PROBLEM_CODES
from ..safe import safe_text
from ..widgets.list_source import ListSource
from ..widgets.virtual_list import Column, RenderContext, VirtualTable
from .compare import JumpTo
from ..widgets.footer import Footer  # Help docked right: never cut

__all__ = ["ProblemsScreen", "ProblemTable"]


class ProblemTable(VirtualTable[tuple[int, Problem]]):
    """branch | seq | code | problem."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {"problems--code", "problems--dim"}

    DEFAULT_CSS = """
    ProblemTable {
        & > .problems--code { color: $text-error; text-style: bold; }
        & > .problems--dim { color: $text-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(self._columns_for(20), self._render, keep_key=lambda row: row[0], placeholder="checking…",
                         id=id)
        self.branch_names: dict[str, str] = {}

    @staticmethod
    def _columns_for(branch_width: int) -> tuple[Column, ...]:
        return (Column("branch", "branch", width=branch_width), Column("seq", "seq", width=6, align="right"),
                Column("code", "code", width=20), Column("message", "problem", min_width=10))

    def on_resize(self) -> None:
        wanted = self._columns_for(10 if self.size.width < 100 else 20)
        if wanted != self.columns:
            self.columns = wanted

    def _render(self, item: tuple[int, Problem], index: int, ctx: RenderContext) -> list[Text | str]:
        _, p = item
        dim = self.get_component_rich_style("problems--dim", partial=True)
        code: Style = self.get_component_rich_style("problems--code", partial=True)
        return [
            safe_text(self.branch_names.get(p.branch_id, p.branch_id), single_line=True, width=max(1, ctx.widths[0])),
            Text(str(p.seq), dim),
            Text(p.code, code),
            safe_text(p.message, single_line=True, width=max(1, ctx.widths[3])),
        ]


class ProblemsScreen(Screen[JumpTo | None]):
    """Problems of a session; enter dismisses with the event to jump to."""

    OFFERS_NEW_SESSION = False  # a view over one session: its footer keeps the room for its own keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back"),
        Binding("enter", "jump", "Jump to event"),
        Binding("ctrl+r", "refresh", "Check again"),
    ]

    DEFAULT_CSS = """
    ProblemsScreen { layout: vertical; }
    ProblemsScreen #problems-header { height: 2; padding: 0 1; background: $panel; }
    ProblemsScreen #problems-table { height: 1fr; border: round $panel-lighten-2; }
    ProblemsScreen #problems-table:focus { border: round $accent; }
    ProblemsScreen #problems-help { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, detail: SessionDetail) -> None:
        super().__init__()
        self.detail = detail
        self.problems: list[Problem] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("Checking…", "dim"), id="problems-header")
        table = ProblemTable(id="problems-table")
        table.branch_names = {b.branch_id: b.name for b in self.detail.branches}
        yield table
        yield Static("", id="problems-help")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ProblemTable).focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        session_id = self.detail.summary.session_id

        def work() -> None:
            try:
                found = self.app.journal.problems(session_id)  # type: ignore[attr-defined]
            except JournalBusy:
                self.app.call_from_thread(self.set_timer, 1.0, self.action_refresh)
                return
            except JournalError as err:
                self.app.call_from_thread(self._failed, str(err))
                return
            self.app.call_from_thread(self._checked, found)

        self.run_worker(work, thread=True, group="problems", exclusive=True, exit_on_error=False)

    def _failed(self, message: str) -> None:
        self.query_one("#problems-header", Static).update(safe_text(message, "bold", single_line=True, width=200))

    def _checked(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = Text()
        head.append_text(safe_text(self.detail.summary.name, "bold", single_line=True, width=60))
        if not problems:
            head.append("  no problems found", "bold")
        else:
            head.append(f"  {len(problems):,} problem{'s' if len(problems) != 1 else ''}", "bold")
            counts: dict[str, int] = {}
            for p in problems:
                counts[p.code] = counts.get(p.code, 0) + 1
            head.append("\n")
            head.append(" · ".join(f"{n:,} {code}" for code, n in counts.items()), "dim")
        head.no_wrap = True
        head.overflow = "ellipsis"
        self.query_one("#problems-header", Static).update(head)
        self.query_one(ProblemTable).set_source(ListSource(problems))
        self._explain()

    @on(VirtualTable.RowHighlighted, "#problems-table")
    def _moved(self, _event: VirtualTable.RowHighlighted) -> None:
        self._explain()

    def _explain(self) -> None:
        item = self.query_one(ProblemTable).highlighted_row
        help_text = Text()
        if item is not None:
            problem = item[1]
            help_text.append_text(safe_text(problem.message, "bold", single_line=True, width=400))
            help_text.append("\n")
            help_text.append(problem.code + ": " + PROBLEM_CODES.get(problem.code, ""))
        elif self.problems == []:
            help_text.append("Every check passed: no unfinished calls or runs after the session moved on, no orphan "
                             "results, dangling parents, clocks going backwards, unknown merges or bad state patches.")
        self.query_one("#problems-help", Static).update(help_text)

    @on(VirtualTable.RowSelected, "#problems-table")
    def _selected(self, _event: VirtualTable.RowSelected) -> None:
        self.action_jump()

    def action_jump(self) -> None:
        item = self.query_one(ProblemTable).highlighted_row
        if item is None:
            return
        p = item[1]
        self.dismiss(JumpTo(p.branch_id, p.branch_id, p.seq))

    def action_back(self) -> None:
        self.dismiss(None)
