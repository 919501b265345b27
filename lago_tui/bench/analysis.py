"""Analysis measures (issue 10): state at an event, comparing two branches, the integrity check.

* state at random points of the big session's deepest branch: the first call on a fresh journal object
  (it indexes the lineage up to that point) and then calls at other random points (served from the index);
* ``compare_branches`` of two 100k-event attempts forked from one point, built in a scratch journal: the
  second attempt repeats most of the first one's steps (new call ids, same content), changes some, drops
  and adds others, the way a retried agent run looks;
* ``problems()`` over the whole journal.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from .. import synth
from .common import Result, _timed

__all__ = ["analysis_level", "build_attempts"]

ATTEMPT_EVENTS = {"full": 100_000, "quick": 20_000}


def analysis_level(db: Path, m: synth.Manifest, runs: int, scratch: Path, quick: bool, log) -> list[Result]:  # noqa: ANN001
    from ..journal import Journal

    out: list[Result] = []
    rng = random.Random(4321)
    j = Journal(db, idle_release=30)
    try:
        detail = j.session(m.big_session_id)
        info = detail.branch(m.deepest_branch)
        assert info is not None
        r = Result("analysis", f"state_at, random point, first call ({m.big:,}-event session, deepest branch)",
                   "ms", target="<= 300", note="a fresh Journal each time: the lineage is indexed up to the point")
        for _ in range(max(runs, 5)):
            fresh = Journal(db, idle_release=30)
            try:
                fresh.session(m.big_session_id)  # the file is open: measure the state, not the open
                seq = rng.randint(0, info.head_seq)
                r.values.append(_timed(fresh.state_at, m.big_session_id, info.branch_id, seq)[0])
            finally:
                fresh.close()
        out.append(r)
        ms_head, state = _timed(j.state_at, m.big_session_id, info.branch_id)
        r = Result("analysis", "state_at, random points after the first call (same branch)", "ms", target="<= 300",
                   note=f"head first: {ms_head:.0f} ms for {len(state.messages):,} messages, "
                        f"{len(state.tool_calls):,} tool calls, {len(state.files):,} files")
        for _ in range(max(runs, 5) * 4):
            r.values.append(_timed(j.state_at, m.big_session_id, info.branch_id, rng.randint(0, info.head_seq))[0])
        out.append(r)

        r = Result("analysis", f"problems() over the whole journal ({m.events:,} events)", "ms", target="<= 10,000")
        found = []
        for _ in range(max(1, min(runs, 3))):
            ms, found = _timed(j.problems)
            r.values.append(ms)
        r.note = f"{len(found):,} problems"
        out.append(r)
    finally:
        j.close()

    n = ATTEMPT_EVENTS["quick" if quick else "full"]
    path = scratch / "attempts.duckdb"
    log(f"  building two {n:,}-event attempts ...")
    session_id = build_attempts(path, n)
    j = Journal(path, idle_release=30)
    try:
        j.session(session_id)
        r = Result("analysis", f"compare_branches, two {n:,}-event attempts", "ms", target="<= 1,000")
        cmp = None
        for _ in range(max(runs, 3)):
            ms, cmp = _timed(j.compare_branches, session_id, "attempt-a", "attempt-b")
            r.values.append(ms)
        assert cmp is not None
        counts = cmp.counts()
        r.note = ", ".join(f"{counts[k]:,} {k}" for k in ("same", "changed", "left", "right"))
        out.append(r)
    finally:
        j.close()
    return out


def build_attempts(path: Path, events: int, *, seed: int = 11) -> str:
    """A scratch journal with one session whose branches attempt-a and attempt-b fork at main's head and
    hold ``events`` events each; returns the session id."""
    from ..journal import Journal

    g = synth._Gen(seed)
    s = synth._Session(g, synth.BASE_TS_US, 10 * events + 1000, name="bench-attempts")
    s.create()
    s.run("main")
    a = s.branch("main", "attempt-a")
    b = s.branch("main", "attempt-b")
    start = len(s.lines)
    while s.heads[a] < events:
        s.run(a)
    originals = [json.loads(line) for line in s.lines[start:]]
    r = random.Random(seed + 1)
    renamed: dict[str, str] = {}
    k = 0
    while s.heads[b] < events:
        if k >= len(originals) or r.random() < 0.001:  # a run of its own
            s.run(b)
            continue
        ev = originals[k]
        k += 1
        roll = r.random()
        if roll < 0.03:  # dropped
            continue
        payload: dict[str, Any] = dict(ev["payload"])
        if "call_id" in payload:  # a repeated call gets a new id: the comparison ignores ids
            payload["call_id"] = renamed.setdefault(payload["call_id"], "toolu_" + s._id())
        if roll < 0.15:  # changed: same kind and tool, other content
            for key in ("content", "result", "error", "final_answer", "message", "delta"):
                if key in payload:
                    payload[key] = g.text(1, 2)
                    break
        s.emit(b, payload, run_id=ev.get("run_id"))
    src = path.with_suffix(".jsonl")
    src.write_text("\n".join(s.lines) + "\n", encoding="utf-8")
    with Journal(path) as j:
        j.import_file(src)
    src.unlink()
    return s.session_id
