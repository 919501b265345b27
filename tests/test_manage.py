"""Session management as journal operations: close, rename (recorded, round-tripping), delete, run figures,
and how a SESSION reference resolves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lago_tui.journal import InvalidEvent, InvalidSpec, Journal, NotFound
from lago_tui.journal.renames import BRANCH_RENAMED, SESSION_RENAMED

T0 = 1_790_000_000_000_000


def ev(sid: str, kind: str, n: int, *, branch: str = "main", run: str | None = None, **fields: Any) -> dict[str, Any]:
    out = {"event_id": f"{sid}-{n:04d}", "session_id": sid, "branch_id": branch, "timestamp": T0 + n * 1_000_000,
           "payload": {"type": kind, **fields}}
    if run:
        out["run_id"] = run
    return out


@pytest.fixture
def j(tmp_path: Path):
    journal = Journal(tmp_path / "journal.duckdb", idle_release=0.2)
    yield journal
    journal.close()


def round_trip(j: Journal, sid: str, tmp_path: Path) -> Journal:
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in j.export(sid)), encoding="utf-8")
    other = Journal(tmp_path / "again.duckdb", idle_release=0.2)
    other.import_file(path)
    return other


def test_close_appends_session_closed_once(j: Journal) -> None:
    sid = j.create_session({"name": "to-close"}, now_us=T0)
    event_id = j.close_session(sid, "finished by hand", now_us=T0 + 5)
    detail = j.session(sid)
    assert detail.summary.closed and detail.branch("main").head_seq == 2
    last = j.get_event(event_id)
    assert (last.kind, last.payload, last.ts) == ("SessionClosed", {"type": "SessionClosed", "reason": "finished by hand"}, T0 + 5)
    with pytest.raises(InvalidSpec, match="already closed"):
        j.close_session(sid)
    assert j.session(sid).branch("main").head_seq == 2
    assert [s.name for s in j.list_sessions("state:closed")] == ["to-close"]


def test_rename_session_is_an_event_that_round_trips(j: Journal, tmp_path: Path) -> None:
    sid = j.create_session({"name": "old-name", "model": "m"})
    j.rename_session(sid, "new name")
    assert j.session(sid).summary.name == "new name"
    assert j.resolve_session("new name") == sid
    with pytest.raises(NotFound):
        j.resolve_session("old-name")
    wire = list(j.export(sid))
    assert wire[-1]["payload"] == {"type": "Custom", "event_type": SESSION_RENAMED,
                                   "data": {"name": "new name", "previous": "old-name"}}
    assert wire[-1]["branch_id"] == "main"
    again = round_trip(j, sid, tmp_path)
    assert again.session(sid).summary.name == "new name"
    again.close()


@pytest.mark.parametrize(("name", "message"), [
    ("", "name is required"), (" padded", "must not start or end with spaces"), ("x" * 121, "too long"),
    ("bell\x07", "control or invisible character"), ("same", "already named same"),
])
def test_rename_session_refuses_bad_names_and_writes_nothing(j: Journal, name: str, message: str) -> None:
    sid = j.create_session({"name": "same"})
    with pytest.raises(InvalidSpec, match=message):
        j.rename_session(sid, name)
    assert j.session(sid).branch("main").head_seq == 1


def test_rename_branch_keeps_names_unique_and_round_trips(j: Journal, tmp_path: Path) -> None:
    sid = j.create_session({"name": "s"})
    j.append([ev(sid, "Message", 1, role="user", content="hi")])
    first = j.create_branch(sid, {"name": "experiment"})
    j.rename_branch(sid, "experiment", "experiment-old")
    second = j.create_branch(sid, {"name": "experiment"})  # the old name is free again
    assert {b.name: b.branch_id for b in j.session(sid).branches} == {
        "main": "main", "experiment-old": first, "experiment": second}
    renamed = [e for e in j.export(sid) if e["payload"].get("event_type") == BRANCH_RENAMED]
    assert [(e["branch_id"], e["payload"]["data"]) for e in renamed] == [
        (first, {"name": "experiment-old", "previous": "experiment"})]
    with pytest.raises(InvalidSpec, match="already exists"):
        j.rename_branch(sid, "experiment-old", "experiment")
    with pytest.raises(InvalidSpec, match="cannot be renamed"):
        j.rename_branch(sid, "main", "trunk")
    with pytest.raises(InvalidSpec, match="renamed main"):
        j.rename_branch(sid, first, "main")
    with pytest.raises(NotFound, match="no branch 'nope'"):
        j.rename_branch(sid, "nope", "x")
    # The whole history imports again in one batch: the creation of the second "experiment" comes after
    # the rename that freed the name.
    again = round_trip(j, sid, tmp_path)
    assert {b.name: b.branch_id for b in again.session(sid).branches} == {
        "main": "main", "experiment-old": first, "experiment": second}
    again.close()


def test_imported_renames_are_checked(j: Journal, tmp_path: Path) -> None:
    sid = "S1"
    base = [ev(sid, "SessionCreated", 0, name="s", config={}),
            ev(sid, "BranchCreated", 1, new_branch_id="B1", fork_point_seq=1, name="one"),
            ev(sid, "BranchCreated", 2, new_branch_id="B2", fork_point_seq=1, name="two")]

    def load(extra: list[dict[str, Any]], name: str) -> None:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in base + extra), encoding="utf-8")
        j.import_file(path)

    bad = [ev(sid, "Custom", 3, branch="B2", event_type=BRANCH_RENAMED, data={"name": "one"})]
    with pytest.raises(InvalidEvent, match=r"bad\.jsonl:4: branch name one is used twice in session S1"):
        load(bad, "bad")
    with pytest.raises(InvalidEvent, match=r"bad2\.jsonl:4: .*needs data.name"):
        load([ev(sid, "Custom", 3, event_type=SESSION_RENAMED, data={"name": 7})], "bad2")
    with pytest.raises(InvalidEvent, match=r"cannot be renamed"):
        load([ev(sid, "Custom", 3, event_type=BRANCH_RENAMED, data={"name": "x"})], "bad3")
    assert j.list_sessions() == []  # all or nothing
    load([ev(sid, "Custom", 3, branch="B1", event_type=BRANCH_RENAMED, data={"name": "uno"}),
          ev(sid, "BranchCreated", 4, new_branch_id="B3", fork_point_seq=1, name="one"),
          ev(sid, "Custom", 5, event_type=SESSION_RENAMED, data={"name": "first"}),
          ev(sid, "Custom", 6, event_type=SESSION_RENAMED, data={"name": "last"})], "good")
    detail = j.session(sid)
    assert detail.summary.name == "last"
    assert sorted(b.name for b in detail.branches) == ["main", "one", "two", "uno"]
    # Later batches are checked against the journal's current names.
    with pytest.raises(InvalidEvent, match="branch name two already exists in session S1"):
        j.append([ev(sid, "Custom", 7, branch="B3", event_type=BRANCH_RENAMED, data={"name": "two"})])


def test_delete_session_removes_everything_of_it_only(j: Journal) -> None:
    keep = j.create_session({"name": "keep"})
    gone = j.create_session({"name": "gone"})
    j.append([ev(gone, "Message", n, role="user", content=f"m{n}") for n in range(1, 6)])
    branch = j.create_branch(gone, {"name": "b", "fork_point_seq": 2})
    j.append([ev(gone, "Message", 10, branch=branch, role="user", content="on b")])
    result = j.delete_session("gone")
    assert result == {"session_id": gone, "name": "gone", "events": 8, "branches": 2}
    assert [s.name for s in j.list_sessions()] == ["keep"]
    with pytest.raises(NotFound):
        j.session(gone)
    with pytest.raises(NotFound):
        j.delete_session(gone)
    assert [e["payload"]["type"] for e in j.export(keep)] == ["SessionCreated"]
    # The ids are free again: the same history can be imported anew.
    j.append([{**ev(gone, "SessionCreated", 0, name="gone", config={})}])
    assert j.session(gone).summary.name == "gone"


def test_runs_and_steps_figures(j: Journal) -> None:
    sid = j.create_session({"name": "runs"}, now_us=T0)
    r1, r2 = "RUN-1", "RUN-2"
    usage = {"prompt_tokens": 10, "completion_tokens": 4}
    j.append([
        ev(sid, "RunStarted", 1, run=r1),
        ev(sid, "StepStarted", 2, run=r1, index=0),
        ev(sid, "Message", 3, run=r1, role="assistant", content="a", token_usage=usage),
        ev(sid, "ToolCallRequested", 4, run=r1, call_id="c1", tool_name="bash"),
        ev(sid, "ToolCallFailed", 6, run=r1, call_id="c1", tool_name="bash", error="no"),
        ev(sid, "StepFinished", 7, run=r1, index=0, stop_reason="tool_use"),
        ev(sid, "Message", 8, run=r1, role="user", content="between steps"),
        ev(sid, "StepStarted", 9, run=r1, index=1),
        ev(sid, "Message", 12, run=r1, role="assistant", content="b", token_usage=usage),
        ev(sid, "RunFinished", 13, run=r1, reason="completed", usage={"prompt_tokens": 99, "completion_tokens": 99}),
        ev(sid, "Message", 20, role="user", content="no run"),
        ev(sid, "RunStarted", 21, run=r2),
        ev(sid, "RunErrored", 25, run=r2, error="crash"),
    ])
    runs = j.runs(sid)
    assert [(r.run_id, r.status, r.reason) for r in runs] == [(r1, "finished", "completed"), (r2, "errored", "crash")]
    one, two = runs
    assert (one.events, one.tokens_in, one.tokens_out, one.tool_calls, one.failures) == (10, 20, 8, 1, 1)
    assert (one.started_ts, one.wall_time_us, one.branch_id, one.seq) == (T0 + 1_000_000, 12_000_000, "main", 2)
    assert [(s.index, s.events, s.tokens_out, s.tool_calls, s.failures, s.finished, s.stop_reason, s.wall_time_us)
            for s in one.steps] == [(0, 5, 4, 1, 1, True, "tool_use", 5_000_000), (1, 2, 4, 0, 0, False, None, 3_000_000)]
    assert (two.events, two.failures, two.steps, two.wall_time_us) == (2, 1, (), 4_000_000)
    # A run that reported tokens only in RunFinished counts those.
    j.append([ev(sid, "RunStarted", 30, run="RUN-3"), ev(sid, "RunFinished", 31, run="RUN-3", usage=usage)])
    three = j.runs(sid)[-1]
    assert (three.run_id, three.tokens_in, three.tokens_out, three.status) == ("RUN-3", 10, 4, "finished")
    # A branch's runs: inherited events up to the fork point, then its own.
    b = j.create_branch(sid, {"name": "b", "fork_point_seq": 4})
    j.append([ev(sid, "StepFinished", 40, branch=b, run=r1, index=0)])
    (forked,) = j.runs(sid, "b")
    assert (forked.run_id, forked.events, forked.status, [s.events for s in forked.steps]) == (r1, 4, "open", [3])
    assert json.loads(json.dumps(forked.to_json())) == type(forked).from_json(forked.to_json()).to_json()
    with pytest.raises(NotFound):
        j.runs(sid, "nope")


def test_session_references_prefixes_and_ambiguity(j: Journal) -> None:
    a = j.create_session({"name": "deploy-api"}, now_us=T0)
    b = j.create_session({"name": "deploy-web"}, now_us=T0 + 60_000_000)
    c = j.create_session({"name": "twin"}, now_us=T0)
    d = j.create_session({"name": "twin"}, now_us=T0 + 1)
    assert j.resolve_session("deploy-a") == a  # a unique name prefix
    assert j.resolve_session(b[:20]) == b
    with pytest.raises(NotFound) as err:
        j.resolve_session("deploy")
    assert str(err.value) == (
        f"session name prefix 'deploy' is ambiguous: {a} (deploy-api, created 2026-09-21 14:13 UTC), "
        f"{b} (deploy-web, created 2026-09-21 14:14 UTC); use an id")
    with pytest.raises(NotFound, match=f"session name 'twin' is ambiguous: {c} .*, {d} "):
        j.resolve_session("twin")
    for n in range(7):
        j.create_session({"name": f"many-{n}"})
    with pytest.raises(NotFound, match=r"ambiguous: .* and 2 more; use an id"):
        j.resolve_session("many")
