"""lago-tui against a real ``lago-tui serve``: auto-routing through the sidecar, stale sidecars, a server
that stops and comes back, a session that went away, a slow server, and a plain Lago server.

(The CLI contract and the Pilot flows run against a server too: test_cli.py, test_session_list.py and
test_session_detail.py, parametrised over ``backend``.)
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from lago_tui.app import LagoApp
from lago_tui.cli import run
from lago_tui.connect import open_journal
from lago_tui.journal import Journal, NotFound
from lago_tui.remote import NeedsLagoTuiServe, RemoteJournal, ServerUnavailable
from lago_tui.remote.client import wired_operations
from lago_tui.screens.session_list import SessionListScreen
from lago_tui.sidecar import Sidecar, read_sidecar, sidecar_path, write_sidecar

from conftest import fixed_clock
from served import free_port, serve


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(0.05)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def timeline_rows(app: LagoApp) -> int:
    """Rows of the detail screen's timeline (-1 until that screen is up and composed)."""
    from lago_tui.screens.session_detail import SessionDetailScreen
    from lago_tui.widgets.timeline import TimelineView

    if not isinstance(app.screen, SessionDetailScreen) or not app.screen.query(TimelineView):
        return -1
    return app.screen.query_one(TimelineView).row_count


def post(url: str, path: str, body: Any, token: str | None = None) -> tuple[int, Any]:
    """An agent's request to Lago's routes: plain http.client, nothing of lago-tui's."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = json.loads(response.read() or b"null")
    conn.close()
    return response.status, data


# ---------------------------------------------------------------------------- auto-routing


def test_commands_and_tui_on_a_served_file_go_through_the_server(
    demo_journal: Journal, journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An agent appends over HTTP at ~20 events/s while local commands and the TUI use the file: every
    append succeeds and every local reader sees the agent's events."""
    demo_journal.close()
    served = serve(journal_path, token="agent-token")
    try:
        sidecar = read_sidecar(journal_path)
        assert sidecar is not None and sidecar.pid == served.proc.pid and sidecar.token == "agent-token"
        assert stat.S_IMODE(os.stat(sidecar_path(journal_path)).st_mode) == 0o600  # it holds the token
        status, created = post(served.url, "/v1/sessions", {"name": "agent-run", "model": "m"}, "agent-token")
        assert status == 201
        session_id = created["session_id"]
        failures: list[Any] = []
        appended = []
        stop = threading.Event()

        def agent() -> None:
            i = 0
            while not stop.is_set():
                event = {"event": {"payload": {"type": "Message", "role": "assistant", "content": f"tick {i}"}}}
                status, body = post(served.url, f"/v1/sessions/{session_id}/events", event, "agent-token")
                (appended if status == 200 else failures).append((status, body))
                i += 1
                time.sleep(0.05)

        thread = threading.Thread(target=agent, daemon=True)
        thread.start()
        try:
            local = open_journal(str(journal_path))
            assert isinstance(local, RemoteJournal) and local.location == served.url
            local.close()
            seen: list[int] = []
            deadline = time.monotonic() + 10
            while len(seen) < 3 or seen[-1] <= seen[0]:  # the agent's events, as they arrive
                assert time.monotonic() < deadline, seen
                code, out, err = cli(capsys, "--journal", str(journal_path), "log", "agent-run", "--json")
                assert code == 0 and err == "", err
                seen.append(len(out.splitlines()))
                code, out, err = cli(capsys, "--journal", str(journal_path), "sessions")
                assert code == 0 and "agent-run" in out
                time.sleep(0.1)

            async def tui() -> None:
                app = LagoApp(open_journal(str(journal_path)), clock=fixed_clock, watch_interval=0.1)
                async with app.run_test(size=(120, 40)) as pilot:
                    await pilot.pause()
                    app.open_session(session_id)
                    from lago_tui.widgets.timeline import TimelineView

                    await wait_until(pilot, lambda: timeline_rows(app) > 1)
                    view = app.screen.query_one(TimelineView)
                    await pilot.press("f")  # follow
                    first = view.row_count
                    await wait_until(pilot, lambda: view.row_count >= first + 5)  # live, from the server
                    from textual import events

                    for key in ["pageup", "pagedown"] * 20:  # held keys (pilot.press waits for idle, never here)
                        app.post_message(events.Key(key, None))
                        await asyncio.sleep(0.02)
                    await wait_until(pilot, lambda: view.row_count >= first + 10)

            asyncio.run(tui())
        finally:
            stop.set()
            thread.join(10)
        assert failures == [] and len(appended) >= 10
    finally:
        err = served.stop()
    assert not sidecar_path(journal_path).exists()  # removed on exit
    assert "agent-token" not in err  # never in the access log
    with Journal(journal_path) as journal:  # and the file is the file again
        assert journal.session("agent-run").summary.event_count >= len(appended) + 1


def test_a_stale_sidecar_is_ignored(demo_journal: Journal, journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo_journal.close()
    served = serve(journal_path)
    served.stop(signal.SIGKILL)  # no chance to clean up: the sidecar stays
    assert read_sidecar(journal_path) is not None
    started = time.monotonic()
    code, out, err = cli(capsys, "--journal", str(journal_path), "sessions")
    assert code == 0 and err == "" and "fix-flaky-auth-test" in out
    assert time.monotonic() - started < 3
    assert isinstance(open_journal(str(journal_path)), Journal)
    # a live process that is not that server (our own pid), on a port where nothing answers
    write_sidecar(journal_path, Sidecar(f"http://127.0.0.1:{free_port()}", os.getpid(), None, str(journal_path), 0))
    assert isinstance(open_journal(str(journal_path)), Journal)
    # a server that answers, but for another journal file
    other = journal_path.with_name("other.duckdb")
    served = serve(other)
    try:
        write_sidecar(journal_path, Sidecar(served.url, served.proc.pid, None, str(journal_path), 0))
        assert isinstance(open_journal(str(journal_path)), Journal)
        code, out, _ = cli(capsys, "--journal", str(journal_path), "sessions")
        assert code == 0 and "fix-flaky-auth-test" in out
    finally:
        served.close()


def test_serving_an_already_served_file_says_so(journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve(journal_path)
    try:
        code, out, err = cli(capsys, "--journal", str(journal_path), "serve", "--port", "0")
        assert code == 2 and f"{journal_path} is already served by lago-tui serve at {served.url}" in err
    finally:
        served.close()


def test_export_o_never_overwrites_a_served_journal(demo_journal: Journal, journal_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The local commands reach a served file through its server; its files stay as protected as when
    they open it themselves."""
    session = demo_journal.list_sessions(limit=1)[0].session_id
    demo_journal.close()
    served = serve(journal_path)
    try:
        head = journal_path.read_bytes()[:4096]
        wal = Path(str(journal_path) + ".wal")
        for target, what in [(journal_path, "the journal"), (wal, "write-ahead log")]:
            code, out, err = cli(capsys, "--journal", str(journal_path), "export", session, "-o", str(target))
            assert code == 2 and what in err and len(err.splitlines()) == 1, err
        assert journal_path.read_bytes()[:4096] == head
        assert not (wal.exists() and wal.read_bytes().startswith(b'{"'))  # no export written there
        assert served.client().session(session).summary.session_id == session  # the server still has it
    finally:
        served.close()


def test_serve_refuses_a_journal_in_a_directory_that_does_not_exist(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """As every other command does: a typo'd directory is an error, never created behind your back."""
    path = tmp_path / "no-such-dir" / "journal.duckdb"
    code, out, err = cli(capsys, "--journal", str(path), "serve", "--port", "0")
    assert code == 2 and f"no directory {tmp_path / 'no-such-dir'}" in err and len(err.splitlines()) == 1, err
    assert not path.parent.exists()


# ---------------------------------------------------------------------------- a server that goes away


def test_server_restart_mid_session_and_a_session_that_went_away(journal_path: Path) -> None:
    served = serve(journal_path)
    port = served.port
    journal = served.client()
    session_id = journal.create_session({"name": "before-restart"})
    assert journal.session(session_id).summary.name == "before-restart"
    with pytest.raises(NotFound, match="no session 'gone'"):
        journal.session("gone")
    served.stop()
    with pytest.raises(ServerUnavailable, match="connection refused"):
        journal.list_sessions()
    served = serve(journal_path, port=port)
    try:
        assert [s.name for s in journal.list_sessions()] == ["before-restart"]  # the same client, again
        timeline = journal.timeline(session_id)
        assert [e.kind for e in timeline.window(0, 10)] == ["SessionCreated"]
    finally:
        journal.close()
        served.close()


@run_async
async def test_tui_shows_a_lost_server_and_recovers_by_itself(demo_journal: Journal, journal_path: Path) -> None:
    demo_journal.close()
    served = serve(journal_path)
    port = served.port
    journal = served.client()
    app = LagoApp(journal, clock=fixed_clock, watch_interval=0.1)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: isinstance(app.screen, SessionListScreen)
                             and app.screen.table.row_count == 12)
            screen = app.screen
            await wait_until(pilot, lambda: journal._feed is not None and journal._feed.connected)
            served.stop()
            await wait_until(pilot, lambda: "connection refused" in (app._status_note or ""))
            await wait_until(pilot, lambda: any(n.title == "Journal unreachable" for n in app._notifications))
            await wait_until(pilot, lambda: screen.busy)  # the list tried again, and says why it waits
            assert "server unreachable, retrying" in str(screen.query_one("#sl-status").visual)
            await pilot.press("j")  # still answering keys
            served = serve(journal_path, port=port)
            await wait_until(pilot, lambda: app._status_note is None and not screen.busy, timeout=15)
            assert not any(n.title == "Journal unreachable" for n in app._notifications)
            assert screen.table.row_count == 12
    finally:
        journal.close()
        served.close()


@run_async
async def test_a_silent_server_never_blocks_the_ui(tmp_path: Path) -> None:
    """A server that accepts connections and never answers (a stuck or very slow network)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    journal = RemoteJournal(f"http://127.0.0.1:{listener.getsockname()[1]}", read_timeout=30)
    app = LagoApp(journal, clock=fixed_clock)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, SessionListScreen))
            listing = app.screen
            await pilot.press("question_mark")
            from lago_tui.screens.help import HelpScreen

            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is listing)
            # all the while, the list's first call was still waiting for an answer
            assert listing.table.row_count == 0 and any(not w.is_finished for w in app.workers)
            app.exit()
    finally:
        listener.close()
        journal.close()


# ---------------------------------------------------------------------------- a plain Lago server


def test_plain_lago_server_lists_shows_pages_and_says_what_needs_serve(
    demo_journal: Journal, journal_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_journal.close()
    served = serve(journal_path, "--no-extension")
    try:
        url = served.url
        code, out, err = cli(capsys, "--journal", url, "sessions")
        assert code == 0 and err == "" and len(out.splitlines()) == 13 and "fix-flaky-auth-test" in out
        code, out, err = cli(capsys, "--journal", url, "show", "refactor-cli-arg-parsing")
        assert code == 0 and "clap-derive" in out
        code, out, _ = cli(capsys, "--journal", url, "log", "refactor-cli-arg-parsing", "--branch", "clap-derive",
                           "--json")
        events = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and [(e["branch_id"], e["seq"]) for e in events[:2]] == [("main", 1), ("main", 2)]
        assert events[-1]["branch_id"] != "main" and len(events) == 16 + 51
        code, out, err = cli(capsys, "--journal", url, "log", "refactor-cli-arg-parsing", "--kind", "Message")
        assert code == 2 and "the kind filter needs `lago-tui serve` (this is a plain Lago server)" in err
        code, out, err = cli(capsys, "--journal", url, "new", "--name", "from-plain")
        assert code == 0 and len(out.strip()) == 26
        journal = served.client()
        assert journal.is_plain_lago and "need `lago-tui serve`" in journal.limitations()
        with pytest.raises(NeedsLagoTuiServe, match="search needs `lago-tui serve`"):
            journal.search("x")
        # operations built on what a plain server has work; the others say what they need
        assert [s.name for s in journal.match_sessions("flaky")] == ["fix-flaky-auth-test"]
        assert [s.name for s in journal.sessions_named("from-plain")] == ["from-plain"]
        with pytest.raises(NeedsLagoTuiServe, match="close session needs `lago-tui serve`"):
            journal.close_session("from-plain")
        code, out, err = cli(capsys, "--journal", url, "check")
        assert code == 2 and err.count("\n") == 1 and "needs `lago-tui serve`" in err
    finally:
        served.close()


@run_async
async def test_plain_lago_server_in_the_tui(demo_journal: Journal, journal_path: Path) -> None:
    demo_journal.close()
    served = serve(journal_path, "--no-extension")
    journal = served.client()
    app = LagoApp(journal, clock=fixed_clock, watch_interval=0.1)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, SessionListScreen)
                             and app.screen.table.row_count == 12)
            def said() -> list[Any]:
                return [n for n in app._notifications if n.title == "Limited server"]

            await wait_until(pilot, lambda: len(said()) == 1)  # said once
            assert "search, kind filters" in said()[0].message
            from lago_tui.widgets.timeline import TimelineView

            detail = journal.session("migrate-billing-to-pydantic-v2")
            app.open_session(detail.summary.session_id)
            await wait_until(pilot, lambda: timeline_rows(app) == 380)
            view = app.screen.query_one(TimelineView)
            await wait_until(pilot, lambda: not view.is_loading and view.highlighted_row is not None)
            view.focus()
            await pilot.press("G")
            try:
                await wait_until(pilot, lambda: view.highlighted_row is not None and view.highlighted_row.ev.seq == 380)
            except AssertionError:
                raise AssertionError(f"cursor {view.cursor} rows {view.row_count} loading {view.is_loading} "
                                     f"row {view.highlighted_row and view.highlighted_row.ev.seq} focused {app.focused} "
                                     f"pages {sorted((k, len(v)) for k, v in view._pages.items())} failed {view._failed_pages} "
                                     f"gen {view._generation} notes {[(n.title, n.message) for n in app._notifications]} "
                                     f"workers {[(w.group, w.state.name) for w in app.workers]}")
    finally:
        journal.close()
        served.close()


def test_every_journal_operation_is_served() -> None:
    served_ops, missing = wired_operations()
    assert missing == [], f"JournalAPI methods without a route: {missing}"
    assert {"list_sessions", "session", "timeline", "search", "import_file", "export", "append"} <= set(served_ops)
    import inspect

    from lago_tui.journal import JournalAPI
    from lago_tui.remote import protocol as P

    for op in P.OPS:  # every argument of the journal method travels, and nothing else
        names = [n for n in inspect.signature(getattr(JournalAPI, op.name)).parameters if n != "self"]
        assert sorted(names) == sorted(p.name for p in op.params), op.name


def test_readme_documents_every_extension_route() -> None:
    from lago_tui.remote import protocol as P

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    routes = [op.route for op in P.OPS] + [P.INFO, P.CHANGES, P.TIMELINE, P.TIMELINE_WINDOW, P.TIMELINE_FIND,
                                             P.TIMELINE_POSITION, P.IMPORT, P.EXPORT]
    for route in routes:
        assert f" {route}" in readme, f"{route} is not in the README's Extension routes"


def test_client_imports_no_server_or_textual() -> None:
    code = ("import sys, lago_tui.remote, lago_tui.connect; "
            "print(sorted(m for m in ('textual', 'starlette', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


# ---------------------------------------------------------------------------- the TUI's file follows a server


def test_a_file_follows_a_server_that_starts_and_stops(demo_journal: Journal, journal_path: Path) -> None:
    """The TUI's journal (open_journal(..., follow_server=True)): direct while no server owns the file,
    through the server from the moment one does, direct again once it stops; timelines follow."""
    from lago_tui.remote.served_file import ServedFile

    demo_journal.close()
    journal = open_journal(str(journal_path), follow_server=True)
    assert isinstance(journal, ServedFile) and not journal.via_server
    timeline = journal.timeline("migrate-billing-to-pydantic-v2")
    first = [e.event_id for e in timeline.window(370, 10)]
    token = journal.change_token()
    served = serve(journal_path)
    try:
        assert journal.change_token() != token  # the sidecar appeared: screens reload, and switch
        deadline = time.monotonic() + 5
        while not journal.via_server:
            assert time.monotonic() < deadline
            journal.list_sessions(limit=1)
            time.sleep(0.1)
        assert journal.location == f"{journal_path} via {served.url}"
        assert not journal._local.holds_connection  # the file is the server's now
        assert [e.event_id for e in timeline.window(370, 10)] == first  # rebuilt through the server
        session_id = journal.create_session({"name": "while-served"})
        served.stop()
        assert journal.session(session_id).summary.name == "while-served"  # the file again, directly
        assert not journal.via_server and [e.event_id for e in timeline.window(370, 10)] == first
    finally:
        journal.close()
        served.close()
