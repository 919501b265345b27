"""The session detail screen: header, branch tree, timeline, inspector, search, filter, follow, hostile text."""

from __future__ import annotations

import json
import time

import pytest

from lago_tui.app import LagoApp
from lago_tui.connect import open_journal
from lago_tui.journal import BatchingWriter, Journal, JournalAPI
from lago_tui.screens.session_detail import KindFilterScreen, SessionDetailScreen
from lago_tui.summary import FAMILIES
from lago_tui.widgets.branch_tree import BranchTree
from lago_tui.widgets.inspector import FullTextScreen, TextPager
from textual.widgets import Input
from textual.widgets._toast import Toast

from conftest import FIXED_NOW_US, fixed_clock
from detail_helpers import (
    detail_of,
    inspector_of,
    inspector_text,
    open_detail,
    row_line,
    run_async,
    text_of,
    timeline_ready,
    tree_nodes,
    view_of,
    wait_until,
)

HOSTILE = "[@click=app.quit]click me[/] \x1b[31mred\x1b]52;c;SGVsbG8=\x07 \u202eevil"


# ---------------------------------------------------------------------------- pilot tests


@run_async
async def test_header_and_tree_with_nested_branches_and_merge_marks(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_detail(pilot, demo_api, "migrate-billing-to-pydantic-v2", rows=380)
        header = text_of("#sd-header", app)
        assert "migrate-billing-to-pydantic-v2" in header and "claude-sonnet-4" in header
        assert "events 435" in header and "tools 63" in header and "failures 0" in header and "closed" in header
        detail = demo_api.session("migrate-billing-to-pydantic-v2")
        by_name = {b.name: b.branch_id for b in detail.branches}
        nodes = tree_nodes(detail_of(app).query_one(BranchTree))
        assert nodes["main"][0] is None
        assert nodes[by_name["attempt-codemod"]][0] == "main"
        assert nodes[by_name["codemod-plus-manual-fixes"]][0] == by_name["attempt-codemod"]
        assert "@199" in nodes[by_name["attempt-codemod"]][1]
        assert "@22" in nodes[by_name["codemod-plus-manual-fixes"]][1]
        assert "32 ev" in nodes[by_name["codemod-plus-manual-fixes"]][1]
        assert "branch main" in text_of("#sd-status", app)

    app = LagoApp(demo_api, clock=fixed_clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_detail(pilot, demo_api, "fix-flaky-auth-test", rows=78)
        nodes = tree_nodes(detail_of(app).query_one(BranchTree))
        labels = [label for _, label in nodes.values()]
        assert any("try-freezegun @28" in label and "⤴main@66" in label for label in labels), labels


@run_async
async def test_nested_branch_shows_inherited_rows_then_fork_then_own(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_detail(pilot, demo_api, "migrate-billing-to-pydantic-v2", rows=380)
        screen = detail_of(app)
        tree = screen.query_one(BranchTree)
        target = next(n for n in tree.root.children[0].children if "codemod-plus" in n.label.plain)
        tree.focus()
        tree.move_cursor(target)
        await pilot.press("enter")
        await timeline_ready(pilot, rows=199 + 22 + 32)
        view = view_of(app)
        assert "codemod-plus-manual-fixes" in text_of("#sd-status", app)
        first = view.get_row(0)
        assert first is not None and first.ev.inherited and first.ev.branch_id == "main"
        assert row_line(view, 0).startswith("┆")
        assert "(inherited)" in inspector_text(app) and "inherited from main" in inspector_text(app)
        # the boundaries: main's events end at 199, attempt-codemod's at 22, then own events
        view.move_cursor(221)
        await timeline_ready(pilot)
        own = view.get_row(221)
        assert own is not None and not own.ev.inherited and own.fork and own.ev.seq == 1
        assert row_line(view, 221).startswith("↳")
        assert not row_line(view, 222).startswith(("↳", "┆"))
        assert "fork @22 from attempt-codemod" in inspector_text(app)
        mid = view.get_row(199)
        assert mid is not None and mid.fork and mid.ev.inherited and mid.ev.seq == 1
        # the selection survives a reload
        screen._load()
        await pilot.pause(0.3)
        await timeline_ready(pilot, rows=253)
        assert screen.branch_id == own.ev.branch_id
        assert tree.selected_branch == own.ev.branch_id


@run_async
async def test_navigation_keys_and_inspector_follows(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_detail(pilot, demo_api, "incident-2231-db-latency", rows=67)
        view = view_of(app)
        assert view.has_focus and view.cursor == 0

        async def at(index: int) -> None:
            await wait_until(pilot, lambda: view.cursor == index and inspector_of(app).event is not None
                             and inspector_of(app).event.seq == index + 1)

        await pilot.press("j", "j")
        await at(2)
        await pilot.press("k")
        await at(1)
        await pilot.press("G")
        await at(66)
        await pilot.press("g")
        await at(0)
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: view.cursor > 5)
        await at(view.cursor)
        await pilot.press("end")
        await at(66)
        await pilot.press("home")
        await at(0)
        assert "1/67" in text_of("#sd-status", app)


@run_async
async def test_search_and_next_previous_match(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_detail(pilot, demo_api, "incident-2231-db-latency", rows=67)
        screen = detail_of(app)
        view = view_of(app)
        timeline = screen.timeline
        assert timeline is not None
        first = timeline.find("autovacuum", 0)
        second = timeline.find("autovacuum", first + 1)
        assert first is not None and second is not None
        await pilot.press("slash")
        search = screen.query_one("#sd-search")
        assert search.has_focus
        search.value = "AutoVacuum"
        await pilot.press("enter")
        await wait_until(pilot, lambda: view.cursor == first and not screen.searching)
        assert "autovacuum" in json.dumps(view.highlighted_row.ev.payload).lower()
        await pilot.press("n")
        await wait_until(pilot, lambda: view.cursor == second)
        await pilot.press("N")
        await wait_until(pilot, lambda: view.cursor == first)
        # no match: a notification, the cursor stays
        await pilot.press("slash")
        search.value = "zz-no-such-text"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not screen.searching and any(
            "No match" in n.message for n in app._notifications))
        assert view.cursor == first


@run_async
async def test_kind_filter_keeps_only_chosen_families(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_detail(pilot, demo_api, "incident-2231-db-latency", rows=67)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, KindFilterScreen))
        from textual.widgets import SelectionList

        app.screen.query_one(SelectionList).select("tool")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
        view = view_of(app)
        await wait_until(pilot, lambda: not view.is_loading and 0 < view.row_count < 67)
        await timeline_ready(pilot)
        kinds = {view.get_row(i).ev.kind for i in range(view.row_count)}
        assert kinds <= set(FAMILIES["tool"]) and "ToolCallRequested" in kinds
        assert "kinds: tool" in text_of("#sd-status", app)
        # clearing the filter brings everything back
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, KindFilterScreen))
        await pilot.press("c", "enter")
        await timeline_ready(pilot, rows=67)
        assert "kinds: all" in text_of("#sd-status", app)


@run_async
async def test_follow_mode_jumps_to_appended_events(demo_api_rw: JournalAPI) -> None:
    app = LagoApp(demo_api_rw, clock=fixed_clock, watch_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        session_id = await open_detail(pilot, demo_api_rw, "docs-qa-onboarding", rows=38)  # an open session
        await pilot.press("f")
        assert "FOLLOW" in text_of("#sd-status", app)
        other = open_journal(str(demo_api_rw.path))  # through the server when one owns the file
        with BatchingWriter(other) as writer:
            futures = [
                writer.append({
                    "event_id": f"01K0000000000000000000000{i}",
                    "session_id": session_id,
                    "branch_id": "main",
                    "timestamp": FIXED_NOW_US + i,
                    "payload": {"type": "Message", "role": "assistant", "content": f"appended {i}"},
                })
                for i in range(3)
            ]
        for future in futures:
            future.result()
        other.close()
        view = view_of(app)
        await wait_until(pilot, lambda: view.row_count == 41 and view.cursor == 40
                         and inspector_of(app).event is not None and inspector_of(app).event.seq == 41,
                         timeout=4.0)  # ~2 s on an idle machine: 0.1 s polling + one reload
        assert "appended 2" in inspector_text(app)


@run_async
async def test_copy_menu_whole_event_json(demo_api: JournalAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_detail(pilot, demo_api, "incident-2231-db-latency", rows=67)
        await pilot.press("j", "j", "j")
        await wait_until(pilot, lambda: inspector_of(app).event is not None and inspector_of(app).event.seq == 4)
        await pilot.press("y")  # the copy menu: e is the whole event
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChoiceMenuScreen")
        await pilot.press("e")
        await wait_until(pilot, lambda: len(copied) == 1)
        wire = json.loads(copied[0])
        assert wire == view_of(app).highlighted_row.ev.to_wire()
        assert wire["seq"] == 4 and wire["payload"]["type"] == "Message"


@run_async
async def test_b_opens_create_branch_and_selects_the_new_branch(demo_api_rw: JournalAPI) -> None:
    from lago_tui.screens.create_branch import CreateBranchScreen

    app = LagoApp(demo_api_rw, clock=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        session_id = await open_detail(pilot, demo_api_rw, "incident-2231-db-latency",
                                       branch="hypothesis-autovacuum", rows=26 + 16)
        view = view_of(app)
        view.move_cursor(10)  # an inherited row: the fork goes on main at its seq
        await wait_until(pilot, lambda: inspector_of(app).event is not None and inspector_of(app).event.seq == 11)
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, CreateBranchScreen))
        form = app.screen
        assert form.session_id == session_id and form._parent_id == "main" and form._initial_fork == 11
        new_id = demo_api_rw.create_branch(session_id, {"name": "from-test", "parent": "main", "fork_point_seq": 11})
        form.dismiss(new_id)
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
        await timeline_ready(pilot, rows=11)
        screen = detail_of(app)
        assert screen.branch_id == new_id and screen.query_one(BranchTree).selected_branch == new_id
        assert "from-test" in text_of("#sd-status", app)


@run_async
async def test_escape_returns_to_the_list_keeping_its_highlight(demo_api: JournalAPI) -> None:
    from lago_tui.screens.session_list import SessionListScreen

    app = LagoApp(demo_api, clock=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SessionListScreen)
                         and app.screen.table.highlighted_row is not None)
        await pilot.press("down", "down")
        await pilot.pause(0.1)
        table = app.screen.table
        name = table.highlighted_row.name
        await pilot.press("enter")
        await timeline_ready(pilot)
        assert name in text_of("#sd-header", app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionListScreen))
        assert app.screen.table.highlighted_row.name == name


def _hostile_session(journal: Journal, content: str) -> str:
    session_id = "01J00000000000000000000002"
    journal.append([
        {"event_id": "01J00000000000000000000001", "session_id": session_id, "branch_id": "main",
         "timestamp": FIXED_NOW_US - 10_000_000,
         "payload": {"type": "SessionCreated", "name": "hostile[b]x[/b]", "config": {"model": "m"}}},
        {"event_id": "01J00000000000000000000003", "session_id": session_id, "branch_id": "main",
         "timestamp": FIXED_NOW_US - 9_000_000,
         "payload": {"type": "Message", "role": "user", "content": content},
         "metadata": {"note": HOSTILE}},
    ])
    journal.close()
    return session_id


@run_async
async def test_hostile_message_is_shown_escaped_and_clicks_do_nothing(journal: Journal) -> None:
    _hostile_session(journal, HOSTILE)
    app = LagoApp(journal, clock=fixed_clock)
    async with app.run_test(size=(200, 40)) as pilot:
        await open_detail(pilot, journal, "hostile[b]x[/b]", rows=2)
        view = view_of(app)
        view.move_cursor(1)
        await wait_until(pilot, lambda: inspector_of(app).event is not None and inspector_of(app).event.seq == 2)
        await pilot.press("i")  # a wider timeline
        await pilot.pause()
        line = row_line(view, 1)
        assert "[@click=app.quit]click me[/]" in line and "\\x1b[31mred" in line and "\\u202e" in line
        assert "\x1b" not in line and "\u202e" not in line
        body = inspector_text(app)
        assert "[@click=app.quit]click me[/]" in body and "\\x1b" in body and "\\u202eevil" in body
        assert "\x1b" not in body and "\u202e" not in body and "\x07" not in body
        assert "hostile[b]x[/b]" in text_of("#sd-header", app)
        await pilot.press("i")
        await pilot.pause()
        for widget in (view, inspector_of(app)):
            for x in (2, 10, 30, 60):
                await pilot.click(widget, offset=(x, 2))
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert isinstance(app.screen, (SessionDetailScreen, FullTextScreen))


@run_async
async def test_one_megabyte_message_is_truncated_fast_and_full_view_opens(journal: Journal) -> None:
    big = ("lorem ipsum dolor sit amet " * 40 + "\n") * 960  # ~1 MB
    assert len(big) > 1_000_000
    _hostile_session(journal, big)
    app = LagoApp(journal, clock=fixed_clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_detail(pilot, journal, "hostile[b]x[/b]", rows=2)
        view = view_of(app)
        view.move_cursor(1)
        await wait_until(pilot, lambda: inspector_of(app).event is not None and inspector_of(app).event.seq == 2)
        await pilot.pause()
        row = view.highlighted_row
        started = time.perf_counter()
        inspector_of(app).show_event(row.ev)  # the work done on each highlight
        view.refresh_rows([1])
        view.render_line(2)
        assert time.perf_counter() - started < 0.5
        body = inspector_text(app)
        assert f"[{len(big) - 4000:,} more characters] press o/enter to show all" in body
        assert len(body) < 20_000
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen))
        pager = app.screen.query_one(TextPager)
        await pilot.pause()
        assert pager.line_count >= 960
        await pilot.press("G")
        await wait_until(pilot, lambda: pager.scroll_offset.y > 0)
        # the pager's own work, apart from the (possibly loaded) test machine's event loop
        started = time.perf_counter()
        fresh = TextPager(big)
        fresh._wrap(150)
        assert fresh.line_count >= 960
        assert time.perf_counter() - started < 0.5
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
        await pilot.press("enter")  # enter on the timeline opens it too
        await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen))


@run_async
async def test_narrow_layout_stacks_and_i_toggles_the_inspector(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, demo_journal, "incident-2231-db-latency", rows=67)
        screen = detail_of(app)
        view, inspector = view_of(app), inspector_of(app)
        tree = screen.query_one(BranchTree)
        assert screen.has_class("-narrow")
        assert tree.region.y < view.region.y < inspector.region.y
        await pilot.press("i")
        await pilot.pause()
        assert not inspector.display
        await pilot.press("i", "tab")
        await pilot.pause()
        assert inspector.display and inspector.has_focus
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert not screen.has_class("-narrow")
        assert tree.region.x < view.region.x < inspector.region.x


# ---------------------------------------------------------------------------- snapshots


@pytest.fixture(autouse=True)
def _problems_counted_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The header's problem count comes 2 s after a session opens (not while its first pages load): here
    at once, so that every snapshot shows it."""
    from lago_tui.screens.session_detail import screen as detail_screen_module

    monkeypatch.setattr(detail_screen_module, "PROBLEMS_DELAY", 0.01)


def _app(journal: Journal) -> LagoApp:
    return LagoApp(journal, clock=fixed_clock)


async def _settle(pilot) -> None:
    for screen in pilot.app.screen_stack:  # no blinking cursor in snapshots (a loaded machine caught it either way)
        for field in screen.query(Input):
            field.cursor_blink = False
    await pilot.pause(0.2)
    screens = [s for s in pilot.app.screen_stack if isinstance(s, SessionDetailScreen) and s.detail is not None]
    await wait_until(pilot, lambda: all(s.problem_count is not None for s in screens))
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


def _opener(journal: Journal, name: str, branch: str | None = None, cursor: int | None = None):
    async def run_before(pilot) -> None:
        await open_detail(pilot, journal, name, branch=branch)
        if cursor is not None:
            view_of(pilot.app).move_cursor(cursor)
            await timeline_ready(pilot)
        await _settle(pilot)

    return run_before


def test_snapshot_detail_main_80x24(snap_compare, demo_journal: Journal) -> None:
    assert snap_compare(_app(demo_journal), terminal_size=(80, 24),
                        run_before=_opener(demo_journal, "incident-2231-db-latency"))


def test_snapshot_detail_main_160x48(snap_compare, demo_journal: Journal) -> None:
    assert snap_compare(_app(demo_journal), terminal_size=(160, 48),
                        run_before=_opener(demo_journal, "fix-flaky-auth-test", cursor=3))


def test_snapshot_detail_nested_branch_160x48(snap_compare, demo_journal: Journal) -> None:
    assert snap_compare(_app(demo_journal), terminal_size=(160, 48),
                        run_before=_opener(demo_journal, "migrate-billing-to-pydantic-v2",
                                           branch="codemod-plus-manual-fixes", cursor=235))


def test_snapshot_inspector_long_message_160x48(snap_compare, journal: Journal) -> None:
    _hostile_session(journal, ("A long message line with words. " * 30 + "\n") * 400)
    opener = _opener(journal, "hostile[b]x[/b]", cursor=1)

    async def run_before(pilot) -> None:
        await opener(pilot)
        inspector_of(pilot.app).focus()
        await pilot.press("end")  # down to the "… [N more characters] press o/enter" hint
        await _settle(pilot)

    assert snap_compare(_app(journal), terminal_size=(160, 48), run_before=run_before)


def test_snapshot_detail_search_120x40(snap_compare, demo_journal: Journal) -> None:
    opener = _opener(demo_journal, "incident-2231-db-latency")

    async def run_before(pilot) -> None:
        await opener(pilot)
        screen = detail_of(pilot.app)
        await pilot.press("slash")
        screen.query_one("#sd-search").value = "query_metrics"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.search.positions is not None and view_of(pilot.app).cursor > 0)
        await timeline_ready(pilot)
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(120, 40), run_before=run_before)


def test_snapshot_detail_nested_branch_200x50(snap_compare, demo_journal: Journal) -> None:
    assert snap_compare(_app(demo_journal), terminal_size=(200, 50),
                        run_before=_opener(demo_journal, "migrate-billing-to-pydantic-v2",
                                           branch="codemod-plus-manual-fixes", cursor=215))


def test_snapshot_kind_dialog_over_the_detail_120x40(snap_compare, demo_journal: Journal) -> None:
    opener = _opener(demo_journal, "incident-2231-db-latency")

    async def run_before(pilot) -> None:
        await opener(pilot)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, KindFilterScreen))
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(120, 40), run_before=run_before)


def test_snapshot_session_not_found_80x24(snap_compare, demo_journal: Journal) -> None:
    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SessionListScreen")
        app.open_session("no-such-session")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen)
                         and bool(app.screen.query("#sd-header")) and "Could not open" in text_of("#sd-header", app))
        # The error's toast is posted as a message: cleared only once it is up, or it may come up after.
        await wait_until(pilot, lambda: bool(app.screen.query(Toast)))
        app.clear_notifications()
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_copy_menu_80x24(snap_compare, demo_journal: Journal) -> None:
    opener = _opener(demo_journal, "incident-2231-db-latency", cursor=3)

    async def run_before(pilot) -> None:
        await opener(pilot)
        await pilot.press("y")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "ChoiceMenuScreen")
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_seq_prompt_with_a_mistake_160x48(snap_compare, demo_journal: Journal) -> None:
    opener = _opener(demo_journal, "migrate-billing-to-pydantic-v2", branch="codemod-plus-manual-fixes")

    async def run_before(pilot) -> None:
        await opener(pilot)
        await pilot.press("colon")
        await wait_until(pilot, lambda: pilot.app.screen.query_one("#seq-input").display)
        pilot.app.screen.query_one("#seq-input").value = "main@300"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "no seq" in str(pilot.app.screen.query_one("#seq-hint").visual))
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(160, 48), run_before=run_before)


def test_snapshot_zoomed_inspector_80x24(snap_compare, demo_journal: Journal) -> None:
    opener = _opener(demo_journal, "incident-2231-db-latency", cursor=6)

    async def run_before(pilot) -> None:
        await opener(pilot)
        inspector_of(pilot.app).focus()
        await pilot.press("z")
        await wait_until(pilot, lambda: not view_of(pilot.app).display)
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_query_mistake_where_it_is_typed_80x24(snap_compare, demo_journal: Journal) -> None:
    opener = _opener(demo_journal, "incident-2231-db-latency")

    async def run_before(pilot) -> None:
        await opener(pilot)
        await pilot.press("slash")
        await pilot.press(*"tool:bash dur:>5x")
        await wait_until(pilot, lambda: pilot.app.screen.query_one("#sd-search-problem").display)
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_filter_160x48(snap_compare, demo_journal: Journal) -> None:
    opener = _opener(demo_journal, "incident-2231-db-latency")

    async def run_before(pilot) -> None:
        await opener(pilot)
        await pilot.press("ampersand")
        pilot.app.screen.query_one("#sd-search").value = "kind:tool -status:ok"
        await pilot.press("enter")
        await wait_until(pilot, lambda: view_of(pilot.app).row_count < 67 and not view_of(pilot.app).is_loading)
        await timeline_ready(pilot)
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(160, 48), run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_runs_view(snap_compare, demo_journal: Journal, size: tuple[int, int]) -> None:
    opener = _opener(demo_journal, "incident-2231-db-latency")

    async def run_before(pilot) -> None:
        from lago_tui.screens.session_detail.runs import RunsScreen, RunsTable

        await opener(pilot)
        await pilot.press("u")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RunsScreen) and pilot.app.screen.runs is not None)
        table = pilot.app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.get_row(0) is not None)
        table.move_cursor(4)
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=size, run_before=run_before)


def test_snapshot_rename_branch_80x24(snap_compare, demo_journal: Journal) -> None:
    opener = _opener(demo_journal, "incident-2231-db-latency")

    async def run_before(pilot) -> None:
        from lago_tui.screens.session_detail.branch_rename import RenameBranchScreen

        await opener(pilot)
        tree = detail_of(pilot.app).query_one(BranchTree)
        tree.focus()
        tree.move_cursor(tree.root.children[1])
        await pilot.pause()
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RenameBranchScreen))
        pilot.app.screen.query_one("#rename-branch-name").value = "main"
        await wait_until(pilot, lambda: "already exists" in str(pilot.app.screen.query_one("#rename-branch-name-error").render()))
        await _settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(80, 24), run_before=run_before)


@run_async
@pytest.mark.parametrize("width", [120, 160, 200])
async def test_the_tree_never_cuts_a_branch_s_merge_mark(demo_journal: Journal, width: int) -> None:
    """Side by side, the tree gives way on the counts, never on what identifies a branch and where it went
    (at 160 columns `try-freezegun @28 ⤴main@66` was cut to `⤴mai`)."""
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with app.run_test(size=(width, 48)) as pilot:
        await open_detail(pilot, demo_journal, "fix-flaky-auth-test")
        tree = detail_of(app).query_one(BranchTree)
        await pilot.pause(0.1)
        lines = ["".join(segment.text for segment in tree.render_line(y)) for y in range(3)]
        merged = next(line for line in lines if "try-freezegun" in line)
        assert "try-freezegun @28 ⤴main@" in merged, lines
