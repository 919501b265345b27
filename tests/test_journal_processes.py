"""The journal under real OS processes: concurrent writers, a writer killed mid-batch, a file held by
another process, and readers that let go of the file when idle."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from lago_tui.journal import Journal, JournalBusy, JournalError

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL and POSIX file locks")


def spawn(code: str, *args: object) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO),
    )


def read_line(proc: subprocess.Popen[str], expected_prefix: str, timeout: float = 60.0) -> str:
    """The child's next stdout line, which must start with ``expected_prefix``."""
    deadline = time.monotonic() + timeout
    line = proc.stdout.readline()  # children flush every line; a dead child gives ""
    if not line.startswith(expected_prefix) or time.monotonic() > deadline:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"child said {line!r} instead of {expected_prefix!r}; stderr:\n{err}")
    return line.strip()


# --------------------------------------------------------------------------------------------- writers

WRITER = """
    import sys, time
    from lago_tui.journal import BatchingWriter, Journal

    path, session, branch, k, n, mode, start_at = sys.argv[1:8]
    k, n = int(k), int(n)
    journal = Journal(path, busy_timeout=30)
    # Every writer creates the shared session and branch with the same events: the first one to commit
    # creates them (and the journal file), the others' copies are skipped as already known.
    setup = [{"event_id": "SETUP-1", "session_id": session, "timestamp": 1_699_999_999_000_000,
              "payload": {"type": "SessionCreated", "name": "contended", "config": {}}},
             {"event_id": "SETUP-2", "session_id": session, "timestamp": 1_699_999_999_000_001,
              "payload": {"type": "BranchCreated", "new_branch_id": branch, "name": "side", "fork_point_seq": 1}}]

    def event(i):
        return {"event_id": f"P{k}-{i:04d}", "session_id": session, "branch_id": branch if i % 3 == 0 else "main",
                "run_id": f"proc-{k}", "timestamp": 1_700_000_000_000_000 + i,
                "payload": {"type": "Message", "role": "user", "content": f"{k}:{i}"}}

    print("ready", flush=True)
    while time.time() < float(start_at):
        time.sleep(0.002)
    journal.append(setup)
    if mode == "batching":  # an agent emitting events one by one; the writer commits them in groups
        with BatchingWriter(journal, interval=0.05, max_events=60) as writer:
            futures = []
            for i in range(n):
                futures.append(writer.append(event(i)))
                if i % 10 == 0:
                    time.sleep(0.01)
        for f in futures:
            f.result(timeout=0)
    else:  # explicit batches of varying size
        i = 0
        while i < n:
            size = 7 + (i * 13 + k) % 30
            journal.append([event(x) for x in range(i, min(n, i + size))])
            i += size
    print("done", flush=True)
"""


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "shared.duckdb"  # nobody has created it yet: the writers race for that too
    path.parent.mkdir()  # (the directory they do not create: a missing one is an error)
    n_procs, per_proc = 4, 200
    session, branch = "SHARED", "side-branch"

    start_at = time.time() + 1.5  # everyone starts together, after their imports
    procs = [spawn(WRITER, path, session, branch, k, per_proc, "batching" if k % 2 else "append", start_at)
             for k in range(n_procs)]
    for p in procs:
        read_line(p, "ready")
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "done", err

    with Journal(path) as journal:
        events = list(journal.export(session))
        detail = journal.session(session)
    ids = [e["event_id"] for e in events]
    expected = {f"P{k}-{i:04d}" for k in range(n_procs) for i in range(per_proc)}
    assert len(ids) == len(set(ids)), "duplicate events"
    assert ids[:2] == ["SETUP-1", "SETUP-2"]  # created once, by whoever came first
    assert set(ids[2:]) == expected

    by_branch: dict[str, list[int]] = defaultdict(list)
    for e in events:
        by_branch[e["branch_id"]].append(e["seq"])
    for b, got in by_branch.items():
        assert sorted(got) == list(range(1, len(got) + 1)), f"seqs of {b} not contiguous"
    assert len(by_branch[branch]) == sum(1 for i in range(per_proc) if i % 3 == 0) * n_procs

    # each process's events keep their order on each branch
    for k in range(n_procs):
        for b in ("main", branch):
            mine = [(int(e["event_id"].split("-")[1]), e["seq"]) for e in events
                    if e.get("run_id") == f"proc-{k}" and e["branch_id"] == b]
            assert [i for i, _ in sorted(mine, key=lambda t: t[1])] == sorted(i for i, _ in mine)

    # aggregates agree with the events
    assert detail.summary.event_count == len(events) == n_procs * per_proc + 2
    assert {b.branch_id: b.head_seq for b in detail.branches} == {b: len(s) for b, s in by_branch.items()}


def test_creating_a_journal_another_process_is_creating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path was absent when this writer looked, and now holds a file whose header another process has
    not written yet: the writer waits for it (as for a lock) instead of calling it not a journal."""
    from lago_tui.journal import connection

    template = tmp_path / "template.duckdb"
    with Journal(template) as journal:
        journal.create_session({"name": "made by the other process"})
    path = tmp_path / "racing.duckdb"
    path.write_bytes(b"")  # the other process has created the file, not yet its header
    real_check = connection.check_file
    monkeypatch.setattr(connection, "check_file",
                        lambda p, must_exist: False if p == path else real_check(p, must_exist=must_exist))

    def finish_creating() -> None:
        time.sleep(0.4)
        staged = tmp_path / "staged.duckdb"
        shutil.copyfile(template, staged)
        os.replace(staged, path)

    other = threading.Thread(target=finish_creating)
    other.start()
    try:
        journal = Journal(path, busy_timeout=10)
        t0 = time.monotonic()
        journal.create_session({"name": "mine"})
        assert time.monotonic() - t0 >= 0.3  # it did wait for the other creator
        monkeypatch.undo()
        assert sorted(s.name for s in journal.list_sessions()) == ["made by the other process", "mine"]
        journal.close()
    finally:
        other.join()

    # a file that stays invalid is still refused once busy_timeout is over
    stuck = tmp_path / "stuck.duckdb"
    stuck.write_bytes(b"")
    monkeypatch.setattr(connection, "check_file",
                        lambda p, must_exist: False if p == stuck else real_check(p, must_exist=must_exist))
    t0 = time.monotonic()
    with pytest.raises(JournalError) as info:
        Journal(stuck, busy_timeout=0.5).create_session({"name": "never"})
    assert 0.4 <= time.monotonic() - t0 < 3
    assert str(stuck) in str(info.value)
    assert stuck.read_bytes() == b""


# --------------------------------------------------------------------------------------------- SIGKILL

KILLED = """
    import sys
    from lago_tui.journal import Journal

    path, session, size, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    journal = Journal(path, busy_timeout=30)
    b = 0
    while True:
        batch = [{"event_id": f"{tag}{b:03d}-{i:05d}", "session_id": session, "run_id": f"{tag}{b:03d}",
                  "timestamp": 1_700_000_000_000_000 + b * size + i,
                  "payload": {"type": "Message", "role": "user", "content": f"batch {tag}{b} event {i}"}}
                 for i in range(size)]
        print(f"begin {tag}{b:03d}", flush=True)
        journal.append(batch)
        print(f"ack {tag}{b:03d}", flush=True)
        b += 1
"""


def test_writer_killed_mid_batch_leaves_whole_batches(tmp_path: Path) -> None:
    """Writers in turn, each SIGKILLed at a random moment of its third 20,000-event batch: early, or late
    (a fraction of how long its second batch took, the first one being slower: imports, first queries)."""
    path = tmp_path / "killed.duckdb"
    size = 20_000
    with Journal(path) as journal:
        session = journal.create_session({"name": "victim"})

    acked: set[str] = set()
    begun: set[str] = set()
    rng = random.Random()
    for round_, (lo, hi) in enumerate([(0.05, 0.6), (0.6, 0.97)]):
        tag = f"K{round_}-"
        child = spawn(KILLED, path, session, size, tag)
        begun.add(read_line(child, f"begin {tag}000").split()[1])
        acked.add(read_line(child, f"ack {tag}000").split()[1])
        begun.add(read_line(child, f"begin {tag}001").split()[1])
        t0 = time.monotonic()
        acked.add(read_line(child, f"ack {tag}001").split()[1])
        batch_time = time.monotonic() - t0
        begun.add(read_line(child, f"begin {tag}002").split()[1])
        time.sleep(batch_time * rng.uniform(lo, hi))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        acked |= {line.split()[1] for line in out.splitlines() if line.startswith("ack ")}
        begun |= {line.split()[1] for line in out.splitlines() if line.startswith("begin ")}

        with Journal(path) as journal:  # it still opens, and reads
            summary = journal.list_sessions()[0]
            events = list(journal.export(session))
            counts = Counter(e.get("run_id") for e in events)
            assert counts.pop(None) == round_ + 1  # SessionCreated, and one SessionResumed a round
            for run, n in counts.items():
                assert n == size, f"batch {run} is partial: {n} of {size} events"
            assert acked <= set(counts), "an acknowledged batch is missing"
            assert set(counts) <= begun
            assert sorted(e["seq"] for e in events) == list(range(1, len(events) + 1))
            assert summary.event_count == len(events) == journal.head_seq(session)
            # and it still takes writes, after the last surviving event
            journal.append([{"event_id": f"after-kill-{round_}", "session_id": session, "timestamp": 1,
                             "payload": {"type": "SessionResumed"}}])
            assert journal.get_event(f"after-kill-{round_}").seq == len(events) + 1


# --------------------------------------------------------------------------------------------- busy

HOLDER = """
    import sys, time
    import duckdb

    con = duckdb.connect(sys.argv[1])  # read-write: nobody else may open the file meanwhile
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
"""


def test_file_held_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    with Journal(path) as journal:
        journal.create_session({"name": "held"})

    holder = spawn(HOLDER, path, 3.0)
    try:
        read_line(holder, "locked")
        held_since = time.monotonic()
        impatient = Journal(path, busy_timeout=0.5)
        for attempt in (impatient.list_sessions, lambda: impatient.create_session({"name": "no"})):
            t0 = time.monotonic()
            with pytest.raises(JournalBusy) as info:
                attempt()
            elapsed = time.monotonic() - t0
            assert 0.4 <= elapsed < 2.0, elapsed
            assert str(path) in str(info.value)
        assert holder.poll() is None, "the holder should still hold the file"
        assert time.monotonic() - held_since < 3.0

        patient = Journal(path, busy_timeout=10)
        t0 = time.monotonic()
        sessions = patient.list_sessions()
        assert [s.name for s in sessions] == ["held"]
        assert holder.wait(timeout=5) == 0  # it got through because the holder let go
        assert time.monotonic() - t0 < 9
        patient.close()
        impatient.close()
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=30)


def test_idle_reader_releases_the_file(tmp_path: Path) -> None:
    path = tmp_path / "idle.duckdb"
    with Journal(path) as writer:
        sid = writer.create_session({"name": "idle"})

    reader = Journal(path)  # default idle_release: 1 s
    assert reader.holds_connection is False
    for _ in range(3):  # a burst of reads keeps one connection
        reader.list_sessions()
        reader.session(sid)
    assert reader.holds_connection is True
    idle_since = time.monotonic()
    while reader.holds_connection and time.monotonic() - idle_since < 5:
        time.sleep(0.02)
    released_after = time.monotonic() - idle_since
    assert reader.holds_connection is False
    assert 0.5 <= released_after <= 1.5, released_after

    # released means released: a writer in this process gets the file at once, and the reader reopens it
    with Journal(path, busy_timeout=0.2) as other:
        other.create_session({"name": "second"})
    assert sorted(s.name for s in reader.list_sessions()) == ["idle", "second"]
    reader.close()
    assert reader.holds_connection is False
