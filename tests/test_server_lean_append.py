"""The server's lean append path (journal/append_path.py) against the general one (journal/ingest.py): the
same groups appended by both into two journals that start identical must leave identical sessions,
branches and events, and the lean path must really have taken the groups it can take."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_corpus import SMALL_CORPUS

from lago_tui.journal import InvalidEvent, Journal, ids
from lago_tui.journal.append_path import STAGE_ABOVE, LeanAppender
from lago_tui.journal.ingest import append_rows
from lago_tui.journal.owner import FileOwner, GroupCommitter

T0 = 1_700_000_000_000_000
S1, S2 = "01LEANSESSIONONE0000000000", "01LEANSESSIONTWO0000000000"
SIDE = "01LEANSIDEBRANCH0000000000"


class Events:
    """Events with predictable ids and timestamps (both journals must get byte-identical input)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, session: str, payload: dict[str, Any], *, ts: int | None = None, **envelope: Any) -> dict:
        self.n += 1
        return {"event_id": f"01LEANEVENT{self.n:015d}", "session_id": session,
                "timestamp": T0 + self.n * 1000 if ts is None else ts, "payload": payload, **envelope}


def msg(content: str, role: str = "assistant", **extra: Any) -> dict:
    return {"type": "Message", "role": role, "content": content, **extra}


def setup_events(e: Events) -> list[dict]:
    return [
        e(S1, {"type": "SessionCreated", "name": "one", "config": {"model": "m", "params": {"k": "v"}}}),
        e(S2, {"type": "SessionCreated", "name": "two"}),
        e(S1, msg("hello", token_usage={"prompt_tokens": 5, "completion_tokens": 7}), run_id="r0"),
        e(S1, {"type": "BranchCreated", "new_branch_id": SIDE, "fork_point_seq": 2, "name": "side"}),
    ]


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: refused before any write path
        return False
    return True


def groups(e: Events) -> list[list[dict]]:
    hostile = [c.text for c in SMALL_CORPUS if len(c.text) < 50_000 and _storable(c.text)]
    return [
        # plain messages, none with tokens; unicode, escapes, floats and nesting in payload and metadata
        [e(S1, msg("plain")), e(S2, msg("ünïcödé \u2028 \x1b[31m \\u0041 \"q\"", score=1.50, big=1e5, neg=-0.0,
                                        nested={"a": [1, 2.25, {"b": None, "c": True}], "d": "é/\\"}),
                                  metadata={"k": "v", "é": "\x00\t"})],
        # tokens: a run that first reports only RunFinished usage, then message tokens (its share switches)
        [e(S1, {"type": "RunStarted"}, run_id="r1"),
         e(S1, {"type": "RunFinished", "usage": {"prompt_tokens": 100, "completion_tokens": 40}}, run_id="r1"),
         e(S2, {"type": "RunFinished", "usage": {"prompt_tokens": 9, "completion_tokens": 1}}, run_id="r9")],
        [e(S1, msg("with tokens", token_usage={"prompt_tokens": 3, "completion_tokens": 4}), run_id="r1"),
         e(S1, msg("tokens, no run", token_usage={"prompt_tokens": 11}))],
        [e(S1, msg("more in r0", token_usage={"completion_tokens": 2}), run_id="r0"),
         e(S1, {"type": "RunFinished", "usage": {"prompt_tokens": 1000, "completion_tokens": 1000}}, run_id="r0")],
        # tools and failures
        [e(S1, {"type": "ToolCallRequested", "call_id": "c1", "tool_name": "grep", "arguments": {"q": "x"}}),
         e(S1, {"type": "ToolCallCompleted", "call_id": "c1", "tool_name": "grep", "duration_ms": 3,
                "status": "ok", "result": [1, "two"]}),
         e(S1, {"type": "ToolCallCompleted", "tool_name": "sh", "duration_ms": 0, "status": "timeout"}),
         e(S1, {"type": "ToolCallFailed", "call_id": "c2", "tool_name": "sh", "error": "boom"}),
         e(S2, {"type": "ErrorRaised", "message": "oops"}), e(S2, {"type": "RunErrored", "error": "bad"})],
        # the side branch; activity earlier than anything so far (first_ts moves back); a merge marker
        # (not activity) stamped later than anything
        [e(S1, msg("on the side"), branch_id=SIDE, ts=T0 - 5_000_000),
         e(S1, {"type": "BranchMerged", "source_branch_id": SIDE, "merge_seq": 1}, ts=T0 + 10**12),
         e(S1, msg("side again"), branch_id=SIDE, parent_id="01LEANEVENT000000000000001", schema_version=3)],
        # closing and resuming, in one group and across groups
        [e(S2, {"type": "SessionClosed", "reason": "done"})],
        [e(S1, {"type": "SessionClosed"}), e(S1, {"type": "SessionResumed"}), e(S2, {"type": "SessionResumed"}),
         e(S2, {"type": "SessionClosed", "reason": "again"})],
        # a Custom event that is not a rename, and every small hostile text as content
        [e(S2, {"type": "Custom", "event_type": "x.y", "data": {"deep": [[["z"]]]}})],
        [e(S1, msg(text)) for text in hostile],
        # a group large enough to be staged through the Appender rather than sent as list parameters
        [e((S1, S2)[i % 2], msg(f"bulk {i}", token_usage={"prompt_tokens": i}), run_id=f"b{i % 3}", ts=T0 + i)
         for i in range(STAGE_ABOVE + 1)],
    ]


def snapshot(owner: FileOwner) -> dict[str, list[tuple]]:
    with owner.reader() as con:
        return {
            "sessions": con.execute("SELECT * FROM sessions ORDER BY session_id").fetchall(),
            "branches": con.execute("SELECT * FROM branches ORDER BY session_id, branch_id").fetchall(),
            "events": con.execute("SELECT * FROM events ORDER BY ord").fetchall(),
        }


@pytest.fixture
def pair(tmp_path: Path):
    """Two journals holding the same start; the first written by a server's committer, the second by ingest."""
    owners = (FileOwner(tmp_path / "lean.duckdb", idle_release=30), FileOwner(tmp_path / "general.duckdb",
                                                                               idle_release=30))
    e = Events()
    start = setup_events(e)
    for owner in owners:
        with owner.writer() as con:
            append_rows(con, [(i, json.dumps(ev, ensure_ascii=False)) for i, ev in enumerate(start)], str)
    yield owners, e
    for owner in owners:
        owner.release()


def general(owner: FileOwner, group: list[dict]) -> tuple[int, ...]:
    with owner.writer() as con:
        return append_rows(con, [(i, json.dumps(ev, ensure_ascii=False)) for i, ev in enumerate(group)], str).seqs


def test_lean_and_general_paths_store_the_same_journal(pair) -> None:
    (lean, plain), e = pair
    committer = GroupCommitter(lean, gather=0)
    try:
        for group in groups(e):
            # as the server sends them: plain JSON values, which the lean path checks without parsing again
            seqs = committer.append(group, from_json=True).result(30)
            assert seqs == general(plain, group)
        assert committer.stats.lean == len(groups(Events())), "every group here is plain: the lean path takes them"
    finally:
        committer.close()
    got, want = snapshot(lean), snapshot(plain)
    assert got["events"] == want["events"]
    assert got["branches"] == want["branches"]
    assert got["sessions"] == want["sessions"]
    one = dict((row[0], row) for row in got["sessions"])[S1]
    assert one[7] > 0 and one[8] > 0  # tokens counted: the comparison is not of zeros


def test_what_the_lean_path_leaves_to_the_general_one_still_lands_identically(pair) -> None:
    (lean, plain), e = pair
    committer = GroupCommitter(lean, gather=0)
    known = e(S1, msg("known"))
    fresh = e(S2, msg("fresh"))
    cases = [
        [known],  # plain: lean
        [known, e(S1, msg("after a repeat"))],  # a known event_id: general (skipped, answers its seq)
        [e(S1, {"type": "Custom", "event_type": "lago-tui.session.renamed", "data": {"name": "renamed"}})],
        [e(S1, {"type": "Nobody.Knows", "call_id": 5, "x": [1.5]})],  # an unknown kind: general
        [e(S1, msg("undeclared", call_id={"a": 1}))],  # an unchecked extracted field: general
        [e(S1, {"type": "BranchCreated", "new_branch_id": "01LEANSECONDBRANCH00000000", "fork_point_seq": 1,
                "name": "second"})],
        [fresh],  # after the general path wrote: the lean caches start again
        [e(S2, msg("and on"), run_id="r9", ts=T0)],
    ]
    try:
        for group in cases:
            assert committer.append(group).result(30) == general(plain, group)
        # known, fresh, and the last one (a minted id is only a hint: "known" was looked up and found)
        assert committer.stats.lean == 3
        with pytest.raises(Exception, match="unknown branch"):
            committer.append([e(S1, msg("nowhere"), branch_id="nope")]).result(30)
        with pytest.raises(Exception, match="duplicate event_id"):
            committer.append([known | {"event_id": "01DUP"}, known | {"event_id": "01DUP"}]).result(30)
    finally:
        committer.close()
    assert snapshot(lean) == snapshot(plain)


def test_minted_event_ids_are_not_looked_up_and_the_caches_survive_letting_go(tmp_path: Path) -> None:
    owner = FileOwner(tmp_path / "j.duckdb", idle_release=0.05)
    journal = Journal(tmp_path / "j.duckdb", connector=owner)
    sid = journal.create_session({"name": "minted"})
    committer = GroupCommitter(owner, gather=0)
    try:
        first = {"event_id": ids.new_ulid(), "session_id": sid, "timestamp": T0, "payload": msg("a")}
        assert committer.append([first], minted=[first["event_id"]]).result(30) == (2,)
        opens = owner.opens
        owner.release()
        # Another writer appends while the server does not hold the file: the server's caches must not
        # assign its seq again.
        other = Journal(tmp_path / "j.duckdb", idle_release=0)
        other.append([{"event_id": ids.new_ulid(), "session_id": sid, "timestamp": T0, "payload": msg("b")}])
        other.close()
        second = {"event_id": ids.new_ulid(), "session_id": sid, "timestamp": T0, "payload": msg("c")}
        assert committer.append([second], minted=[second["event_id"]]).result(30) == (4,)
        assert owner.opens > opens and committer.stats.lean == 2
    finally:
        committer.close()
        owner.release()
    detail = Journal(tmp_path / "j.duckdb", idle_release=0)
    try:
        assert detail.session(sid).summary.event_count == 4
        assert [e.seq for e in detail.read_events(sid)] == [1, 2, 3, 4]
    finally:
        detail.close()


def refusal(owner: FileOwner, group: list[dict]) -> str:
    with pytest.raises(InvalidEvent) as info:
        general(owner, group)
    return info.value.problem


def test_events_the_gate_refuses_while_parsing_are_refused_alike_when_not_parsed_again(pair) -> None:
    """The lean path skips parsing a server's own JSON text again only where the parse could find nothing
    the envelope check would not: integers beyond 64 bits, infinities, nesting past the limit and oversized
    events are still refused, with the gate's words."""
    (lean, plain), e = pair
    committer = GroupCommitter(lean, gather=0)
    deep: Any = "x"
    for _ in range(120):
        deep = [deep]
    bad = [
        e(S1, msg("big", n=2**64)),
        e(S1, msg("small", n=-(2**63) - 1)),
        e(S1, msg("inf", x=float("inf"))),
        e(S1, msg("deep", nested=deep)),
        e(S1, msg("y" * (4 * 1024 * 1024 + 1))),
        e(S1, {"type": "Message", "role": "user"}),  # the envelope check itself
    ]
    try:
        for event in bad:
            with pytest.raises(InvalidEvent) as info:
                committer.append([event], from_json=True).result(30)
            assert info.value.problem == refusal(plain, [event])
        # control characters are fine, and take the parse again (they are escaped as \u00XX)
        ok = e(S1, msg("bell \x07 and 19 digits 1234567890123456789 and NaN, Infinity as words"))
        assert committer.append([ok], from_json=True).result(30) == general(plain, [ok])
        assert committer.stats.lean == 1
    finally:
        committer.close()
    assert snapshot(lean) == snapshot(plain)


def test_lean_appender_answers_none_for_an_event_the_gate_refuses(tmp_path: Path) -> None:
    owner = FileOwner(tmp_path / "j.duckdb", idle_release=30)
    try:
        lean = LeanAppender()
        with owner.writer() as con:
            assert lean.append(con, owner.generation, ['{"event_id": "x"}']) is None
            assert lean.append(con, owner.generation, ['{"a": 1, "a": 2}']) is None
    finally:
        owner.release()
