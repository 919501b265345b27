"""What the timeline *shows* of an event, as data the query compiler uses so free text matches what people read.

A timeline row shows a kind label (the message role, else the kind) and a one-line summary
(:func:`lago_tui.summary.summarize`). The events table keeps the payload's human text in ``text``; the
summary adds words of its own ("run started", "step 3 done", "write x (512 B)", durations such as "1.2s")
and, on a tool request's row, the outcome paired with it by ``call_id`` ("→ failed 2.0s: approval denied").

Per kind, :data:`DISPLAY` lists what a row shows beyond ``text``: constant words (on every row of the kind,
so they match by kind alone, no payload is read) and pieces built from payload fields (SQL), each with the
characters it can contain, so a piece is only computed when the searched word could be in it (reading JSON
payloads is what costs time: ~1 µs a row a field). Free text is matched word by word; a phrase spanning
two pieces (``"bash failed"``) may be missed; each piece and ``text`` are matched whole.

Every piece is a fixed expression over the events table's columns; nothing here takes user input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _f(field: str, alias: str = "") -> str:
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


_DIGITS = "0123456789-"
_DURATION_CHARS = _DIGITS + ".mshin "


@dataclass(frozen=True)
class Piece:
    """Part of a row's summary built from payload fields; ``chars``: every character it can hold (None: any)."""

    sql: str
    chars: str | None = None

    def could_contain(self, word: str) -> bool:
        return self.chars is None or set(word) <= set(self.chars)


@dataclass(frozen=True)
class Display:
    constants: tuple[str, ...] = ()  # shown on every row of the kind
    pieces: tuple[Piece, ...] = ()


_DURATION_MS = "TRY_CAST(payload->>'$.duration_ms' AS BIGINT)"

# kind -> what its row shows beyond ``text`` (the kind label is added for every kind but Message). Where
# ``text`` holds exactly one field it stands in for it (no payload read); kinds that are rare in agent
# journals get their whole summary as a piece, so phrases across its parts match too.
DISPLAY: dict[str, Display] = {
    "SessionCreated": Display(("session ",), (Piece(f"'session ' || {_f('name')} || " + _if("config.model", "' · ' || {v}")),)),
    "SessionClosed": Display(("closed",), (Piece("'closed' || CASE WHEN text <> '' THEN ': ' || text ELSE '' END"),)),
    "SessionResumed": Display(("resumed",)),
    "BranchCreated": Display(("fork → ",), (Piece(f"'fork → ' || {_f('name')} || ' @' || {_f('fork_point_seq')}"),)),
    "BranchMerged": Display(("merge ← ",), (Piece(f"'merge ← ' || {_f('source_branch_id')} || ' @' || {_f('merge_seq')}"),)),
    "ToolCallStarted": Display((" started",), (Piece("text || ' started'"),)),
    "ToolCallCompleted": Display((" in ",), (Piece("'in ' || " + duration_sql(_DURATION_MS), _DURATION_CHARS),)),
    "ToolCallFailed": Display((" failed: ",), (Piece(f"{_f('tool_name')} || ' failed: ' || {_f('error')}"),)),
    "RunStarted": Display(("run started",), (Piece("'run started' || " + _if("provider", "' · ' || {v}")),)),
    "RunFinished": Display(("run finished",), (Piece(
        "'run finished' || " + _if("reason", "': ' || {v}") + " || "
        "CASE WHEN json_type(payload, '$.usage') = 'OBJECT' AND payload->>'$.usage' <> '{}' THEN ' · ' || "
        "coalesce(payload->>'$.usage.prompt_tokens', '0') || ' in / ' || "
        "coalesce(payload->>'$.usage.completion_tokens', '0') || ' out' ELSE '' END || "
        + _if("final_answer", "' · ' || {v}")),)),
    "RunErrored": Display(("run errored: ",), (Piece("'run errored: ' || text"),)),
    "StepStarted": Display(("step ",), (Piece(f"'step ' || {_f('index')}", _DIGITS + "step "),)),
    "StepFinished": Display(("step ", " done"), (
        Piece(f"'step ' || {_f('index')} || ' done'", _DIGITS + "step don"),
        Piece("CASE WHEN text <> '' THEN 'done (' || text || ')' ELSE '' END"),
    )),
    "FileWrite": Display(("write ",), (Piece(
        "'write ' || text || CASE WHEN json_type(payload, '$.size_bytes') IN ('BIGINT', 'UBIGINT') "
        "THEN ' (' || (payload->>'$.size_bytes') || ' B)' ELSE '' END"),)),
    "FileDelete": Display(("delete ",), (Piece("'delete ' || text"),)),
    "FileRename": Display(("rename ", " → "), (Piece(f"'rename ' || {_f('old_path')} || ' → ' || {_f('new_path')}"),)),
    "StatePatched": Display(("state r",), (Piece(f"'state r' || {_f('revision')}", _DIGITS + "state r"),)),
    "ContextCompacted": Display(("compacted ", " tokens (", " dropped)"), (Piece(
        f"'compacted ' || {_f('tokens_before')} || ' → ' || {_f('tokens_after')} || ' tokens (' || "
        f"{_f('dropped_count')} || ' dropped)'"),)),
    "PolicyEvaluated": Display((": ",), (Piece(
        f"{_f('tool_name')} || ': ' || {_f('decision')} || " + _if("explanation", "' · ' || {v}")),)),
    "ApprovalRequested": Display(("approve ", "? risk "), (Piece(
        f"'approve ' || {_f('tool_name')} || '? risk ' || {_f('risk')}"),)),
    "ApprovalResolved": Display((), (Piece(_f("decision") + " || " + _if("reason", "': ' || {v}")),)),
    "SnapshotCreated": Display(("snapshot ", " through seq "), (Piece(
        f"'snapshot ' || {_f('snapshot_type')} || ' through seq ' || {_f('covers_through_seq')}"),)),
}
PIECES: tuple[tuple[str, Piece], ...] = tuple((kind, p) for kind, d in DISPLAY.items() for p in d.pieces)


def label_kinds(word: str, kinds: tuple[str, ...]) -> list[str]:
    """Kinds every row of which shows ``word`` (lower case): in its kind label or a constant of its summary."""
    out = []
    for kind in kinds:
        if kind == "Message":
            continue  # labelled by its role, which is in ``text``
        display = DISPLAY.get(kind, Display())
        if word in kind.lower() or any(word in c for c in display.constants):
            out.append(kind)
    return out


# What a tool request's row shows of its outcome ("→ failed 2.0s: denied · "), over an outcome row ``o``
# (ToolCallCompleted or ToolCallFailed). ``R_TS`` stands for its request's timestamp (a failure's duration
# is the time between them), which :func:`outcome_calls_sql` provides.
R_TS = "{request_ts}"
OUTCOME_DURATION_SQL = (
    f"coalesce(TRY_CAST(o.payload->>'$.duration_ms' AS BIGINT), greatest(0, (o.ts - {R_TS}) // 1000))"
)
OUTCOME_SHOWN_SQL = (
    "'→ ' || coalesce(nullif(o.payload->>'$.status', ''), CASE WHEN o.kind = 'ToolCallFailed' THEN 'failed' ELSE '?' END)"
    f" || ' ' || {duration_sql(OUTCOME_DURATION_SQL)} || "
    "CASE WHEN coalesce(o.payload->>'$.error', '') <> '' THEN ': ' || (o.payload->>'$.error') ELSE '' END || ' · '"
)
# Characters that separate the parts of that text, and those of a duration.
_OUTCOME_SEPARATORS = re.compile("[ →·:]+")


def outcome_fragment(word: str) -> str | None:
    """A part of ``word`` that must be in the outcome's ``text`` (its status or error) for the word to be in
    the outcome's row text; None when the word could lie in the constants and the duration alone."""
    parts = [p for p in _OUTCOME_SEPARATORS.split(word) if p and not set(p.lower()) <= set(_DURATION_CHARS + "?")]
    return max(parts, key=len) if parts else None


def outcome_calls_sql(cond: str, cond_params: list, session_id: str, branches: list[str] | None = None) -> tuple[str, list]:
    """SELECT of the call ids whose outcome ``o`` meets ``cond`` (and whose request is on ``branches``).

    Completions carry their duration, so only failures are joined to their request (reading the
    session's requests again costs more than everything else a search does)."""
    sql_parts, params = [], []
    for kind, request_ts in (("ToolCallCompleted", "o.ts"), ("ToolCallFailed", "r.ts")):
        part = cond.replace(R_TS, request_ts)
        on = "o" if kind == "ToolCallCompleted" else "r"
        where = f" AND {on}.branch_id IN ({', '.join('?' * len(branches))})" if branches else ""
        if kind == "ToolCallCompleted":
            sql_parts.append(
                f"SELECT o.call_id FROM events o WHERE o.session_id = ? AND o.kind = '{kind}' "
                f"AND o.call_id IS NOT NULL{where} AND ({part})"
            )
            params += [session_id, *(branches or ()), *cond_params]
        else:
            sql_parts.append(
                "SELECT o.call_id FROM events o JOIN events r ON r.call_id = o.call_id AND r.session_id = o.session_id "
                f"WHERE o.session_id = ? AND r.session_id = ? AND r.kind = 'ToolCallRequested' AND o.kind = '{kind}' "
                f"AND o.call_id IS NOT NULL{where} AND ({part})"
            )
            params += [session_id, session_id, *(branches or ()), *cond_params]
    return " UNION ".join(sql_parts), params
