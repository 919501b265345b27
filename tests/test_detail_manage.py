"""Saved views (V, ctrl+s) and session management (R, C, D) from the detail screen (issue 13.1, 13.4)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from lago_tui.journal import Journal
from lago_tui.saved_views import SavedViews
from lago_tui.screens.manage import CloseSessionScreen, DeleteSessionScreen, RenameSessionScreen
from lago_tui.screens.session_detail import SessionDetailScreen
from lago_tui.screens.session_detail.branch_rename import RenameBranchScreen
from lago_tui.screens.views_menu import SaveViewScreen, ViewsMenuScreen
from lago_tui.widgets.branch_tree import BranchTree

from detail_helpers import detail_of, opened, run_async, search_for, text_of, view_of, wait_until

INCIDENT = "incident-2231-db-latency"


@run_async
async def test_ctrl_s_saves_the_search_and_v_applies_it_again(demo_journal: Journal, tmp_path: Path) -> None:
    store = SavedViews(tmp_path / "views.json")
    async with opened(demo_journal, INCIDENT, rows=67) as (app, pilot):
        app.view_store = store
        screen, view = detail_of(app), view_of(app)
        await search_for(pilot, "kind:error")
        await wait_until(pilot, lambda: screen.search.positions is not None)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveViewScreen))
        app.screen.query_one(Input).value = "errors"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
        assert [(v.name, v.scope, v.query) for v in store.all()] == [("errors", "timeline", "kind:error")]
        await pilot.press("escape")  # the search goes
        await wait_until(pilot, lambda: not screen.search.active)
        view.move_cursor(0)
        await pilot.press("V")
        await wait_until(pilot, lambda: isinstance(app.screen, ViewsMenuScreen) and app.screen.views)
        await pilot.press("1")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and screen.search.query == "kind:error"
                         and screen.search.positions is not None and view.cursor == screen.search.positions[0])
        assert any("View: errors" in title for title, _help, _run in screen.palette_commands())


@run_async
async def test_r_renames_the_session_and_from_the_tree_a_branch(demo_journal: Journal) -> None:
    async with opened(demo_journal, INCIDENT, rows=67) as (app, pilot):
        screen = detail_of(app)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RenameSessionScreen))
        app.screen.query_one("#rename-name", Input).value = "incident-2231-renamed"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen)
                         and "incident-2231-renamed" in text_of("#sd-header", app))
        tree = screen.query_one(BranchTree)
        tree.focus()
        tree.move_cursor(tree.root.children[1])  # hypothesis-autovacuum
        await pilot.pause()
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RenameBranchScreen))
        box = app.screen.query_one("#rename-branch-name", Input)
        box.value = "hypothesis-connection-pool"  # taken: said, nothing written
        await wait_until(pilot, lambda: "already exists" in str(app.screen.query_one("#rename-branch-name-error").render()))
        await pilot.press("ctrl+s")  # refused: the dialog stays
        await pilot.pause(0.1)
        assert isinstance(app.screen, RenameBranchScreen)
        box.value = "vacuum-theory"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen)
                         and any(b.name == "vacuum-theory" for b in screen.detail.branches))
        await wait_until(pilot, lambda: "vacuum-theory" in tree.root.children[1].label.plain)
    assert demo_journal.session("incident-2231-renamed").branch("vacuum-theory") is not None


@run_async
async def test_c_closes_and_d_deletes_the_session(demo_journal: Journal) -> None:
    async with opened(demo_journal, "docs-qa-onboarding", rows=38) as (app, pilot):  # an open session
        screen = detail_of(app)
        assert "open" in text_of("#sd-header", app).split("\n")[1]
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, CloseSessionScreen))
        app.screen.query_one("#close-reason", Input).value = "answered"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and screen.detail.summary.closed
                         and view_of(app).row_count == 39)
        assert "closed" in text_of("#sd-header", app).split("\n")[1]
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteSessionScreen))
        await pilot.press("ctrl+s")  # not typed yet: refused, nothing deleted
        await pilot.pause(0.1)
        assert isinstance(app.screen, DeleteSessionScreen)
        app.screen.query_one("#delete-confirm", Input).value = "docs-qa-onboarding"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, (DeleteSessionScreen, SessionDetailScreen)))
    assert all(s.name != "docs-qa-onboarding" for s in demo_journal.list_sessions())
