"""Jumps, marks, panes and copy choices in the detail screen (issue 13.2, 13.3, 13.6): every key."""

from __future__ import annotations

import json

import pytest

from lago_tui.app import LagoApp
from lago_tui.journal import Journal, JournalAPI
from lago_tui.screens.session_detail import SessionDetailScreen
from lago_tui.widgets.branch_tree import BranchTree

from conftest import fixed_clock
from detail_helpers import (
    detail_of,
    inspector_of,
    open_detail,
    opened,
    row_line,
    run_async,
    text_of,
    timeline_ready,
    view_of,
    wait_until,
)

INCIDENT = "incident-2231-db-latency"  # main 67: runs start at 1 and 28, an ErrorRaised at 46
MIGRATE = "migrate-billing-to-pydantic-v2"


@pytest.fixture(autouse=True)
def _notes_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every notification is remembered: a toast expires after 2-3 s, which a loaded machine can take
    between two checks of a wait."""
    original = LagoApp.notify

    def notify(self: LagoApp, message: str, *args: object, **kwargs: object) -> None:
        self.__dict__.setdefault("_notes_seen", []).append(str(message))
        original(self, message, *args, **kwargs)

    monkeypatch.setattr(LagoApp, "notify", notify)


def notified(app: LagoApp, text: str) -> bool:
    return any(text in note for note in app.__dict__.get("_notes_seen", []))


async def at(pilot, index: int) -> None:  # noqa: ANN001
    view = view_of(pilot.app)
    await wait_until(pilot, lambda: view.cursor == index)
    await timeline_ready(pilot)


async def seq_prompt(pilot, text: str) -> None:  # noqa: ANN001
    app = pilot.app
    await pilot.press("colon")
    box = app.screen.query_one("#seq-input")
    await wait_until(pilot, lambda: box.display and box.has_focus)
    box.value = text
    await pilot.press("enter")


@run_async
async def test_colon_jumps_to_a_seq_with_context_and_says_why_not(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        view = view_of(app)
        await seq_prompt(pilot, "40")
        await at(pilot, 39)
        assert isinstance(app.screen, SessionDetailScreen)
        top, rows = view.scroll_offset.y, view.scrollable_content_region.height - 1
        assert top + 3 <= 39 <= top + rows - 4, (top, rows)  # rows before and after it show
        await seq_prompt(pilot, "999")
        await wait_until(pilot, lambda: "no seq 999 on main (1..67)" in str(app.screen.query_one("#seq-hint").visual))
        await seq_prompt_cancel(pilot)
        assert view.cursor == 39
    async with opened(demo_api, MIGRATE, branch="codemod-plus-manual-fixes", rows=253, size=(120, 40)) as (app, pilot):  # a nested branch: its own seqs first, or branch@seq
        await seq_prompt(pilot, "5")
        await at(pilot, 221 + 4)
        await seq_prompt(pilot, "attempt-codemod@5")
        await at(pilot, 199 + 4)
        await seq_prompt(pilot, "main@300")
        await wait_until(pilot, lambda: "no seq 300 on main (1..199)" in str(app.screen.query_one("#seq-hint").visual))


async def seq_prompt_cancel(pilot) -> None:  # noqa: ANN001
    await pilot.press("escape")
    await wait_until(pilot, lambda: not pilot.app.screen.query_one("#seq-input").display)


@run_async
async def test_percent_goes_between_a_tool_request_and_its_result(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        view = view_of(app)
        view.move_cursor(6)  # ToolCallRequested; its completion is at 9
        await timeline_ready(pilot)
        assert view.highlighted_row.ev.kind == "ToolCallRequested"
        await pilot.press("percent_sign")
        await at(pilot, 9)
        assert view.highlighted_row.ev.kind == "ToolCallCompleted"
        await pilot.press("percent_sign")
        await at(pilot, 6)
        view.move_cursor(3)
        await timeline_ready(pilot)
        await pilot.press("percent_sign")
        await wait_until(pilot, lambda: notified(app, "% jumps between"))
        assert view.cursor == 3


@run_async
async def test_e_and_brackets_step_through_errors_and_run_starts(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        rows = detail_of(app).timeline.window(0, 67)
        assert [ev.position for ev in rows if ev.kind == "ErrorRaised"] == [46]
        await pilot.press("e")  # a tool call that failed (its completion says so), then the error
        await at(pilot, 45)
        assert view_of(app).highlighted_row.ev.kind == "ToolCallCompleted"
        await pilot.press("e")
        await at(pilot, 46)
        assert view_of(app).highlighted_row.ev.kind == "ErrorRaised"
        await pilot.press("e")  # past the last: wraps around to the first
        await wait_until(pilot, lambda: notified(app, "error 1 of 2 (wrapped around)"))
        await at(pilot, 45)
        await pilot.press("E")
        await wait_until(pilot, lambda: notified(app, "error 2 of 2 (wrapped around)"))
        await at(pilot, 46)
        await pilot.press("g", "right_square_bracket")
        await at(pilot, 1)
        await pilot.press("right_square_bracket")
        await at(pilot, 28)
        await pilot.press("right_square_bracket")
        await at(pilot, 1)
        await pilot.press("left_square_bracket")
        await at(pilot, 28)
        assert view_of(app).highlighted_row.ev.kind == "RunStarted"


@run_async
async def test_marks_set_and_go_per_session_and_quote_quote_goes_back(demo_api: JournalAPI) -> None:
    async with opened(demo_api, MIGRATE, rows=380, size=(160, 48)) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        view.move_cursor(10)
        await timeline_ready(pilot)
        await pilot.press("m")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "KeyPrompt")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and notified(app, "Mark a set"))
        await pilot.press("G")
        await at(pilot, 379)
        await pilot.press("apostrophe", "a")
        await at(pilot, 10)
        await pilot.press("apostrophe", "apostrophe")  # back to where the jump left
        await at(pilot, 379)
        # a mark on another branch brings that branch back
        screen.select_branch(next(b.branch_id for b in screen.detail.branches if b.name == "attempt-codemod"))
        await wait_until(pilot, lambda: view.row_count == 222 and not view.is_loading)
        view.move_cursor(199 + 2)
        await timeline_ready(pilot)
        await pilot.press("m", "b")
        await wait_until(pilot, lambda: notified(app, "Mark b set"))
        screen.select_branch("main")
        await wait_until(pilot, lambda: view.row_count == 380 and not view.is_loading)
        await timeline_ready(pilot)
        await pilot.press("apostrophe", "b")
        await wait_until(pilot, lambda: view.row_count == 222 and view.cursor == 201 and not view.is_loading)
        assert "attempt-codemod" in text_of("#sd-status", app)
        assert screen.query_one(BranchTree).selected_branch == screen.branch_id
        app.pop_screen()
        await open_detail(pilot, demo_api, INCIDENT, rows=67)  # another session: its own marks
        await pilot.press("apostrophe")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "KeyPrompt")
        await pilot.press("a")
        await wait_until(pilot, lambda: notified(app, "No mark a"))


@run_async
async def test_h_and_l_scroll_the_summaries_sideways(demo_journal: Journal) -> None:
    async with opened(demo_journal, INCIDENT, rows=67, size=(100, 30)) as (app, pilot):
        view = view_of(app)
        view.move_cursor(3)  # the user message, longer than its column
        await timeline_ready(pilot)
        before = row_line(view, 3)
        await pilot.press("l")
        await wait_until(pilot, lambda: view.cell_offset > 0 and "⇢ +" in text_of("#sd-status", app))
        after = row_line(view, 3)
        assert after != before and "…" in after
        shown = after.split("…", 1)[1].strip()[:10]
        assert shown and shown in view.highlighted_row.ev.payload["content"]
        await pilot.press("right", "left", "h")
        await wait_until(pilot, lambda: view.cell_offset == 0 and "⇢" not in text_of("#sd-status", app))
        assert row_line(view, 3) == before


@run_async
async def test_z_zooms_the_focused_pane_and_escape_or_z_gives_the_others_back(demo_journal: Journal) -> None:
    async with opened(demo_journal, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        screen, view, inspector = detail_of(app), view_of(app), inspector_of(app)
        tree, side = screen.query_one(BranchTree), screen.query_one("#sd-side")
        await pilot.press("z")
        await wait_until(pilot, lambda: not tree.display and not side.display)
        await pilot.pause()
        assert view.region.width >= 118 and "zoom: timeline" in text_of("#sd-status", app)
        await pilot.press("z")
        await wait_until(pilot, lambda: tree.display and side.display)
        inspector.focus()
        await pilot.press("z")
        await wait_until(pilot, lambda: not view.display and side.display and inspector.region.height > 30)
        await pilot.press("escape")  # escape unzooms before it leaves
        await wait_until(pilot, lambda: view.display and tree.display)
        assert isinstance(app.screen, SessionDetailScreen)


@run_async
async def test_less_and_greater_move_the_split(demo_journal: Journal) -> None:
    async with opened(demo_journal, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        screen, view, inspector = detail_of(app), view_of(app), inspector_of(app)
        await pilot.pause()
        height = view.region.height
        await pilot.press("greater_than_sign")
        await wait_until(pilot, lambda: view.region.height > height)
        await pilot.press("less_than_sign", "less_than_sign")
        await wait_until(pilot, lambda: view.region.height < height)
        tree = screen.query_one(BranchTree)
        width = tree.region.width
        tree.focus()
        await pilot.press("greater_than_sign")
        await wait_until(pilot, lambda: tree.region.width > width)
        await pilot.press("less_than_sign", "less_than_sign")
        await wait_until(pilot, lambda: tree.region.width < width)
    async with opened(demo_journal, INCIDENT, rows=67, size=(160, 48)) as (app, pilot):  # side by side: the split moves sideways
        inspector = inspector_of(app)
        await pilot.pause()
        width = inspector.region.width
        await pilot.press("less_than_sign")
        await wait_until(pilot, lambda: inspector.region.width > width)


@pytest.mark.parametrize("choice", ["p", "t", "e"])
@run_async
async def test_y_offers_payload_text_or_the_whole_event(demo_api: JournalAPI, monkeypatch: pytest.MonkeyPatch,
                                                        choice: str) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_detail(pilot, demo_api, INCIDENT, rows=67)
        view = view_of(app)
        view.move_cursor(3)  # a user message
        await timeline_ready(pilot)
        ev = view.highlighted_row.ev
        await pilot.press("y")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceMenuScreen")
        await pilot.press(choice)
        await wait_until(pilot, lambda: len(copied) == 1 and isinstance(app.screen, SessionDetailScreen))
        expected = {"p": json.dumps(ev.payload, indent=2, ensure_ascii=False), "t": ev.payload["content"],
                    "e": json.dumps(ev.to_wire(), ensure_ascii=False)}[choice]
        assert copied[0] == expected
        if choice == "t":  # an event without text: the choice is there, disabled
            view.move_cursor(1)
            await timeline_ready(pilot)
            await pilot.press("y")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceMenuScreen")
            await pilot.press("t")
            await pilot.pause(0.1)
            assert type(app.screen).__name__ == "ChoiceMenuScreen" and len(copied) == 1
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))


@run_async
async def test_w_wraps_the_summaries_over_three_lines_a_row(demo_journal: Journal) -> None:
    async with opened(demo_journal, INCIDENT, rows=67, size=(100, 30)) as (app, pilot):
        view = view_of(app)
        view.move_cursor(3)  # the user message, longer than its column
        await timeline_ready(pilot)
        content = view.highlighted_row.ev.payload["content"]
        await pilot.press("w")
        await wait_until(pilot, lambda: view.row_height == 3 and "wrap (w)" in text_of("#sd-status", app))
        await pilot.pause()
        top = view.scroll_offset.y
        lines = [view.render_line(3 * 3 + k - top + 1).text for k in range(3)]
        assert lines[0].split()[0] == "4"  # seq 4: the row's first line has every column
        second = lines[1].strip()
        assert second and second.split()[0] in content and not second.startswith("4 ")  # then the summary goes on
        await pilot.press("j")
        await at(pilot, 4)
        await pilot.press("w")
        await wait_until(pilot, lambda: view.row_height == 1 and "wrap" not in text_of("#sd-status", app))
        assert view.cursor == 4


@run_async
async def test_the_split_follows_the_mouse_dragging_the_inspectors_edge(demo_journal: Journal) -> None:
    async with opened(demo_journal, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        view, inspector = view_of(app), inspector_of(app)
        await pilot.pause()
        top, height = inspector.region.y, inspector.region.height
        await pilot.mouse_down(inspector, offset=(10, 0))  # its top edge, toward the timeline
        await pilot.hover(view, offset=(10, 8))  # up, into the timeline
        await pilot.mouse_up(view, offset=(10, 8))
        await wait_until(pilot, lambda: inspector.region.height > height + 5)
        assert inspector.region.y < top and detail_of(app).inspector_share is not None
        assert app.mouse_captured is None  # let go: the mouse is the panes' again


@run_async
async def test_the_analysis_views_are_wired_into_the_detail_screen(demo_journal: Journal) -> None:
    """s state panel beside the inspector, v selection (escape ends it first), d compare, L lanes, ! problems."""
    from lago_tui.screens.compare import CompareScreen
    from lago_tui.screens.lane_graph import LaneGraphScreen
    from lago_tui.screens.problems import ProblemsScreen
    from lago_tui.widgets.state_panel import StatePanel

    async with opened(demo_journal, INCIDENT, rows=67, size=(160, 48)) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        panel = screen.query_one(StatePanel)
        await pilot.press("s")
        await wait_until(pilot, lambda: panel.display and panel.region.height > 3)
        assert inspector_of(app).display  # both, one above the other
        await pilot.press("s")
        await wait_until(pilot, lambda: not panel.display)
        view.move_cursor(5)
        await timeline_ready(pilot)
        await pilot.press("v", "j", "j")
        await wait_until(pilot, lambda: view._selection == (5, 7))
        await pilot.press("escape")  # the selection ends first
        await wait_until(pilot, lambda: view._selection is None)
        assert isinstance(app.screen, SessionDetailScreen)
        for key, shown in (("d", CompareScreen), ("L", LaneGraphScreen), ("exclamation_mark", ProblemsScreen)):
            await pilot.press(key)
            await wait_until(pilot, lambda: isinstance(app.screen, shown))
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
        await wait_until(pilot, lambda: "problems" in text_of("#sd-header", app))


@run_async
async def test_u_shows_the_runs_and_enter_goes_to_a_step(demo_api: JournalAPI) -> None:
    from lago_tui.screens.session_detail.runs import RunsScreen, RunsTable

    async with opened(demo_api, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        view = view_of(app)
        runs = demo_api.runs(detail_of(app).session_id, "main")
        assert len(runs) == 2 and runs[1].failures == 2
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.runs is not None)
        table = app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.row_count == 2 + sum(len(r.steps) for r in runs)
                         and table.get_row(0) is not None)
        header = str(app.screen.query_one("#runs-header").visual)
        assert "2 runs, 6 steps" in header and "failures 2" in header
        second_run = 1 + len(runs[0].steps)
        table.move_cursor(second_run + 1)  # the second run's first step
        await wait_until(pilot, lambda: table.highlighted_row is not None)
        step = table.highlighted_row[1].step
        assert step is not None
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
        await wait_until(pilot, lambda: view.highlighted_row is not None and view.highlighted_row.ev.seq == step.seq)
        assert view.highlighted_row.ev.kind == "StepStarted"
