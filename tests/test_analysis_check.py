"""The integrity check (journal.integrity): each code at exactly the crafted defect, nothing on sound
sessions, and a live agent's last pending call is not a problem until the session closes or moves on."""

from __future__ import annotations

from pathlib import Path

import pytest

from lago_tui.journal import Journal, Problem
from lago_tui.journal.analysis_views import PROBLEM_CODES
from lago_tui.paths import demo_source

from analysis_sessions import SessionWriter


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str, str, int]]]:
    """A closed session with one of each defect; returns (journal, code -> (branch, event id, seq))."""
    path = tmp_path_factory.mktemp("analysis-check") / "journal.duckdb"
    expect: dict[str, list[tuple[str, int]]] = {}
    with Journal(path) as j:
        w = SessionWriter(j, "defects", "d")

        def at(code: str, branch: str) -> None:
            expect.setdefault(code, []).append((branch, w.heads[branch]))

        w.emit("main", {"type": "RunStarted"}, run_id="r1")
        at("unfinished_run", "main")
        w.emit("main", {"type": "ToolCallRequested", "call_id": "c1", "tool_name": "shell"}, run_id="r1")
        at("unfinished_tool_call", "main")
        w.emit("main", {"type": "ToolCallCompleted", "call_id": "c404", "tool_name": "shell", "duration_ms": 1,
                        "status": "ok"}, run_id="r1")
        at("orphan_tool_result", "main")
        w.emit("main", {"type": "Message", "role": "user", "content": "x"}, parent_id="ghost")
        at("dangling_parent", "main")
        w.emit("main", {"type": "Message", "role": "user", "content": "late"}, ts=w.ts - 10_000_000)
        at("time_backwards", "main")
        w.emit("main", {"type": "ToolCallRequested", "call_id": "c2", "tool_name": "read"})
        child = w.branch("main", "child", w.heads["main"])  # forks between c2's request and its result
        w.emit("main", {"type": "ToolCallCompleted", "call_id": "c2", "tool_name": "read", "duration_ms": 1,
                        "status": "ok"})
        w.emit(child, {"type": "ToolCallCompleted", "call_id": "c2", "tool_name": "read", "duration_ms": 1,
                       "status": "ok"})  # answers the inherited request: fine
        w.emit("main", {"type": "ToolCallRequested", "call_id": "c3", "tool_name": "read"})  # after the fork
        w.emit("main", {"type": "ToolCallFailed", "call_id": "c3", "tool_name": "read", "error": "no"})
        w.emit(child, {"type": "ToolCallFailed", "call_id": "c3", "tool_name": "read", "error": "no"})
        at("orphan_tool_result", child)
        w.emit("main", {"type": "BranchMerged", "source_branch_id": "nobranch", "merge_seq": 1})
        at("unknown_merge_source", "main")
        w.emit("main", {"type": "BranchMerged", "source_branch_id": child, "merge_seq": 99})
        at("merge_past_head", "main")
        w.emit("main", {"type": "BranchMerged", "source_branch_id": child, "merge_seq": 2})  # sound
        w.emit("main", {"type": "StatePatched", "patch": {"plan": ["a"]}})
        w.emit(child, {"type": "StatePatched", "patch": [{"op": "replace", "path": "/plan/0", "value": "b"}]})
        at("bad_state_patch", child)  # the child forked before the plan existed
        w.emit("main", {"type": "StatePatched", "patch": [{"op": "replace", "path": "/plan/0", "value": "b"}]})
        w.emit("main", {"type": "StatePatched", "patch": 5})
        at("bad_state_patch", "main")
        w.emit("main", {"type": "RunFinished"}, run_id="r2")  # a run that ends without a start is no problem
        w.emit("main", {"type": "SessionClosed", "reason": "done"})
        w.flush()
        ids = {}
        for code, places in expect.items():
            for branch, seq in places:
                ev = j.timeline(w.session_id, branch).window(0, 10_000)
                event = next(e for e in ev if e.branch_id == branch and e.seq == seq)
                ids.setdefault(code, []).append((branch, event.event_id, seq))
        sound = SessionWriter(j, "sound", "s")
        sound.emit("main", {"type": "RunStarted"}, run_id="r")
        sound.emit("main", {"type": "ToolCallRequested", "call_id": "k", "tool_name": "t"}, run_id="r")
        sound.emit("main", {"type": "ToolCallCompleted", "call_id": "k", "tool_name": "t", "duration_ms": 1,
                            "status": "error"}, run_id="r")
        sound.emit("main", {"type": "RunErrored", "error": "tool failed"}, run_id="r")
        sound.emit("main", {"type": "SessionClosed"})
        sound.flush()
    return path, ids, w.session_id, sound.session_id


def test_each_code_at_its_defect_and_nowhere_else(crafted) -> None:  # noqa: ANN001
    path, ids, session, sound = crafted
    with Journal(path) as j:
        found = j.problems(session)
        assert j.problems(sound) == []
        assert j.problems() == found  # all sessions: the sound one adds nothing
    got = sorted((p.code, p.branch_id, p.event_id, p.seq) for p in found)
    want = sorted((code, b, e, s) for code, places in ids.items() for b, e, s in places)
    assert got == want
    assert {p.code for p in found} == set(PROBLEM_CODES)
    for p in found:
        assert p.session_id == session and p.message
    messages = {p.code: p.message for p in found}
    assert "c1" in messages["unfinished_tool_call"] and "session is closed" in messages["unfinished_tool_call"]
    assert "ghost" in messages["dangling_parent"]
    assert "nobranch" in messages["unknown_merge_source"]
    assert Problem.from_json(found[0].to_json()) == found[0]
    assert list(found[0].to_json()) == ["session_id", "branch_id", "seq", "event_id", "code", "message"]


def test_a_live_agents_pending_work_is_flagged_only_once_it_moved_on(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.duckdb") as j:
        w = SessionWriter(j, "live", "l")
        w.emit("main", {"type": "RunStarted"}, run_id="r1")
        w.emit("main", {"type": "ToolCallRequested", "call_id": "c1", "tool_name": "t"}, run_id="r1")
        w.flush()
        assert j.problems(w.session_id) == []
        other = w.branch("main", "other", 3)
        w.emit(other, {"type": "RunStarted"}, run_id="r2")  # another branch moving on changes nothing here
        w.flush()
        assert j.problems(w.session_id) == []
        w.emit("main", {"type": "RunStarted"}, run_id="r3")
        w.flush()
        found = {(p.code, p.seq) for p in j.problems(w.session_id)}
        assert found == {("unfinished_run", 2), ("unfinished_tool_call", 3)}
        assert all("later run started at seq 5" in p.message for p in j.problems(w.session_id))


def test_the_demo_journal_is_sound(tmp_path: Path) -> None:
    with Journal(tmp_path / "demo.duckdb") as j:
        j.import_file(demo_source())
        assert j.problems() == []
    with Journal(tmp_path / "empty.duckdb") as j:
        assert j.problems() == []
