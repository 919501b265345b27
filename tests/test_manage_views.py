"""Session management from the list (R rename, C close, D delete typing the name) and saved views (V, ctrl+s, palette)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import Button, Input

from conftest import FIXED_NOW_US, fixed_clock
from lago_tui.app import LagoApp
from lago_tui.journal import Journal, JournalBusy
from lago_tui.screens.manage import CloseSessionScreen, DeleteSessionScreen, RenameSessionScreen
from lago_tui.screens.views_menu import SaveViewScreen, ViewsMenuScreen
from test_forms import error_text
from test_palette_help import palette_prompts
from test_session_list import DEMO_ORDER, highlighted, loaded, run_async, running, screen_of, wait_until


class ManagedJournal(Journal):
    """Records the management calls (the journal operations themselves are the query engineer's, tested there)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[Any, ...]] = []
        self.busy_once = False

    def _record(self, *call: Any) -> None:
        if self.busy_once:
            self.busy_once = False
            raise JournalBusy("locked by another process [pid 7]")
        self.calls.append(call)

    def rename_session(self, session: str, name: str, *, now_us: int | None = None) -> None:
        self._record("rename", session, name)

    def close_session(self, session: str, reason: str | None = None, *, now_us: int | None = None) -> None:
        self._record("close", session, reason, now_us)

    def delete_session(self, session: str) -> None:
        self._record("delete", session)


@dataclass(frozen=True)
class View:
    name: str
    scope: str
    query: str


class MemoryViews:
    """The store's interface (lago_tui.saved_views.SavedViews), in memory."""

    problem: str | None = None

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], str] = {}

    def all(self, scope: str | None = None) -> list[View]:
        return [View(name, s, query) for (s, name), query in sorted(self.saved.items()) if scope in (None, s)]

    def save(self, scope: str, name: str, query: str) -> View:
        self.saved[(scope, name)] = query
        return View(name, scope, query)

    def delete(self, scope: str, name: str) -> bool:
        return self.saved.pop((scope, name), None) is not None


@pytest.fixture
def managed(demo_journal: Journal) -> ManagedJournal:
    demo_journal.close()
    journal = ManagedJournal(demo_journal.path, idle_release=0.2)
    yield journal
    journal.close()


@run_async
async def test_rename_close_and_delete_from_the_list(managed: ManagedJournal) -> None:
    app = LagoApp(managed, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        row = screen_of(app).table.highlighted_row
        # R: the name is there, selected; an invalid one is refused inline; a used one is warned about
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RenameSessionScreen))
        dialog = app.screen
        field = dialog.query_one("#rename-name", Input)
        assert field.value == row.name
        await pilot.press("backspace", "enter")  # selected on focus: backspace empties it
        await pilot.pause()
        assert "required" in error_text(dialog, "#form-error") and managed.calls == []
        await pilot.press(*DEMO_ORDER[1])
        await wait_until(pilot, lambda: "already named" in error_text(dialog, "#rename-name-warning"))
        await pilot.press(*"-v2", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, RenameSessionScreen))
        assert managed.calls == [("rename", row.session_id, DEMO_ORDER[1] + "-v2")]
        # C: asks, with an optional reason; the write is stamped with the app's clock
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, CloseSessionScreen))
        assert "SessionClosed" in str(app.screen.query_one("#manage-text").visual)
        managed.busy_once = True  # a busy journal: said in the dialog, nothing written, ctrl+s retries
        await pilot.press(*"done", "enter")
        await wait_until(pilot, lambda: "busy" in error_text(app.screen, "#form-error"))
        assert isinstance(app.screen, CloseSessionScreen) and managed.calls[1:] == []
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, CloseSessionScreen))
        assert managed.calls[1] == ("close", row.session_id, "done", FIXED_NOW_US)
        # D: nothing until the name is typed exactly
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteSessionScreen))
        dialog = app.screen
        button = dialog.query_one("#create", Button)
        assert button.disabled
        await pilot.press(*row.name[:-1], "enter")
        await pilot.pause()
        assert "exactly" in error_text(dialog, "#form-error") and len(managed.calls) == 2
        await pilot.press(row.name[-1])
        assert not button.disabled
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, DeleteSessionScreen))
        assert managed.calls[2] == ("delete", row.session_id)


@run_async
async def test_closing_a_closed_session_is_refused(managed: ManagedJournal) -> None:
    app = LagoApp(managed, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("j", "j")  # incident-2240-cert-expiry is closed
        assert highlighted(app) == DEMO_ORDER[2]
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, CloseSessionScreen))
        assert "already closed" in str(app.screen.query_one("#manage-text").visual)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "already closed" in error_text(app.screen, "#form-error") and managed.calls == []
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CloseSessionScreen))


@run_async
async def test_saved_views_save_apply_in_one_key_and_show_in_the_palette(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    store = MemoryViews()
    app.view_store = store  # type: ignore[attr-defined]
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        await pilot.press("V")
        await wait_until(pilot, lambda: isinstance(app.screen, ViewsMenuScreen))
        await wait_until(pilot, lambda: "No saved views yet" in str(app.screen.query_one("#views-hint").visual))
        await pilot.press("escape")
        # ctrl+s saves the query being typed
        await pilot.press("slash", *"incident", "ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveViewScreen))
        await pilot.press(*"incidents", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveViewScreen))
        assert store.saved == {("list", "incidents"): "incident"}
        store.save("list", "rag", "rag-p")
        await pilot.press("escape")  # clear the query
        await loaded(pilot)
        # V, then one key applies a view
        await pilot.press("V")
        await wait_until(pilot, lambda: isinstance(app.screen, ViewsMenuScreen) and len(app.screen.views) == 2)
        await pilot.press("2")
        await loaded(pilot, rows=1)
        assert screen.filter_text == "rag-p" and screen.filter_input.value == "rag-p"
        # the palette lists them, one step each
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        app.screen.query_one("#--input Input", Input).value = "view: incidents"
        await wait_until(pilot, lambda: bool(palette_prompts(app)) and "View: incidents" in palette_prompts(app)[0])
        await pilot.press("down", "enter")
        await loaded(pilot, rows=2)
        assert screen.filter_text == "incident"
        # d deletes from the menu
        await pilot.press("V")
        await wait_until(pilot, lambda: isinstance(app.screen, ViewsMenuScreen) and len(app.screen.views) == 2)
        await pilot.press("d")
        await wait_until(pilot, lambda: len(store.saved) == 1)
        await pilot.press("escape")


# ---------------------------------------------------------------------------------------------- with the real engine

needs_query_language = pytest.mark.skipif(
    not hasattr(Journal, "close_session"), reason="the journal's query language and operations (issue 13) are not in this build"
)


@needs_query_language
@run_async
async def test_typed_queries_and_management_on_the_real_journal(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (120, 40)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        await pilot.press("slash", *"model:o3-mini", "enter")
        await loaded(pilot, rows=2)
        assert {row.name for row in map(screen.table.get_row, range(2))} == {
            "eval-gsm-arith-nightly", "incident-2231-db-latency"}
        await pilot.press("slash", *" -state:closed", "enter")
        await loaded(pilot, rows=1)
        assert highlighted(app) == "eval-gsm-arith-nightly"
        # rename, close and delete it, for real
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RenameSessionScreen))
        await pilot.press(*"eval-renamed", "enter")
        await loaded(pilot, rows=1)
        await wait_until(pilot, lambda: highlighted(app) == "eval-renamed")
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, CloseSessionScreen))
        await pilot.press("enter")
        await loaded(pilot, rows=0)  # closed now: the query no longer matches
        await pilot.press("escape")
        await loaded(pilot)
        await pilot.press("slash", *"eval-renamed", "enter")
        await loaded(pilot, rows=1)
        assert screen.table.highlighted_row.closed
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, DeleteSessionScreen))
        await pilot.press(*"eval-renamed", "enter")
        await loaded(pilot, rows=0)
    assert [s.name for s in demo_journal.list_sessions()].count("eval-renamed") == 0
    assert len(demo_journal.list_sessions()) == 11


# ---------------------------------------------------------------------------------------------- snapshots


@pytest.fixture
def home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the journal shows as ~/journal.duckdb


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_views_menu(snap_compare: Any, home: None, demo_journal: Journal, size: tuple[int, int]) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    store = MemoryViews()
    for name, query in (("incidents", "incident"), ("open and big", "state:open tokens:>5k"), ("o3", "model:o3-mini")):
        store.save("list", name, query)
    app.view_store = store  # type: ignore[attr-defined]

    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        await pilot.press("V")
        await wait_until(pilot, lambda: isinstance(app.screen, ViewsMenuScreen) and len(app.screen.views) == 3)
        await pilot.press("down")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@needs_query_language
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_query_error_inline(snap_compare: Any, home: None, demo_journal: Journal, size: tuple[int, int]) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)

    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        await pilot.press("slash", *"state:open")
        await loaded(pilot, rows=4)
        await pilot.press(*" tokns:>5k")
        screen = screen_of(app)
        await wait_until(pilot, lambda: screen.query_bar.problem is not None)
        screen.filter_input.cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
