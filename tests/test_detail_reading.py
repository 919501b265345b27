"""Reading a session the way a demanding terminal user does (issue 12): widths, follow, busy states, the
inspector, search, keeping your place, paging. Each test failed before the fix it covers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import SelectionList

from lago_tui.app import LagoApp
from lago_tui.connect import open_journal
from lago_tui.journal import BatchingWriter, Journal, JournalAPI
from lago_tui.screens.session_detail import KindFilterScreen, SessionDetailScreen
from lago_tui.widgets.branch_tree import BranchTree
from lago_tui.widgets.inspector import TextPager, wrap_words

from conftest import FIXED_NOW_US, fixed_clock
from test_faults import HOLDER  # the script that holds the journal's write lock

from detail_helpers import (
    detail_of,
    inspector_of,
    inspector_text,
    open_detail,
    opened,
    row_line,
    run_async,
    search_for,
    text_of,
    timeline_ready,
    view_of,
    wait_until,
)

MIGRATE = "migrate-billing-to-pydantic-v2"  # main 380, attempt-codemod @199 (23), codemod-plus-manual-fixes @22 (32)
INCIDENT = "incident-2231-db-latency"  # main 67, two branches @26


def rendered(widget) -> str:  # noqa: ANN001
    """The text ``widget`` shows (its lines as painted)."""
    region = widget.region
    return "\n".join(strip.text for strip in widget.render_lines(region.reset_offset))


def detail_shown(app: LagoApp) -> bool:
    """The detail screen is up and composed."""
    return isinstance(app.screen, SessionDetailScreen) and bool(app.screen.query("#sd-header"))


def emitted(journal: JournalAPI, session_id: str, n: int, start: int = 0) -> None:
    """Append ``n`` messages to ``session_id`` from another Journal (as an agent's process would)."""
    other = open_journal(str(journal.path))  # through the server when one owns the file
    with BatchingWriter(other) as writer:
        futures = [
            writer.append({
                "event_id": f"01K0000000000000000000{start + i:04d}",
                "session_id": session_id, "branch_id": "main", "timestamp": FIXED_NOW_US + start + i,
                "payload": {"type": "Message", "role": "assistant", "content": f"appended {start + i}"},
            })
            for i in range(n)
        ]
    for future in futures:
        future.result()
    other.close()


# ---------------------------------------------------------------------------- 12.1 widths


@pytest.mark.parametrize("width", [80, 100, 120, 140, 160, 200])
@run_async
async def test_branch_names_are_never_cut_and_the_panes_give_way(demo_journal: Journal, width: int) -> None:
    async with opened(demo_journal, MIGRATE, branch="codemod-plus-manual-fixes", rows=253, size=(width, 40)) as (app, pilot):
        screen = detail_of(app)
        tree, view = screen.query_one(BranchTree), view_of(app)
        await pilot.pause()
        shown = rendered(tree)
        for name in ("main", "attempt-codemod", "codemod-plus-manual-fixes"):
            assert name in shown, (width, shown)
        summary = dict(zip((c.key for c in view.columns), view._column_widths(view.scrollable_content_region.width)))
        assert summary["summary"] >= 24, (width, summary)
        if width >= 120:  # side by side: the tree takes no more than the names need
            assert tree.region.width <= max(40, int(width * 0.2)), (width, tree.region.width)
        # a session with only main: no tree pane when stacked, a narrow one beside the timeline
    async with opened(demo_journal, "docs-qa-onboarding", rows=38, size=(width, 40)) as (app, pilot):
        tree = detail_of(app).query_one(BranchTree)
        await pilot.pause()
        if width < 120:
            assert not tree.display
        else:
            assert tree.display and tree.region.width <= 24


# ---------------------------------------------------------------------------- 12.3 follow


@run_async
async def test_follow_pauses_away_from_the_end_and_g_resumes(demo_api_rw: JournalAPI) -> None:
    app = LagoApp(demo_api_rw, clock=fixed_clock, watch_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        session_id = await open_detail(pilot, demo_api_rw, "docs-qa-onboarding", rows=38)
        view = view_of(app)
        await pilot.press("f")
        await wait_until(pilot, lambda: view.cursor == 37)
        assert "FOLLOW" in text_of("#sd-status", app) and "paused" not in text_of("#sd-status", app)
        await pilot.press("k", "k")
        await wait_until(pilot, lambda: view.cursor == 35 and "paused" in text_of("#sd-status", app))
        emitted(demo_api_rw, session_id, 1)
        await wait_until(pilot, lambda: view.row_count == 39 and not view.is_loading)
        await pilot.pause(0.2)
        assert view.cursor == 35, "a paused follow does not move the cursor"
        assert "FOLLOW paused (G or f resumes)" in text_of("#sd-status", app)
        await pilot.press("G")
        await wait_until(pilot, lambda: view.cursor == 38 and "paused" not in text_of("#sd-status", app))
        assert "FOLLOW" in text_of("#sd-status", app)
        emitted(demo_api_rw, session_id, 1, start=1)
        await wait_until(pilot, lambda: view.row_count == 40 and view.cursor == 39)
        # f while paused resumes too; f while following turns it off
        await pilot.press("k")
        await wait_until(pilot, lambda: "paused" in text_of("#sd-status", app))
        await pilot.press("f")
        await wait_until(pilot, lambda: view.cursor == 39 and "paused" not in text_of("#sd-status", app))
        await pilot.press("f")
        await wait_until(pilot, lambda: "FOLLOW" not in text_of("#sd-status", app))


# ---------------------------------------------------------------------------- 12.7 busy, error, retry

@run_async
async def test_a_busy_journal_is_said_at_once_and_the_session_opens_when_it_is_free(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    with Journal(path) as journal:
        session_id = journal.create_session({"name": "held-session"}, now_us=FIXED_NOW_US)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(path), "60"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        journal = Journal(path, busy_timeout=0.3)
        app = LagoApp(journal, clock=fixed_clock)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: type(app.screen).__name__ == "SessionListScreen")
            app.open_session(session_id)
            await wait_until(pilot, lambda: detail_shown(app) and "busy" in text_of("#sd-header", app), timeout=10)
            assert "journal busy" in text_of("#sd-status", app)
            assert "Loading session" in text_of("#sd-header", app)  # still says what it is opening
            assert holder.stdin is not None
            holder.stdin.write("go\n")
            holder.stdin.flush()
            await timeline_ready(pilot, rows=1)
            assert "held-session" in text_of("#sd-header", app) and "busy" not in text_of("#sd-status", app)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=30)


@run_async
async def test_a_session_that_is_not_there_says_so_and_what_to_do(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SessionListScreen")
        app.open_session("no-such-session")
        await wait_until(pilot, lambda: detail_shown(app) and "Could not open" in text_of("#sd-header", app))
        header = text_of("#sd-header", app)
        assert "no-such-session" in header and "esc goes back" in header
        assert "Loading" not in header
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SessionDetailScreen))


# ---------------------------------------------------------------------------- 12.8 inspector


@run_async
async def test_the_inspector_shows_the_payload_first_and_names_the_branch(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, branch="hypothesis-autovacuum", rows=26 + 16, size=(80, 24)) as (app, pilot):
        view = view_of(app)
        view.move_cursor(30)  # an event of the branch itself
        await timeline_ready(pilot)
        row = view.highlighted_row
        assert row is not None and not row.ev.inherited
        await pilot.pause()
        first_lines = rendered(inspector_of(app).query_one("#inspector-body")).splitlines()
        assert "on hypothesis-autovacuum" in first_lines[0], first_lines
        assert any("payload" in line or "── assistant" in line or "── user" in line for line in first_lines[:3])
        body = inspector_text(app)
        assert body.index("── payload") < body.index("── envelope") < body.index("event_id")
        assert f"branch         hypothesis-autovacuum  {row.ev.branch_id}" in body


# ---------------------------------------------------------------------------- 12.9 which branch


@run_async
async def test_a_nested_branch_names_the_branch_of_every_row(demo_api: JournalAPI) -> None:
    async with opened(demo_api, MIGRATE, branch="codemod-plus-manual-fixes", rows=253, size=(200, 50)) as (app, pilot):
        view = view_of(app)
        assert [c.key for c in view.columns][:3] == ["gutter", "seq", "branch"]
        for index, name in ((0, "main"), (198, "main"), (199, "attempt-codemod"), (221, "codemod-plus-ma")):
            view.move_cursor(index)
            await timeline_ready(pilot)
            line = row_line(view, index)
            assert name in line.split()[1:3] or name in line, (index, line)
    async with opened(demo_api, MIGRATE, rows=380, size=(200, 50)) as (app, pilot):  # one segment: no branch column
        assert "branch" not in [c.key for c in view_of(app).columns]


@run_async
async def test_a_merge_names_its_source_branch_as_a_fork_does(demo_api: JournalAPI) -> None:
    async with opened(demo_api, "fix-flaky-auth-test", rows=78, size=(160, 48)) as (app, pilot):
        view = view_of(app)
        view.move_cursor(65)
        await timeline_ready(pilot)
        assert "merge ← try-freezegun @19" in row_line(view, 65)
        assert "fork → try-freezegun @28" in row_line(view, 28)


# ---------------------------------------------------------------------------- 12.10 search


@run_async
async def test_search_matches_what_is_shown_counts_highlights_and_keeps_context(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        rows = screen.timeline.window(0, 67)
        # "PolicyEvaluated" is in no payload text (what search used to look at): only the kind column shows it
        expected = [ev.position for ev in rows if "policyevaluated" in ev.kind.lower()]
        assert expected
        await search_for(pilot, "PolicyEvaluated")
        await wait_until(pilot, lambda: view.cursor == expected[0] and not screen.searching)
        assert screen.search.positions == expected
        assert f"match 1/{len(expected)}" in text_of("#sd-status", app)
        # highlighted where it is shown, and marked on its seq
        match_bg = view.get_component_rich_style("timeline--match-text", partial=True).bgcolor
        line = view.render_line(view.cursor - view.scroll_offset.y + 1)
        marked = [seg for seg in line if "PolicyEvaluated" in seg.text]
        assert marked and all(seg.style.bgcolor == match_bg for seg in marked), list(line)
        # the match is not on the last visible row: rows after it show
        assert view.cursor - view.scroll_offset.y <= view.scrollable_content_region.height - 4
        if len(expected) > 1:
            await pilot.press("n")
            await wait_until(pilot, lambda: view.cursor == expected[1])
            assert f"match 2/{len(expected)}" in text_of("#sd-status", app)
            await pilot.press("N")
            await wait_until(pilot, lambda: view.cursor == expected[0])
        # escape clears the search first, then leaves
        await pilot.press("escape")
        await wait_until(pilot, lambda: not screen.search.active)
        assert isinstance(app.screen, SessionDetailScreen) and "PolicyEvaluated" not in text_of("#sd-status", app)
        assert view.search is None
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SessionDetailScreen))


@run_async
async def test_search_of_what_is_nowhere_says_so_and_leaves_the_cursor(demo_api: JournalAPI) -> None:
    async with opened(demo_api, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        view.move_cursor(5)
        await timeline_ready(pilot)
        await search_for(pilot, "zz-nowhere")
        await wait_until(pilot, lambda: screen.search.positions == [] and any(
            "No match" in n.message for n in app._notifications))
        assert view.cursor == 5 and "no match" in text_of("#sd-status", app)


# ---------------------------------------------------------------------------- 12.11 keeping your place


@run_async
async def test_switching_branch_or_kinds_keeps_the_event_and_enter_moves_focus(demo_api: JournalAPI) -> None:
    async with opened(demo_api, MIGRATE, rows=380, size=(160, 48)) as (app, pilot):
        screen, view = detail_of(app), view_of(app)
        tree = screen.query_one(BranchTree)
        ids = {b.name: b.branch_id for b in screen.detail.branches}

        async def choose(name: str, rows: int) -> None:
            tree.focus()
            node = next(n for n in [tree.root, *tree.root.children, *tree.root.children[0].children]
                        if n.data == ids.get(name, name))
            tree.move_cursor(node)
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen.branch_id == ids[name] and view.row_count == rows
                             and not view.is_loading)
            await timeline_ready(pilot)
            assert view.has_focus, "enter on a branch hands the keys to the timeline"

        view.move_cursor(49)
        await timeline_ready(pilot)
        await choose("attempt-codemod", 199 + 23)
        assert (view.highlighted_row.ev.branch_id, view.highlighted_row.ev.seq) == ("main", 50)
        view.move_cursor(199 + 5)  # attempt-codemod's own seq 6
        await timeline_ready(pilot)
        await choose("codemod-plus-manual-fixes", 253)
        assert (view.highlighted_row.ev.branch_id, view.highlighted_row.ev.seq) == (ids["attempt-codemod"], 6)
        await choose("main", 380)  # not on main's timeline: where its lineage meets main, the fork at 199
        assert (view.highlighted_row.ev.branch_id, view.highlighted_row.ev.seq) == ("main", 199)
        # a kind filter keeps the event when it is shown, else the nearest before it
        rows = screen.timeline.window(0, 380)
        tool = next(ev for ev in rows[100:] if ev.kind == "ToolCallRequested")
        message = next(ev for ev in rows[tool.position + 1:] if ev.kind == "Message")
        for ev, expected in ((tool, tool.seq), (message, max(e.seq for e in rows[:message.position]
                                                              if e.kind.startswith("ToolCall")))):
            view.move_cursor(ev.position)
            await timeline_ready(pilot)
            await pilot.press("t")
            await wait_until(pilot, lambda: isinstance(app.screen, KindFilterScreen))
            app.screen.query_one(SelectionList).deselect_all()
            app.screen.query_one(SelectionList).select("tool")
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and screen.kinds is not None
                             and not view.is_loading and view.row_count < 380)
            await timeline_ready(pilot)
            assert view.highlighted_row.ev.seq == expected, (ev.kind, ev.seq)
            await pilot.press("t")
            await wait_until(pilot, lambda: isinstance(app.screen, KindFilterScreen))
            await pilot.press("c", "enter")
            await timeline_ready(pilot, rows=380)


class _TreeApp(App[None]):
    def compose(self) -> ComposeResult:
        yield BranchTree(id="t")


@run_async
async def test_a_tree_rebuild_never_takes_the_cursor_from_someone_moving_it(demo_journal: Journal) -> None:
    """The race behind the flaky nested-branch test: a rebuild placed the cursor after the next refresh,
    over a move made in between (a user's key, a test's move_cursor)."""
    detail = demo_journal.session(MIGRATE)
    app = _TreeApp()
    async with app.run_test(size=(60, 10)) as pilot:
        tree = app.query_one(BranchTree)
        tree.set_branches(detail.branches[:2], "main")
        await pilot.pause()
        tree.focus()
        await pilot.pause()
        tree.set_branches(detail.branches, "main")  # a new branch: rebuilt, the cursor placed after a refresh
        tree.action_cursor_down()  # ...but the user moves first
        tree.action_cursor_down()
        for _ in range(3):
            await pilot.pause()
        assert tree.cursor_node is not None and tree.cursor_node.data == detail.branches[2].branch_id
        # counts changing (a live update) relabel in place: the cursor stays too
        tree.set_branches(detail.branches, detail.branches[1].branch_id)
        await pilot.pause()
        assert tree.cursor_node.data == detail.branches[2].branch_id
        assert "● attempt-codemod" in tree.root.children[0].label.plain


# ---------------------------------------------------------------------------- 12.16 smaller ones


def test_full_text_wraps_between_words() -> None:
    text = "The quick brown fox jumps over the lazy dog and keeps running far away " * 5
    pager = TextPager(text)
    pager._wrap(30)
    lines = pager._lines
    assert "".join(lines) == text.rstrip("\n")
    for line in lines[:-1]:
        assert line.endswith(" ") and len(line.rstrip(" ")) <= 30, line
    assert wrap_words("x" * 70, 30) == ["x" * 30, "x" * 30, "x" * 10]  # a word longer than a line is cut


@run_async
async def test_the_kind_dialog_leaves_the_screen_visible(demo_journal: Journal) -> None:
    async with opened(demo_journal, INCIDENT, rows=67, size=(120, 40)) as (app, pilot):
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, KindFilterScreen))
        await pilot.pause()
        assert app.screen.styles.background.a < 1
        assert INCIDENT in app.export_screenshot()  # the header below, through the dimmed backdrop


@run_async
async def test_paging_keys_move_by_a_page_and_by_half_a_page(demo_journal: Journal) -> None:
    async with opened(demo_journal, MIGRATE, rows=380, size=(120, 40)) as (app, pilot):
        view = view_of(app)
        page = view.scrollable_content_region.height - 1
        for key, expected in (("ctrl+f", page), ("space", 2 * page), ("ctrl+b", page), ("ctrl+d", page + page // 2),
                              ("ctrl+u", page)):
            await pilot.press(key)
            await wait_until(pilot, lambda: view.cursor == expected, timeout=3)


# ---------------------------------------------------------------------------- 12.12 forks don't rewrite history


def test_forking_later_leaves_activity_and_wall_time_as_the_run_left_them(demo_journal: Journal) -> None:
    before = demo_journal.session(MIGRATE)
    assert before.summary.closed
    later = before.summary.last_ts + 30 * 86_400_000_000  # a month after the run
    demo_journal.create_branch(before.summary.session_id, {"name": "a-look-later", "parent": "main"}, now_us=later)
    after = demo_journal.session(MIGRATE)
    assert len(after.branches) == len(before.branches) + 1
    assert after.summary.last_ts == before.summary.last_ts
    assert after.summary.last_activity == before.summary.last_activity
    assert after.totals.wall_time_us == before.totals.wall_time_us
    assert after.summary.event_count == before.summary.event_count + 1
    listed = demo_journal.list_sessions()
    assert listed[0].name != MIGRATE  # not "just active"
