"""The session list (home screen): paint, filter, keys, sort, empty state, live updates, busy, hostile names."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from pathlib import Path

import pytest
from textual import events

from lago_tui.app import LagoApp
from lago_tui.journal import Journal, JournalAPI
from lago_tui.messages import JournalChanged
from lago_tui.screens.session_list import SessionListScreen
from lago_tui.widgets.session_preview import SessionPreview
from lago_tui.widgets.virtual_list import Sort, VirtualTable, layout_columns

from conftest import fixed_clock

# The demo sessions by last activity, newest first.
DEMO_ORDER = [
    "local-llama-smoke-test",
    "docs-qa-onboarding",
    "incident-2240-cert-expiry",
    "eval-gsm-arith-nightly",
    "refactor-cli-arg-parsing",
    "draft-threat-model-payments",
    "triage-ci-timeouts",
    "migrate-billing-to-pydantic-v2",
    "weekly-churn-analysis",
    "incident-2231-db-latency",
    "summarise-rag-papers",
    "fix-flaky-auth-test",
]
HOSTILE = "[@click=app.quit]x[/] \x1b[31mred"


# ---------------------------------------------------------------------------- helpers


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test with asyncio (no async pytest plugin here); fixtures pass through."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def screen_of(app: LagoApp) -> SessionListScreen:
    screen = app.screen
    assert isinstance(screen, SessionListScreen), type(screen).__name__
    return screen


def table_of(app: LagoApp) -> VirtualTable:
    return screen_of(app).table


def names(app: LagoApp) -> list[str]:
    table = table_of(app)
    rows = [table.get_row(i) for i in range(table.row_count)]
    return [row.name if row is not None else "?" for row in rows]


def highlighted(app: LagoApp) -> str | None:
    row = table_of(app).highlighted_row
    return None if row is None else row.name


def count_text(app: LagoApp) -> str:
    return str(screen_of(app).query_one("#sl-count").visual)


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition.__doc__ or condition}")
        await pilot.pause(0.05)


async def loaded(pilot, rows: int = 12) -> None:
    app = pilot.app
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, SessionListScreen)
        and table_of(app).row_count == rows
        and not table_of(app).is_loading
        and all(table_of(app).get_row(i) is not None for i in range(min(rows, 10))),
    )
    await pilot.pause()  # the screen's Loaded handler (columns sized to the names) has run


async def quiesce(pilot) -> None:
    """Let the workers (journal queries) in flight finish, so each test ends in a known state."""
    deadline = time.monotonic() + 8.0
    while any(not worker.is_finished for worker in pilot.app.workers) and time.monotonic() < deadline:
        await pilot.pause(0.05)


@contextlib.asynccontextmanager
async def running(app: LagoApp, size: tuple[int, int]) -> AsyncIterator[Any]:
    async with app.run_test(size=size) as pilot:
        yield pilot
        await quiesce(pilot)


async def settle(pilot) -> None:
    """For snapshots: every worker done, the preview loaded, nothing left to paint."""
    await pilot.pause(0.2)
    await quiesce(pilot)
    await pilot.pause()


def recording_open_session(app: LagoApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """If the detail screen is not importable (written in parallel), record open_session calls."""
    try:
        import lago_tui.screens.session_detail  # noqa: F401
    except ImportError:
        opened: list[str] = []
        monkeypatch.setattr(app, "open_session", lambda session_id, **_: opened.append(session_id))
        return opened
    return []


# ---------------------------------------------------------------------------- pilot tests


@run_async
async def test_first_paint_lists_demo_sessions_by_last_activity(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        assert names(app) == DEMO_ORDER
        assert table_of(app).sort == Sort("last_activity", True)
        assert "12 sessions" in count_text(app)
        assert highlighted(app) == DEMO_ORDER[0]
        assert app.focused is table_of(app)
        # the preview follows the highlight once it settles
        preview = screen_of(app).query_one(SessionPreview)
        await wait_until(pilot, lambda: preview.data is not None)
        assert preview.data.detail.summary.name == DEMO_ORDER[0]


@run_async
async def test_filter_narrows_shows_n_of_m_and_escape_clears(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash")
        assert app.focused is screen_of(app).filter_input
        await pilot.press(*"INCIDENT")
        await loaded(pilot, rows=2)
        assert names(app) == ["incident-2240-cert-expiry", "incident-2231-db-latency"]
        assert "2 of 12 sessions" in count_text(app)
        # enter: back to the table, filter kept
        await pilot.press("enter")
        assert app.focused is table_of(app)
        assert screen_of(app).filter_text == "INCIDENT"
        await pilot.press("j")
        assert highlighted(app) == "incident-2231-db-latency"
        # escape clears, the highlighted session stays highlighted
        await pilot.press("escape")
        await loaded(pilot)
        assert screen_of(app).filter_text == ""
        assert "12 sessions" in count_text(app) and "of" not in count_text(app).split("sessions")[0]
        assert highlighted(app) == "incident-2231-db-latency"
        # escape from inside the filter box, too
        await pilot.press("slash", *"rag-p")
        await loaded(pilot, rows=1)
        await pilot.press("escape")
        await loaded(pilot)
        assert app.focused is table_of(app)
        assert not screen_of(app).query_one("#sl-query").display


@run_async
async def test_keys_typed_right_after_slash_reach_the_filter(demo_api: JournalAPI) -> None:
    """A fast typist (or tmux send-keys): "/inc" arrives before the filter has focus."""
    app = LagoApp(demo_api, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        keys = [("slash", "/"), ("i", "i"), ("n", "n"), ("c", "c"), ("enter", "\r"), ("j", "j")]
        for key, character in keys:
            app.post_message(events.Key(key, character))
        await loaded(pilot, rows=2)
        screen = screen_of(app)
        assert app.screen is screen  # "n" was typed, it did not open the new-session form
        assert screen.filter_input.value == "inc" and screen.filter_text == "inc"
        # enter went back to the table; j was not typed into the filter
        await wait_until(pilot, lambda: app.focused is table_of(app))
        assert screen.filter_input.value == "inc"


@run_async
async def test_filter_with_no_match_and_by_model_and_id(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"o3-mini")
        await loaded(pilot, rows=2)
        assert set(names(app)) == {"eval-gsm-arith-nightly", "incident-2231-db-latency"}
        await pilot.press("ctrl+a", "ctrl+k", *"zzz")
        await wait_until(pilot, lambda: screen_of(app).filter_text == "zzz" and "0 of 12 sessions" in count_text(app))
        assert table_of(app).row_count == 0
        assert not screen_of(app).empty  # a filter with no match is not the empty journal


@run_async
async def test_cursor_keys_move_the_highlight(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("j", "j")
        assert highlighted(app) == DEMO_ORDER[2]
        await pilot.press("k")
        assert highlighted(app) == DEMO_ORDER[1]
        await pilot.press("down")
        assert highlighted(app) == DEMO_ORDER[2]
        await pilot.press("G")
        assert highlighted(app) == DEMO_ORDER[-1]
        await pilot.press("g")
        assert highlighted(app) == DEMO_ORDER[0]
        await pilot.press("pagedown")
        assert highlighted(app) == DEMO_ORDER[-1]
        await pilot.press("up", "pageup")
        assert highlighted(app) == DEMO_ORDER[0]


@run_async
async def test_enter_opens_the_highlighted_session(demo_api: JournalAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        opened = recording_open_session(app, monkeypatch)
        screen = screen_of(app)
        await pilot.press("j", "j")
        target = table_of(app).highlighted_row
        await pilot.press("enter")
        await pilot.pause()
        assert target is not None and target.name == DEMO_ORDER[2]
        if opened or app.screen is screen:
            assert opened == [target.session_id]
        else:
            assert type(app.screen).__name__ == "SessionDetailScreen"
            app.pop_screen()
            await pilot.pause()
            # back on the same screen instance, with the same highlight
            assert app.screen is screen
            assert highlighted(app) == DEMO_ORDER[2]


@run_async
async def test_sort_by_keys_and_header_clicks(demo_api: JournalAPI) -> None:
    app = LagoApp(demo_api, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        table = table_of(app)
        await pilot.press("1")  # name, ascending
        await wait_until(pilot, lambda: names(app)[0] == "docs-qa-onboarding")
        assert names(app) == sorted(DEMO_ORDER)
        assert table.sort == Sort("name", False)
        assert "by name ▲" in count_text(app)
        # the highlighted session (the first one before) stays highlighted
        assert highlighted(app) == DEMO_ORDER[0]
        await pilot.press("S")
        await wait_until(pilot, lambda: names(app)[0] == "weekly-churn-analysis")
        assert table.sort == Sort("name", True)
        assert "by name ▼" in count_text(app)
        await pilot.press("s")  # next column: id
        await wait_until(pilot, lambda: table.sort == Sort("id", False) and not table.is_loading)
        await loaded(pilot)
        assert names(app)[0] == "fix-flaky-auth-test"  # the oldest ULID
        # header click on "events": most events first; again: fewest first
        widths = layout_columns(table.columns, table.scrollable_content_region.width)
        keys = [column.key for column in table.columns]
        x = sum(w + 1 for w in widths[: keys.index("events")]) + 2
        await pilot.click(table, offset=(x, 0))
        await wait_until(pilot, lambda: names(app)[0] == "migrate-billing-to-pydantic-v2")
        assert table.sort == Sort("events", True)
        await pilot.click(table, offset=(x, 0))
        await wait_until(pilot, lambda: names(app)[0] == "local-llama-smoke-test")
        assert table.sort == Sort("events", False)
        assert "by events ▲" in count_text(app)


@run_async
async def test_empty_journal_shows_empty_state_and_d_loads_the_demo(journal_api: JournalAPI, tmp_path: Path) -> None:
    # A journal with no session in it (a missing file says so: test_list_keys). Importing "[]" made one
    # before; an empty array is now refused like an empty file, so: a session created, then deleted.
    journal_api.delete_session(journal_api.create_session({"name": "gone"}))
    app = LagoApp(journal_api, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        screen = screen_of(app)
        await wait_until(pilot, lambda: screen.empty)
        assert screen.query_one("#sl-empty").display
        assert not screen.query_one("#sl-body").display
        assert "No sessions yet" in str(screen.query_one("#sl-empty-title").visual)
        assert "press d to load the demo sessions" in str(screen.query_one("#sl-empty-hint").visual)
        await pilot.press("d")
        await loaded(pilot)
        await wait_until(pilot, lambda: not screen.empty)  # the rows may be in before their Loaded message
        assert names(app) == DEMO_ORDER
        assert "12 sessions" in count_text(app)


@run_async
async def test_live_update_keeps_highlight_and_filter(demo_api_rw: JournalAPI) -> None:
    app = LagoApp(demo_api_rw, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"-", "enter")  # every demo name has a dash
        await loaded(pilot)
        await pilot.press("j", "j")
        assert highlighted(app) == DEMO_ORDER[2]
        # another process writes (a subprocess: DuckDB allows one writer or several readers)
        script = (
            "import sys; from lago_tui.connect import open_journal\n"  # through the server when one owns the file
            "with open_journal(sys.argv[1]) as j: j.create_session({'name': 'zz-live-session', 'model': 'm'})\n"
        )
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", script, str(demo_api_rw.path)], check=True, timeout=30)
        await wait_until(pilot, lambda: table_of(app).row_count == 13 and "zz-live-session" in names(app), 3.0)
        assert time.monotonic() - started < 6  # including the subprocess start
        assert highlighted(app) == DEMO_ORDER[2]
        assert names(app)[0] == "zz-live-session"  # newest activity first
        assert screen_of(app).filter_text == "-"
        await wait_until(pilot, lambda: "13 of 13 sessions" in count_text(app))


@run_async
async def test_busy_journal_shows_status_and_recovers(journal_path: Path, demo_journal: Journal) -> None:
    demo_journal.close()
    journal = Journal(journal_path, busy_timeout=0.3, idle_release=0.1)
    app = LagoApp(journal, clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await loaded(pilot)
        await pilot.pause(0.2)
        await quiesce(pilot)
        await wait_until(pilot, lambda: not journal.holds_connection)
        script = (
            "import sys, time, duckdb\n"
            "con = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(2.0); con.close()\n"
        )
        holder = subprocess.Popen(
            [sys.executable, "-c", script, str(journal_path)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            screen = screen_of(app)
            screen.post_message(JournalChanged())
            await wait_until(pilot, lambda: screen.busy, 3.0)
            status = screen.query_one("#sl-status")
            assert status.display and "busy" in str(status.visual)
            # recovers by itself once the other process lets go
            await wait_until(pilot, lambda: not screen.busy, 6.0)
            assert not status.display
            await loaded(pilot)
            assert names(app) == DEMO_ORDER
        finally:
            holder.wait(timeout=10)
    journal.close()


@run_async
async def test_a_file_that_is_not_a_journal_shows_the_error_screen(journal_path: Path) -> None:
    journal_path.write_text("not a journal at all\n" * 10)
    app = LagoApp(Journal(journal_path), clock=fixed_clock)
    async with running(app, (100, 30)) as pilot:
        await wait_until(pilot, lambda: type(app.screen).__name__ == "JournalErrorScreen")
        assert app.is_running


@run_async
async def test_hostile_session_name_is_shown_literally(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    journal.append(
        [
            {
                "event_id": "01J00000000000000000000001",
                "session_id": "01J00000000000000000000002",
                "branch_id": "main",
                "timestamp": 1_795_262_300_000_000,
                "payload": {"type": "SessionCreated", "name": HOSTILE, "config": {"model": "m[b]x[/b]"}},
            }
        ]
    )
    journal.close()
    app = LagoApp(journal, clock=fixed_clock)
    async with running(app, (200, 30)) as pilot:
        await loaded(pilot, rows=1)
        opened = recording_open_session(app, monkeypatch)
        table = table_of(app)
        line = table.render_line(1).text
        assert "[@click=app.quit]x[/]" in line
        assert "\\x1b[31mred" in line
        assert "m[b]x[/b]" in line
        assert "\x1b" not in line
        preview = screen_of(app).query_one(SessionPreview)
        await wait_until(pilot, lambda: preview.data is not None)
        body = str(preview.query_one("#preview-body").visual)
        assert "[@click=app.quit]x[/]" in body and "\\x1b[31mred" in body and "\x1b" not in body
        # clicking the name (on the highlighted row: it opens the session) never runs the link
        await pilot.click(table, offset=(4, 1))
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None
        if opened:
            assert opened == ["01J00000000000000000000002"]
        else:
            assert type(app.screen).__name__ == "SessionDetailScreen"


@run_async
async def test_preview_layout_follows_terminal_size(demo_journal: Journal) -> None:
    app = LagoApp(demo_journal, clock=fixed_clock)
    async with running(app, (80, 24)) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        preview = screen.query_one(SessionPreview)
        assert screen.has_class("-none") and not preview.display
        assert [c.key for c in table_of(app).columns] == ["name", "model", "events", "tokens", "last_activity"]
        await pilot.resize_terminal(90, 40)
        await pilot.pause()
        assert screen.has_class("-below") and preview.display
        assert preview.region.y > table_of(app).region.y
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert screen.has_class("-beside") and preview.display
        assert preview.region.x > table_of(app).region.x
        assert len(table_of(app).columns) == 8


# ---------------------------------------------------------------------------- snapshots


def _app(journal: Journal) -> LagoApp:
    return LagoApp(journal, clock=fixed_clock)


async def _ready(pilot) -> None:
    await loaded(pilot)
    await settle(pilot)


async def _filtered(pilot) -> None:
    await loaded(pilot)
    await pilot.press("slash", *"incident", "enter")
    await loaded(pilot, rows=2)
    await settle(pilot)


async def _empty(pilot) -> None:
    await wait_until(pilot, lambda: screen_of(pilot.app).empty)
    await settle(pilot)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots: the journal path shows as ~/journal.duckdb, the same on every run."""
    monkeypatch.setenv("HOME", str(tmp_path))


LIST_SIZES = [(80, 24), (120, 40), (200, 50)]
SIZE_IDS = [f"{w}x{h}" for w, h in LIST_SIZES]


@pytest.mark.parametrize("size", LIST_SIZES, ids=SIZE_IDS)
def test_snapshot_list(snap_compare, home: None, demo_journal: Journal, size: tuple[int, int]) -> None:
    assert snap_compare(_app(demo_journal), terminal_size=size, run_before=_ready)


def test_snapshot_list_filtered(snap_compare, home: None, demo_journal: Journal) -> None:
    assert snap_compare(_app(demo_journal), terminal_size=(100, 36), run_before=_filtered)


def test_snapshot_list_typing_a_query(snap_compare, home: None, demo_journal: Journal) -> None:
    async def typing(pilot) -> None:
        await loaded(pilot)
        await pilot.press("slash", *"incident")
        await loaded(pilot, rows=2)
        screen_of(pilot.app).filter_input.cursor_blink = False
        await settle(pilot)

    assert snap_compare(_app(demo_journal), terminal_size=(80, 24), run_before=typing)


def test_snapshot_list_40x12(snap_compare, home: None, demo_journal: Journal) -> None:
    assert snap_compare(_app(demo_journal), terminal_size=(40, 12), run_before=_ready)


def test_snapshot_empty_80x24(snap_compare, home: None, journal: Journal, tmp_path: Path) -> None:
    journal.delete_session(journal.create_session({"name": "gone"}))  # the file exists, no session in it
    assert snap_compare(_app(journal), terminal_size=(80, 24), run_before=_empty)


def test_snapshot_missing_journal_120x40(snap_compare, home: None, journal: Journal) -> None:
    assert snap_compare(_app(journal), terminal_size=(120, 40), run_before=_missing)


def test_snapshot_missing_journal_80x24(snap_compare, home: None, journal: Journal) -> None:
    # the hint wraps under the title rather than losing "created then); q quits" past the right edge
    assert snap_compare(_app(journal), terminal_size=(80, 24), run_before=_missing)


async def _missing(pilot) -> None:
    await wait_until(pilot, lambda: screen_of(pilot.app).empty and screen_of(pilot.app).missing)
    await settle(pilot)
