"""The analysis views on their own (issue 10): state panel, compare, lane graph, problems, copy menu, save.

Each view runs in a bare harness app holding a journal (as LagoApp does), so these tests do not depend on
the session detail screen; they check the keys with Pilot and each view at 80x24 and 160x48 with
snap_compare. Journal text is hostile where it shows (markup, escapes, bidi), and must show escaped.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult

from lago_tui.exporting import Part
from lago_tui.journal import Journal
from lago_tui.screens.compare import BranchPickerScreen, CompareScreen, CompareTable, JumpTo
from lago_tui.screens.copy_export import ChoiceMenuScreen, SaveOffer, SaveScreen, context_choices, copy_part
from lago_tui.screens.lane_graph import LaneGraphScreen, LaneTable
from lago_tui.screens.problems import ProblemsScreen, ProblemTable
from lago_tui.widgets.state_panel import StatePanel

from analysis_sessions import SessionWriter

HOSTILE = "[@click=app.quit]x[/] \x1b[31m\u202e"


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 8.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(0.02)


class Harness(App[None]):
    """A bare app holding a journal, as LagoApp does; shows ``widget`` if given."""

    def __init__(self, journal: Journal, widget: Any = None) -> None:
        super().__init__()
        self.journal = journal
        self.widget = widget
        self.results: list[Any] = []

    def compose(self) -> ComposeResult:
        if self.widget is not None:
            yield self.widget

    def show(self, screen: Any) -> None:
        self.push_screen(screen, self.results.append)

    async def shown(self, pilot, screen: Any) -> None:  # noqa: ANN001
        """Push ``screen`` and wait until it is mounted."""
        self.show(screen)
        await wait_until(pilot, lambda: self.screen is screen and screen.is_mounted)


@pytest.fixture(scope="module")
def journal_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session "attempts": main forks attempt-a and attempt-b (and a nested one), b merges back;
    hostile branch names, some problems; fixed timestamps, so snapshots are stable."""
    path = tmp_path_factory.mktemp("analysis-tui") / "journal.duckdb"
    with Journal(path) as j:
        w = SessionWriter(j, "attempts", "t")
        w.emit("main", {"type": "RunStarted"}, run_id="r1")
        w.emit("main", {"type": "Message", "role": "user", "content": "Make the flaky test pass " + HOSTILE})
        w.emit("main", {"type": "StatePatched", "patch": {"plan": ["read", "fix"], "attempt": 1}})
        w.emit("main", {"type": "FileWrite", "path": "src/app.py", "blob_hash": "a1b2c3d4e5f6", "size_bytes": 1234})
        a = w.branch("main", "attempt-a", 5)
        b = w.branch("main", "attempt-" + HOSTILE, 5)
        for branch, result, status in ((a, "3 failed", "error"), (b, "all passed", "ok")):
            w.emit(branch, {"type": "Message", "role": "assistant", "content": "Running the tests.",
                            "token_usage": {"prompt_tokens": 120, "completion_tokens": 30}}, run_id="r1")
            w.emit(branch, {"type": "ToolCallRequested", "call_id": f"c-{branch}", "tool_name": "run_tests",
                            "arguments": {"path": "tests/"}}, run_id="r1")
            w.emit(branch, {"type": "ToolCallCompleted", "call_id": f"c-{branch}", "tool_name": "run_tests",
                            "duration_ms": 900, "status": status, "result": result}, run_id="r1")
        w.emit(b, {"type": "FileWrite", "path": "src/app.py", "blob_hash": "ffee00112233", "size_bytes": 1300})
        w.emit(b, {"type": "StatePatched", "patch": [{"op": "replace", "path": "/attempt", "value": 2}]})
        w.emit(b, {"type": "Message", "role": "assistant", "content": "Fixed: the clock is frozen now."}, run_id="r1")
        w.emit(a, {"type": "ToolCallRequested", "call_id": "c-open", "tool_name": "shell" + HOSTILE}, run_id="r1")
        nested = w.branch(a, "a-retry", 2)
        w.emit(nested, {"type": "Message", "role": "assistant", "content": "Trying again."})
        w.emit("main", {"type": "BranchMerged", "source_branch_id": b, "merge_seq": 5})
        w.emit("main", {"type": "StatePatched", "patch": [{"op": "remove", "path": "/missing"}]})
        w.emit("main", {"type": "SessionClosed", "reason": "done"})
        w.flush()
    return path


@pytest.fixture
def journal(journal_file: Path) -> Journal:
    j = Journal(journal_file, idle_release=0.2)
    yield j
    j.close()


def _detail(journal: Journal):  # noqa: ANN202
    return journal.session("attempts")


# ---------------------------------------------------------------------------------------------- state


@run_async
async def test_state_panel_shows_the_state_and_only_the_last_request(journal: Journal) -> None:
    panel = StatePanel(id="state")
    app = Harness(journal, panel)
    async with app.run_test(size=(100, 40)) as pilot:
        for seq in range(1, 7):  # a burst, as when a key is held down: one state is read, the last
            panel.show_at("t-session", "t-attempt-" + HOSTILE, seq, branch_name="attempt-" + HOSTILE)
        await wait_until(pilot, lambda: panel.state is not None and panel.pending is None)
        assert panel.state.at_seq == 6 and panel.state.branch_id == "t-attempt-" + HOSTILE
        body = str(panel.query_one("#state-body").visual)
        assert "at seq 6 of attempt-[@click=app.quit]x[/] \\x1b[31m\\u202e" in body
        assert "1 ok" in body and "\"attempt\": 2" in body and "src/app.py" in body and "1,300 B" in body
        assert "\x1b" not in body and "\u202e" not in body
        panel.show_at("t-session", "nope", 1)
        await wait_until(pilot, lambda: panel.pending is None)
        assert "Could not read the state: no branch 'nope'" in str(panel.query_one("#state-body").visual)


def _state_app(journal: Journal, branch: str, seq: int) -> tuple[Harness, Callable]:
    panel = StatePanel(id="state")
    panel.border_title = "state"
    app = Harness(journal, panel)

    async def run_before(pilot) -> None:  # noqa: ANN001
        panel.show_at("t-session", branch, seq, branch_name=branch)
        await wait_until(pilot, lambda: panel.state is not None and panel.pending is None)
        await pilot.pause(0.1)

    return app, run_before


def test_snapshot_state_panel_80x24(snap_compare, journal: Journal) -> None:
    app, run_before = _state_app(journal, "t-attempt-a", 4)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_state_panel_160x48(snap_compare, journal: Journal) -> None:
    app, run_before = _state_app(journal, "t-attempt-" + HOSTILE, 6)
    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


# ---------------------------------------------------------------------------------------------- compare


async def _compare_ready(pilot, screen: CompareScreen) -> None:  # noqa: ANN001
    table = screen.query_one(CompareTable)
    await wait_until(pilot, lambda: screen.comparison is not None and table.row_count == len(screen.comparison.rows)
                     and not table.is_loading)


@run_async
async def test_compare_keys(journal: Journal) -> None:
    app = Harness(journal)
    async with app.run_test(size=(160, 48)) as pilot:
        detail = _detail(journal)
        screen = CompareScreen(detail, "attempt-a")  # default: the parent
        await app.shown(pilot, screen)
        await _compare_ready(pilot, screen)
        c = screen.comparison
        assert (c.left_branch_id, c.right_branch_id, c.fork_branch_id, c.fork_seq) == ("t-attempt-a", "main", "main", 5)
        header = str(screen.query_one("#cmp-header").visual)
        assert "fork main @5" in header
        await pilot.press("b")  # pick the other attempt
        await wait_until(pilot, lambda: isinstance(app.screen, BranchPickerScreen))
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: screen.comparison is not None and screen.comparison.right_branch_id != "main")
        await _compare_ready(pilot, screen)
        c = screen.comparison
        assert c.right_branch_id == "t-attempt-" + HOSTILE
        assert [r.status for r in c.rows][:3] == ["same", "same", "changed"]
        table = screen.query_one(CompareTable)
        assert table.cursor == 2  # on the first difference
        assert [r.status for r in c.rows][2:] == ["changed", "left", "left", "right", "right", "right"][: len(c.rows) - 2]
        await pilot.press("n")  # one block of differences: nothing after it
        assert table.cursor == 2
        await pilot.press("end", "N")  # from inside the block: to its start
        assert table.cursor == 2
        await pilot.press("tab", "enter")  # the right side's event
        await wait_until(pilot, lambda: app.results)
        assert app.results[-1] == JumpTo("t-attempt-" + HOSTILE, "t-attempt-" + HOSTILE, c.rows[2].right.seq)


@run_async
async def test_compare_with_no_other_branch_says_so(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.duckdb") as j:
        w = SessionWriter(j, "single", "s")
        w.flush()
        app = Harness(j)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = CompareScreen(j.session("single"), "main")
            await app.shown(pilot, screen)
            await pilot.pause()
            assert "no other branch" in str(screen.query_one("#cmp-header").visual)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.results == [None])


def _compare_app(journal: Journal, left: str, right: str | None) -> tuple[Harness, Callable]:
    app = Harness(journal)

    async def run_before(pilot) -> None:  # noqa: ANN001
        screen = CompareScreen(_detail(journal), left, right)
        await app.shown(pilot, screen)
        await _compare_ready(pilot, screen)
        await pilot.pause(0.1)

    return app, run_before


def test_snapshot_compare_80x24(snap_compare, journal: Journal) -> None:
    app, run_before = _compare_app(journal, "attempt-a", "t-attempt-" + HOSTILE)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_compare_160x48(snap_compare, journal: Journal) -> None:
    app, run_before = _compare_app(journal, "main", "a-retry")
    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


# ---------------------------------------------------------------------------------------------- lanes


@run_async
async def test_lane_graph_rows_and_enter_opens_the_branch_at_its_fork(journal: Journal) -> None:
    app = Harness(journal)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = LaneGraphScreen(_detail(journal), current="t-a-retry")
        await app.shown(pilot, screen)
        table = screen.query_one(LaneTable)
        await wait_until(pilot, lambda: table.row_count == len(screen.rows) > 0 and not table.is_loading)
        kinds = [(r.kind, r.branch.name) for r in screen.rows]
        assert kinds[0] == ("start", "main") and ("merge", "attempt-" + HOSTILE) in kinds
        assert [k for k, _ in kinds].count("fork") == 3 and [k for k, _ in kinds].count("head") == 4
        assert screen.rows[table.cursor].branch.branch_id == "t-a-retry"  # the current branch's fork
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results)
        assert app.results[-1] == JumpTo("t-a-retry", "t-attempt-a", 2)


def _lanes_app(journal: Journal) -> tuple[Harness, Callable]:
    app = Harness(journal)

    async def run_before(pilot) -> None:  # noqa: ANN001
        screen = LaneGraphScreen(_detail(journal), current="t-attempt-a")
        await app.shown(pilot, screen)
        table = screen.query_one(LaneTable)
        await wait_until(pilot, lambda: table.row_count == len(screen.rows) > 0 and not table.is_loading)
        await pilot.pause(0.1)

    return app, run_before


def test_snapshot_lanes_80x24(snap_compare, journal: Journal) -> None:
    app, run_before = _lanes_app(journal)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_lanes_160x48(snap_compare, journal: Journal) -> None:
    app, run_before = _lanes_app(journal)
    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


# ---------------------------------------------------------------------------------------------- problems


@run_async
async def test_problems_list_and_jump(journal: Journal) -> None:
    app = Harness(journal)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = ProblemsScreen(_detail(journal))
        await app.shown(pilot, screen)
        table = screen.query_one(ProblemTable)
        await wait_until(pilot, lambda: screen.problems is not None and table.row_count == len(screen.problems))
        assert [(p.code, p.branch_id) for p in screen.problems] == [
            ("unfinished_run", "main"), ("bad_state_patch", "main"), ("unfinished_tool_call", "t-attempt-a")]
        assert "3 problems" in str(screen.query_one("#problems-header").visual)
        await pilot.press("down", "down", "enter")
        await wait_until(pilot, lambda: app.results)
        assert app.results[-1] == JumpTo("t-attempt-a", "t-attempt-a", 4)


def _problems_app(journal: Journal) -> tuple[Harness, Callable]:
    app = Harness(journal)

    async def run_before(pilot) -> None:  # noqa: ANN001
        screen = ProblemsScreen(_detail(journal))
        await app.shown(pilot, screen)
        table = screen.query_one(ProblemTable)
        await wait_until(pilot, lambda: screen.problems is not None and table.row_count == 3 and not table.is_loading)
        await pilot.press("end")
        await pilot.pause(0.1)

    return app, run_before


def test_snapshot_problems_80x24(snap_compare, journal: Journal) -> None:
    app, run_before = _problems_app(journal)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_problems_160x48(snap_compare, journal: Journal) -> None:
    app, run_before = _problems_app(journal)
    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


# ---------------------------------------------------------------------------------------------- copy and save


@run_async
async def test_copy_menu_keys_and_copied_text(journal: Journal) -> None:
    app = Harness(journal)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.shown(pilot, ChoiceMenuScreen("Copy", context_choices("selection (3 events)")))
        await pilot.pause()
        await pilot.press("M")
        await wait_until(pilot, lambda: app.results == ["branch:md"])
        await app.shown(pilot, ChoiceMenuScreen("Copy", context_choices("event")))
        await pilot.pause()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results[-1] is None)

        timeline = journal.timeline("attempts", "t-attempt-a")
        copy_part(app.screen, timeline, Part("range", "t-session", "t-attempt-a", 5, 7), "openai")
        await wait_until(pilot, lambda: app.clipboard.startswith("["))
        messages = json.loads(app.clipboard)
        assert [m["role"] for m in messages] == ["assistant", "tool"]
        assert messages[0]["tool_calls"][0]["function"]["name"] == "run_tests"
        copy_part(app.screen, timeline, Part("branch", "t-session", "t-attempt-a", title="attempts · attempt-a"), "md")
        await wait_until(pilot, lambda: app.clipboard.startswith("# attempts · attempt-a"))
        assert "## user · seq 3" in app.clipboard and "\x1b" not in app.clipboard


def _save_screen(journal: Journal, directory: Path) -> SaveScreen:
    timeline = journal.timeline("attempts", "t-attempt-a")
    offers = [
        SaveOffer(Part("range", "t-session", "t-attempt-a", 5, 7), "selection (3 events)"),
        SaveOffer(Part("branch", "t-session", "t-attempt-a", title="attempts · attempt-a"), "branch attempt-a"),
        SaveOffer(Part("session", "t-session", "t-attempt-a"), "session (every branch)"),
    ]
    return SaveScreen(offers, timeline, session_name="attempts", branch_name="attempt-a", directory=directory)


@run_async
async def test_save_writes_asks_before_replacing_and_reports_errors(journal: Journal, tmp_path: Path) -> None:
    app = Harness(journal)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = _save_screen(journal, tmp_path)
        await app.shown(pilot, screen)
        await pilot.pause()
        path = screen.query_one("#save-path")
        assert path.value == str(tmp_path / "attempts-attempt-a-range.jsonl")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results)
        written = tmp_path / "attempts-attempt-a-range.jsonl"
        assert [json.loads(line)["seq"] for line in written.read_text().splitlines()] == [1, 2, 3]

        screen = _save_screen(journal, tmp_path)
        await app.shown(pilot, screen)
        await pilot.pause()
        screen.query_one("#scope-branch").value = True
        screen.query_one("#format-md").value = True
        await pilot.pause()
        md = tmp_path / "attempts-attempt-a.md"
        assert screen.query_one("#save-path").value == str(md)
        md.write_text("old")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "exists" in str(screen.query_one("#save-error").visual))
        assert md.read_text() == "old"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.results) == 2)
        assert md.read_text().startswith("# attempts · attempt-a")

        screen = _save_screen(journal, tmp_path)
        await app.shown(pilot, screen)
        await pilot.pause()
        screen.query_one("#scope-session").value = True
        screen.query_one("#format-openai").value = True
        await pilot.press("enter")
        await wait_until(pilot, lambda: "JSON Lines only" in str(screen.query_one("#save-error").visual))
        screen.query_one("#format-jsonl").value = True
        screen.query_one("#save-path").value = str(tmp_path / "no" / "dir" / "x.jsonl")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "No such file" in str(screen.query_one("#save-error").visual))
        assert not (tmp_path / "no").exists()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results[-1] is None)


def test_snapshot_copy_menu_80x24(snap_compare, journal: Journal) -> None:
    app = Harness(journal)

    async def run_before(pilot) -> None:  # noqa: ANN001
        await app.shown(pilot, ChoiceMenuScreen("Copy", context_choices("selection (3 events)")))
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_save_160x48(snap_compare, journal: Journal, tmp_path: Path) -> None:
    app = Harness(journal)

    async def run_before(pilot) -> None:  # noqa: ANN001
        screen = _save_screen(journal, Path("/exports"))
        await app.shown(pilot, screen)
        for field in screen.query("Input"):
            field.cursor_blink = False  # no blinking cursor in a snapshot
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


# ---------------------------------------------------------------------------------------------- palette


@run_async
async def test_palette_lists_the_analysis_actions_a_screen_has(journal: Journal) -> None:
    from textual.command import CommandPalette
    from textual.screen import Screen

    from lago_tui.screens.analysis_commands import AnalysisCommands

    called: list[str] = []

    class Host(Screen[None]):
        COMMANDS = {AnalysisCommands}

        def action_lane_graph(self) -> None:
            called.append("lanes")

        def action_compare(self) -> None:
            called.append("compare")

    app = Harness(journal)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.shown(pilot, Host())
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"lane graph")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: called == ["lanes"])
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"integrity")  # the Host has no problems action: no such entry
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert called == ["lanes"]


# ---------------------------------------------------------------------------------------------- lane layout


def _detail_of(branches):  # noqa: ANN001, ANN202
    from lago_tui.journal import SessionDetail, SessionSummary, SessionTotals

    summary = SessionSummary("s", "s", "", {}, 0, 0, len(branches), 0, 0, None, None, False)
    return SessionDetail(summary, tuple(branches), SessionTotals(0, 0, 0, 0, 0, 0))


def test_lane_layout_forks_merges_and_reused_columns() -> None:
    from lago_tui.journal import BranchInfo
    from lago_tui.journal.views import Merge
    from lago_tui.lanes import lane_rows

    main = BranchInfo("s", "main", "main", None, 0, 0, 30)
    a = BranchInfo("s", "a", "a", "main", 5, 10, 4, (Merge("a", "main", 20, 4),))
    b = BranchInfo("s", "b", "b", "main", 8, 40, 2)  # forks after a is done: a's column is reused
    c = BranchInfo("s", "c", "c", "a", 2, 12, 1)
    rows = lane_rows(_detail_of([main, a, c, b]), {"main": 100, "a": 15, "b": 50, "c": 13}, {("a", "main", 20): 18})
    assert [(r.kind, r.branch.branch_id, r.graph) for r in rows] == [
        ("start", "main", "●"),
        ("fork", "a", "├─╮"),
        ("fork", "c", "│ ├─╮"),
        ("head", "c", "│ │ ●"),
        ("head", "a", "│ ●"),
        ("merge", "a", "├─╯"),
        ("fork", "b", "├─╮"),
        ("head", "b", "│ ●"),
        ("head", "main", "●"),
    ]
