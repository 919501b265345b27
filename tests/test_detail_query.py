"""The query language in the timeline (issue 13.1): / highlights, & hides, mistakes said where they are typed."""

from __future__ import annotations

from lago_tui.journal import JournalAPI
from lago_tui.screens.session_detail import SessionDetailScreen
from lago_tui.summary import FAMILIES

from detail_helpers import (
    detail_of,
    opened,
    run_async,
    search_for,
    text_of,
    timeline_ready,
    view_of,
    wait_until,
)

INCIDENT = "incident-2231-db-latency"  # main: 67 events


def problem_line(app) -> str:  # noqa: ANN001
    line = detail_of(app).query_one("#sd-search-problem")
    return str(line.visual) if line.display else ""


@run_async
async def test_a_typed_query_marks_and_counts_its_matches(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        rows = screen.timeline.window(0, 67)
        tools = [ev.position for ev in rows if ev.kind in FAMILIES["tool"]]
        await search_for(pilot, "kind:ToolCallRequested -tool:query_metrics")
        expected = [ev.position for ev in rows if ev.kind == "ToolCallRequested"
                    and ev.payload.get("tool_name") != "query_metrics"]
        await wait_until(pilot, lambda: screen.search.positions == expected and view.cursor == expected[0])
        assert f"match 1/{len(expected)}" in text_of("#sd-status", app)
        await search_for(pilot, "kind:tool")
        await wait_until(pilot, lambda: screen.search.positions == tools)


@run_async
async def test_a_query_that_cannot_be_read_is_refused_where_it_is_typed(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        box = screen.query_one("#sd-search")
        await pilot.press("slash")
        await pilot.press(*"knd:tool")
        await wait_until(pilot, lambda: "knd" in problem_line(app))
        await pilot.press("enter")  # refused: the box stays, the timeline as it was
        await pilot.pause(0.1)
        assert box.display and box.has_focus and not screen.search.active and view.cursor == 0
        assert problem_line(app)
        box.value = "kind:tool"
        await wait_until(pilot, lambda: problem_line(app) == "")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not box.display and screen.search.positions is not None and view.cursor > 0)


@run_async
async def test_ampersand_hides_what_does_not_match_and_back_keeping_the_event(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        rows = screen.timeline.window(0, 67)
        tools = [ev for ev in rows if ev.kind in FAMILIES["tool"]]
        await search_for(pilot, "kind:tool")
        await wait_until(pilot, lambda: screen.search.positions is not None and view.cursor == tools[0].position)
        await pilot.press("n", "n")
        await wait_until(pilot, lambda: view.cursor == tools[2].position)
        await timeline_ready(pilot)
        await pilot.press("ampersand")  # only the matches, the cursor still on the same event
        await wait_until(pilot, lambda: view.row_count == len(tools) and not view.is_loading)
        await timeline_ready(pilot)
        assert view.highlighted_row.ev.event_id == tools[2].event_id
        assert f"& kind:tool  {len(tools):,} shown" in text_of("#sd-status", app)
        await pilot.press("n")  # every row matches: n is the next row
        await wait_until(pilot, lambda: view.highlighted_row is not None
                         and view.highlighted_row.ev.event_id == tools[3].event_id)
        await pilot.press("ampersand")  # everything again, the matches marked
        await wait_until(pilot, lambda: view.row_count == 67 and not view.is_loading)
        await timeline_ready(pilot)
        assert view.highlighted_row.ev.event_id == tools[3].event_id
        await wait_until(pilot, lambda: screen.search.positions == [ev.position for ev in tools])
        await pilot.press("escape")  # clears the search; a second escape leaves
        await wait_until(pilot, lambda: not screen.search.active)
        assert isinstance(app.screen, SessionDetailScreen) and view.row_count == 67


@run_async
async def test_ampersand_without_a_search_opens_the_filter(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        await pilot.press("ampersand")
        box = screen.query_one("#sd-search")
        await wait_until(pilot, lambda: box.display and box.has_focus)
        assert "filter" in box.placeholder
        box.value = "kind:error"
        await pilot.press("enter")
        await wait_until(pilot, lambda: view.row_count == 2 and not view.is_loading)
        await timeline_ready(pilot)
        kinds = {view.get_row(i).ev.kind for i in range(2)}
        assert kinds == {"ToolCallCompleted", "ErrorRaised"}
        await pilot.press("escape")  # the filter goes, everything shows again
        await wait_until(pilot, lambda: view.row_count == 67 and not view.is_loading and not screen.search.active)
