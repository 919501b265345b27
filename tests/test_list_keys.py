"""The session list's keys and states added for issues 12 and 13: each of these failed before its fix.

q / ctrl+q, paging, wide cells, zoom, the split (keys and mouse), the preview's focus, copy, sort arrows,
hidden sort columns, counts, a missing journal, errors with retry, stale relative times, query errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import FIXED_NOW_US, fixed_clock
from lago_tui.app import LagoApp
from lago_tui.journal import Journal, JournalError
from lago_tui.paths import state_dir
from lago_tui.screens.session_list import SessionListScreen
from lago_tui.widgets.split import SplitHandle
from test_session_list import (
    DEMO_ORDER,
    highlighted,
    loaded,
    names,
    run_async,
    running,
    screen_of,
    table_of,
    wait_until,
)


def header_line(app: LagoApp) -> str:
    return table_of(app).render_line(0).text


# ---------------------------------------------------------------------------------------------- quitting


@run_async
async def test_q_goes_back_one_screen_and_quits_only_from_the_list(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SessionDetailScreen")
        await pilot.press("q")  # back, not quit (it quit the whole app before)
        await wait_until(pilot, lambda: app.screen is screen)
        assert app.is_running
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("q")  # from the list: quit
        await wait_until(pilot, lambda: not app.is_running or app._exit_renderables is not None, 3)
    assert app.return_code in (0, None)


@pytest.mark.parametrize("key", ["ctrl+q", "ctrl+c"])
@run_async
async def test_ctrl_q_and_ctrl_c_quit_from_anywhere(demo_journal: Journal, key: str) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("n")  # a form, with the focus in a text field
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CreateSessionScreen")
        await pilot.press(key)
        await wait_until(pilot, lambda: app._exit, 3)


# ---------------------------------------------------------------------------------------------- moving


@run_async
async def test_paging_keys_as_in_less(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (80, 12)) as pilot:
        await loaded(pilot)
        table = table_of(app)
        page = table.scrollable_content_region.height - 1
        assert page < 11  # the 12 demo sessions do not fit
        await pilot.press("ctrl+f")
        assert table.cursor == page
        await pilot.press("ctrl+b")
        assert table.cursor == 0
        await pilot.press("ctrl+d")
        assert table.cursor == page // 2
        await pilot.press("ctrl+u")
        assert table.cursor == 0
        await pilot.press("space")
        assert table.cursor == page
        await pilot.press("G", "ctrl+f")
        assert highlighted(app) == DEMO_ORDER[-1]


@run_async
async def test_wide_names_scroll_sideways(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (30, 12)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        await pilot.press("G")  # the long names are cut at 30 columns
        await pilot.press(*["k"] * 4)
        assert highlighted(app) == "migrate-billing-to-pydantic-v2"
        row = table_of(app).cursor + 1 - table_of(app).scroll_offset.y
        before = table_of(app).render_line(row).text
        assert "migrate-billing-to-pyd" in before and "v2" not in before
        await pilot.press("l")
        after = table_of(app).render_line(row).text
        assert screen.h_offset > 0 and "pydantic-v2" in after and after.lstrip("●○ ").startswith("…")
        await pilot.press("h")
        assert screen.h_offset == 0 and table_of(app).render_line(row).text == before


@run_async
async def test_zoom_the_focused_pane_and_resize_the_split(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (140, 36)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        table, preview = screen.table, screen.preview
        assert screen.has_class("-beside")
        start = preview.size.width
        await pilot.press("less_than_sign")  # the divider moves left: a bigger preview
        await pilot.pause()
        assert preview.size.width > start
        await pilot.press("greater_than_sign", "greater_than_sign")
        await pilot.pause()
        assert preview.size.width < start
        # the mouse: drag the divider to x=100
        split = screen.query_one(SplitHandle)
        await pilot.mouse_down(split)
        await pilot.hover(None, offset=(100, 10))
        await pilot.mouse_up(None, offset=(100, 10))
        await pilot.pause()
        assert abs(table.size.width + split.size.width - 100) <= 1
        # z: the focused pane fills the screen; z again: back
        await pilot.press("z")
        await pilot.pause()
        assert not preview.display and table.outer_size.width == 140 and "zoomed" in str(
            screen.query_one("#sl-count").visual)
        await pilot.press("z")
        await pilot.pause()
        assert preview.display
        # tab: the preview takes the focus (it scrolls with the keys); z zooms it
        await pilot.press("tab")
        assert app.focused is preview
        await pilot.press("z")
        await pilot.pause()
        assert not table.display and preview.outer_size.width == 140
        await pilot.press("escape")  # nothing to clear: escape leaves the zoom
        await pilot.pause()
        assert table.display and preview.display
        # many ">" hide the preview; "<" brings it back
        await pilot.press(*["greater_than_sign"] * 20)
        await pilot.pause()
        assert not preview.display
        await pilot.press("less_than_sign")
        await pilot.pause()
        assert preview.display


@run_async
async def test_the_stacked_preview_scrolls(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        preview = screen.preview
        await wait_until(pilot, lambda: preview.data is not None)
        assert screen.has_class("-below") and preview.max_scroll_y > 0  # cut: taller than its pane
        await pilot.press("tab", "ctrl+d")
        assert app.focused is preview and preview.scroll_y > 0
        await pilot.press("G")
        await pilot.pause()
        assert preview.scroll_y == preview.max_scroll_y
        assert highlighted(app) == DEMO_ORDER[0]  # the keys went to the preview, not the list


# ---------------------------------------------------------------------------------------------- columns


@run_async
async def test_sort_arrows_never_squeeze_and_hidden_columns_show_when_sorted(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (80, 24)) as pilot:
        await loaded(pilot)
        keys = lambda: [c.key for c in table_of(app).columns]  # noqa: E731
        assert "created" not in keys() and "id" not in keys()
        for key, label in (("5", "events ▼"), ("6", "tokens ▼"), ("8", "created ▼"), ("2", "id ▲"), ("4", "br ▼")):
            await pilot.press(key)
            await pilot.pause()
            assert label in header_line(app), (key, header_line(app))
        assert "id" not in keys()  # sorted by branches now: the id column gave its place back
        # the numbers are written one way: whole, with separators, where they fit
        await pilot.press("6")
        await wait_until(pilot, lambda: names(app)[0] == "migrate-billing-to-pydantic-v2")
        assert "1,901,788" in table_of(app).render_line(1).text


# ---------------------------------------------------------------------------------------------- states


@run_async
async def test_a_missing_journal_says_so(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "journal.duckdb"
    app = LagoApp(Journal(path), clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        screen = screen_of(app)
        await wait_until(pilot, lambda: screen.empty and screen.missing)
        title = str(screen.query_one("#sl-empty-title").visual)
        assert "No journal at" in title and "journal.duckdb" in title
        assert "created then" in str(screen.query_one("#sl-empty-hint").visual)
    assert not path.exists()  # looking created nothing


class FlakyJournal(Journal):
    """Fails list queries while ``broken`` is set."""

    broken = False

    def count_sessions(self, *args: Any, **kwargs: Any) -> int:
        if self.broken:
            raise JournalError("disk on fire")
        return super().count_sessions(*args, **kwargs)


@run_async
async def test_errors_stay_visible_and_ctrl_r_retries(demo_journal: Journal) -> None:
    demo_journal.close()
    journal = FlakyJournal(demo_journal.path)
    app = LagoApp(journal, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        status = screen.query_one("#sl-status")
        journal.broken = True
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: status.display)
        assert "disk on fire" in str(status.visual) and "ctrl+r" in str(status.visual)
        journal.broken = False
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not status.display)
        await loaded(pilot)
    journal.close()


@run_async
async def test_relative_times_do_not_go_stale(demo_journal: Journal) -> None:
    now = [FIXED_NOW_US]
    app = LagoApp(demo_journal, clock=lambda: now[0])
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        assert "18h ago" in table_of(app).render_line(1).text
        now[0] += 3 * 86_400 * 1_000_000
        await wait_until(pilot, lambda: "3d ago" in table_of(app).render_line(1).text, 4)


class QueryError(JournalError):
    """What the journal raises for a refused query (the query engineer's, stood in for here)."""

    def __init__(self, message: str, start: int, end: int) -> None:
        super().__init__(message)
        self.start, self.end = start, end


class QueryJournal(Journal):
    """Refuses queries with an unknown field, as the journal's query language does."""

    def count_sessions(self, query: str | None = None, *args: Any, **kwargs: Any) -> int:
        if query and "modle:" in query:
            start = query.index("modle:")
            raise QueryError("unknown field 'modle'", start, start + 5)
        return super().count_sessions(query, *args, **kwargs)


@run_async
async def test_a_refused_query_is_marked_where_it_was_typed(demo_journal: Journal) -> None:
    demo_journal.close()
    journal = QueryJournal(demo_journal.path)
    app = LagoApp(journal, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        await pilot.press("slash", *"incident")
        await loaded(pilot, rows=2)
        bar = screen.query_bar
        bar.input.value = "incident modle:x"  # pasted: the last good query is "incident"
        await wait_until(pilot, lambda: bar.problem is not None)
        line = str(bar.query_one(".query-error").visual)
        assert line.index("^") == len("query") + 2 + len("incident ")  # under the word...
        assert line[line.index("^"):].startswith("^^^^^") and "modle" in line  # ...and saying what is wrong
        await loaded(pilot, rows=2)  # the list keeps the last good result
        assert names(app) == ["incident-2240-cert-expiry", "incident-2231-db-latency"]
        assert app.is_running and app.focused is screen.filter_input
        await pilot.press("end", *["backspace"] * 8)
        await wait_until(pilot, lambda: bar.problem is None)
    journal.close()


# ---------------------------------------------------------------------------------------------- copy


@run_async
async def test_y_copies_the_id_and_says_where_it_went(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await loaded(pilot)
        row = table_of(app).highlighted_row
        await pilot.press("y")
        target = state_dir() / "clipboard.txt"
        await wait_until(pilot, lambda: target.exists() and any(
            "clipboard.txt" in n.message for n in app._notifications))
        assert target.read_text(encoding="utf-8") == row.session_id
        assert app.clipboard == row.session_id  # and OSC 52 was sent
        assert isinstance(app.screen, SessionListScreen)
