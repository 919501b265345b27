"""The journal side of serving, in-process: append's seqs, read_events, merge_branch, list_branches, the
FileOwner (one connection, reads during a write, letting go when idle) and the GroupCommitter."""

from __future__ import annotations

import threading
import time
from concurrent.futures import wait

import pytest

from lago_tui.journal import AppendResult, Conflict, InvalidEvent, Journal, MergeResult, NotFound, ids
from lago_tui.journal.owner import FileOwner, GroupCommitter, ShuttingDown


def ev(session: str, content: str = "x", **fields) -> dict:
    return {"event_id": ids.new_ulid(), "session_id": session, "timestamp": time.time_ns() // 1000,
            "payload": {"type": "Message", "role": "user", "content": content}, **fields}


def test_append_returns_seqs_in_input_order_and_known_events_answer_their_seq(journal: Journal) -> None:
    sid = journal.create_session({"name": "seqs"})
    branch = journal.create_branch(sid, {"name": "b"})
    known = ev(sid, "known")
    result = journal.append([ev(sid), ev(sid, branch_id=branch), known, ev(sid, branch_id=branch)])
    assert isinstance(result, AppendResult)
    assert result.seqs == (3, 1, 4, 2) and result.events_added == 4
    again = journal.append([known, ev(sid)])
    assert again.seqs == (4, 5) and (again.events_added, again.events_skipped) == (1, 1)
    assert journal.append([]).seqs == ()
    assert AppendResult.from_json(again.to_json()) == again


def test_read_events_is_a_branchs_own_events_by_seq(journal: Journal) -> None:
    sid = journal.create_session({"name": "reads"})
    journal.append([ev(sid, f"m{i}") for i in range(4)])  # main 2..5
    branch = journal.create_branch(sid, {"name": "side"})  # main 6
    journal.append([ev(sid, "s1", branch_id=branch), ev(sid, "s2", branch_id=branch)])
    assert [e.seq for e in journal.read_events(sid)] == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in journal.read_events(sid, after_seq=3, limit=2)] == [4, 5]
    side = journal.read_events(sid, "side")
    assert [(e.seq, e.payload["content"], e.inherited, e.position) for e in side] == [
        (1, "s1", False, 0), (2, "s2", False, 1)]
    assert [e.seq for e in journal.read_events(sid, branch, after_seq=1)] == [2]
    assert journal.read_events(sid, after_seq=99) == []
    with pytest.raises(NotFound):
        journal.read_events(sid, "nosuch")
    with pytest.raises(NotFound):
        journal.read_events("NOSUCH")


def test_merge_branch_fast_forwards_once(journal: Journal) -> None:
    sid = journal.create_session({"name": "merges"})
    feature = journal.create_branch(sid, {"name": "feature"})  # main: 1 SessionCreated, 2 BranchCreated
    nested = journal.create_branch(sid, {"name": "nested", "parent": "feature"})  # feature 1: BranchCreated
    journal.append([ev(sid, "f1", branch_id=feature), ev(sid, "f2", branch_id=feature)])  # feature 2, 3
    with pytest.raises(Conflict, match="was not forked from"):
        journal.merge_branch(sid, "nested", "main")
    result = journal.merge_branch(sid, "feature", "main", now_us=1_800_000_000_000_000)
    assert isinstance(result, MergeResult) and MergeResult.from_json(result.to_json()) == result
    assert (result.events_merged, result.merge_seq, result.marker_seq) == (2, 3, 5)
    main = journal.read_events(sid)
    assert [e.kind for e in main] == ["SessionCreated", "BranchCreated", "Message", "Message", "BranchMerged"]
    copies, originals = main[2:4], journal.read_events(sid, "feature")[1:]
    assert [(c.payload, c.ts) for c in copies] == [(o.payload, o.ts) for o in originals]
    assert not {c.event_id for c in copies} & {o.event_id for o in originals}
    assert main[4].payload == {"type": "BranchMerged", "source_branch_id": feature, "merge_seq": 3}
    assert main[4].ts == 1_800_000_000_000_000
    info = journal.session(sid).branch("feature")
    assert [(m.target_branch_id, m.at_seq, m.merge_seq) for m in info.merges] == [("main", 5, 3)]
    with pytest.raises(Conflict, match="fast-forward not possible"):
        journal.merge_branch(sid, "feature", "main")
    with pytest.raises(Conflict, match="into itself"):
        journal.merge_branch(sid, "main", "main")
    with pytest.raises(NotFound):
        journal.merge_branch(sid, "nosuch", "main")
    assert nested  # forked from feature: still there, untouched


def test_list_branches(journal: Journal) -> None:
    a = journal.create_session({"name": "a"})
    b = journal.create_session({"name": "b"})
    journal.create_branch(a, {"name": "x"})
    everything = journal.list_branches()
    assert sorted((br.session_id, br.name) for br in everything) == sorted([(a, "main"), (a, "x"), (b, "main")])
    assert [br.name for br in journal.list_branches(a)] == ["main", "x"]


# --------------------------------------------------------------------------------------------- FileOwner


@pytest.fixture
def owned(tmp_path):
    owner = FileOwner(tmp_path / "owned.duckdb", idle_release=0.2)
    journal = Journal(owner.path, connector=owner)
    committer = GroupCommitter(owner, gather=0.002)
    yield owner, journal, committer
    committer.close()
    owner.release()


def test_reads_do_not_wait_for_a_long_write(owned) -> None:
    owner, journal, _ = owned
    sid = journal.create_session({"name": "long write"})
    in_write = threading.Event()
    finish = threading.Event()

    def long_write() -> None:
        with owner.writer() as con:
            con.execute("CREATE TEMP TABLE slow AS SELECT range AS i FROM range(10)")
            in_write.set()
            finish.wait(10)

    t = threading.Thread(target=long_write)
    t.start()
    assert in_write.wait(10)
    started = time.perf_counter()
    assert [s.session_id for s in journal.list_sessions()] == [sid]
    assert journal.read_events(sid)[0].kind == "SessionCreated"
    elapsed = time.perf_counter() - started
    finish.set()
    t.join()
    assert elapsed < 5  # did not wait for the writer (which holds on until told)


def test_owner_holds_one_connection_and_lets_go_when_idle(owned, tmp_path) -> None:
    owner, journal, _ = owned
    journal.create_session({"name": "idle"})
    assert owner.holds_connection and owner.opens == 1
    journal.list_sessions()
    assert owner.opens == 1
    deadline = time.monotonic() + 5
    while owner.holds_connection and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not owner.holds_connection
    with Journal(owner.path, busy_timeout=0.5) as other:  # another "process" may write now
        other.create_session({"name": "from elsewhere"})
    assert len(journal.list_sessions()) == 2 and owner.opens == 2


def test_group_commit_answers_each_request_and_isolates_bad_ones(owned) -> None:
    owner, journal, committer = owned
    keys_seen: list[set] = []
    committer.on_commit = keys_seen.append
    sid = journal.create_session({"name": "groups"})
    good = [committer.append([ev(sid, f"g{i}")]) for i in range(30)]
    bad = committer.append([ev(sid), {"event_id": "BAD", "session_id": sid, "timestamp": 1,
                                      "payload": {"type": "Message", "role": "user"}}])
    unknown = committer.append([ev("NO-SUCH-SESSION")])
    batch = committer.append([ev(sid, "b1"), ev(sid, "b2")])
    wait([*good, bad, unknown, batch], timeout=60)
    seqs = sorted(s for f in [*good, batch] for s in f.result())
    assert seqs == list(range(2, 34))
    assert batch.result()[1] == batch.result()[0] + 1
    with pytest.raises(InvalidEvent, match="event 2: payload"):
        bad.result()
    with pytest.raises(InvalidEvent, match="unknown session"):
        unknown.result()
    assert journal.read_events(sid)[-1].seq == 33
    assert committer.stats.groups < 31 and committer.stats.events == 32  # gathered, not one by one
    assert {(sid, "main")} <= set().union(*keys_seen)


def test_group_commit_defers_a_repeated_event_id_to_the_next_group(owned) -> None:
    _, journal, committer = owned
    sid = journal.create_session({"name": "repeats"})
    event = ev(sid, "same")
    first, second = committer.append([event]), committer.append([event])
    assert first.result(30) == second.result(30) == (2,)


def test_committer_runs_calls_in_order_and_refuses_work_after_close(owned) -> None:
    _, journal, committer = owned
    sid = committer.call(lambda: journal.create_session({"name": "call"})).result(30)
    seqs = committer.append([ev(sid)]).result(30)
    assert seqs == (2,)
    failing = committer.call(lambda: journal.merge_branch(sid, "main", "main"))
    with pytest.raises(Conflict):
        failing.result(30)
    committer.close()
    with pytest.raises(ShuttingDown):
        committer.append([ev(sid)])


def _asgi(app, method: str, path: str, body: bytes = b"") -> tuple[int, dict]:
    """One request straight into an ASGI app (no network, no extra client library)."""
    import asyncio
    import json

    async def run() -> tuple[int, dict]:
        sent: list[dict] = []
        delivered = False

        async def receive() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": [(b"content-type", b"application/json")], "asgi": {"version": "3.0", "spec_version": "2.4"}}
        await app(scope, receive, send)
        return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))

    return asyncio.run(run())


def test_extension_routes_mount_under_the_lago_tui_prefix(tmp_path) -> None:
    """Issue 9's hook: routes of an extension appear under /lago-tui/v1 beside Lago's, sharing the state."""
    from starlette.routing import Route

    from lago_tui.server.app import LAGO_TUI_PREFIX, create_app
    from lago_tui.server.jsonio import JSONResponse
    from lago_tui.server.state import Settings

    def extension(state):
        async def count(request):
            return JSONResponse({"count": len(state.journal.list_sessions())})
        return [Route("/sessions/count", count)]

    app, state = create_app(Settings(journal=tmp_path / "ext.duckdb"), extensions=[extension])
    state.open()
    try:
        assert _asgi(app, "POST", "/v1/sessions", b'{"name": "x"}')[0] == 201
        assert _asgi(app, "GET", f"{LAGO_TUI_PREFIX}/sessions/count") == (200, {"count": 1})
        assert _asgi(app, "GET", f"{LAGO_TUI_PREFIX}/nope")[1]["error"] == "not_found"
    finally:
        state.stop()
    assert not state.owner.holds_connection


def test_a_large_batch_gets_the_memory_it_needs(owned) -> None:
    """12 MB of events in one request: more than the owner's buffer pool allows by default, so its
    transaction raises the limit for itself (this failed with DuckDB's Out of Memory before)."""
    owner, journal, committer = owned
    sid = journal.create_session({"name": "large"})
    seqs = committer.append([ev(sid, "y" * 4000) for _ in range(3000)]).result(120)
    assert seqs == tuple(range(2, 3002))
    with owner.reader() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0].startswith("152")  # ~160 MB


def test_a_busy_file_fails_a_group_once_not_again_through_the_general_path(tmp_path) -> None:
    """Another process holds the file: the committer's lean attempt meets JournalBusy after the owner's
    busy_timeout, and the group fails then (before: the general path opened it and waited again)."""
    import subprocess
    import sys

    from lago_tui.journal import JournalBusy

    path = tmp_path / "busy.duckdb"
    with Journal(path) as journal:
        sid = journal.create_session({"name": "busy"})
    owner = FileOwner(path, idle_release=0.2, busy_timeout=0.3)
    committer = GroupCommitter(owner, gather=0.002)
    opened = []
    writer = owner.writer

    def counting_writer(**kwargs):
        opened.append(1)
        return writer(**kwargs)

    owner.writer = counting_writer  # type: ignore[method-assign]
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(30)", str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        future = committer.append([ev(sid)])
        with pytest.raises(JournalBusy):
            future.result(30)
        assert len(opened) == 1
    finally:
        holder.kill()
        holder.wait()
        committer.close()
        owner.release()
