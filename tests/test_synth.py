"""The synthetic journal generator: deterministic, valid, and of the promised shape (tiny sizes, fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lago_tui import synth
from lago_tui.journal import Journal

TINY = {"sessions": 20, "events": 2000, "big": 500, "seed": 11, "chunk": 700}
FAMILIES = {
    "SessionCreated", "SessionClosed", "BranchCreated", "RunStarted", "RunFinished", "StepStarted", "StepFinished",
    "Message", "ToolCallRequested", "ToolCallStarted", "ToolCallCompleted", "ToolCallFailed", "FileWrite",
    "PolicyEvaluated", "ApprovalRequested", "ApprovalResolved",
}


def _lines(tmp: Path, **kw) -> list[str]:
    _, files = synth.generate_files(tmp, **kw)
    return [line for path in files for line in path.read_text(encoding="utf-8").splitlines()]


def test_same_seed_same_events_other_seed_other_events(tmp_path: Path) -> None:
    a = _lines(tmp_path / "a", **TINY)
    b = _lines(tmp_path / "b", **TINY)
    assert a == b
    assert len(a) == TINY["events"]
    c = _lines(tmp_path / "c", **{**TINY, "seed": 12})
    assert [json.loads(x)["event_id"] for x in c[:50]] != [json.loads(x)["event_id"] for x in a[:50]]


def test_wire_shape(tmp_path: Path) -> None:
    events = [json.loads(x) for x in _lines(tmp_path, **TINY)]
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    first: dict[str, dict] = {}
    for e in events:
        first.setdefault(e["session_id"], e)
        assert e["seq"] == 0 and isinstance(e["timestamp"], int) and len(e["event_id"]) == 26
    assert len(first) == TINY["sessions"]
    for e in first.values():
        assert e["payload"]["type"] == "SessionCreated"
        assert e["payload"]["name"] and e["payload"]["config"]["model"] and e["payload"]["config"]["params"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("synth") / "tiny.duckdb"
    manifest = synth.build(out, **TINY)
    journal = Journal(out, idle_release=0.2)
    yield journal, manifest
    journal.close()


def test_imports_every_event(built) -> None:
    journal, m = built
    sessions = journal.list_sessions()
    assert len(sessions) == TINY["sessions"]
    assert sum(s.event_count for s in sessions) == TINY["events"]
    assert synth.load_manifest(journal.path).big_session_id == m.big_session_id


def test_big_session_has_nested_branches_forked_mid_parent(built) -> None:
    journal, m = built
    detail = journal.session(m.big_session_id)
    assert detail.summary.event_count == TINY["big"]
    deepest = detail.branch(m.deepest_branch)
    assert deepest is not None
    lineage = detail.lineage(deepest.branch_id)
    assert len(lineage) >= 5  # main > explore > l2 > l3 > l4 (> l5)
    for parent, child in zip(lineage, lineage[1:]):
        assert child.parent_branch_id == parent.branch_id
        assert 0 < child.fork_point_seq <= parent.head_seq
    timeline = journal.timeline(m.big_session_id, m.deepest_branch)
    assert timeline.length == sum(seg.length for seg in timeline.segments) > deepest.head_seq
    assert timeline.find(synth.BIG_NEEDLE, 0) is not None


def test_all_families_present(built) -> None:
    journal, m = built
    kinds: dict[str, int] = {}
    for s in journal.list_sessions():
        for e in journal.export(s.session_id):
            kinds[e["payload"]["type"]] = kinds.get(e["payload"]["type"], 0) + 1
    assert FAMILIES <= set(kinds)
    assert synth.UNKNOWN_KIND in kinds or "Custom" in kinds
    assert kinds == m.kinds
    assert any(h.session_id for h in journal.search(synth.RARE_WORD))


def test_bench_help_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "lago_tui.bench", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--quick" in proc.stdout
