"""Journal.append's lean path (journal/append_path.py: append_plain) against the general one (ingest): the
same batches appended through ``Journal.append`` into two journals that start identical, one with the lean
path and one without, must answer the same seqs and errors and leave identical sessions, branches and
events; and since nothing is cached across calls, a write by another process between two appends is seen."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_server_lean_append import S1, S2, SIDE, T0, Events, groups, msg, setup_events

import lago_tui.journal.append_path as append_path
from lago_tui.journal import InvalidEvent, Journal

REPO = Path(__file__).resolve().parents[1]


class Paths:
    """Counts the batches the lean path took; ``off`` makes it decline everything (the general path)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.off = False
        self.lean = 0
        real = append_path.append_plain

        def spy(con, rows):  # noqa: ANN001, ANN202
            if self.off:
                return None
            result = real(con, rows)
            self.lean += result is not None
            return result

        monkeypatch.setattr(append_path, "append_plain", spy)


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    paths = Paths(monkeypatch)
    lean, general = Journal(tmp_path / "lean.duckdb", idle_release=0), Journal(tmp_path / "general.duckdb",
                                                                                 idle_release=0)
    e = Events()
    start = setup_events(e)
    lean.append(start)
    paths.off = True
    general.append(start)
    paths.off = False
    yield lean, general, paths, e
    lean.close()
    general.close()


def both(pair, batch: list[dict]) -> tuple[int, ...]:  # noqa: ANN001
    """Append ``batch`` to both journals (lean allowed, lean off); the seqs, which must agree."""
    lean, general, paths, _ = pair
    got = lean.append(batch)
    paths.off = True
    try:
        want = general.append(batch)
    finally:
        paths.off = False
    assert got == want
    return got.seqs


def refused(pair, batch: list[dict]) -> tuple[str, str, int | None]:  # noqa: ANN001
    """Append ``batch`` to both; both must refuse it alike. The refusal (location, problem, index)."""
    lean, general, paths, _ = pair
    with pytest.raises(InvalidEvent) as a:
        lean.append(batch)
    paths.off = True
    try:
        with pytest.raises(InvalidEvent) as b:
            general.append(batch)
    finally:
        paths.off = False
    assert (a.value.location, a.value.problem, a.value.index) == (b.value.location, b.value.problem, b.value.index)
    return a.value.location, a.value.problem, a.value.index


def snapshot(journal: Journal) -> dict[str, list[tuple]]:
    with journal._conn.reader() as con:
        return {
            "sessions": con.execute("SELECT * FROM sessions ORDER BY session_id").fetchall(),
            "branches": con.execute("SELECT * FROM branches ORDER BY session_id, branch_id").fetchall(),
            "events": con.execute("SELECT * FROM events ORDER BY ord").fetchall(),
        }


def test_journal_append_stores_the_same_journal_with_and_without_the_lean_path(pair) -> None:  # noqa: ANN001
    lean, general, paths, e = pair
    batches = groups(e)
    for batch in batches:
        both(pair, batch)
    assert paths.lean == len(batches), "every batch here is plain: the lean path takes them"
    got, want = snapshot(lean), snapshot(general)
    assert got == want
    one = {row[0]: row for row in got["sessions"]}[S1]
    assert one[7] > 0 and one[8] > 0  # tokens counted: the comparison is not of zeros


def test_what_the_lean_path_declines_lands_identically_and_is_refused_alike(pair) -> None:  # noqa: ANN001
    lean, general, paths, e = pair
    known = e(S1, msg("known"))
    assert both(pair, [known]) == (4,)  # after SessionCreated, a message, BranchCreated
    assert paths.lean == 1
    # A repeat (skipped, answers its stored seq), a rename, an unknown kind, an unchecked field, a fork:
    # all the general path's, in the same transaction.
    assert both(pair, [known, e(S1, msg("after a repeat"))]) == (4, 5)
    both(pair, [e(S1, {"type": "Custom", "event_type": "lago-tui.session.renamed", "data": {"name": "renamed"}})])
    both(pair, [e(S1, {"type": "Nobody.Knows", "call_id": 5, "x": [1.5]})])
    both(pair, [e(S1, msg("undeclared", call_id={"a": 1}))])
    both(pair, [e(S1, {"type": "BranchCreated", "new_branch_id": "01LEANSECONDBRANCH00000000",
                       "fork_point_seq": 1, "name": "second"})])
    assert paths.lean == 1
    both(pair, [e(S2, msg("and on"), run_id="r9", ts=T0), e(S1, msg("side"), branch_id=SIDE)])
    assert paths.lean == 2
    before = snapshot(lean)
    # All or nothing: a plain event before a bad one is not written either; the errors are the general path's.
    assert refused(pair, [e(S1, msg("fine")), e(S1, msg("nowhere"), branch_id="nope")])[1:] == (
        "unknown branch nope in session " + S1, 1)
    assert "unknown session" in refused(pair, [e(S1, msg("fine")), e("01NOSUCHSESSION", msg("x"))])[1]
    assert "duplicate event_id" in refused(pair, [known | {"event_id": "01DUP"}, known | {"event_id": "01DUP"}])[1]
    assert "different content" in refused(pair, [e(S1, msg("fine")), known | {"payload": msg("changed")}])[1]
    assert snapshot(lean) == before
    assert snapshot(lean) == snapshot(general)


WRITER = """
    import sys
    from lago_tui.journal import Journal
    path, session, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    journal = Journal(path, idle_release=0)
    result = journal.append([{"event_id": f"01OTHERPROCESS{i:012d}", "session_id": session,
                              "timestamp": 1_700_000_000_000_000 + i,
                              "payload": {"type": "Message", "role": "user", "content": "other",
                                          "token_usage": {"prompt_tokens": 10}}, "run_id": "r"}
                             for i in range(n)])
    journal.close()
    print(*result.seqs)
"""


def test_a_write_by_another_process_between_two_appends_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "j.duckdb"
    journal = Journal(path, idle_release=0)
    try:
        sid = journal.create_session({"name": "shared"})
        first = journal.append([{"event_id": f"01FIRST{i:019d}", "session_id": sid, "timestamp": T0 + i, "run_id": "r",
                                 "payload": msg("mine", token_usage={"prompt_tokens": 1, "completion_tokens": 2})}
                                for i in range(3)])
        assert first.seqs == (2, 3, 4)
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        other = subprocess.run([sys.executable, "-c", textwrap.dedent(WRITER), str(path), sid, "2"],
                               capture_output=True, text=True, env=env, timeout=120)
        assert other.returncode == 0, other.stderr
        assert other.stdout.split() == ["5", "6"]
        second = journal.append([{"event_id": f"01SECOND{i:018d}", "session_id": sid, "timestamp": T0 + 10 + i,
                                  "run_id": "r", "payload": msg("mine again", token_usage={"prompt_tokens": 100})}
                                 for i in range(2)])
        assert second.seqs == (7, 8)
        detail = journal.session(sid)
        assert detail.summary.event_count == 8
        # run r's messages: 3 x (1 in, 2 out), 2 x 10 in from the other process, 2 x 100 in
        assert (detail.summary.tokens_in, detail.summary.tokens_out) == (223, 6)
        with journal._conn.reader() as con:
            ords = [r[0] for r in con.execute("SELECT ord FROM events ORDER BY seq").fetchall()]
        assert ords == sorted(set(ords)) and len(ords) == 8  # one write order, no ord given twice
    finally:
        journal.close()


def test_a_session_near_the_64_bit_token_cap_takes_the_general_path_and_is_capped(tmp_path: Path) -> None:
    """Totals near 2^63 (a journal written before the u32 rule): adding in 64 bits would overflow, so the
    lean path leaves the batch to the general one (128-bit sums, capped), through Journal.append and the
    server's committer alike."""
    import duckdb

    from lago_tui.journal.owner import FileOwner, GroupCommitter

    path = tmp_path / "j.duckdb"
    with Journal(path, idle_release=0) as journal:
        sid = journal.create_session({"name": "near"})
        journal.append([{"event_id": "N1", "session_id": sid, "timestamp": T0, "payload": msg(
            "c", token_usage={"prompt_tokens": 5, "completion_tokens": 5})}])
    con = duckdb.connect(str(path))
    con.execute("UPDATE events SET tokens_out = 9223372036854775000 WHERE event_id = 'N1'")
    con.execute("UPDATE sessions SET tokens_out = 9223372036854775000 WHERE session_id = ?", [sid])
    con.close()
    with Journal(path, idle_release=0) as journal:
        assert journal.append([{"event_id": "N2", "session_id": sid, "timestamp": T0 + 1, "payload": msg(
            "c", token_usage={"completion_tokens": 4_000})}]).seqs == (3,)
        assert journal.session(sid).summary.tokens_out == 2**63 - 1
    owner = FileOwner(path, idle_release=30)
    committer = GroupCommitter(owner, gather=0)
    try:
        assert committer.append([{"event_id": "N3", "session_id": sid, "timestamp": T0 + 2, "payload": msg(
            "c", token_usage={"completion_tokens": 4_000})}]).result(30) == (4,)
        assert committer.stats.lean == 0
    finally:
        committer.close()
        owner.release()
    with Journal(path, idle_release=0) as journal:
        assert journal.session(sid).summary.tokens_out == 2**63 - 1
