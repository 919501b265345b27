"""The journal's rules, through its public API: seqs, atomic batches, branches, timelines, search, totals,
the session list, tool pairing, merges, change tokens and reads that never create files."""

from __future__ import annotations

import json
import os
import time
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lago_tui.journal import (
    BranchSpec,
    InvalidEvent,
    InvalidSpec,
    Journal,
    JournalBusy,
    JournalError,
    JournalNotFound,
    NotFound,
)
from lago_tui.journal import ingest as ingest_module
from lago_tui.journal.query import QueryError
from lago_tui.journal.store import SORT_COLUMNS

T0 = 1_700_000_000_000_000  # microseconds


class Events:
    """Builds envelopes with unique ids and increasing timestamps."""

    def __init__(self, prefix: str = "E") -> None:
        self.prefix = prefix
        self.n = 0

    def __call__(self, session_id: str, kind: str = "Message", *, branch: str = "main", run_id: str | None = None,
                 event_id: str | None = None, seq: int | None = None, **fields: Any) -> dict[str, Any]:
        self.n += 1
        if kind == "Message":
            fields.setdefault("role", "user")
            fields.setdefault("content", f"message {self.n}")
        event: dict[str, Any] = {
            "event_id": event_id or f"{self.prefix}{self.n:05d}",
            "session_id": session_id,
            "branch_id": branch,
            "timestamp": T0 + self.n * 1_000_000,
            "payload": {"type": kind, **fields},
        }
        if run_id is not None:
            event["run_id"] = run_id
        if seq is not None:
            event["seq"] = seq
        return event


@pytest.fixture
def j(tmp_path: Path) -> Journal:
    journal = Journal(tmp_path / "journal.duckdb", idle_release=0.2)
    yield journal
    journal.close()


def full(journal: Journal, session: str, branch: str = "main", kinds: list[str] | None = None) -> list:
    timeline = journal.timeline(session, branch, kinds)
    return timeline.window(0, timeline.length)


def seqs(journal: Journal, session: str, branch: str = "main") -> list[tuple[str, int]]:
    return [(e.event_id, e.seq) for e in full(journal, session, branch) if not e.inherited]


def all_event_ids(journal: Journal) -> set[str]:
    return {ev["event_id"] for s in journal.list_sessions() for ev in journal.export(s.session_id)}


# --------------------------------------------------------------------------------------------- seq


def test_seq_per_branch_from_one_contiguous_and_incoming_seq_ignored(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "seqs"})
    other = j.create_session({"name": "other"})
    batch = [ev(sid, seq=99), ev(sid, seq=-5), ev(sid, seq=0), ev(sid, seq=2)]
    j.append(batch)
    j.append([ev(other, seq=7)])
    j.append([ev(sid, seq=1), ev(sid, seq=1000)])
    main_seqs = [s for _, s in seqs(j, sid)]
    assert main_seqs == [1, 2, 3, 4, 5, 6, 7]
    assert [s for _, s in seqs(j, other)] == [1, 2]  # counted per session

    branch = j.create_branch(sid, {"name": "b"})  # BranchCreated is main's seq 8
    assert j.head_seq(sid, "main") == 8
    j.append([ev(sid, branch=branch, seq=500), ev(sid, branch=branch, seq=500), ev(sid, seq=3)])
    j.append([ev(sid, branch=branch)])
    assert [s for _, s in seqs(j, sid, "b")] == [1, 2, 3]  # the branch counts from 1, on its own
    assert [s for _, s in seqs(j, sid)] == list(range(1, 10))
    assert j.head_seq(sid, "b") == 3
    assert j.session(sid).summary.event_count == 12
    # the stored seq is what export says, not what came in
    assert [o["seq"] for o in j.export(sid) if o["branch_id"] == "main"] == list(range(1, 10))


# --------------------------------------------------------------------------------------------- atomic batches


def _snapshot(journal: Journal) -> tuple:
    sessions = journal.list_sessions(sort="id")
    return (
        [s.to_json() for s in sessions],
        [journal.session(s.session_id).to_json() for s in sessions],
        sorted(all_event_ids(journal)),
    )


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda ev, sid: {**ev(sid), "payload": {"type": "Message", "role": "user"}}, id="model-error"),
        pytest.param(lambda ev, sid: ev(sid, branch="no-such-branch"), id="unknown-branch"),
        pytest.param(lambda ev, sid: ev("NO-SUCH-SESSION"), id="unknown-session"),
        pytest.param(lambda ev, sid: ev(sid, "BranchCreated", new_branch_id="x", name="x", fork_point_seq=50),
                     id="fork-past-head"),
    ],
)
def test_batch_is_atomic_and_names_the_bad_event(j: Journal, bad) -> None:
    ev = Events()
    sid = j.create_session({"name": "atomic"})
    j.append([ev(sid)])
    before = _snapshot(j)

    batch = [ev(sid), ev(sid, "BranchCreated", new_branch_id="nb", name="nb", fork_point_seq=1), bad(ev, sid), ev(sid)]
    with pytest.raises(InvalidEvent) as info:
        j.append(batch)
    assert info.value.location == "event 3"
    assert str(info.value).startswith("event 3: ")
    assert _snapshot(j) == before
    assert j.session(sid).branch("nb") is None
    with pytest.raises(NotFound):
        j.get_event(batch[0]["event_id"])

    # the same batch without the bad event goes in whole
    j.append([e for i, e in enumerate(batch) if i != 2])
    assert [s for _, s in seqs(j, sid)] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("failure", [RuntimeError("injected"), duckdb.IOException("injected: No space left on device")],
                         ids=["python-error", "duckdb-io-error"])
def test_a_failure_after_the_inserts_rolls_the_batch_back(j: Journal, monkeypatch: pytest.MonkeyPatch,
                                                           failure: Exception) -> None:
    """Validation happens before any insert; this checks the transaction itself, failing after the inserts."""
    ev = Events()
    sid = j.create_session({"name": "rollback"})
    before = _snapshot(j)
    calls = []

    def fail_after_inserts(con):  # runs after events, sessions and branches were inserted
        calls.append(con.execute("SELECT count(*) FROM events").fetchone()[0])
        raise failure

    monkeypatch.setattr(ingest_module, "_refresh_aggregates", fail_after_inserts)
    batch = [ev(sid), ev(sid, "BranchCreated", new_branch_id="nb", name="nb", fork_point_seq=1), ev(sid, branch="nb")]
    with pytest.raises((type(failure), JournalError)):
        j.append(batch)
    assert calls == [4]  # the inserts had happened inside the transaction
    monkeypatch.undo()
    assert _snapshot(j) == before
    j.append(batch)  # and nothing is left behind that would get in the way
    assert j.session(sid).summary.event_count == 4


def test_duplicate_event_id_in_a_batch_is_refused(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "dups"})
    before = _snapshot(j)
    first = ev(sid)
    with pytest.raises(InvalidEvent) as info:
        j.append([first, ev(sid), {**ev(sid), "event_id": first["event_id"]}])
    assert info.value.location == "event 3"
    assert first["event_id"] in info.value.problem
    assert "event 1" in info.value.problem  # where the first copy is
    assert _snapshot(j) == before

    # An event already in the journal is skipped, not duplicated (appends are idempotent per event_id).
    j.append([first])
    result = j.append([first, ev(sid)])
    assert (result.events_added, result.events_skipped) == (1, 1)
    assert [s for _, s in seqs(j, sid)] == [1, 2, 3]


# --------------------------------------------------------------------------------------------- sessions


def test_create_session_writes_session_main_branch_and_session_created(j: Journal) -> None:
    sid = j.create_session({"name": "Demo run", "model": "gpt-4o", "params": {"temperature": "0.2"}}, now_us=T0)
    detail = j.session(sid)
    s = detail.summary
    assert (s.session_id, s.name, s.model, s.params) == (sid, "Demo run", "gpt-4o", {"temperature": "0.2"})
    assert (s.created_at, s.event_count, s.branch_count, s.closed) == (T0, 1, 1, False)
    assert [(b.branch_id, b.name, b.parent_branch_id, b.fork_point_seq, b.head_seq) for b in detail.branches] == [
        ("main", "main", None, 0, 1)
    ]
    events = full(j, sid)
    assert len(events) == 1
    e = events[0]
    assert (e.kind, e.seq, e.branch_id, e.ts, e.session_id) == ("SessionCreated", 1, "main", T0, sid)
    assert e.payload == {"type": "SessionCreated", "name": "Demo run",
                         "config": {"model": "gpt-4o", "params": {"temperature": "0.2"}}}
    assert j.models() == ["gpt-4o"]


@pytest.mark.parametrize("spec", [{"name": ""}, {"name": " padded "}, {"name": "bell\x07"}, {"name": "x" * 121},
                                  {"name": "ok", "params": {"": "v"}}])
def test_create_session_rejects_bad_specs_and_writes_nothing(tmp_path: Path, spec: dict) -> None:
    journal = Journal(tmp_path / "j.duckdb")
    with pytest.raises(InvalidSpec):
        journal.create_session(spec)
    assert journal.list_sessions() == []
    assert not (tmp_path / "j.duckdb").exists()


# --------------------------------------------------------------------------------------------- branches


def test_nested_branches_lineage_and_timeline(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "nested"})
    j.append([ev(sid) for _ in range(5)])  # main 1..6
    child = j.create_branch(sid, {"name": "child", "fork_point_seq": 4})  # BranchCreated = main 7
    j.append([ev(sid, branch=child) for _ in range(3)])  # child 1..3
    grand = j.create_branch(sid, {"name": "grand", "parent": "child", "fork_point_seq": 2})  # child 4
    j.append([ev(sid, branch=grand) for _ in range(2)] + [ev(sid), ev(sid, branch=child)])  # grand 1..2

    detail = j.session(sid)
    c, g = detail.branch("child"), detail.branch("grand")
    assert (c.branch_id, c.parent_branch_id, c.fork_point_seq, c.head_seq) == (child, "main", 4, 5)
    assert (g.branch_id, g.parent_branch_id, g.fork_point_seq, g.head_seq) == (grand, child, 2, 2)
    assert [b.name for b in detail.lineage(grand)] == ["main", "child", "grand"]
    assert [b.name for b in detail.lineage(child)] == ["main", "child"]
    assert detail.summary.branch_count == 3

    timeline = j.timeline(sid, "grand")
    rows = timeline.window(0, 100)
    assert [(r.branch_id, r.seq, r.inherited) for r in rows] == (
        [("main", s, True) for s in (1, 2, 3, 4)]
        + [(child, s, True) for s in (1, 2)]
        + [(grand, s, False) for s in (1, 2)]
    )
    assert timeline.length == 8
    assert timeline.fork_positions == [4, 6]
    # events appended after the forks on main and child are not part of grand's timeline
    assert [(r.branch_id, r.seq) for r in full(j, sid, "child")][-1] == (child, 5)
    assert [r.seq for r in full(j, sid, "main")] == list(range(1, 9))


def test_fork_point_validation(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "forks"})
    j.append([ev(sid) for _ in range(3)])  # head 4
    before = _snapshot(j)
    with pytest.raises(InvalidSpec):
        j.create_branch(sid, {"name": "neg", "fork_point_seq": -1})
    with pytest.raises(InvalidSpec, match="fork point 5"):
        j.create_branch(sid, {"name": "past", "fork_point_seq": 5})
    with pytest.raises(NotFound):
        j.create_branch(sid, {"name": "orphan", "parent": "no-such-parent"})
    assert _snapshot(j) == before

    head = j.create_branch(sid, BranchSpec(name="at-head"))
    assert j.session(sid).branch(head).fork_point_seq == 4  # default: the parent's head
    zero = j.create_branch(sid, {"name": "at-zero", "fork_point_seq": 0})
    j.append([ev(sid, branch=zero)])
    assert [(r.branch_id, r.seq, r.inherited) for r in full(j, sid, "at-zero")] == [(zero, 1, False)]
    exact = j.create_branch(sid, {"name": "at-four", "fork_point_seq": 4})
    assert j.timeline(sid, exact).length == 4


def test_branch_names_are_unique_per_session(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "names"})
    other = j.create_session({"name": "names-2"})
    j.create_branch(sid, {"name": "idea"})
    before = _snapshot(j)
    with pytest.raises(InvalidSpec, match="idea"):
        j.create_branch(sid, {"name": "idea"})
    with pytest.raises(InvalidSpec):
        j.create_branch(sid, {"name": "main"})
    assert _snapshot(j) == before
    j.create_branch(other, {"name": "idea"})  # another session may use the name

    # the same rule for raw BranchCreated events
    with pytest.raises(InvalidEvent, match="idea"):
        j.append([ev(sid, "BranchCreated", new_branch_id="fresh-id", name="idea", fork_point_seq=1)])
    with pytest.raises(InvalidEvent, match="twice"):
        j.append([ev(sid, "BranchCreated", new_branch_id="a1", name="dup", fork_point_seq=1),
                  ev(sid, "BranchCreated", new_branch_id="a2", name="dup", fork_point_seq=1)])
    assert [b.name for b in j.session(sid).branches] == ["main", "idea"]


# --------------------------------------------------------------------------------------------- timeline windows

KINDS_CYCLE = ["Message", "TextDelta", "ToolCallRequested", "RunStarted", "Message", "StepStarted", "ErrorRaised"]


def _varied(ev: Events, sid: str, branch: str, n: int) -> list[dict]:
    out = []
    for i in range(n):
        kind = KINDS_CYCLE[(i * 3 + len(branch)) % len(KINDS_CYCLE)]
        fields: dict[str, Any] = {}
        if kind == "TextDelta":
            fields = {"delta": f"d{i}"}
        elif kind == "ToolCallRequested":
            fields = {"call_id": f"{branch}-c{i}", "tool_name": "t"}
        elif kind == "ErrorRaised":
            fields = {"message": "oops"}
        out.append(ev(sid, kind, branch=branch, **fields))
    return out


def test_timeline_windows_equal_slices_of_the_full_timeline(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "windows"})
    main_events = _varied(ev, sid, "main", 30)
    j.append(main_events)  # main 1..31
    a = j.create_branch(sid, {"name": "a", "fork_point_seq": 13})
    a_events = _varied(ev, sid, a, 25)
    j.append(a_events + _varied(ev, sid, "main", 4))
    b = j.create_branch(sid, {"name": "b", "parent": "a", "fork_point_seq": 11})
    b_events = _varied(ev, sid, b, 22)
    j.append(b_events)

    # The oracle, from what was appended: main 1..13, a 1..11, b 1..22.
    main_ids = ["SessionCreated"] + [e["event_id"] for e in main_events]
    expected = (
        [(main_ids[s - 1], "main", s, True) for s in range(1, 14)]
        + [(a_events[s - 1]["event_id"], a, s, True) for s in range(1, 12)]
        + [(b_events[s - 1]["event_id"], b, s, False) for s in range(1, 23)]
    )
    rng = random.Random(20240601)
    with pytest.raises(QueryError, match="unknown kind 'NoSuchKind'"):  # issue 12.5: an error, not nothing
        j.timeline(sid, "b", ["NoSuchKind"])
    for kinds in (None, ["Message", "ToolCallRequested"], ["TextDelta"], ["SessionCreated", "ErrorRaised"],
                  ["Custom"]):
        timeline = j.timeline(sid, "b", kinds)
        whole = timeline.window(0, 10_000)
        got = [(e.event_id, e.branch_id, e.seq, e.inherited) for e in whole]
        if kinds is None:
            assert [g[1:] for g in got] == [x[1:] for x in expected]
            assert [g[0] for g in got][13:] == [x[0] for x in expected][13:]
            assert whole[0].kind == "SessionCreated"
        else:
            assert all(e.kind in kinds for e in whole)
            unfiltered = j.timeline(sid, "b").window(0, 10_000)
            assert [e.event_id for e in whole] == [e.event_id for e in unfiltered if e.kind in kinds]
        assert timeline.length == len(whole)
        assert [e.position for e in whole] == list(range(len(whole)))

        n = len(whole)
        boundaries = [0] + [p for p in timeline.fork_positions] + [n]
        pairs = [(rng.randrange(0, n + 3), rng.randrange(0, 15)) for _ in range(60)] if n else []
        pairs += [(p + d, c) for p in boundaries for d in (-2, -1, 0, 1) for c in (1, 2, 3, 7)]
        pairs += [(0, n), (0, n + 5), (n - 1, 1), (n, 1), (-3, 5), (2, 0)]
        for start, count in pairs:
            window = timeline.window(start, count)
            lo = max(0, start)
            assert window == whole[lo:max(lo, start + count)], (kinds, start, count)
        # locate / position_of agree with the window
        for e in whole:
            assert timeline.position_of(e.branch_id, e.seq) == e.position


def test_timeline_refresh_picks_up_new_events(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "refresh"})
    timeline = j.timeline(sid, "main", ["Message"])
    assert timeline.length == 0
    j.append([ev(sid), ev(sid, "TextDelta", delta="x"), ev(sid)])
    assert timeline.refresh() == 2
    assert [e.seq for e in timeline.window(0, 10)] == [2, 4]


# --------------------------------------------------------------------------------------------- find / search


def _searchable(e) -> str:
    p = e.payload
    return {"Message": lambda: f"{p['role']} {p['content']}", "TextDelta": lambda: p["delta"],
            "SessionCreated": lambda: p["name"]}[e.kind]()


def _shown(e) -> str:
    """The payload's text and what the timeline row shows (issue 12.10: search what people read)."""
    from lago_tui.summary import role_label, summarize

    return f"{_searchable(e)} {role_label(e)} {summarize(e)}"


def test_timeline_find_matches_wildcards_literally(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "find"})
    target = "100%_done\\x"  # percent, underscore and a real backslash
    j.append([ev(sid, content="plain words"), ev(sid, content="early 100%_done\\x"), ev(sid, content="odd"),
              ev(sid, "TextDelta", delta="delta 100%_done\\x"), ev(sid, content="box"),
              ev(sid, content=target), ev(sid, content="50 percent done")])  # main 1..8
    br = j.create_branch(sid, {"name": "br"})  # main seq 9, after the fork point
    j.append([ev(sid, branch=br, content=t) for t in ("back\\slash", "under_score", "x_d", "AGAIN 100%_DONE\\X")])
    timeline = j.timeline(sid, "br")
    rows = timeline.window(0, timeline.length)
    at = {_searchable(r): r.position for r in rows}
    assert (at["user " + target], at["user AGAIN 100%_DONE\\X"], timeline.length) == (6, 11, 12)

    def check(tl, events, needle):
        """find() against a brute-force oracle, from every start, both ways."""
        hits = [e.position for e in events if needle.lower() in _shown(e).lower()]
        for start in range(-2, tl.length + 2):
            forward = min((p for p in hits if p >= start), default=None)
            backward = max((p for p in hits if p <= start), default=None)
            assert tl.find(needle, start) == forward, (needle, start)
            assert tl.find(needle, start, forward=False) == backward, (needle, start, "backward")
        return hits

    for needle in ("%_d", "\\x", "100%", "_done", "%_DONE\\X", "%", "_", "\\", "_d", "o", "nothing like it"):
        check(timeline, rows, needle)
    # the wildcards really are literal: what they match is exactly the events containing them
    assert check(timeline, rows, "%") == [2, 4, 6, 11]
    assert check(timeline, rows, "_") == [2, 4, 6, 9, 10, 11]
    assert check(timeline, rows, "\\") == [2, 4, 6, 8, 11]
    assert check(timeline, rows, "\\x") == [2, 4, 6, 11]
    assert timeline.find("", 0) is None

    # with a kind filter the positions are the filtered ones, and other kinds are not found
    messages = j.timeline(sid, "br", ["Message"])
    filtered = messages.window(0, messages.length)
    assert len(filtered) == 10
    assert check(messages, filtered, "%_d") == [1, 4, 9]
    assert check(timeline, rows, "delta") == [4]
    assert messages.find("delta", 0) is None  # only in the TextDelta, which the filter leaves out


def test_search_across_sessions_and_in_one(j: Journal) -> None:
    ev = Events()
    s1 = j.create_session({"name": "alpha"})
    s2 = j.create_session({"name": "beta"})
    j.append([ev(s1, content="a Needle here"), ev(s1, content="hay"), ev(s2, content="NEEDLE again"),
              ev(s2, "ToolCallFailed", call_id="c", tool_name="grep", error="needle not found"),
              ev(s2, content="100% sure")])
    hits = j.search("needle")
    assert [(h.session_id, h.session_name, h.seq, h.kind) for h in hits] == [
        (s1, "alpha", 2, "Message"), (s2, "beta", 2, "Message"), (s2, "beta", 3, "ToolCallFailed"),
    ]
    assert all("needle" in h.text.lower() for h in hits)
    assert [h.seq for h in j.search("needle", session="beta")] == [2, 3]
    assert [h.seq for h in j.search("needle", session=s1)] == [2]
    assert len(j.search("needle", limit=1)) == 1
    assert [h.text for h in j.search("%")] == ["user 100% sure"]
    assert j.search("_") == []
    with pytest.raises(NotFound):
        j.search("needle", session="gamma")


# --------------------------------------------------------------------------------------------- totals


def test_token_totals_count_each_run_once(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "tokens"})
    usage = lambda i, o: {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}  # noqa: E731
    j.append([
        # r1: messages report usage and RunFinished repeats it -> counted once (10/5)
        ev(sid, "RunStarted", run_id="r1"),
        ev(sid, run_id="r1", role="assistant", content="a", token_usage=usage(10, 5)),
        ev(sid, "RunFinished", run_id="r1", usage=usage(10, 5)),
        # r2: only RunFinished reports usage -> it counts (7/3)
        ev(sid, run_id="r2", role="assistant", content="b"),
        ev(sid, "RunFinished", run_id="r2", usage=usage(7, 3)),
    ])
    assert (j.session(sid).summary.tokens_in, j.session(sid).summary.tokens_out) == (17, 8)
    # r3 in two appends: two messages add up; RunFinished with a different total does not add on top
    j.append([ev(sid, run_id="r3", role="assistant", content="c", token_usage=usage(1, 2))])
    j.append([ev(sid, run_id="r3", role="assistant", content="d", token_usage=usage(3, 4)),
              ev(sid, "RunFinished", run_id="r3", usage=usage(100, 100))])
    detail = j.session(sid)
    assert (detail.summary.tokens_in, detail.summary.tokens_out) == (21, 14)
    assert (detail.totals.tokens_in, detail.totals.tokens_out) == (21, 14)
    assert detail.summary.tokens == 35
    # a second session's tokens are its own
    other = j.create_session({"name": "other"})
    j.append([ev(other, "RunFinished", run_id="r1", usage=usage(2, 2))])
    assert j.session(sid).summary.tokens == 35
    assert j.session(other).summary.tokens == 4


def test_closed_and_reopened(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "life"})
    state = lambda: j.session(sid).summary.closed  # noqa: E731
    assert state() is False
    j.append([ev(sid, "SessionClosed", reason="done")])
    assert state() is True
    j.append([ev(sid, "SessionResumed")])
    assert state() is False
    j.append([ev(sid, "SessionClosed", run_id="r9"), ev(sid)])  # later events do not reopen it
    assert state() is True
    j.append([ev(sid, "SessionResumed", run_id="r7"), ev(sid, "SessionClosed"), ev(sid, "SessionResumed")])
    assert state() is False
    assert [s.closed for s in j.list_sessions()] == [False]


# --------------------------------------------------------------------------------------------- session list


LIST_SPECS = [
    # session_id, name, model, created (s), messages, branches, tokens_in (out = 7x), last activity (s)
    ("S-4", "Zebra crossing", "gpt-4o", 3, 5, 3, 1, 500),
    ("S-2", "apple pie", "claude-3", 1, 1, 0, 4, 900),
    ("S-5", "Mango 50%", "", 0, 3, 1, 2, 300),
    ("S-1", "banana_split", "GPT-4o-mini", 4, 0, 2, 0, 4),
    ("S-3", "Cherry", "llama3", 2, 6, 0, 3, 700),
]


def _populate_list(j: Journal) -> list[str]:
    """Five sessions that every sort key orders differently, written in one batch."""
    ev = Events()
    batch = []
    for sid, name, model, created, n_msgs, n_branches, tokens, last in LIST_SPECS:
        config = {"model": model} if model else {}
        batch.append({**ev(sid, "SessionCreated", name=name, config=config), "timestamp": T0 + created * 10**6})
        for i in range(n_msgs):
            batch.append({**ev(sid), "timestamp": T0 + (last - n_msgs + 1 + i) * 10**6})
        if tokens:
            usage = {"prompt_tokens": tokens, "completion_tokens": tokens * 7, "total_tokens": tokens * 8}
            batch[-1]["payload"].update(role="assistant", token_usage=usage)
        for b in range(n_branches):
            batch.append({**ev(sid, "BranchCreated", new_branch_id=f"{sid}-b{b}", name=f"b{b}", fork_point_seq=1),
                          "timestamp": T0 + created * 10**6})
    j.append(batch)
    return [spec[0] for spec in LIST_SPECS]


def _sort_key(sort: str):
    return {
        "name": lambda s: s.name.lower(),
        "id": lambda s: s.session_id,
        "model": lambda s: s.model.lower(),
        "branches": lambda s: s.branch_count,
        "events": lambda s: s.event_count,
        "tokens": lambda s: s.tokens_in + s.tokens_out,
        "last_activity": lambda s: s.last_activity,
        "created": lambda s: s.created_at,
    }[sort]


def test_list_sessions_filter(j: Journal) -> None:
    _populate_list(j)
    names = lambda f: sorted(s.name for s in j.list_sessions(f))  # noqa: E731
    assert names(None) == sorted(["Zebra crossing", "apple pie", "Mango 50%", "banana_split", "Cherry"])
    assert names("APPLE") == ["apple pie"]  # name, case-insensitive
    assert names("gpt-4O") == ["Zebra crossing", "banana_split"]  # model, case-insensitive
    assert names("s-3") == ["Cherry"]  # id, case-insensitive
    assert names("S-") == sorted(s[1] for s in LIST_SPECS)
    assert names("%") == ["Mango 50%"]
    assert names("_") == ["banana_split"]
    assert names("n_n") == []  # "_" is not a wildcard ("nan" is in banana)
    assert names("nothing") == []
    assert j.count_sessions() == 5
    assert j.count_sessions("gpt") == 2
    assert j.count_sessions("%") == 1


def test_list_sessions_sort_every_column_both_ways_and_page(j: Journal) -> None:
    _populate_list(j)
    everything = j.list_sessions(sort="id")
    assert set(SORT_COLUMNS) == {"name", "id", "model", "branches", "events", "tokens", "last_activity", "created"}
    ascending_orders = {}
    for sort in SORT_COLUMNS:
        key = _sort_key(sort)
        for descending in (False, True):
            got = j.list_sessions(sort=sort, descending=descending)
            expected = sorted(everything, key=lambda s: (key(s), s.session_id), reverse=descending)
            assert [s.session_id for s in got] == [s.session_id for s in expected], (sort, descending)
            if not descending:
                ascending_orders[sort] = tuple(s.session_id for s in got)
            # limit / offset pages put back together are the whole list
            pages = [j.list_sessions(sort=sort, descending=descending, limit=2, offset=o) for o in (0, 2, 4, 6)]
            assert [len(p) for p in pages] == [2, 2, 1, 0]
            assert [s.session_id for p in pages for s in p] == [s.session_id for s in got]
            # session_index agrees with the list
            for pos, s in enumerate(got):
                assert j.session_index(s.session_id, sort=sort, descending=descending) == pos
    assert len(set(ascending_orders.values())) == len(SORT_COLUMNS)  # the fixture tells every key apart
    with pytest.raises(JournalError):
        j.list_sessions(sort="bogus")

    # filtered and paged
    listed = j.list_sessions("gpt", sort="name", descending=False)
    assert [s.name for s in listed] == ["banana_split", "Zebra crossing"]
    assert [s.name for s in j.list_sessions("gpt", sort="name", descending=False, limit=1, offset=1)] == [
        "Zebra crossing"]
    assert j.session_index("S-1", "gpt", sort="name", descending=False) == 0
    assert j.session_index("S-4", "gpt", sort="name", descending=False) == 1
    assert j.session_index("S-2", "gpt", sort="name", descending=False) is None  # filtered out
    assert j.session_index("NOPE", sort="name") is None


def test_aggregates_of_the_list(j: Journal) -> None:
    _populate_list(j)
    by_id = {s.session_id: s for s in j.list_sessions()}
    zebra = by_id["S-4"]
    assert (zebra.name, zebra.model, zebra.created_at) == ("Zebra crossing", "gpt-4o", T0 + 3 * 10**6)
    assert (zebra.event_count, zebra.branch_count, zebra.tokens_in, zebra.tokens_out) == (1 + 5 + 3, 4, 1, 7)
    assert zebra.last_activity == T0 + 500 * 10**6
    banana = by_id["S-1"]
    assert (banana.event_count, banana.branch_count, banana.tokens, banana.model) == (1 + 2, 3, 0, "GPT-4o-mini")
    for sid, s in by_id.items():
        exported = list(j.export(sid))
        assert s.event_count == len(exported)
        assert s.first_ts == min(o["timestamp"] for o in exported)
        assert s.last_ts == max(o["timestamp"] for o in exported)
        assert s.branch_count == len(j.session(sid).branches)


# --------------------------------------------------------------------------------------------- resolve


def test_resolve_session(j: Journal, tmp_path: Path) -> None:
    lines = []
    for sid, name in (("ABC-1", "same"), ("ABC-2", "same"), ("XYZ-9", "unique"), ("QQ", "ABC-2x")):
        lines.append({"event_id": f"{sid}-e", "session_id": sid, "timestamp": T0,
                      "payload": {"type": "SessionCreated", "name": name, "config": {}}})
    source = tmp_path / "sessions.jsonl"
    source.write_text("\n".join(json.dumps(o) for o in lines), encoding="utf-8")
    j.import_file(source)

    assert j.resolve_session("ABC-1") == "ABC-1"  # exact id
    assert j.resolve_session("XY") == "XYZ-9"  # unique prefix
    assert j.resolve_session("unique") == "XYZ-9"  # unique name
    assert j.resolve_session("ABC-2x") == "QQ"  # a name is found when no id starts with it
    for ambiguous in ("ABC", "ABC-", "same"):
        with pytest.raises(NotFound, match="ambiguous"):
            j.resolve_session(ambiguous)
    for missing in ("nope", "abc-1", "SAME"):
        with pytest.raises(NotFound):
            j.resolve_session(missing)
    assert j.session("unique").summary.session_id == "XYZ-9"


# --------------------------------------------------------------------------------------------- tools, merges


def test_tool_calls_are_paired_by_call_id(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "tools"})
    req_a = ev(sid, "ToolCallRequested", call_id="call-a", tool_name="read", arguments={"p": 1})
    req_b = ev(sid, "ToolCallRequested", call_id="call-b", tool_name="write")
    req_c = ev(sid, "ToolCallRequested", call_id="call-c", tool_name="never-answered")
    done_a = ev(sid, "ToolCallCompleted", call_id="call-a", tool_name="read", result={"ok": 1}, duration_ms=40,
                status="ok")
    fail_b = ev(sid, "ToolCallFailed", call_id="call-b", tool_name="write", error="disk full")
    # an unrelated completion with another call_id must not be attached to anything
    stray = ev(sid, "ToolCallCompleted", call_id="call-z", tool_name="x", duration_ms=1, status="ok")
    j.append([req_a, req_b, req_c, stray, done_a])
    j.append([fail_b])  # the failure comes later, in another batch
    rows = {r.event_id: r for r in full(j, sid)}

    a = rows[req_a["event_id"]].outcome
    assert (a.kind, a.status, a.duration_ms, a.ended_ts, a.error) == (
        "ToolCallCompleted", "ok", 40, done_a["timestamp"], None)
    b = rows[req_b["event_id"]].outcome
    assert (b.kind, b.status, b.error, b.ended_ts) == ("ToolCallFailed", "failed", "disk full", fail_b["timestamp"])
    assert b.duration_ms == (fail_b["timestamp"] - req_b["timestamp"]) // 1000  # from timestamps
    assert rows[req_c["event_id"]].outcome is None
    assert all(rows[e["event_id"]].outcome is None for e in (done_a, fail_b, stray))

    # a window holding only the request still gets its outcome
    timeline = j.timeline(sid)
    alone = timeline.window(rows[req_a["event_id"]].position, 1)
    assert alone[0].outcome == a
    totals = j.session(sid).totals
    assert (totals.tool_calls, totals.failures) == (3, 1)


def test_tool_outcomes_with_payloads_too_large_for_sql_are_read_in_python(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "big tools"})
    req_a = ev(sid, "ToolCallRequested", call_id="big-a", tool_name="cat")
    req_b = ev(sid, "ToolCallRequested", call_id="big-b", tool_name="cat")
    done_a = ev(sid, "ToolCallCompleted", call_id="big-a", tool_name="cat", result="x" * 70_000, duration_ms=12,
                status="error")
    fail_b = ev(sid, "ToolCallFailed", call_id="big-b", tool_name="cat", error="e" * 70_000)
    j.append([req_a, req_b, done_a, fail_b])
    rows = {r.event_id: r for r in full(j, sid)}
    a = rows[req_a["event_id"]].outcome
    assert (a.kind, a.status, a.duration_ms, a.ended_ts, a.error) == (
        "ToolCallCompleted", "error", 12, done_a["timestamp"], None)
    b = rows[req_b["event_id"]].outcome
    assert (b.kind, b.status, b.error, b.ended_ts) == ("ToolCallFailed", "failed", "e" * 70_000, fail_b["timestamp"])
    assert b.duration_ms == (fail_b["timestamp"] - req_b["timestamp"]) // 1000


def test_branch_merged_is_listed_in_merges(j: Journal) -> None:
    ev = Events()
    sid = j.create_session({"name": "merge"})
    feature = j.create_branch(sid, {"name": "feature", "fork_point_seq": 1})
    j.append([ev(sid, branch=feature), ev(sid, branch=feature), ev(sid, branch=feature)])
    j.append([ev(sid), ev(sid, "BranchMerged", source_branch_id=feature, merge_seq=3)])  # main seq 4
    detail = j.session(sid)
    merges = detail.branch("feature").merges
    assert len(merges) == 1
    m = merges[0]
    assert (m.source_branch_id, m.target_branch_id, m.at_seq, m.merge_seq) == (feature, "main", 4, 3)
    assert detail.branch("main").merges == ()
    assert detail.branch("feature").to_json()["merged_into"] == [{"branch_id": "main", "at_seq": 4, "merge_seq": 3}]


# --------------------------------------------------------------------------------------------- files


def test_change_token_moves_on_writes_only(j: Journal) -> None:
    ev = Events()
    empty = j.change_token()
    assert empty.db is None and empty.wal is None
    sid = j.create_session({"name": "tokens"})
    after_create = j.change_token()
    assert after_create != empty and after_create.db is not None

    for _ in range(2):  # reads, with and without a cached reader connection
        j.list_sessions()
        j.session(sid)
        full(j, sid)
        j.search("x")
        list(j.export(sid))
        j.check()
        assert j.change_token() == after_create
        j.close()
        assert j.change_token() == after_create

    j.append([ev(sid)])
    after_append = j.change_token()
    assert after_append != after_create
    j.append([ev(sid)])
    assert j.change_token() != after_append


def test_reads_on_a_missing_path_create_nothing(tmp_path: Path) -> None:
    before = sorted(os.listdir(tmp_path))
    for path in (tmp_path / "j.duckdb", tmp_path / "sub" / "dir" / "j.duckdb"):
        journal = Journal(path)
        assert journal.exists() is False
        assert journal.list_sessions() == []
        assert journal.list_sessions("x", limit=3) == []
        assert journal.count_sessions() == 0
        assert journal.models() == []
        assert journal.search("x") == []
        assert journal.session_index("x") is None
        assert journal.change_token().db is None
        for call in (lambda: journal.session("x"), lambda: journal.resolve_session("x"),
                     lambda: journal.get_event("x"), lambda: journal.timeline("x"), lambda: list(journal.export("x"))):
            with pytest.raises(NotFound):
                call()
        with pytest.raises(JournalNotFound, match=str(path)):
            journal.check()
        assert journal.holds_connection is False
        journal.close()
    assert sorted(os.listdir(tmp_path)) == before


def test_two_journal_objects_in_one_process_wait_for_each_other(tmp_path: Path) -> None:
    """A cached read-only connection of one object gives way to the other's write at once (the writer-intent
    lock); a connection that ignores the intent lock makes the write 'busy' (retried, then reported), never
    'corrupt'."""
    path = tmp_path / "shared.duckdb"
    reader = Journal(path, idle_release=30)
    writer = Journal(path, busy_timeout=5)
    sid = writer.create_session({"name": "one"})
    assert [s.session_id for s in reader.list_sessions()] == [sid]
    assert reader.holds_connection
    t0 = time.monotonic()
    writer.create_session({"name": "two"})  # the reader lets go when it sees the writer, not after 30 s
    assert time.monotonic() - t0 < 2
    assert reader.holds_connection is False
    assert reader.count_sessions() == 2
    impatient = Journal(path, busy_timeout=0.05)
    impatient.create_session({"name": "three"})  # a short deadline is enough: readers yield
    foreign = duckdb.connect(str(path), read_only=True)  # knows nothing of the intent lock
    try:
        with pytest.raises(JournalBusy):
            impatient.create_session({"name": "four"})
    finally:
        foreign.close()
    reader.close()
    impatient.create_session({"name": "four"})
    assert writer.count_sessions() == 4
    writer.close()
