"""State at an event (journal.replay): equal to a brute-force fold at every seq of every branch of generated
branching sessions, whatever order the states are asked in; tokens counted as the session totals count them;
the two patch formats against their RFCs' examples."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lago_tui.journal import InvalidSpec, Journal, NotFound, StateAt
from lago_tui.journal import replay as replay_module
from lago_tui.journal.patch import PatchError, apply_json_patch, json_equal, merge_patch

from analysis_sessions import SessionWriter, oracle_state, random_session, timeline_events

SEEDS = (1, 2, 3, 4)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("analysis-state") / "journal.duckdb"
    with Journal(path) as j:
        sessions = [random_session(j, seed) for seed in SEEDS]
    return path, sessions


def _expected(journal: Journal, session: str) -> dict[tuple[str, int], dict]:
    """(branch, seq) -> the oracle's state, for every seq 0..head of every branch."""
    out = {}
    detail = journal.session(session)
    for b in detail.branches:
        events = timeline_events(journal, session, b.branch_id)
        own = [i for i, ev in enumerate(events) if ev["branch_id"] == b.branch_id]
        inherited = len(events) - len(own)
        for seq in range(b.head_seq + 1):
            out[(b.branch_id, seq)] = oracle_state(events[: inherited + seq])
    return out


def _as_oracle(state: StateAt) -> dict:
    got = state.to_json()
    return {k: got[k] for k in ("messages", "files", "tokens", "tool_calls", "runs", "state")}


@pytest.mark.parametrize("order", ["forward", "random"])
def test_state_at_every_seq_equals_the_brute_force_fold(
    generated: tuple[Path, list[str]], order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small checkpoint and extension steps, so every path of the index is taken on small sessions.
    monkeypatch.setattr(replay_module, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(replay_module, "EXTEND_MIN", 2)
    path, sessions = generated
    with Journal(path) as j:
        for session in sessions:
            expected = _expected(j, session)
            keys = sorted(expected)
            if order == "random":
                random.Random(session).shuffle(keys)
            for branch_id, seq in keys:
                got = j.state_at(session, branch_id, seq)
                assert (got.session_id, got.branch_id, got.at_seq) == (session, branch_id, seq)
                assert _as_oracle(got) == expected[(branch_id, seq)], (session, branch_id, seq)


def test_generated_sessions_exercise_every_rule(generated: tuple[Path, list[str]]) -> None:
    """The oracle comparison above means something only if the sessions hold the awkward cases."""
    path, sessions = generated
    with Journal(path) as j:
        statuses, runs, patched, renamed, nested = set(), set(), False, False, False
        for session in sessions:
            detail = j.session(session)
            nested |= any(len(detail.lineage(b.branch_id)) > 2 for b in detail.branches)
            for b in detail.branches:
                s = j.state_at(session, b.branch_id)
                statuses |= {c.status for c in s.tool_calls}
                runs |= {r.status for r in s.runs}
                patched |= s.state not in ({}, None)
                renamed |= any(ev["payload"]["type"] == "FileRename" for ev in timeline_events(j, session, b.branch_id))
    assert statuses == {"pending", "ok", "error", "failed"}
    assert runs == {"running", "finished", "errored"}
    assert patched and renamed and nested


def test_tokens_are_the_session_totals_at_the_head_of_a_single_branch_session(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.duckdb") as j:
        w = SessionWriter(j, "tokens", "t")
        # run r1: messages report usage, RunFinished too (same tokens): counted once, from the messages
        w.emit("main", {"type": "RunStarted"}, run_id="r1")
        w.emit("main", {"type": "Message", "role": "assistant", "content": "a",
                        "token_usage": {"prompt_tokens": 10, "completion_tokens": 3}}, run_id="r1")
        w.emit("main", {"type": "RunFinished", "usage": {"prompt_tokens": 10, "completion_tokens": 3}}, run_id="r1")
        # run r2: only the RunFinished reports usage
        w.emit("main", {"type": "RunStarted"}, run_id="r2")
        w.emit("main", {"type": "Message", "role": "assistant", "content": "b"}, run_id="r2")
        w.emit("main", {"type": "RunFinished", "usage": {"prompt_tokens": 7, "completion_tokens": 2}}, run_id="r2")
        w.emit("main", {"type": "Message", "role": "user", "content": "c",
                        "token_usage": {"prompt_tokens": 1, "completion_tokens": 1}})
        w.flush()
        state = j.state_at(w.session_id)
        totals = j.session(w.session_id).totals
        assert (state.tokens_in, state.tokens_out) == (totals.tokens_in, totals.tokens_out) == (18, 6)
        assert (j.state_at(w.session_id, at_seq=3).tokens_in, j.state_at(w.session_id, at_seq=3).tokens_out) == (10, 3)
        assert [(r.run_id, r.status) for r in state.runs] == [("r1", "finished"), ("r2", "finished")]
        assert [(r.run_id, r.status) for r in j.state_at(w.session_id, at_seq=5).runs] == [
            ("r1", "finished"), ("r2", "running")]


def test_state_follows_appends_and_inherited_points(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.duckdb") as j:
        w = SessionWriter(j, "live", "l")
        w.emit("main", {"type": "FileWrite", "path": "x", "blob_hash": "h1", "size_bytes": 1})
        w.emit("main", {"type": "ToolCallRequested", "call_id": "c1", "tool_name": "t"})
        child = w.branch("main", "child", 3)
        w.emit(child, {"type": "ToolCallCompleted", "call_id": "c1", "tool_name": "t", "duration_ms": 1, "status": "ok"})
        w.flush()
        assert [c.status for c in j.state_at(w.session_id, "child").tool_calls] == ["ok"]
        assert [c.status for c in j.state_at(w.session_id, "main").tool_calls] == ["pending"]
        assert j.state_at(w.session_id, "child", 0).tool_calls[0].status == "pending"  # at the fork point
        w.emit("main", {"type": "FileDelete", "path": "x"})  # after the fork: the child never sees it
        w.emit(child, {"type": "FileRename", "old_path": "x", "new_path": "y"})
        w.flush()
        assert set(j.state_at(w.session_id, "main").files) == set()
        assert {p: f.blob_hash for p, f in j.state_at(w.session_id, "child").files.items()} == {"y": "h1"}
        assert j.state_at(w.session_id, "child", 1).files["x"].size_bytes == 1


def test_bad_requests_are_refused(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.duckdb") as j:
        w = SessionWriter(j, "bad", "b")
        w.flush()
        with pytest.raises(InvalidSpec, match="outside branch main"):
            j.state_at(w.session_id, "main", 2)
        with pytest.raises(InvalidSpec):
            j.state_at(w.session_id, "main", -1)
        with pytest.raises(NotFound, match="no branch"):
            j.state_at(w.session_id, "nope")
        with pytest.raises(NotFound):
            j.state_at("no-such-session")


def test_state_round_trips_through_json(generated: tuple[Path, list[str]]) -> None:
    path, sessions = generated
    with Journal(path) as j:
        state = j.state_at(sessions[0])
    data = state.to_json()
    assert list(data) == ["session_id", "branch_id", "at_seq", "messages", "files", "tokens", "tool_calls", "runs",
                          "state"]
    assert StateAt.from_json(data) == state


# ---------------------------------------------------------------------------------------------- patches


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386_examples(target, patch, result) -> None:  # noqa: ANN001
    before = repr(target)
    assert merge_patch(target, patch) == result
    assert repr(target) == before  # never modified


@pytest.mark.parametrize(
    ("doc", "ops", "result"),
    [  # RFC 6902, appendix A
        ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
        ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
        ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo", "foo": "bar"}),
        ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
         [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
         {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
        ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
         {"foo": ["all", "cows", "eat", "grass"]}),
        ({"baz": "qux", "foo": ["a", 2, "c"]},
         [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
         {"baz": "qux", "foo": ["a", 2, "c"]}),
        ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
         {"foo": "bar", "child": {"grandchild": {}}}),
        ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}], {"foo": ["bar", ["abc", "def"]]}),
        ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
        ({"a": 1}, [{"op": "copy", "from": "/a", "path": "/b"}], {"a": 1, "b": 1}),
        ({"a": 1}, [{"op": "replace", "path": "", "value": [1]}], [1]),
    ],
)
def test_json_patch_rfc6902_examples(doc, ops, result) -> None:  # noqa: ANN001
    before = repr(doc)
    assert apply_json_patch(doc, ops) == result
    assert repr(doc) == before


@pytest.mark.parametrize(
    ("doc", "ops"),
    [
        ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),
        ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),
        ({"foo": 1}, [{"op": "test", "path": "/foo", "value": True}]),
        ({"foo": [1]}, [{"op": "add", "path": "/foo/2", "value": 0}]),
        ({"foo": [1]}, [{"op": "remove", "path": "/foo/01"}]),
        ({"foo": {}}, [{"op": "move", "from": "/foo", "path": "/foo/bar"}]),
        ({}, [{"op": "replace", "path": "/x", "value": 1}]),
        ({}, [{"op": "nope", "path": "/x"}]),
        ({}, [{"op": "add", "path": "x", "value": 1}]),
        ({}, [{"op": "add", "path": "/x"}]),
        ({}, ["not an object"]),
    ],
)
def test_json_patch_failures_apply_nothing(doc, ops) -> None:  # noqa: ANN001
    with pytest.raises(PatchError):
        apply_json_patch(doc, ops)


def test_json_equality_is_json_not_python() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1) and not json_equal(0, False) and not json_equal("1", 1)
    assert not json_equal([1], [1, 2]) and not json_equal({"a": 1}, {"b": 1})
