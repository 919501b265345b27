"""Faults end to end: bad journal files through the real CLI (subprocesses) and the TUI, malformed imports
through the CLI, writer processes SIGKILLed mid-batch, and a TUI started while another process holds the file.

(tests/test_journal_bad_files.py covers the same files at the Journal API level; here it is what people see:
one ``lago-tui: error:`` line and exit 2, no traceback, no network, the file untouched, and an error screen
that q quits.)
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import duckdb
import pytest
from bad_files import make_sqlite, make_text, make_truncated, make_zero
from cli_support import LAGO, REPO, T0, repo_env
from conftest import fixed_clock

from lago_tui.app import LagoApp
from lago_tui.journal import Journal, JournalError
from lago_tui.screens.error import JournalErrorScreen
from lago_tui.screens.help import HelpScreen
from lago_tui.screens.session_list import SessionListScreen

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes, signals and file systems")


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def child_env() -> dict[str, str]:
    # Were anything to reach for the network through a proxy, it would hit a closed port (and strace sees it).
    return repo_env(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="")


# --------------------------------------------------------------------------------------------- strace


def _strace_works() -> bool:
    """strace is installed and may trace here (ptrace can be forbidden in containers), and it does see a
    connect() to an inet address: the positive control for the no-network checks."""
    strace = shutil.which("strace")
    if strace is None:
        return False
    code = "import socket; s = socket.socket(); s.settimeout(1); s.connect_ex(('127.0.0.1', 9))"
    try:
        out = subprocess.run([strace, "-f", "-qq", "-e", "trace=connect", sys.executable, "-c", code],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "AF_INET" in out.stderr


STRACE = shutil.which("strace") if _strace_works() else None


def inet_connects(trace: str) -> list[str]:
    return [line for line in trace.splitlines() if "connect(" in line and "AF_UNIX" not in line
            and ("AF_INET" in line or "AF_INET6" in line)]


def lago(tmp_path: Path, *args: str, timeout: float = 90) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the lago-tui CLI in a subprocess; returns it and the inet connect() calls strace saw (if any)."""
    cmd = [*LAGO, *args]
    trace_file = None
    if STRACE:
        trace_file = tmp_path / f"strace-{time.monotonic_ns()}.txt"
        cmd = [STRACE, "-f", "-qq", "-e", "trace=connect", "-o", str(trace_file), *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env(), cwd=str(tmp_path))
    connects: list[str] = []
    if trace_file is not None:
        connects = inet_connects(trace_file.read_text(errors="replace"))
        trace_file.unlink()
    return proc, connects


def assert_one_error_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and proc.stderr.endswith("\n"), proc.stderr
    assert lines[0].startswith("lago-tui: error: "), lines[0]
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])
    return lines[0]


# --------------------------------------------------------------------------------------------- files

_GOOD: dict[str, Path] = {}


@pytest.fixture
def good_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real journal (two sessions, ~1,500 events; built once per worker, copied by the tests)."""
    path = _GOOD.get("path")
    if path is None:
        folder = tmp_path_factory.mktemp("faults-good")
        source = folder / "events.jsonl"
        lines = [{"event_id": "F0", "session_id": "FAULTS", "timestamp": T0,
                  "payload": {"type": "SessionCreated", "name": "faults", "config": {"model": "m"}}},
                 {"event_id": "F-other", "session_id": "OTHER", "timestamp": T0,
                  "payload": {"type": "SessionCreated", "name": "other", "config": {}}}]
        lines += [{"event_id": f"F{i}", "session_id": "FAULTS", "timestamp": T0 + i,
                   "payload": {"type": "Message", "role": "user", "content": f"message {i} " + "dolor sit " * 30}}
                  for i in range(1, 1500)]
        source.write_text("\n".join(json.dumps(o) for o in lines), encoding="utf-8")
        path = folder / "good.duckdb"
        with Journal(path) as journal:
            journal.import_file(source)
        assert not Path(str(path) + ".wal").exists()
        _GOOD["path"] = path
    return path


def block_offset(path: Path, table: str, column: str | None = None) -> int:
    """File offset of a 4 KB page holding data of ``table`` (``column``): where garbage does harm.

    DuckDB files: three 4 KB headers, then blocks of ``block_size`` bytes, each starting with an 8-byte
    checksum; small tables share a block at some offset. DuckDB verifies what it reads, and garbage in
    the unused tail of a partly filled block went unnoticed in trials (duckdb 2.0.0), so the page is
    taken where the table's first segment starts.
    """
    con = duckdb.connect(str(path), read_only=True)
    try:
        block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
        where = "block_id >= 0" + (f" AND column_name = '{column}'" if column else "")
        row = con.execute(
            f"SELECT block_id, block_offset FROM pragma_storage_info('{table}') WHERE {where} "
            "ORDER BY block_id, block_offset LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None, f"no data block for {table}.{column}"
    block, within = row
    return 3 * 4096 + block * block_size + (8 + within + 2048) // 4096 * 4096


def overwrite_4k(path: Path, offset: int) -> None:
    garbage = bytes((i * 151 + 7) % 256 for i in range(4096))
    with open(path, "r+b") as fh:
        fh.seek(offset)
        assert fh.read(4096) != garbage
        fh.seek(offset)
        fh.write(garbage)


def _duckdb_checksum(block: bytes) -> int:
    """DuckDB's block checksum (hash of each 8-byte word, xor-folded): the main header needs a valid one."""
    result = 5381
    for (word,) in struct.iter_unpack("<Q", block):
        result ^= (word * 0xBF58476D1CE4E5B9) & 0xFFFF_FFFF_FFFF_FFFF
    return result


def make_corrupted_block(path: Path, good: Path) -> None:
    """4 KB of garbage over the data of a block every command reads (the sessions table's).

    Garbage at the literal middle of the file may land where nothing is read (the unused tail of a block,
    the search-text column): that is harmless; a block only the events use is tested separately below.
    """
    shutil.copyfile(good, path)
    overwrite_4k(path, block_offset(path, "sessions"))


def make_directory(path: Path, good: Path) -> None:
    path.mkdir()
    (path / "notes.txt").write_text("x", encoding="utf-8")


def make_newer_storage(path: Path, good: Path) -> None:
    """A copy whose main header claims storage version 5000 (offset 12, after checksum and b"DUCK"),
    with the header checksum recomputed, as a future DuckDB would write it."""
    data = bytearray(good.read_bytes())
    assert data[8:12] == b"DUCK"
    data[12:20] = struct.pack("<Q", 5000)
    data[0:8] = struct.pack("<Q", _duckdb_checksum(bytes(data[8:4096])))
    path.write_bytes(bytes(data))


# kind -> (maker, words of the one-line error)
KINDS: dict[str, tuple[Callable[[Path, Path], None], tuple[str, ...]]] = {
    "zero-byte": (make_zero, ("empty", "0 bytes")),
    "text-file": (make_text, ("not a DuckDB file",)),
    "sqlite-file": (make_sqlite, ("SQLite database",)),
    "truncated-journal": (make_truncated, ("corrupt",)),
    "corrupted-block": (make_corrupted_block, ("corrupt", "checksum")),
    "directory": (make_directory, ("is a directory",)),
    "newer-duckdb-storage": (make_newer_storage, ("newer DuckDB",)),
}


def fingerprint(path: Path) -> tuple:
    """The folder's listing and the file's bytes and mtime (a directory's listing and mtime)."""
    folder = sorted(os.listdir(path.parent))
    st = path.stat()
    if path.is_dir():
        return folder, sorted(os.listdir(path)), st.st_mtime_ns
    return folder, hashlib.sha256(path.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns


def bad_file(tmp_path: Path, kind: str, good: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "journal.duckdb"
    KINDS[kind][0](path, good)
    return path


def test_newer_storage_simulation_is_what_duckdb_itself_refuses(tmp_path: Path, good_journal: Path) -> None:
    """The simulated file fails in DuckDB with its own 'newer version' error (not a checksum error)."""
    path = tmp_path / "newer.duckdb"
    make_newer_storage(path, good_journal)
    with pytest.raises(duckdb.Error) as info:
        duckdb.connect(str(path), read_only=True).close()
    assert "storage version number 5000" in str(info.value)
    assert "created with a newer version of DuckDB" in str(info.value)


# --------------------------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("kind", list(KINDS))
def test_cli_refuses_bad_file_with_one_line(kind: str, tmp_path: Path, good_journal: Path) -> None:
    path = bad_file(tmp_path, kind, good_journal)
    words = KINDS[kind][1]
    before = fingerprint(path)
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"event_id": "N1", "session_id": "NEW", "timestamp": T0,
                                  "payload": {"type": "SessionCreated", "name": "n"}}) + "\n", encoding="utf-8")
    for args in (["sessions"], ["new", "--name", "x"], ["import", str(source)]):
        proc, connects = lago(tmp_path, "--journal", str(path), *args)
        assert_one_error_line(proc, str(path), *words)
        assert connects == [], f"{args}: network attempt {connects}"
        assert fingerprint(path) == before, f"{args} changed the {kind} file or its folder"
    assert not Path(str(path) + ".wal").exists()


def test_cli_unreadable_file(tmp_path: Path, good_journal: Path) -> None:
    path = tmp_path / "data" / "journal.duckdb"
    path.parent.mkdir()
    shutil.copyfile(good_journal, path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): chmod 000 does not stop this process")
        before = fingerprint(path)
        for args in (["sessions"], ["new", "--name", "x"]):
            proc, connects = lago(tmp_path, "--journal", str(path), *args)
            assert_one_error_line(proc, str(path), "permission denied")
            assert connects == []
            assert fingerprint(path) == before
    finally:
        path.chmod(0o644)


READ_ONLY_PLACES = ["/proc/lago-tui-test.duckdb", "/proc/lago-tui-test/j.duckdb", "/sys/lago-tui-test.duckdb",
                    "/sys/kernel/lago-tui-test/j.duckdb"]


@pytest.mark.parametrize("place", READ_ONLY_PLACES)
def test_cli_write_commands_where_nothing_can_be_created(place: str, tmp_path: Path) -> None:
    path = Path(place)
    if not path.parent.parent.is_dir() or path.exists():
        pytest.skip(f"{path.parent.parent} is not here")
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"event_id": "N1", "session_id": "NEW", "timestamp": T0,
                                  "payload": {"type": "SessionCreated", "name": "n"}}) + "\n", encoding="utf-8")
    for args in (["new", "--name", "x"], ["import", str(source)]):
        proc, connects = lago(tmp_path, "--journal", place, *args)
        line = assert_one_error_line(proc, f"cannot create a journal at {place}")
        assert "corrupt" not in line
        assert connects == []
        assert not path.exists()
        if path.parent not in (Path("/proc"), Path("/sys"), Path("/sys/kernel")):
            assert not path.parent.exists()
    # read-only commands: missing, nothing created
    proc, connects = lago(tmp_path, "--journal", place, "sessions")
    assert_one_error_line(proc, f"no journal at {place}")
    assert not path.exists() and not Path(place + ".wal").exists()


@pytest.mark.parametrize("command", [["sessions"], ["show", "x"], ["log", "x"], ["export", "x"],
                                     ["export", "x", "-o", "out.jsonl"]])
def test_cli_missing_path_on_read_only_command(command: list[str], tmp_path: Path) -> None:
    for path in (tmp_path / "nope.duckdb", tmp_path / "no" / "such" / "folder" / "nope.duckdb"):
        proc, connects = lago(tmp_path, "--journal", str(path), *command)
        assert_one_error_line(proc, f"no journal at {path}")
        assert connects == []
    assert sorted(os.listdir(tmp_path)) == [], "a read-only command created something"


def test_cli_export_of_an_unknown_session_leaves_no_partial_output(tmp_path: Path, good_journal: Path) -> None:
    proc, _ = lago(tmp_path, "--journal", str(good_journal), "export", "nosuch", "-o", "out.jsonl")
    assert_one_error_line(proc, "no session 'nosuch'")
    assert not [name for name in os.listdir(tmp_path) if name.startswith("out.jsonl")]


def test_opening_bad_files_in_process_makes_no_network_attempt(
    tmp_path: Path, good_journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same files opened in this process, with every socket connect and name lookup recorded."""
    attempts: list[Any] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def record(real: Callable[..., Any]) -> Callable[..., Any]:
        def connect(self: socket.socket, address: Any) -> Any:
            if self.family != socket.AF_UNIX:
                attempts.append(address)
            return real(self, address)

        return connect

    monkeypatch.setattr(socket.socket, "connect", record(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", record(real_connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: attempts.append(a) or [])
    for kind in KINDS:
        path = tmp_path / kind / "journal.duckdb"
        path.parent.mkdir()
        KINDS[kind][0](path, good_journal)
        journal = Journal(path, busy_timeout=0.5)
        for op in (journal.list_sessions, lambda: journal.create_session({"name": "x"})):
            with pytest.raises(JournalError):
                op()
        journal.close()
    assert attempts == []


def test_cli_corrupted_events_block(tmp_path: Path, good_journal: Path) -> None:
    """Garbage in a block only the events use: whatever reads it fails with the one line (exit 2); the
    session list, which never reads events, still works."""
    path = tmp_path / "journal.duckdb"
    shutil.copyfile(good_journal, path)
    overwrite_4k(path, block_offset(path, "events", "payload"))
    before = fingerprint(path)
    for args in (["log", "faults", "--json"], ["export", "faults"]):
        proc, connects = lago(tmp_path, "--journal", str(path), *args)
        assert_one_error_line(proc, str(path), "corrupt", "checksum")
        assert connects == []
    proc, _ = lago(tmp_path, "--journal", str(path), "sessions", "--json")
    assert proc.returncode == 0, proc.stderr
    assert sorted(s["name"] for s in json.loads(proc.stdout)) == ["faults", "other"]
    assert fingerprint(path) == before


# --------------------------------------------------------------------------------------------- TUI


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await pilot.pause(0.05)


def error_screen_up(app: LagoApp) -> bool:
    return isinstance(app.screen, JournalErrorScreen) and bool(app.screen.query("#error-message"))


async def quit_with_q(app: LagoApp, pilot: Any) -> None:
    await pilot.press("q")
    deadline = time.monotonic() + 10
    while app.is_running and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not app.is_running, "q did not quit"


@pytest.mark.parametrize("kind", list(KINDS))
@run_async
async def test_tui_shows_error_screen_and_q_quits(kind: str, tmp_path: Path, good_journal: Path) -> None:
    path = bad_file(tmp_path, kind, good_journal)
    before = fingerprint(path)
    app = LagoApp(Journal(path, busy_timeout=1), clock=fixed_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: error_screen_up(app), what="the error screen")
        message = str(app.screen.query_one("#error-message").visual)
        assert str(path) in message
        for word in KINDS[kind][1]:
            assert word.lower() in message.lower(), (word, message)
        await quit_with_q(app, pilot)
    assert app.return_code in (None, 0)
    assert app._exception is None
    assert fingerprint(path) == before
    assert not Path(str(path) + ".wal").exists()


@run_async
async def test_tui_corrupted_events_block_errors_when_the_session_is_opened(tmp_path: Path, good_journal: Path) -> None:
    path = tmp_path / "journal.duckdb"
    shutil.copyfile(good_journal, path)
    overwrite_4k(path, block_offset(path, "events", "payload"))
    before = fingerprint(path)
    journal = Journal(path, busy_timeout=1)
    app = LagoApp(journal, clock=fixed_clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SessionListScreen) and app.screen.table.row_count == 2
                         and app.screen.table.get_row(0) is not None, what="the session list")
        app.open_session("FAULTS")
        await wait_until(pilot, lambda: error_screen_up(app), what="the error screen")
        message = str(app.screen.query_one("#error-message").visual)
        assert str(path) in message and "corrupt" in message
        await quit_with_q(app, pilot)
    assert app._exception is None
    assert fingerprint(path) == before


@pytest.mark.parametrize("where", ["missing", "proc"])
@run_async
async def test_tui_on_a_missing_path_shows_the_empty_list_and_creates_nothing(where: str, tmp_path: Path) -> None:
    """A journal that does not exist yet is an empty one (the first session creates it), not an error."""
    path = tmp_path / "not" / "yet.duckdb" if where == "missing" else Path("/proc/lago-tui-test/j.duckdb")
    app = LagoApp(Journal(path), clock=fixed_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SessionListScreen) and app.screen.empty,
                         what="the empty state")
        await quit_with_q(app, pilot)
    assert app._exception is None
    assert not path.exists() and not path.parent.exists()


# --------------------------------------------------------------------------------------------- imports


def _line(**kw: Any) -> str:
    return json.dumps(kw)


CREATED = _line(event_id="M1", session_id="MAL", timestamp=T0, payload={"type": "SessionCreated", "name": "mal"})
MESSAGE = _line(event_id="M2", session_id="MAL", timestamp=T0 + 1,
                payload={"type": "Message", "role": "user", "content": "hi"})
MALFORMED: dict[str, tuple[str, int, str]] = {
    # name -> (file text, bad line, words of the problem)
    "bad-json": (CREATED + "\n" + MESSAGE + "\n" + '{"event_id": "M3", "session_id": "MAL", \n', 3, "not valid JSON"),
    "wrong-types": (CREATED + "\n" + _line(event_id="M3", session_id="MAL", timestamp="yesterday",
                                           payload={"type": "Message", "role": "user", "content": "x"}), 2, "timestamp"),
    "wrong-payload-type": (CREATED + "\n" + _line(event_id="M3", session_id="MAL", timestamp=T0,
                                                  payload={"type": "Message", "role": "user", "content": 42}), 2,
                           "payload"),
    "unknown-session-in-branch-event": (
        CREATED + "\n" + _line(event_id="M3", session_id="GHOST", branch_id="feature", timestamp=T0,
                               payload={"type": "Message", "role": "user", "content": "x"}),
        2, "unknown session GHOST"),
    "duplicate-ids": (CREATED + "\n" + MESSAGE + "\n" + MESSAGE.replace('"hi"', '"again"'), 3,
                      "duplicate event_id M2"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_cli_malformed_import_is_one_line_and_writes_nothing(case: str, tmp_path: Path, good_journal: Path) -> None:
    path = tmp_path / "journal.duckdb"
    shutil.copyfile(good_journal, path)
    with Journal(path) as journal:
        counts = (journal.count_sessions(), [s.event_count for s in journal.list_sessions(sort="id")])
    text, line, words = MALFORMED[case]
    source = tmp_path / f"{case}.jsonl"
    source.write_text(text, encoding="utf-8")
    before = fingerprint(path)
    proc, connects = lago(tmp_path, "--journal", str(path), "import", str(source))
    err = assert_one_error_line(proc, f"{source}:{line}: ", words)
    assert err.startswith(f"lago-tui: error: {source}:{line}: "), err
    assert connects == []
    with Journal(path) as journal:
        assert (journal.count_sessions(), [s.event_count for s in journal.list_sessions(sort="id")]) == counts
    # a rolled-back import leaves no trace at all
    assert fingerprint(path) == before
    assert not Path(str(path) + ".wal").exists()


# --------------------------------------------------------------------------------------------- SIGKILL x 50

BATCH = 200
KILLED_WRITER = """
    import sys
    from lago_tui.journal import Journal

    path, session, branch, k = sys.argv[1:5]
    journal = Journal(path, busy_timeout=60)
    print("ready", flush=True)
    b = 0
    while True:
        batch_id = f"w{k}-b{b}"
        events = [{"event_id": f"{batch_id}-e{i}", "session_id": session, "branch_id": branch,
                   "timestamp": 1_700_000_000_000_000 + i, "metadata": {"batch": batch_id},
                   "payload": {"type": "Message", "role": "assistant", "content": f"{batch_id} event {i}"}}
                  for i in range(%d)]
        print("begin", batch_id, flush=True)
        journal.append(events)
        print("ack", batch_id, flush=True)
        b += 1
""" % BATCH


def holds_file(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has the journal file open right now (mid-transaction, or trying to lock)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    target = str(path)
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see who holds the file")
def test_fifty_writers_sigkilled_mid_batch_leave_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "killed.duckdb"
    with Journal(path) as journal:
        session = journal.create_session({"name": "fifty"})
        side = journal.create_branch(session, {"name": "side"})
    n_procs = 50
    t_start = time.monotonic()
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    for k in range(n_procs):
        out = tmp_path / f"w{k}.out"
        with open(out, "wb") as fh:  # the child's own file: lines survive the SIGKILL, no pipe to drain
            proc = subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(KILLED_WRITER), str(path), session,
                 "main" if k % 2 else side, str(k)],
                stdout=fh, stderr=subprocess.DEVNULL, env=child_env(), cwd=str(REPO),
            )
        procs.append((proc, out))

    rng = random.Random()
    # Kills spread over ~12 s; half of them aimed at a process that holds the
    # file open at that moment (inside its transaction), after a random 0-30 ms.
    alive = list(range(n_procs))
    # Start killing once 3 batches are in (50 interpreters starting on 2 cores take a while).
    acks_deadline = time.monotonic() + 60
    while sum(out.read_bytes().count(b"ack ") for _, out in procs) < 3:
        assert time.monotonic() < acks_deadline, "the writers did not commit 3 batches in 60 s"
        time.sleep(0.1)
    kill_at = sorted(rng.uniform(0.3, 12.0) for _ in range(n_procs))
    t_kills = time.monotonic()
    first_kill = t_kills - t_start
    aimed = 0
    for when in kill_at:
        time.sleep(max(0.0, t_kills + when - time.monotonic()))
        victim = None
        if rng.random() < 0.5:
            holders = [k for k in alive if procs[k][0].poll() is None and holds_file(procs[k][0].pid, path)]
            if holders:
                victim = rng.choice(holders)
                aimed += 1
                time.sleep(rng.uniform(0, 0.03))
        if victim is None:
            victim = rng.choice(alive)
        alive.remove(victim)
        procs[victim][0].send_signal(signal.SIGKILL)
    for proc, _ in procs:
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, proc.returncode

    acked: set[str] = set()
    begun: set[str] = set()
    for _, out in procs:
        for line in out.read_text(errors="replace").splitlines():
            word, _, batch = line.partition(" ")
            if word == "ack":
                acked.add(batch)
            elif word == "begin":
                begun.add(batch)

    with Journal(path, busy_timeout=30) as journal:  # it opens (replaying any WAL a victim left)
        events = list(journal.export(session))
        detail = journal.session(session)
        per_batch = Counter(e.get("metadata", {}).get("batch") for e in events)
        assert per_batch.pop(None) == 2  # SessionCreated, BranchCreated
        partial = {b: n for b, n in per_batch.items() if n != BATCH}
        assert not partial, f"partial batches: {partial}"
        assert acked <= set(per_batch), f"acknowledged but missing: {sorted(acked - set(per_batch))[:5]}"
        assert set(per_batch) <= begun
        seqs: dict[str, list[int]] = defaultdict(list)
        for e in events:
            seqs[e["branch_id"]].append(e["seq"])
        for branch, got in seqs.items():
            assert sorted(got) == list(range(1, len(got) + 1)), f"seqs of {branch} not contiguous"
        assert {b.branch_id: b.head_seq for b in detail.branches} == {b: len(s) for b, s in seqs.items()}
        assert detail.summary.event_count == len(events)
        # and it takes writes after the last surviving event
        journal.append([{"event_id": "after-the-massacre", "session_id": session, "timestamp": T0,
                         "payload": {"type": "SessionResumed"}}])
        assert journal.get_event("after-the-massacre").seq == len(seqs["main"]) + 1
    elapsed = time.monotonic() - t_start
    print(f"\n50 writers: {len(per_batch)} batches committed ({len(acked)} acknowledged, "
          f"{len(begun) - len(per_batch)} begun and lost), {aimed} kills aimed at a file holder; killing from "
          f"{first_kill:.1f} s, {elapsed:.1f} s in all")
    assert len(acked) >= 3


# --------------------------------------------------------------------------------------------- busy TUI

HOLDER = """
    import select, sys
    import duckdb

    con = duckdb.connect(sys.argv[1])  # read-write: no other process may open the file meanwhile
    print("locked", flush=True)
    select.select([sys.stdin], [], [], float(sys.argv[2]))  # until told to let go (or at most argv[2] s)
    con.close()
"""


@run_async
async def test_tui_started_while_another_process_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    with Journal(path) as journal:
        for i in range(5):
            journal.create_session({"name": f"held-{i}"}, now_us=T0 + i)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(path), "60"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        journal = Journal(path, busy_timeout=0.3)
        app = LagoApp(journal, clock=fixed_clock)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, SessionListScreen) and app.screen.busy,
                             timeout=15, what="the busy state")
            screen = app.screen
            assert isinstance(screen, SessionListScreen)
            assert "busy" in str(screen.query_one("#sl-status").visual)
            assert screen.table.row_count == 0
            # The UI keeps answering keys while the journal is busy: j/k are handled (the bound is loose:
            # under xdist this may share 2 cores with 50 writer processes), ? opens the help screen and
            # escape closes it.
            for key in ("j", "k", "j"):
                t0 = time.monotonic()
                await pilot.press(key)
                assert time.monotonic() - t0 < 5.0, f"{key} took {time.monotonic() - t0:.2f} s"
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=10, what="help")
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen, timeout=10, what="back to the list")
            # Still busy after a while (retrying, not giving up), then the holder lets go...
            await pilot.pause(1.5)
            assert holder.poll() is None and screen.busy and screen.table.row_count == 0
            assert holder.stdin is not None
            holder.stdin.write("go\n")
            holder.stdin.flush()
            released = time.monotonic()
            # ...and the list recovers by itself: rows appear, no key pressed.
            await wait_until(pilot, lambda: not screen.busy and screen.table.row_count == 5
                             and screen.table.get_row(0) is not None, timeout=10, what="the rows")
            assert holder.wait(timeout=5) == 0
            print(f"\nbusy TUI: held {released - locked_at:.1f} s, rows {time.monotonic() - released:.2f} s after release")
            assert "busy" not in str(screen.query_one("#sl-status").visual)
            first = screen.table.highlighted_row
            await pilot.press("j")
            await wait_until(pilot, lambda: screen.table.highlighted_row is not None
                             and screen.table.highlighted_row != first, timeout=3, what="j moving the cursor")
            await quit_with_q(app, pilot)
        assert app._exception is None
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=30)
