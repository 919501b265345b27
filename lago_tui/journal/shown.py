"""SQL for what the timeline *shows* of an event, so free-text search matches what people read.

A timeline row shows a kind label (the message role, else the kind) and a one-line summary
(:func:`lago_tui.summary.summarize`). The events table keeps the payload's human text in ``text``; the
summary adds words of its own ("run started", "step 3 done", "fork → alt @12", durations such as "1.2s")
and, on a tool request's row, the outcome paired with it by ``call_id`` ("→ failed 2.0s: approval denied").
The expressions here rebuild those parts in SQL. JSON-valued fields (arguments, results, patches) are left
out: they are in ``text`` already, as compact JSON.

Every piece is a fixed expression over the events table's columns; nothing here takes user input.
"""

from __future__ import annotations


def _p(field: str, alias: str = "") -> str:
    """A payload field as text ('' when absent or null); strings as they are, other JSON as JSON text."""
    return f"coalesce({alias}payload->>'$.{field}', '')"


def _if(field: str, template: str, alias: str = "") -> str:
    """``template`` (with {v} for the field's text) when the field is present and not empty, else ''."""
    value = f"({alias}payload->>'$.{field}')"
    return f"CASE WHEN coalesce({value}, '') <> '' THEN {template.format(v=value)} ELSE '' END"


def duration_sql(ms: str) -> str:
    """SQL formatting an integer number of milliseconds as :func:`lago_tui.summary.duration` does."""
    return (
        f"CASE WHEN {ms} IS NULL THEN '' "
        f"WHEN {ms} < 1000 THEN printf('%.0fms', ({ms})::DOUBLE) "
        f"WHEN {ms} < 60000 THEN printf('%.1fs', ({ms}) / 1000.0) "
        f"WHEN ({ms}) // 60000 < 60 THEN printf('%dm%02ds', ({ms}) // 60000, (({ms}) // 1000) % 60) "
        f"ELSE printf('%dh%02dm', ({ms}) // 3600000, (({ms}) // 60000) % 60) END"
    )


_DURATION_MS = "TRY_CAST(payload->>'$.duration_ms' AS BIGINT)"

# kind -> the summary's words (the parts not already in the ``text`` column are what matter).
_SUMMARY: dict[str, str] = {
    "SessionCreated": f"'session ' || {_p('name')} || " + _if("config.model", "' · ' || {v}"),
    "SessionClosed": "'closed' || " + _if("reason", "': ' || {v}"),
    "SessionResumed": "'resumed'",
    "BranchCreated": f"'fork → ' || {_p('name')} || ' @' || {_p('fork_point_seq')}",
    "BranchMerged": f"'merge ← ' || {_p('source_branch_id')} || ' @' || {_p('merge_seq')}",
    "ToolCallRequested": _p("tool_name"),
    "ToolCallStarted": f"{_p('tool_name')} || ' started'",
    "ToolCallCompleted": f"{_p('tool_name')} || ' ' || {_p('status')} || ' in ' || {duration_sql(_DURATION_MS)}",
    "ToolCallFailed": f"{_p('tool_name')} || ' failed: ' || {_p('error')}",
    "RunStarted": "'run started' || " + _if("provider", "' · ' || {v}"),
    "RunFinished": (
        "'run finished' || " + _if("reason", "': ' || {v}")
        + " || CASE WHEN json_type(payload, '$.usage') = 'OBJECT' AND payload->>'$.usage' <> '{}' THEN ' · ' || "
        "coalesce(payload->>'$.usage.prompt_tokens', '0') || ' in / ' || "
        "coalesce(payload->>'$.usage.completion_tokens', '0') || ' out' ELSE '' END || "
        + _if("final_answer", "' · ' || {v}")
    ),
    "RunErrored": f"'run errored: ' || {_p('error')}",
    "StepStarted": f"'step ' || {_p('index')}",
    "StepFinished": f"'step ' || {_p('index')} || ' done' || " + _if("stop_reason", "' (' || {v} || ')'"),
    "FileWrite": (
        f"'write ' || {_p('path')} || CASE WHEN json_type(payload, '$.size_bytes') IN ('BIGINT', 'UBIGINT') "
        "THEN ' (' || (payload->>'$.size_bytes') || ' B)' ELSE '' END"
    ),
    "FileDelete": f"'delete ' || {_p('path')}",
    "FileRename": f"'rename ' || {_p('old_path')} || ' → ' || {_p('new_path')}",
    "StatePatched": f"'state r' || {_p('revision')}",
    "ContextCompacted": (
        f"'compacted ' || {_p('tokens_before')} || ' → ' || {_p('tokens_after')} || ' tokens (' || "
        f"{_p('dropped_count')} || ' dropped)'"
    ),
    "PolicyEvaluated": f"{_p('tool_name')} || ': ' || {_p('decision')} || " + _if("explanation", "' · ' || {v}"),
    "ApprovalRequested": f"'approve ' || {_p('tool_name')} || '? risk ' || {_p('risk')}",
    "ApprovalResolved": _p("decision") + " || " + _if("reason", "': ' || {v}"),
    "SnapshotCreated": f"'snapshot ' || {_p('snapshot_type')} || ' through seq ' || {_p('covers_through_seq')}",
    "Custom": _p("event_type"),
}


def _shown_sql() -> str:
    whens = " ".join(f"WHEN '{kind}' THEN {expr}" for kind, expr in _SUMMARY.items())
    # The kind label: a message shows its role (already in ``text``), every other row its kind.
    return f"(CASE WHEN kind = 'Message' THEN '' ELSE kind END || ' ' || CASE kind {whens} ELSE '' END)"


# What a row shows beyond ``text``: its kind label and its summary's own words (over the events table).
SHOWN_SQL = _shown_sql()

# What a tool request's row shows of its outcome ("bash → failed 2.0s: denied · "), over an outcome row
# ``o`` (ToolCallCompleted or ToolCallFailed) joined to its request ``r``.
OUTCOME_DURATION_SQL = (
    "coalesce(TRY_CAST(o.payload->>'$.duration_ms' AS BIGINT), greatest(0, (o.ts - r.ts) // 1000))"
)
OUTCOME_SHOWN_SQL = (
    "coalesce(r.payload->>'$.tool_name', '') || ' → ' || "
    "coalesce(nullif(o.payload->>'$.status', ''), CASE WHEN o.kind = 'ToolCallFailed' THEN 'failed' ELSE '?' END)"
    f" || ' ' || {duration_sql(OUTCOME_DURATION_SQL)} || "
    "CASE WHEN coalesce(o.payload->>'$.error', '') <> '' THEN ': ' || (o.payload->>'$.error') ELSE '' END"
)

# Outcomes of a session's tool requests: ``o`` and ``r`` for the expressions above (one bound parameter,
# the session id). Requests and outcomes are paired by call_id within the session.
OUTCOMES_FROM = (
    "events o JOIN events r ON r.session_id = o.session_id AND r.call_id = o.call_id "
    "AND r.kind = 'ToolCallRequested' "
    "WHERE o.session_id = ? AND o.kind IN ('ToolCallCompleted', 'ToolCallFailed') AND o.call_id IS NOT NULL"
)
