"""Integrity check: events that break the journal's own rules, found by set-based SQL (and one small replay).

Each problem is reported once, at the offending event. The codes (see ``PROBLEM_CODES``):

* ``unfinished_tool_call``: a ToolCallRequested with no ToolCallCompleted/ToolCallFailed of its call_id
  later on its branch, once the session is closed or a later run has started on that branch (a live
  agent's last pending call is normal);
* ``unfinished_run``: a RunStarted with no RunFinished/RunErrored of its run_id later on its branch, under
  the same condition;
* ``orphan_tool_result``: a ToolCallCompleted/ToolCallFailed whose call_id no ToolCallRequested before it
  on its timeline has (a request inherited from before a fork counts);
* ``dangling_parent``: a parent_id naming no event of the session;
* ``time_backwards``: a timestamp earlier than the previous event's on the same branch;
* ``unknown_merge_source`` / ``merge_past_head``: a BranchMerged naming no branch of the session, or a
  merge_seq past that branch's head;
* ``bad_state_patch``: a StatePatched whose patch is neither an object (merge patch) nor an array (JSON
  Patch) that applies to the state before it on its timeline.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any

from .analysis_views import Problem
from .patch import PatchError, apply_state_patch
from .replay import Reader

__all__ = ["find_problems"]

# {w}: the session filter on events (and {wb} on branches); every statement takes the same parameters.
_UNFINISHED_CALLS = """
WITH req AS (
    SELECT session_id, branch_id, seq, event_id, call_id, payload->>'$.tool_name' AS tool
    FROM events WHERE {w} AND kind = 'ToolCallRequested'
), outcome AS (
    SELECT session_id, branch_id, call_id, max(seq) AS last_seq
    FROM events WHERE {w} AND kind IN ('ToolCallCompleted', 'ToolCallFailed') AND call_id IS NOT NULL
    GROUP BY ALL
), runs AS (
    SELECT session_id, branch_id, max(seq) AS last_start FROM events WHERE {w} AND kind = 'RunStarted' GROUP BY ALL
)
SELECT r.session_id, r.branch_id, r.seq, r.event_id, r.call_id, r.tool, s.closed, ru.last_start
FROM req r
JOIN sessions s ON s.session_id = r.session_id
LEFT JOIN outcome o ON o.session_id = r.session_id AND o.branch_id = r.branch_id AND o.call_id = r.call_id
LEFT JOIN runs ru ON ru.session_id = r.session_id AND ru.branch_id = r.branch_id
WHERE (o.last_seq IS NULL OR o.last_seq < r.seq) AND (s.closed OR ru.last_start > r.seq)
"""

_UNFINISHED_RUNS = """
WITH starts AS (
    SELECT session_id, branch_id, seq, event_id, run_id FROM events WHERE {w} AND kind = 'RunStarted'
), ends AS (
    SELECT session_id, branch_id, coalesce(run_id, '') AS run_key, max(seq) AS last_seq
    FROM events WHERE {w} AND kind IN ('RunFinished', 'RunErrored') GROUP BY ALL
), runs AS (
    SELECT session_id, branch_id, max(seq) AS last_start FROM events WHERE {w} AND kind = 'RunStarted' GROUP BY ALL
)
SELECT st.session_id, st.branch_id, st.seq, st.event_id, st.run_id, s.closed, ru.last_start
FROM starts st
JOIN sessions s ON s.session_id = st.session_id
LEFT JOIN ends e ON e.session_id = st.session_id AND e.branch_id = st.branch_id
    AND e.run_key = coalesce(st.run_id, '')
LEFT JOIN runs ru ON ru.session_id = st.session_id AND ru.branch_id = st.branch_id
WHERE (e.last_seq IS NULL OR e.last_seq < st.seq) AND (s.closed OR ru.last_start > st.seq)
"""

# A result's timeline: its own branch before it, and each ancestor up to the fork point on the way down.
_ORPHAN_RESULTS = """
WITH RECURSIVE lineage(session_id, branch_id, ancestor, bound, depth) AS (
    SELECT session_id, branch_id, branch_id, NULL::BIGINT, 0 FROM branches WHERE {wb}
    UNION ALL
    SELECT l.session_id, l.branch_id, b.parent_branch_id, b.fork_point_seq, l.depth + 1
    FROM lineage l JOIN branches b ON b.session_id = l.session_id AND b.branch_id = l.ancestor
    WHERE b.parent_branch_id IS NOT NULL AND l.depth < 10000
), res AS (
    SELECT session_id, branch_id, seq, event_id, call_id, kind, payload->>'$.tool_name' AS tool
    FROM events WHERE {w} AND kind IN ('ToolCallCompleted', 'ToolCallFailed') AND call_id IS NOT NULL
), req AS (
    SELECT session_id, branch_id, seq, call_id FROM events WHERE {w} AND kind = 'ToolCallRequested'
), answered AS (
    SELECT DISTINCT r.session_id, r.branch_id, r.seq
    FROM res r
    JOIN lineage l ON l.session_id = r.session_id AND l.branch_id = r.branch_id
    JOIN req q ON q.session_id = r.session_id AND q.branch_id = l.ancestor AND q.call_id = r.call_id
    WHERE q.seq <= coalesce(l.bound, r.seq - 1)
)
SELECT r.session_id, r.branch_id, r.seq, r.event_id, r.call_id, r.kind, r.tool
FROM res r
LEFT JOIN answered a ON a.session_id = r.session_id AND a.branch_id = r.branch_id AND a.seq = r.seq
WHERE a.seq IS NULL
"""

_DANGLING_PARENTS = """
SELECT e.session_id, e.branch_id, e.seq, e.event_id, e.parent_id
FROM events e
WHERE {w} AND e.parent_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM events p WHERE p.session_id = e.session_id AND p.event_id = e.parent_id)
"""

_TIME_BACKWARDS = """
SELECT session_id, branch_id, seq, event_id, ts, prev_ts, prev_seq FROM (
    SELECT session_id, branch_id, seq, event_id, ts,
           lag(ts) OVER w AS prev_ts, lag(seq) OVER w AS prev_seq
    FROM events WHERE {w}
    WINDOW w AS (PARTITION BY session_id, branch_id ORDER BY seq)
) WHERE ts < prev_ts
"""

_MERGES = """
SELECT e.session_id, e.branch_id, e.seq, e.event_id, e.payload->>'$.source_branch_id' AS source,
       TRY_CAST(e.payload->>'$.merge_seq' AS BIGINT) AS merge_seq, b.branch_id IS NOT NULL AS known, b.head_seq
FROM (SELECT * FROM events WHERE {w} AND kind = 'BranchMerged') e
LEFT JOIN branches b ON b.session_id = e.session_id AND b.branch_id = e.payload->>'$.source_branch_id'
"""

_PATCHES = """
SELECT session_id, branch_id, seq, event_id, (payload->'$.patch')::VARCHAR
FROM events WHERE {w} AND kind = 'StatePatched' ORDER BY session_id, branch_id, seq
"""
_PATCH_BRANCHES = """
SELECT session_id, branch_id, parent_branch_id, fork_point_seq FROM branches
WHERE session_id IN (SELECT DISTINCT session_id FROM events WHERE {w} AND kind = 'StatePatched')
"""


def _quote(text: Any) -> str:
    return json.dumps(text if text is not None else "", ensure_ascii=False)


def find_problems(read: Reader, session_id: str | None) -> list[Problem]:
    """Every problem of one session (or of all), sorted by session, branch (main first), seq and code."""
    if session_id is None:
        w, wb, params = "true", "true", []
    else:
        w, wb, params = "session_id = ?", "session_id = ?", [session_id]
    found: list[Problem] = []
    with read() as con:
        if con is None:
            return []

        def rows(sql: str) -> list[tuple[Any, ...]]:
            sql = sql.replace("{w}", w).replace("{wb}", wb)
            return con.execute(sql, params * sql.count("?")).fetchall() if params else con.execute(sql).fetchall()

        for sid, bid, seq, eid, call_id, tool, closed, last_start in rows(_UNFINISHED_CALLS):
            why = "the session is closed" if closed else f"a later run started at seq {last_start}"
            found.append(Problem(sid, bid, seq, eid, "unfinished_tool_call",
                                 f"tool call {_quote(tool)} ({_quote(call_id)}) was never completed or failed; {why}"))
        for sid, bid, seq, eid, run_id, closed, last_start in rows(_UNFINISHED_RUNS):
            why = "the session is closed" if closed else f"a later run started at seq {last_start}"
            run = _quote(run_id) if run_id is not None else "without a run_id"
            found.append(Problem(sid, bid, seq, eid, "unfinished_run",
                                 f"run {run} never finished or errored; {why}"))
        for sid, bid, seq, eid, call_id, kind, tool in rows(_ORPHAN_RESULTS):
            found.append(Problem(sid, bid, seq, eid, "orphan_tool_result",
                                 f"{kind} of {_quote(tool)}: no earlier ToolCallRequested has call_id {_quote(call_id)}"))
        for sid, bid, seq, eid, parent in rows(_DANGLING_PARENTS):
            found.append(Problem(sid, bid, seq, eid, "dangling_parent",
                                 f"parent_id {_quote(parent)} names no event of the session"))
        for sid, bid, seq, eid, ts, prev_ts, prev_seq in rows(_TIME_BACKWARDS):
            found.append(Problem(sid, bid, seq, eid, "time_backwards",
                                 f"timestamp {ts} is {_us(prev_ts - ts)} earlier than seq {prev_seq}'s"))
        for sid, bid, seq, eid, source, merge_seq, known, head in rows(_MERGES):
            if not known:
                found.append(Problem(sid, bid, seq, eid, "unknown_merge_source",
                                     f"source_branch_id {_quote(source)} is no branch of the session"))
            elif merge_seq is not None and merge_seq > head:
                found.append(Problem(sid, bid, seq, eid, "merge_past_head",
                                     f"merge_seq {merge_seq} is past the head of {_quote(source)} ({head})"))
        patches = rows(_PATCHES)
        if patches:
            found.extend(_patch_problems(patches, rows(_PATCH_BRANCHES)))
    found.sort(key=lambda p: (p.session_id, p.branch_id != "main", p.branch_id, p.seq, p.code))
    return found


def _us(us: int) -> str:
    if us < 1000:
        return f"{us} µs"
    if us < 1_000_000:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1_000_000:.1f} s"


def _patch_problems(patches: Iterable[tuple[Any, ...]], branches: Iterable[tuple[Any, ...]]) -> list[Problem]:
    """Replay each branch's StatePatched events from the state its lineage had at its fork point."""
    parent_of: dict[tuple[str, str], tuple[str, int]] = {
        (sid, bid): ((sid, parent), fork) for sid, bid, parent, fork in branches if parent is not None
    }
    own: dict[tuple[str, str], list[tuple[int, str, Any]]] = {}
    for sid, bid, seq, eid, text in patches:
        own.setdefault((sid, bid), []).append((seq, eid, text))

    def chain(key: tuple[str, str]) -> list[tuple[str, str]]:
        out, seen = [key], {key}
        while key in parent_of and parent_of[key][0] not in seen:
            key = parent_of[key][0]
            out.append(key)
            seen.add(key)
        return out

    history: dict[tuple[str, str], list[tuple[int, Any]]] = {}  # (seq, state after) per own patch

    def state_at(key: tuple[str, str], seq: int) -> Any:
        """The state on ``key``'s timeline after its events up to ``seq`` (ancestors already replayed)."""
        seen = set()
        while key not in seen:
            seen.add(key)
            states = history.get(key, [])
            k = bisect_right(states, seq, key=lambda s: s[0])
            if k:
                return states[k - 1][1]
            if key not in parent_of:
                break
            key, seq = parent_of[key]
        return {}

    problems: list[Problem] = []
    # Ancestors first, so a branch's starting state is known when its turn comes.
    order = sorted(own, key=lambda key: len(chain(key)))
    for key in order:
        state = state_at(parent_of[key][0], parent_of[key][1]) if key in parent_of else {}
        states = []
        for seq, eid, text in own[key]:
            try:
                patch = json.loads(text) if text is not None else None
            except ValueError:
                patch = None
            try:
                state = apply_state_patch(state, patch)
            except PatchError as exc:
                problems.append(Problem(key[0], key[1], seq, eid, "bad_state_patch", str(exc)))
            states.append((seq, state))
        history[key] = states
    return problems
