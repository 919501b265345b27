"""Issue 11.1: nobody browsing may make an agent's write fail or be lost.

Readers yield to writers (the writer-intent lock beside the journal), the BatchingWriter retries a busy commit
until its deadline and fails only the bad event of a batch, and a failure that does reach the caller cannot be
missed. Real processes throughout; the last test is the issue's own scenario (an agent at 20 events/s through
a BatchingWriter while the real app holds PageDown on that session).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from lago_tui.journal import InvalidEvent, Journal, JournalBusy
from lago_tui.journal.intent import WriterIntent, lock_path, writer_waiting
from lago_tui.journal.writer import AppendsFailed, BatchingWriter

REPO = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000_000_000
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file locks between processes")


def spawn(code: str, *args: object) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def message(session: str, n: int) -> dict:
    return {"event_id": f"M{n:06d}", "session_id": session, "timestamp": T0 + n,
            "payload": {"type": "Message", "role": "assistant", "content": f"message {n}"}}


@pytest.fixture
def journal_with_session(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "j.duckdb"
    with Journal(path) as journal:
        session = journal.create_session({"name": "agent"})
    return path, session


# --------------------------------------------------------------------------------------------- readers yield

APPEND_ONCE = """
    import sys, time
    from lago_tui.journal import Journal
    path, session = sys.argv[1], sys.argv[2]
    journal = Journal(path, busy_timeout=float(sys.argv[3]))
    t = time.monotonic()
    journal.append([{"event_id": "from-child", "session_id": session, "timestamp": 1,
                     "payload": {"type": "SessionResumed"}}])
    print(f"ok {time.monotonic() - t:.3f}", flush=True)
"""


def test_a_reader_holding_the_file_lets_a_writer_in_at_once(journal_with_session: tuple[Path, str]) -> None:
    """A reader that keeps its connection for 30 s between reads gives it up as soon as a writer in another
    process asks: the writer's 2-second deadline is plenty (before: 'journal busy' after 2 s)."""
    path, session = journal_with_session
    reader = Journal(path, idle_release=30)
    try:
        assert reader.count_sessions() == 1
        assert reader.holds_connection
        child = spawn(APPEND_ONCE, path, session, 2.0)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert out.startswith("ok ")
        assert not reader.holds_connection
        assert reader.get_event("from-child").seq == 2  # and reads resume afterwards
    finally:
        reader.close()


HOLD_INTENT = """
    import sys
    from pathlib import Path
    from lago_tui.journal.intent import WriterIntent
    intent = WriterIntent(Path(sys.argv[1]))
    intent.acquire(10)
    print("held", flush=True)
    sys.stdin.readline()
    intent.release()
"""


def test_readers_wait_while_a_writer_holds_the_intent_and_create_nothing(journal_with_session: tuple[Path, str]) -> None:
    path, _ = journal_with_session
    lock_path(path).unlink()  # as a journal written before the intent lock existed
    listing = sorted(os.listdir(path.parent))
    with Journal(path) as reader:
        reader.list_sessions()
        reader.check()
    assert sorted(os.listdir(path.parent)) == listing, "a reader created a file"
    assert not writer_waiting(path)  # no lock file: no writer

    holder = spawn(HOLD_INTENT, path)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert writer_waiting(path)
        with pytest.raises(JournalBusy):
            Journal(path, busy_timeout=0.3).list_sessions()
        patient = Journal(path, busy_timeout=10)
        assert holder.stdin is not None
        t0 = time.monotonic()
        release_at = t0 + 0.5

        def let_go() -> None:
            time.sleep(max(0.0, release_at - time.monotonic()))
            holder.stdin.write("go\n")
            holder.stdin.flush()

        threading.Thread(target=let_go, daemon=True).start()
        assert patient.count_sessions() == 1
        assert time.monotonic() - t0 >= 0.4, "the reader opened the file while a writer held the intent"
        patient.close()
        assert holder.wait(timeout=10) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=10)


def test_writers_queue_on_the_intent_lock(journal_with_session: tuple[Path, str]) -> None:
    path, _ = journal_with_session
    first = WriterIntent(path)
    first.acquire(1)
    try:
        with pytest.raises(JournalBusy):
            WriterIntent(path).acquire(0.2)
    finally:
        first.release()
    second = WriterIntent(path)
    second.acquire(0.2)
    second.release()


# --------------------------------------------------------------------------------------------- BatchingWriter

HOLD_FILE = """
    import select, sys
    import duckdb
    con = duckdb.connect(sys.argv[1])  # read-write, knows nothing of the intent lock
    print("locked", flush=True)
    select.select([sys.stdin], [], [], float(sys.argv[2]))
    con.close()
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = spawn(HOLD_FILE, path, seconds)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_batching_writer_retries_a_busy_commit_until_its_deadline(journal_with_session: tuple[Path, str]) -> None:
    """Another process has the file for 1.5 s, the journal's own busy deadline is 0.2 s: every append still
    lands (before: the whole batch failed with 'journal busy' and was not retried)."""
    path, session = journal_with_session
    journal = Journal(path, busy_timeout=0.2)
    holder = _hold(path, 1.5)
    try:
        with BatchingWriter(journal, interval=0.05) as writer:
            futures = [writer.append(message(session, n)) for n in range(20)]
        assert [f.result(timeout=0) for f in futures] == [None] * 20
        assert writer.failed == 0
    finally:
        holder.communicate(timeout=30)
    assert journal.session(session).summary.event_count == 21
    journal.close()


def test_batching_writer_gives_up_at_its_deadline_and_says_so(journal_with_session: tuple[Path, str]) -> None:
    path, session = journal_with_session
    journal = Journal(path, busy_timeout=0.1)
    holder = _hold(path, 30)
    try:
        writer = BatchingWriter(journal, interval=0.05, commit_deadline=0.5)
        futures = [writer.append(message(session, n)) for n in range(3)]
        with pytest.raises(AppendsFailed) as info:
            writer.close()
        assert info.value.total == 3 and writer.failed == 3
        assert "3 appends not committed" in str(info.value) and "busy" in str(info.value)
        assert all(isinstance(f.exception(timeout=0), JournalBusy) for f in futures)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        holder.communicate(timeout=30)
    journal.close()


def test_one_bad_event_fails_alone_and_is_impossible_to_miss(journal_with_session: tuple[Path, str]) -> None:
    path, session = journal_with_session
    journal = Journal(path)
    writer = BatchingWriter(journal, interval=10)  # one batch: flushed by hand
    good = [writer.append(message(session, n)) for n in range(3)]
    bad = writer.append({**message("NO-SUCH-SESSION", 99)})
    conflict = writer.append({**message(session, 1), "payload": {"type": "Message", "role": "user", "content": "other"}})
    more = [writer.append(message(session, n)) for n in range(3, 6)]
    with pytest.raises(AppendsFailed) as info:
        writer.flush()
    assert info.value.total == 2 and writer.failed == 2
    assert [f.result(timeout=0) for f in good + more] == [None] * 6
    assert isinstance(bad.exception(timeout=0), InvalidEvent)
    assert "unknown session" in str(bad.exception()) and "M000099" in str(bad.exception())
    assert "different content" in str(conflict.exception(timeout=0))
    writer.close()  # the failures were reported by flush(): close() does not repeat them
    assert journal.session(session).summary.event_count == 7
    journal.close()


def test_on_error_takes_the_failures_and_a_failing_block_keeps_its_own_error(
        journal_with_session: tuple[Path, str]) -> None:
    path, session = journal_with_session
    journal = Journal(path)
    seen: list[tuple[str, str]] = []
    with BatchingWriter(journal, on_error=lambda ev, err: seen.append((ev["event_id"], type(err).__name__))) as w:
        w.append(message("NO-SUCH-SESSION", 1))
        w.append(message(session, 2))
    assert seen == [("M000001", "InvalidEvent")] and w.failed == 1

    with pytest.raises(ZeroDivisionError) as info:
        with BatchingWriter(journal) as w:
            w.append(message("NO-SUCH-SESSION", 3))
            1 / 0
    assert any("not committed" in note for note in getattr(info.value, "__notes__", []))
    journal.close()


# --------------------------------------------------------------------------------------------- the scenario


def test_agent_appends_while_the_app_holds_pagedown(tmp_path: Path) -> None:
    """An agent process at 20 events/s through a BatchingWriter, the real app (Pilot) on that session with
    PageDown held into unread parts of the timeline: every append acknowledged and in the journal afterwards
    (before the fix: all of them failed with 'journal busy' in 4 of 4 runs)."""
    from lago_tui.bench.lockfight import trial

    os.environ.setdefault("LAGO_TUI_CONFIG_DIR", str(tmp_path / "config"))
    result = trial(tmp_path, seconds=4.0, rate=20, events=8_000)
    assert result["sent"] >= 40, result
    assert result["failed"] == 0, result
    assert result["acked_missing"] == 0, result
    assert result["ok"] == result["sent"], result
    assert result["presses"] >= 20, result
