"""Comparing branches (journal.compare): alignment invariants and optimality on random sequences, and on
generated branching sessions the fork, both sides' events and the totals against brute-force readings."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from lago_tui.journal import Comparison, Journal, NotFound
from lago_tui.journal import compare as compare_module
from lago_tui.journal.compare import CHANGED, SAME, align, fork_of

from analysis_sessions import SessionWriter, random_session, timeline_events


def _keys(r: random.Random, n: int, alphabet: int, coarse_of: dict[int, int]) -> tuple[list[int], list[int]]:
    fine = [r.randrange(alphabet) for _ in range(n)]
    return fine, [coarse_of[f] for f in fine]


def _check_invariants(rows, a_fine, a_coarse, b_fine, b_coarse) -> int:  # noqa: ANN001
    """Every event once, in order; statuses true to the keys. Returns the alignment's score."""
    lefts = [i for _, i, _ in rows if i is not None]
    rights = [j for _, _, j in rows if j is not None]
    assert lefts == list(range(len(a_fine)))
    assert rights == list(range(len(b_fine)))
    score = 0
    for status, i, j in rows:
        if status == "same":
            assert a_fine[i] == b_fine[j]
            score += SAME
        elif status == "changed":
            assert a_coarse[i] == b_coarse[j] and a_fine[i] != b_fine[j]
            score += CHANGED
        elif status == "left":
            assert j is None and i is not None
        else:
            assert status == "right" and i is None and j is not None
    return score


def _best_score(a_fine, a_coarse, b_fine, b_coarse) -> int:  # noqa: ANN001
    n, m = len(a_fine), len(b_fine)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n):
        for j in range(m):
            pair = -1
            if a_coarse[i] == b_coarse[j]:
                pair = best[i][j] + (SAME if a_fine[i] == b_fine[j] else CHANGED)
            best[i + 1][j + 1] = max(best[i][j + 1], best[i + 1][j], pair)
    return best[n][m]


def test_small_alignments_are_optimal() -> None:
    r = random.Random(5)
    for case in range(400):
        alphabet = r.randint(2, 12)
        coarse_of = {f: f % r.randint(1, 4) for f in range(alphabet)}
        a = _keys(r, r.randint(0, 14), alphabet, coarse_of)
        b = _keys(r, r.randint(0, 14), alphabet, coarse_of)
        rows = align(a[0], a[1], b[0], b[1])
        assert _check_invariants(rows, a[0], a[1], b[0], b[1]) == _best_score(a[0], a[1], b[0], b[1]), case


@pytest.mark.parametrize("shape", ["edited copy", "unrelated", "repetitive", "one side empty"])
def test_large_alignments_keep_the_invariants(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    r = random.Random(shape)
    monkeypatch.setattr(compare_module, "DP_CELLS", 400)  # so the greedy walk is taken at this size
    coarse_of = {f: f % 7 for f in range(100_000)}
    if shape == "edited copy":
        a_fine = [r.randrange(100_000) for _ in range(3000)]
        b_fine = []
        for f in a_fine:
            roll = r.random()
            if roll < 0.05:
                continue
            b_fine.append(f if roll < 0.85 else (f + 7 * r.randint(1, 9)) % 100_000)  # changed: same coarse
            if r.random() < 0.03:
                b_fine.append(r.randrange(100_000))
    elif shape == "unrelated":
        a_fine = [r.randrange(100_000) for _ in range(3000)]
        b_fine = [r.randrange(100_000) for _ in range(3000)]
    elif shape == "repetitive":
        a_fine = [r.randrange(5) for _ in range(3000)]
        b_fine = [r.randrange(5) for _ in range(2500)]
    else:
        a_fine, b_fine = [r.randrange(100) for _ in range(500)], []
    a_coarse, b_coarse = [coarse_of[f] for f in a_fine], [coarse_of[f] for f in b_fine]
    rows = align(a_fine, a_coarse, b_fine, b_coarse)
    _check_invariants(rows, a_fine, a_coarse, b_fine, b_coarse)
    statuses = {s for s, _, _ in rows}
    if shape == "edited copy":
        same = sum(1 for s, _, _ in rows if s == "same")
        assert same >= 0.75 * len(a_fine) and "changed" in statuses
    if shape == "unrelated":
        assert "changed" in statuses  # paired on coarse keys by the greedy walk


def test_fork_of_lineages() -> None:
    main10 = [("main", 10)]
    assert fork_of(main10, main10) == ("main", 10, [], [])
    child = [("main", 4), ("c", 3)]
    assert fork_of(main10, child) == ("main", 4, [("main", 4, 10)], [("c", 0, 3)])
    assert fork_of(child, main10) == ("main", 4, [("c", 0, 3)], [("main", 4, 10)])
    at_head = [("main", 10), ("d", 2)]
    assert fork_of(main10, at_head) == ("main", 10, [], [("d", 0, 2)])
    siblings = ([("main", 4), ("c", 3)], [("main", 4), ("e", 5)])
    assert fork_of(*siblings) == ("main", 4, [("c", 0, 3)], [("e", 0, 5)])
    nested = ([("main", 4), ("c", 2), ("g", 1)], [("main", 4), ("c", 3)])
    assert fork_of(*nested) == ("c", 2, [("g", 0, 1)], [("c", 2, 3)])
    assert fork_of([("main", 0), ("x", 2)], main10) == ("main", 0, [("x", 0, 2)], [("main", 0, 10)])


# ---------------------------------------------------------------------------------------------- sessions


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("analysis-compare") / "journal.duckdb"
    with Journal(path) as j:
        sessions = [random_session(j, seed, events=120) for seed in (11, 12)]
    return path, sessions


def _totals(events: list[dict]) -> dict:
    per_run: dict = {}
    for ev in events:
        p = ev["payload"]
        usage = p.get("token_usage") if p["type"] == "Message" else p.get("usage") if p["type"] == "RunFinished" else None
        if usage:
            acc = per_run.setdefault(ev.get("run_id"), [0, 0, 0, 0])
            k = 0 if p["type"] == "Message" else 2
            acc[k] += usage.get("prompt_tokens", 0)
            acc[k + 1] += usage.get("completion_tokens", 0)
    failures = sum(
        1 for ev in events
        if ev["payload"]["type"] in ("ToolCallFailed", "RunErrored", "ErrorRaised")
        or (ev["payload"]["type"] == "ToolCallCompleted" and ev["payload"]["status"] not in ("ok", "success"))
    )
    ts = [ev["timestamp"] for ev in events]
    return {
        "events": len(events),
        "tokens_in": sum(a[0] if a[0] + a[1] else a[2] for a in per_run.values()),
        "tokens_out": sum(a[1] if a[0] + a[1] else a[3] for a in per_run.values()),
        "tool_calls": sum(1 for ev in events if ev["payload"]["type"] == "ToolCallRequested"),
        "failures": failures,
        "wall_time_us": max(ts) - min(ts) if ts else 0,
    }


def _fork(detail, left: str, right: str) -> tuple[str, int]:  # noqa: ANN001
    """The deepest common branch of the two in the branch tree, and how far both timelines take it."""

    def reach(branch_id: str) -> dict[str, int]:  # branch -> last seq of it in this branch's timeline
        out, child = {}, None
        for info in reversed(detail.lineage(branch_id)):
            out[info.branch_id] = info.head_seq if child is None else child.fork_point_seq
            child = info
        return out

    ra, rb = reach(left), reach(right)
    common = [b.branch_id for b in detail.lineage(left) if b.branch_id in rb]
    deepest = common[-1]
    return deepest, min(ra[deepest], rb[deepest])


def test_every_pair_of_branches_against_their_timelines(generated: tuple[Path, list[str]]) -> None:
    path, sessions = generated
    with Journal(path) as j:
        for session in sessions:
            detail = j.session(session)
            lines = {b.branch_id: timeline_events(j, session, b.branch_id) for b in detail.branches}
            assert len(lines) >= 3
            for left, right in itertools.product(lines, repeat=2):
                a, b = lines[left], lines[right]
                common = 0
                while common < min(len(a), len(b)) and a[common]["event_id"] == b[common]["event_id"]:
                    common += 1
                cmp = j.compare_branches(session, left, right)
                assert (cmp.fork_branch_id, cmp.fork_seq) == _fork(detail, left, right), (left, right)
                shown_a = [(r.left.branch_id, r.left.seq, r.left.kind) for r in cmp.rows if r.left is not None]
                shown_b = [(r.right.branch_id, r.right.seq, r.right.kind) for r in cmp.rows if r.right is not None]
                assert shown_a == [(e["branch_id"], e["seq"], e["payload"]["type"]) for e in a[common:]]
                assert shown_b == [(e["branch_id"], e["seq"], e["payload"]["type"]) for e in b[common:]]
                for row in cmp.rows:
                    if row.status in ("same", "changed"):
                        assert row.left.kind == row.right.kind
                    if row.status == "same":
                        assert row.left.summary == row.right.summary
                assert cmp.left_totals.to_json() == _totals(a[common:])
                assert cmp.right_totals.to_json() == _totals(b[common:])
                if left == right:
                    assert cmp.rows == ()


def test_repeated_steps_with_new_ids_are_same_and_edits_are_changed(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.duckdb") as j:
        w = SessionWriter(j, "attempts", "a")
        w.emit("main", {"type": "Message", "role": "user", "content": "fix it"})
        a, b = w.branch("main", "first", 1), w.branch("main", "second", 1)
        for branch, call, result, extra in ((a, "c1", "3 failed", False), (b, "c9", "all passed", True)):
            w.emit(branch, {"type": "ToolCallRequested", "call_id": call, "tool_name": "run_tests", "arguments": {"k": 1}})
            w.emit(branch, {"type": "ToolCallCompleted", "call_id": call, "tool_name": "run_tests",
                            "duration_ms": 5 if extra else 9, "status": "ok", "result": result})
            if extra:
                w.emit(branch, {"type": "Message", "role": "assistant", "content": "done"})
        w.flush()
        cmp = j.compare_branches(w.session_id, "first", "second")
        assert [r.status for r in cmp.rows] == ["same", "changed", "right"]
        assert (cmp.fork_branch_id, cmp.fork_seq) == ("main", 1)
        assert cmp.right_totals.minus(cmp.left_totals)["events"] == 1
        data = cmp.contract_json()
        assert list(data) == ["fork", "rows", "totals"]
        assert data["fork"] == {"branch_id": "main", "seq": 1}
        assert data["rows"][2] == {"left": None, "right": {"seq": 3, "kind": "Message", "summary": "assistant: done"},
                                   "status": "right"}
        assert list(data["totals"]) == ["left", "right"]
        assert Comparison.from_json(cmp.to_json()) == cmp
        with pytest.raises(NotFound):
            j.compare_branches(w.session_id, "first", "nope")
