"""Compare two branches: their events after the common fork point, aligned side by side.

Each event gets two keys, computed by SQL: a *coarse* key (kind, plus the tool name of tool events and the
role of messages) and a *fine* key (a hash of the kind and the payload without its ids and timings, so an
attempt that repeats a step with new call ids still counts as the same step). Rows are ``same`` (fine keys
equal), ``changed`` (coarse keys equal), ``left`` or ``right`` (only on one side).

The alignment is patience-style, so it stays near linear on long, mostly identical branches:

1. equal leading and trailing events are matched outright;
2. events whose fine key occurs exactly once on each side become anchors (their longest increasing run);
   the stretches between anchors are aligned the same way, recursively;
3. a stretch with no such anchor is aligned on coarse keys by dynamic programming (``same`` 3 points,
   ``changed`` 1, a gap 0) when it is small, and by a greedy walk that looks a few events ahead to get back
   in step when it is large, so two completely different 100k-event branches still compare in linear time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from typing import Any

from .analysis_views import Comparison, ComparisonRow, ComparisonSide, ComparisonTotals
from .bulk import paused_gc
from .errors import NotFound
from .replay import Reader, lineage_bounds
from .views import SessionDetail

__all__ = ["align", "compare_branches", "fork_of", "SUMMARY_CHARS"]

SUMMARY_CHARS = 120
DP_CELLS = 12_000
"""Largest stretch (left x right events) aligned by dynamic programming; larger ones are walked greedily."""
DP_DIRECT = 256
"""Stretches this small (left x right events) go to dynamic programming without looking for anchors."""
LOOKAHEAD = 16
"""Events the greedy walk looks ahead to get back in step."""
WORK_FACTOR = 40
"""Anchor searches may scan this many times the events compared; past that, stretches are walked greedily."""
SAME, CHANGED = 3, 1

# Payload members that are ids or timings: two attempts of one step differ in them and nothing else.
_IGNORED = ("call_id", "tool_run_id", "approval_id", "snapshot_id", "new_branch_id", "duration_ms")
_IGNORE_PATCH = "{" + ", ".join(f'"{k}": null' for k in _IGNORED) + "}"
# Kinds whose search text (see ingest.TEXT_FIELDS) holds all of their content but ids and timings: hashing
# it is three times faster than rewriting the payload without its ids.
_TEXT_KINDS = (
    "Message", "TextDelta", "ToolCallRequested", "ToolCallStarted", "ToolCallCompleted", "ToolCallFailed",
    "ErrorRaised", "RunErrored", "SessionClosed", "FileDelete", "FileRename", "PolicyEvaluated", "ApprovalResolved",
)

_SUMMARY_SQL = f"""left(CASE kind
    WHEN 'Message' THEN coalesce(payload->>'$.role', '') || ': ' || coalesce(payload->>'$.content', '')
    WHEN 'StepStarted' THEN 'step ' || coalesce(payload->>'$.index', '')
    WHEN 'StepFinished' THEN 'step ' || coalesce(payload->>'$.index', '') || ' done'
        || coalesce(' (' || (payload->>'$.stop_reason') || ')', '')
    WHEN 'BranchCreated' THEN 'fork ' || coalesce(payload->>'$.name', '') || ' @' || coalesce(payload->>'$.fork_point_seq', '')
    WHEN 'BranchMerged' THEN 'merge ' || coalesce(payload->>'$.source_branch_id', '') || ' @' || coalesce(payload->>'$.merge_seq', '')
    ELSE text END, {SUMMARY_CHARS})"""

_SIDE_SQL = f"""
SELECT seq, kind,
    hash(kind, CASE kind WHEN 'Message' THEN payload->>'$.role' ELSE payload->>'$.tool_name' END) AS coarse,
    hash(kind, CASE WHEN kind IN ({", ".join(f"'{k}'" for k in _TEXT_KINDS)}) THEN text
                    ELSE json_merge_patch(payload, '{_IGNORE_PATCH}')::VARCHAR END) AS fine,
    coalesce({_SUMMARY_SQL}, '') AS summary
FROM events WHERE session_id = ? AND branch_id = ? AND seq > ? AND seq <= ? ORDER BY seq
"""

# Totals of one side; {ranges} is "(branch_id = ? AND seq > ? AND seq <= ?) OR ..." over its ranges.
# Tokens follow the session totals' rule: per run, its messages' usage, else its RunFinished's.
_TOTALS_SQL = """
WITH ev AS (
    SELECT kind, ts, run_id, failure, tokens_in, tokens_out FROM events WHERE session_id = ? AND ({ranges})
), per_run AS (
    SELECT coalesce(sum(tokens_in) FILTER (WHERE kind = 'Message'), 0) AS m_in,
           coalesce(sum(tokens_out) FILTER (WHERE kind = 'Message'), 0) AS m_out,
           coalesce(sum(tokens_in) FILTER (WHERE kind = 'RunFinished'), 0) AS f_in,
           coalesce(sum(tokens_out) FILTER (WHERE kind = 'RunFinished'), 0) AS f_out
    FROM ev GROUP BY run_id
)
SELECT (SELECT count(*) FROM ev),
       (SELECT coalesce(sum(CASE WHEN m_in + m_out > 0 THEN m_in ELSE f_in END), 0) FROM per_run),
       (SELECT coalesce(sum(CASE WHEN m_in + m_out > 0 THEN m_out ELSE f_out END), 0) FROM per_run),
       (SELECT count(*) FILTER (WHERE kind = 'ToolCallRequested') FROM ev),
       (SELECT count(*) FILTER (WHERE failure) FROM ev),
       (SELECT coalesce(max(ts) - min(ts), 0) FROM ev)
"""

Row = tuple[str, int, int]  # (status, left index, right index); -1: no event on that side


# ---------------------------------------------------------------------------------------------- fork


def fork_of(
    left: Sequence[tuple[str, int]], right: Sequence[tuple[str, int]]
) -> tuple[str, int, list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """(fork branch, fork seq, left ranges, right ranges) of two lineages' bounds.

    Ranges are ``(branch_id, after_seq, last_seq)``: each side's events after the last shared one.
    """
    fork_branch, fork_seq = (left[0][0] if left else "main"), 0
    i, lo = 0, 0
    while i < len(left) and i < len(right) and left[i][0] == right[i][0]:
        fork_branch, fork_seq = left[i][0], min(left[i][1], right[i][1])
        if left[i][1] != right[i][1]:
            lo = fork_seq
            break
        i += 1

    def rest(bounds: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
        out = []
        for k in range(i, len(bounds)):
            start = lo if k == i else 0
            if bounds[k][1] > start:
                out.append((bounds[k][0], start, bounds[k][1]))
        return out

    return fork_branch, fork_seq, rest(left), rest(right)


# ---------------------------------------------------------------------------------------------- alignment


def align(
    a_fine: Sequence[int], a_coarse: Sequence[int], b_fine: Sequence[int], b_coarse: Sequence[int]
) -> list[tuple[str, int | None, int | None]]:
    """Rows (status, left index or None, right index or None) aligning a (left) with b (right)."""
    return [
        (status, None if i < 0 else i, None if j < 0 else j)
        for status, i, j in _align(a_fine, a_coarse, b_fine, b_coarse)
    ]


def _align(
    a_fine: Sequence[int], a_coarse: Sequence[int], b_fine: Sequence[int], b_coarse: Sequence[int]
) -> list[Row]:
    """As :func:`align`, with -1 for "no event on this side" (so callers can index a list ending in None)."""
    out: list[Row] = []
    budget = [WORK_FACTOR * (len(a_fine) + len(b_fine)) + 1000]
    # A stack of tasks, done last-in first-out: ("diff", alo, ahi, blo, bhi) or ("same", i, j, count).
    tasks: list[tuple[Any, ...]] = [("diff", 0, len(a_fine), 0, len(b_fine))]
    while tasks:
        task = tasks.pop()
        if task[0] == "same":
            _, i, j, count = task
            out.extend(zip(repeat("same", count), range(i, i + count), range(j, j + count)))
            continue
        _, alo, ahi, blo, bhi = task
        while alo < ahi and blo < bhi and a_fine[alo] == b_fine[blo]:
            out.append(("same", alo, blo))
            alo, blo = alo + 1, blo + 1
        tail = 0
        while alo < ahi - tail and blo < bhi - tail and a_fine[ahi - tail - 1] == b_fine[bhi - tail - 1]:
            tail += 1
        ahi, bhi = ahi - tail, bhi - tail
        if tail:
            tasks.append(("same", ahi, bhi, tail))
        if alo == ahi or blo == bhi:
            out.extend(("left", i, -1) for i in range(alo, ahi))
            out.extend(("right", -1, j) for j in range(blo, bhi))
            continue
        if (ahi - alo) * (bhi - blo) <= DP_DIRECT:  # small: the exact alignment is cheaper than anchors
            _dp(a_fine, a_coarse, alo, ahi, b_fine, b_coarse, blo, bhi, out)
            continue
        anchors = _anchors(a_fine, alo, ahi, b_fine, blo, bhi, budget)
        if not anchors:
            _gap(a_fine, a_coarse, alo, ahi, b_fine, b_coarse, blo, bhi, out)
            continue
        # Stretches between anchors (runs of adjacent anchors as one task), pushed in reverse so the
        # first comes off the stack first.
        pieces: list[tuple[Any, ...]] = []
        i, j = alo, blo
        for ai, bj in anchors:
            if ai == i and bj == j and pieces and pieces[-1][0] == "same":
                _, si, sj, count = pieces[-1]
                pieces[-1] = ("same", si, sj, count + 1)
            else:
                if ai > i or bj > j:
                    pieces.append(("diff", i, ai, j, bj))
                pieces.append(("same", ai, bj, 1))
            i, j = ai + 1, bj + 1
        if i < ahi or j < bhi:
            pieces.append(("diff", i, ahi, j, bhi))
        tasks.extend(reversed(pieces))
    return out


def _anchors(
    a: Sequence[int], alo: int, ahi: int, b: Sequence[int], blo: int, bhi: int, budget: list[int]
) -> list[tuple[int, int]]:
    """Pairs (i, j) of keys unique on both sides, longest run increasing in both (patience sorting)."""
    budget[0] -= (ahi - alo) + (bhi - blo)
    if budget[0] < 0:
        return []
    a_part, b_part = a[alo:ahi], b[blo:bhi]
    count_a, count_b = Counter(a_part), Counter(b_part)  # counted in C
    where_a = dict(zip(a_part, range(alo, ahi)))  # the last position of each key: its only one if unique
    where_b = dict(zip(b_part, range(blo, bhi)))
    pairs = sorted(
        (where_a[key], where_b[key]) for key, n in count_b.items() if n == 1 and count_a.get(key) == 1
    )
    if not pairs:
        return []
    # Longest increasing subsequence of the b positions, in a order.
    tails: list[int] = []  # b position ending the best run of each length
    tail_at: list[int] = []  # index into pairs of that run's last pair
    back: list[int] = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(n)
        else:
            tails[k] = j
            tail_at[k] = n
        back[n] = tail_at[k - 1] if k else -1
    run = []
    n = tail_at[-1]
    while n >= 0:
        run.append(pairs[n])
        n = back[n]
    run.reverse()
    return run


def _gap(
    a_fine: Sequence[int], a_coarse: Sequence[int], alo: int, ahi: int,
    b_fine: Sequence[int], b_coarse: Sequence[int], blo: int, bhi: int, out: list[Row],
) -> None:
    n, m = ahi - alo, bhi - blo
    if n * m <= DP_CELLS:
        _dp(a_fine, a_coarse, alo, ahi, b_fine, b_coarse, blo, bhi, out)
    else:
        _greedy(a_fine, a_coarse, alo, ahi, b_fine, b_coarse, blo, bhi, out)


def _pair(a_fine: Sequence[int], b_fine: Sequence[int], i: int, j: int) -> Row:
    return ("same" if a_fine[i] == b_fine[j] else "changed", i, j)


def _dp(
    a_fine: Sequence[int], a_coarse: Sequence[int], alo: int, ahi: int,
    b_fine: Sequence[int], b_coarse: Sequence[int], blo: int, bhi: int, out: list[Row],
) -> None:
    """Best-scoring alignment of a small stretch (same 3, changed 1, gap 0)."""
    n, m = ahi - alo, bhi - blo
    score = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):  # score[i][j]: best for a[i:], b[j:] (suffixes, so the walk goes forward)
        row, below = score[i], score[i + 1]
        af, ac = a_fine[alo + i], a_coarse[alo + i]
        for j in range(m - 1, -1, -1):
            best = below[j] if below[j] >= row[j + 1] else row[j + 1]
            if b_coarse[blo + j] == ac:
                pair = below[j + 1] + (SAME if b_fine[blo + j] == af else CHANGED)
                if pair > best:
                    best = pair
            row[j] = best
    i = j = 0
    while i < n and j < m:
        here = score[i][j]
        if b_coarse[blo + j] == a_coarse[alo + i]:
            gain = SAME if b_fine[blo + j] == a_fine[alo + i] else CHANGED
            if here == score[i + 1][j + 1] + gain:
                out.append(_pair(a_fine, b_fine, alo + i, blo + j))
                i, j = i + 1, j + 1
                continue
        if here == score[i + 1][j]:  # left-only first, as diff shows deletions before insertions
            out.append(("left", alo + i, -1))
            i += 1
        else:
            out.append(("right", -1, blo + j))
            j += 1
    out.extend(("left", alo + k, -1) for k in range(i, n))
    out.extend(("right", -1, blo + k) for k in range(j, m))


def _greedy(
    a_fine: Sequence[int], a_coarse: Sequence[int], alo: int, ahi: int,
    b_fine: Sequence[int], b_coarse: Sequence[int], blo: int, bhi: int, out: list[Row],
) -> None:
    """Linear alignment of a long stretch: pair equal coarse keys, skip ahead to get back in step."""
    i, j = alo, blo
    while i < ahi and j < bhi:
        if a_coarse[i] == b_coarse[j]:
            out.append(_pair(a_fine, b_fine, i, j))
            i, j = i + 1, j + 1
            continue
        skip_a = skip_b = 0
        for d in range(1, LOOKAHEAD + 1):
            if i + d < ahi and a_coarse[i + d] == b_coarse[j]:
                skip_a = d
                break
            if j + d < bhi and b_coarse[j + d] == a_coarse[i]:
                skip_b = d
                break
        if skip_a:
            out.extend(("left", k, -1) for k in range(i, i + skip_a))
            i += skip_a
        elif skip_b:
            out.extend(("right", -1, k) for k in range(j, j + skip_b))
            j += skip_b
        else:
            out.append(("left", i, -1))
            out.append(("right", -1, j))
            i, j = i + 1, j + 1
    out.extend(("left", k, -1) for k in range(i, ahi))
    out.extend(("right", -1, k) for k in range(j, bhi))


# ---------------------------------------------------------------------------------------------- reading


def _read_side(con: Any, session_id: str, ranges: list[tuple[str, int, int]]) -> tuple[
    list[int], list[int], list[ComparisonSide], ComparisonTotals
]:
    """One side's events after the fork: (fine keys, coarse keys, what rows show, totals)."""
    fine: list[int] = []
    coarse: list[int] = []
    shown: list[ComparisonSide] = []
    for branch_id, after, last in ranges:
        rows = con.execute(_SIDE_SQL, [session_id, branch_id, after, last]).fetchall()
        if not rows:
            continue
        seqs, kinds, coarse_keys, fine_keys, summaries = zip(*rows, strict=True)
        fine.extend(fine_keys)
        coarse.extend(coarse_keys)
        shown.extend(map(ComparisonSide, repeat(branch_id, len(rows)), seqs, kinds, summaries))
    if not ranges:
        return fine, coarse, shown, ComparisonTotals(0, 0, 0, 0, 0, 0)
    where = " OR ".join("(branch_id = ? AND seq > ? AND seq <= ?)" for _ in ranges)
    params: list[Any] = [session_id] + [v for r in ranges for v in r]
    totals = con.execute(_TOTALS_SQL.replace("{ranges}", where), params).fetchone()
    return fine, coarse, shown, ComparisonTotals(*(int(v) for v in totals))


def compare_branches(read: Reader, detail: SessionDetail, left: str, right: str) -> Comparison:
    infos = []
    for ref in (left, right):
        info = detail.branch(ref)
        if info is None:
            raise NotFound(f"no branch {ref!r} in session {detail.summary.name}")
        infos.append(info)
    session_id = detail.summary.session_id
    fork_branch, fork_seq, left_ranges, right_ranges = fork_of(
        lineage_bounds(detail, infos[0].branch_id), lineage_bounds(detail, infos[1].branch_id)
    )

    def side(ranges: list[tuple[str, int, int]]) -> Any:
        with read() as con:
            if con is None:
                raise NotFound(f"no session {session_id!r} (the journal is empty)")
            return _read_side(con, session_id, ranges)

    # The right side is read on a second thread meanwhile (DuckDB works outside the GIL).
    with paused_gc(), ThreadPoolExecutor(max_workers=1) as pool:
        right_future = pool.submit(side, right_ranges)
        a_fine, a_coarse, a_shown, a_totals = side(left_ranges)
        b_fine, b_coarse, b_shown, b_totals = right_future.result()
        a_shown.append(None)  # index -1 (no event on that side) reads None
        b_shown.append(None)
        aligned = _align(a_fine, a_coarse, b_fine, b_coarse)
        rows = tuple(map(ComparisonRow._make, ((status, a_shown[i], b_shown[j]) for status, i, j in aligned)))
    return Comparison(
        session_id=session_id, left_branch_id=infos[0].branch_id, right_branch_id=infos[1].branch_id,
        fork_branch_id=fork_branch, fork_seq=fork_seq, rows=rows, left_totals=a_totals, right_totals=b_totals,
    )
