"""The runs of a branch's timeline (``u`` on the session detail screen): per run and per step, what it
cost and did (tokens in / out, tool calls, failures, wall time). Enter goes to where a run or step starts.

The figures come from ``JournalAPI.runs(session, branch)`` in a thread worker (one query). Dismisses with a
:class:`~lago_tui.screens.compare.JumpTo` or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from ...journal import JournalError, SessionDetail
from ...journal.views import RunFigures, StepFigures
from ...safe import safe_text
from ...summary import duration, number, timestamp, tokens
from ...widgets.footer import Footer
from ...widgets.list_source import ListSource
from ...widgets.virtual_list import Column, RenderContext, VirtualTable
from ..compare import JumpTo

__all__ = ["RunLine", "RunsScreen", "RunsTable", "run_lines"]


@dataclass(frozen=True)
class RunLine:
    """One row: a run (``step`` None) or one of its steps."""

    number: int  # the run's number in the timeline, from 1
    run: RunFigures
    step: StepFigures | None = None


def run_lines(runs: list[RunFigures]) -> list[RunLine]:
    """Each run, then its steps."""
    out: list[RunLine] = []
    for ordinal, run in enumerate(runs, 1):
        out.append(RunLine(ordinal, run))
        out.extend(RunLine(ordinal, run, step) for step in run.steps)
    return out


class RunsTable(VirtualTable[tuple[int, RunLine]]):
    """run | status | started | wall | events | tokens in | out | tools | failures."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "runs--run", "runs--dim", "runs--failure", "runs--open",
    }

    DEFAULT_CSS = """
    RunsTable {
        & > .runs--run { text-style: bold; }
        & > .runs--dim { color: $text-muted; }
        & > .runs--failure { color: $text-error; text-style: bold; }
        & > .runs--open { color: $text-warning; }
    }
    """

    @staticmethod
    def columns_for(width: int) -> tuple[Column, ...]:
        """Every figure keeps a column; the start time loses its date, the status and labels narrow, as
        the table narrows."""
        if width >= 110:
            return (
                Column("run", "run / step", min_width=12), Column("status", "status", width=18),
                Column("started", "started", width=19), Column("wall", "wall", width=7, align="right"),
                Column("events", "events", width=7, align="right"), Column("in", "tokens in", width=9, align="right"),
                Column("out", "out", width=7, align="right"), Column("tools", "tools", width=6, align="right"),
                Column("failures", "failures", width=8, align="right"),
            )
        return (
            Column("run", "run / step", min_width=12), Column("status", "status", width=9),
            Column("started", "started", width=8), Column("wall", "wall", width=6, align="right"),
            Column("events", "events", width=6, align="right"), Column("in", "in", width=6, align="right"),
            Column("out", "out", width=6, align="right"), Column("tools", "tools", width=5, align="right"),
            Column("failures", "fails", width=5, align="right"),
        )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(self.columns_for(120), self._render, keep_key=lambda row: row[0], placeholder="counting…",
                         id=id)

    def on_resize(self) -> None:
        wanted = self.columns_for(self.size.width)
        if wanted != self.columns:
            self.columns = wanted

    def _render(self, item: tuple[int, RunLine], index: int, ctx: RenderContext) -> list[Text | str]:
        line = item[1]
        get = self.get_component_rich_style
        dim, run_style = get("runs--dim", partial=True), get("runs--run", partial=True)
        fig = line.step if line.step is not None else line.run
        if line.step is None:
            label = Text(f"run {line.number}  ", run_style)
            label.append_text(safe_text(line.run.run_id, dim, single_line=True, width=max(1, ctx.widths[0] - 8)))
            status = line.run.status + (f": {line.run.reason}" if line.run.reason else "")
            status_style = get("runs--open", partial=True) if line.run.status == "open" else (
                get("runs--failure", partial=True) if line.run.status == "errored" else dim)
        else:
            label = Text(f"  step {line.step.index}", "")
            status = ("done" if line.step.finished else "open") + (
                f" ({line.step.stop_reason})" if line.step.stop_reason else "")
            status_style = dim
        failures = Text(number(fig.failures, ctx.widths[8]), get("runs--failure", partial=True) if fig.failures else dim)
        started = timestamp(fig.started_ts)
        return [
            label,
            safe_text(status, status_style, single_line=True, width=max(1, ctx.widths[1])),
            Text(started if ctx.widths[2] >= len(started) else started[-8:], dim),
            duration(fig.wall_time_us / 1000),
            number(fig.events, ctx.widths[4]),  # compact (827k) where the column is too narrow for 827,214
            number(fig.tokens_in, ctx.widths[5]),
            number(fig.tokens_out, ctx.widths[6]),
            number(fig.tool_calls, ctx.widths[7]),
            failures,
        ]


class RunsScreen(Screen[JumpTo | None]):
    """The runs of one branch; enter dismisses with where the highlighted run or step starts."""

    OFFERS_NEW_SESSION = False  # a view over one session: its footer keeps the room for its own keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,u", "back", "Back"),
        Binding("enter", "jump", "Go to its start"),
        Binding("ctrl+r", "refresh", "Count again"),
    ]

    DEFAULT_CSS = """
    RunsScreen { layout: vertical; }
    RunsScreen #runs-header { height: 2; padding: 0 1; background: $panel; }
    RunsScreen #runs-table { height: 1fr; border: round $panel-lighten-2; }
    RunsScreen #runs-table:focus { border: round $accent; }
    """

    def __init__(self, detail: SessionDetail, branch_id: str) -> None:
        super().__init__()
        self.detail = detail
        self.branch_id = branch_id
        self.runs: list[RunFigures] | None = None

    def _branch_name(self) -> str:
        info = self.detail.branch(self.branch_id)
        return info.name if info else self.branch_id

    def compose(self) -> ComposeResult:
        head = Text("Counting the runs of ", "dim")
        head.append_text(safe_text(self._branch_name(), "dim", single_line=True, width=60))
        head.append("…", "dim")
        yield Static(head, id="runs-header")
        yield RunsTable(id="runs-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RunsTable).focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        session_id, branch_id = self.detail.summary.session_id, self.branch_id

        def work() -> None:
            try:
                runs = self.app.journal.runs(session_id, branch_id)  # type: ignore[attr-defined]
            except JournalError as err:
                retry = getattr(err, "retry_note", None)
                self._deliver(self._failed, retry or str(err), retry is not None)
                return
            self._deliver(self._counted, runs)

        self.run_worker(work, thread=True, group="runs", exclusive=True, exit_on_error=False)

    def _deliver(self, callback: object, *args: object) -> None:
        """From the worker: ``callback(*args)`` on the UI thread, if this screen is still open."""

        def run() -> None:
            if self in self.app.screen_stack:
                callback(*args)  # type: ignore[operator]

        self.app.call_from_thread(run)

    def _failed(self, message: str, retry: bool) -> None:
        self.query_one("#runs-header", Static).update(safe_text(message, "bold", single_line=True, width=200))
        if retry:
            self.set_timer(1.0, self.action_refresh)

    def _counted(self, runs: list[RunFigures]) -> None:
        self.runs = runs
        head = Text()
        head.append_text(safe_text(self.detail.summary.name, "bold", single_line=True, width=60))
        head.append(" · ")
        head.append_text(safe_text(self._branch_name(), "bold", single_line=True, width=40))
        steps = sum(len(r.steps) for r in runs)
        head.append(f"  {len(runs):,} run{'s' if len(runs) != 1 else ''}, {steps:,} step{'s' if steps != 1 else ''}")
        if runs:
            head.append("\n")
            head.append(
                f"tokens {tokens(sum(r.tokens_in for r in runs))} in / {tokens(sum(r.tokens_out for r in runs))} out"
                f"  tools {sum(r.tool_calls for r in runs):,}  failures {sum(r.failures for r in runs):,}"
                f"  open {sum(r.status == 'open' for r in runs):,}  errored {sum(r.status == 'errored' for r in runs):,}",
                "dim",
            )
        else:
            head.append("\nno events of this timeline carry a run id", "dim")
        head.no_wrap = True
        head.overflow = "ellipsis"
        self.query_one("#runs-header", Static).update(head)
        self.query_one(RunsTable).set_source(ListSource(run_lines(runs)))

    @on(VirtualTable.RowSelected, "#runs-table")
    def _selected(self, _event: VirtualTable.RowSelected) -> None:
        self.action_jump()

    def action_jump(self) -> None:
        item = self.query_one(RunsTable).highlighted_row
        if item is None:
            return
        line = item[1]
        fig = line.step if line.step is not None else line.run
        self.dismiss(JumpTo(self.branch_id, fig.branch_id, fig.seq))

    def action_back(self) -> None:
        self.dismiss(None)
