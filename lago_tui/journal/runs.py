"""Per-run and per-step figures of a branch's timeline, computed in one query.

A run is the events sharing a ``run_id`` (in timeline order, inherited segments included); a step is what
lies between a StepStarted and its StepFinished within a run (events outside any step, and the run's own
start, finish and error, count for the run only). Tokens follow the session totals' rule (see ingest's aggregates): a run's messages' token usage,
else its RunFinished usage; a step counts its messages' usage.
"""

from __future__ import annotations

from typing import Any

from .views import RunFigures, SessionDetail, StepFigures

_SQL = """
WITH seg(k, branch_id, last_seq) AS (VALUES {segments}),
ev AS (
    SELECT e.run_id, e.kind, e.ts, e.branch_id, e.seq, seg.k * 1000000000000 + e.seq AS pos,
           coalesce(e.tokens_in, 0) AS tin, coalesce(e.tokens_out, 0) AS tout, e.failure,
           TRY_CAST(e.payload->>'$.index' AS BIGINT) AS step_index,
           CASE e.kind WHEN 'RunFinished' THEN e.payload->>'$.reason' WHEN 'RunErrored' THEN e.payload->>'$.error'
                       WHEN 'StepFinished' THEN e.payload->>'$.stop_reason' END AS note
    FROM events e JOIN seg ON e.branch_id = seg.branch_id AND e.seq <= seg.last_seq
    WHERE e.session_id = ? AND e.run_id IS NOT NULL
),
marked AS (
    SELECT *,
        sum(CASE WHEN kind = 'StepStarted' THEN 1 ELSE 0 END) OVER w AS step_no,
        last_value(CASE kind WHEN 'StepStarted' THEN 1 WHEN 'StepFinished' THEN 0 END IGNORE NULLS) OVER w AS open
    FROM ev
    WINDOW w AS (PARTITION BY run_id ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
stepped AS (
    SELECT *, CASE WHEN step_no > 0 AND (open = 1 OR kind = 'StepFinished')
                        AND kind NOT IN ('RunStarted', 'RunFinished', 'RunErrored') THEN step_no END AS step
    FROM marked
)
SELECT run_id, step, grouping(step) AS is_run, min(pos) AS first_pos,
       arg_min(branch_id, pos) AS branch_id, arg_min(seq, pos) AS seq, min(ts), max(ts), count(*),
       coalesce(sum(tin) FILTER (WHERE kind = 'Message'), 0), coalesce(sum(tout) FILTER (WHERE kind = 'Message'), 0),
       coalesce(sum(tin) FILTER (WHERE kind = 'RunFinished'), 0),
       coalesce(sum(tout) FILTER (WHERE kind = 'RunFinished'), 0),
       count(*) FILTER (WHERE kind = 'ToolCallRequested'), count(*) FILTER (WHERE failure),
       bool_or(kind = 'RunFinished'), bool_or(kind = 'RunErrored'), bool_or(kind = 'StepFinished'),
       arg_max(note, pos) FILTER (WHERE kind IN ('RunFinished', 'RunErrored')),
       arg_max(note, pos) FILTER (WHERE kind = 'StepFinished'),
       min(step_index) FILTER (WHERE kind = 'StepStarted')
FROM stepped
GROUP BY GROUPING SETS ((run_id), (run_id, step))
HAVING grouping(step) = 1 OR step IS NOT NULL
ORDER BY run_id, step NULLS FIRST
"""


def runs(con: Any, detail: SessionDetail, branch_id: str) -> list[RunFigures]:
    """Runs of the timeline of ``branch_id`` in order of their first event, each with its steps."""
    chain = detail.lineage(branch_id)
    params: list[Any] = []
    for k, b in enumerate(chain):
        params += [k, b.branch_id, chain[k + 1].fork_point_seq if k + 1 < len(chain) else b.head_seq]
    sql = _SQL.format(segments=", ".join("(?::INTEGER, ?::VARCHAR, ?::BIGINT)" for _ in chain))
    rows = con.execute(sql, [*params, detail.summary.session_id]).fetchall()
    steps: dict[str, list[StepFigures]] = {}
    heads: list[tuple[int, Any]] = []
    for row in rows:
        (run_id, step, is_run, first_pos, b_id, seq, t0, t1, n, msg_in, msg_out, fin_in, fin_out, calls, fails,
         finished, errored, step_finished, reason, stop_reason, index) = row
        if is_run:
            heads.append((first_pos, row))
            continue
        steps.setdefault(run_id, []).append(StepFigures(
            b_id, seq, t0, t1, n, msg_in, msg_out, calls, fails,
            index=index if index is not None else step - 1, finished=bool(step_finished), stop_reason=stop_reason,
        ))
    out = []
    for _, row in sorted(heads, key=lambda h: h[0]):
        (run_id, _, _, _, b_id, seq, t0, t1, n, msg_in, msg_out, fin_in, fin_out, calls, fails,
         finished, errored, _, reason, _, _) = row
        use_messages = msg_in + msg_out > 0
        status = "errored" if errored else "finished" if finished else "open"
        out.append(RunFigures(
            b_id, seq, t0, t1, n, msg_in if use_messages else fin_in, msg_out if use_messages else fin_out,
            calls, fails, run_id=run_id, status=status, reason=reason, steps=tuple(steps.get(run_id, ())),
        ))
    return out
