"""The one write path: validate a batch of raw envelopes and append it, all inside one transaction.

API appends and file imports both land here. Rows arrive in a temp table ``_stage(idx, raw)`` (``raw`` is
one envelope as JSON text) through DuckDB's Appender, and every step after that is set-based SQL, so a
million-event import runs at DuckDB's speed rather than Python's:

1. parse and type-check every envelope and payload (the checks are derived from the pydantic models);
2. drop events whose event_id is already in the journal (re-importing a file adds nothing);
3. resolve sessions and branches: ``SessionCreated`` creates a session, ``BranchCreated`` a branch;
4. assign ``seq`` per (session, branch) after the current head, and check fork points against them;
5. insert, then recompute the aggregates of the sessions and branches touched.

Any failure raises :class:`InvalidEvent` naming the first offending row; the caller's transaction is rolled
back, so nothing of the batch is written.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
from pydantic import BaseModel, ValidationError

from . import renames
from .errors import InvalidEvent
from .models import KNOWN_PAYLOADS, EventEnvelope
from .views import AppendResult

Locate = Callable[[int], str]

# Text the search looks at, per kind: the human-readable fields (JSON-valued ones as their JSON text).
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "SessionCreated": ("name",),
    "SessionClosed": ("reason",),
    "BranchCreated": ("name",),
    "RunFinished": ("reason", "final_answer"),
    "RunErrored": ("error",),
    "StepFinished": ("stop_reason",),
    "TextDelta": ("delta",),
    "Message": ("role", "content", "model"),
    "ToolCallRequested": ("tool_name", "arguments"),
    "ToolCallStarted": ("tool_name",),
    "ToolCallCompleted": ("tool_name", "status", "result"),
    "ToolCallFailed": ("tool_name", "error"),
    "FileWrite": ("path",),
    "FileDelete": ("path",),
    "FileRename": ("old_path", "new_path"),
    "StatePatched": ("patch",),
    "PolicyEvaluated": ("tool_name", "decision", "explanation"),
    "ApprovalRequested": ("tool_name", "arguments", "risk"),
    "ApprovalResolved": ("decision", "reason"),
    "ErrorRaised": ("message",),
    "Custom": ("event_type", "data"),
}

_JSON_TYPES_INT = ("BIGINT", "UBIGINT")


def _allowed_json_types(annotation: Any) -> tuple[set[str], bool] | None:
    """JSON types a pydantic annotation accepts, and whether null is allowed; None when anything goes."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        allowed: set[str] = set()
        nullable = False
        for arg in typing.get_args(annotation):
            if arg is type(None):
                nullable = True
                continue
            sub = _allowed_json_types(arg)
            if sub is None:
                return None
            allowed |= sub[0]
            nullable |= sub[1]
        return allowed, nullable
    if annotation is str or typing.get_origin(annotation) is typing.Literal:
        return {"VARCHAR"}, False
    if annotation is int:
        return set(_JSON_TYPES_INT), False
    if annotation is float:
        return {"BIGINT", "UBIGINT", "DOUBLE"}, False
    if annotation is bool:
        return {"BOOLEAN"}, False
    if origin is list:
        return {"ARRAY"}, False
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return {"OBJECT"}, False
    return None


def _payload_checks() -> tuple[list[str], str]:
    """(payload field names, a SQL CASE expression true when the payload fits its kind's model)."""
    fields: set[str] = set()
    cases: list[str] = []
    for kind, cls in KNOWN_PAYLOADS.items():
        conds: list[str] = []
        for name, info in cls.model_fields.items():
            if name == "type":
                continue
            fields.add(name)
            rule = _allowed_json_types(info.annotation)
            if rule is None:
                continue
            allowed, nullable = rule
            jt = f"json_type(pf.{name})"
            types_sql = ", ".join(f"'{t}'" for t in sorted(allowed | ({"NULL"} if nullable else set())))
            if info.is_required():
                conds.append(f"coalesce({jt} IN ({types_sql}), false)")
            else:
                conds.append(f"({jt} IS NULL OR {jt} IN ({types_sql}))")
            if any(getattr(m, "ge", None) == 0 for m in info.metadata):
                conds.append(f"coalesce(TRY_CAST(pf.{name}::VARCHAR AS HUGEINT) >= 0, true)")
        if conds:
            cases.append(f"WHEN '{kind}' THEN ({' AND '.join(conds)})")
    return sorted(fields), "CASE kind " + " ".join(cases) + " ELSE true END"


_PAYLOAD_FIELDS, _PAYLOAD_OK = _payload_checks()
_PF_STRUCT = "{" + ", ".join(f'"{f}": "JSON"' for f in _PAYLOAD_FIELDS) + "}"
_ENV_STRUCT = (
    '{"event_id": "JSON", "session_id": "JSON", "branch_id": "JSON", "run_id": "JSON", "seq": "JSON",'
    ' "timestamp": "JSON", "parent_id": "JSON", "payload": "JSON", "kind": "JSON", "metadata": "JSON",'
    ' "schema_version": "JSON"}'
)


def _text_sql() -> str:
    parts = []
    for kind, names in TEXT_FIELDS.items():
        cols = ", ".join(
            f"CASE json_type(pf.{n}) WHEN 'VARCHAR' THEN pf.{n}->>'$' WHEN 'NULL' THEN NULL ELSE pf.{n}::VARCHAR END"
            for n in names
        )
        parts.append(f"WHEN '{kind}' THEN concat_ws(' ', {cols})")
    known = ", ".join(f"'{k}'" for k in KNOWN_PAYLOADS)
    # The fallback must be a searched CASE: inside ``CASE kind WHEN ...`` a ``WHEN kind IN (...)`` compares
    # kind with a boolean, and casting a kind such as 'RunStarted' to BOOL fails the whole batch.
    return f"CASE kind {' '.join(parts)} ELSE CASE WHEN kind IN ({known}) THEN '' ELSE payload END END"


# Step 1: parse every row once, pull out the envelope's fields as small JSON values. A row that is valid
# JSON but not an object gets all-NULL fields and fails the envelope checks below. Invalid JSON must not make
# the statement fail: inside the caller's transaction a failed statement aborts it (the staged rows go with
# it), so TRY() turns the row into NULL and only those rows are checked again with json_valid.
_PARSE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _env AS
SELECT idx, e, CASE WHEN e IS NULL THEN NOT coalesce(json_valid(raw), false) ELSE false END AS bad_json
FROM (SELECT idx, raw, try(from_json(raw, '{_ENV_STRUCT}')) AS e FROM _stage)
"""

# Step 2: typed columns plus a check of every envelope rule; payload fields as small JSON values.
_EXTRACT_SQL = f"""
CREATE OR REPLACE TEMP TABLE _ev AS
WITH base AS (
    SELECT idx, e, bad_json,
           coalesce(e.payload, e.kind) AS p
    FROM _env
), typed AS (
    SELECT *, json_type(p) AS ptop, p->>'$.type' AS kind, json_type(p, '$.type') AS ktype,
           from_json(p, '{_PF_STRUCT}') AS pf
    FROM base
)
SELECT idx, kind,
    e.event_id->>'$' AS event_id,
    e.session_id->>'$' AS session_id,
    coalesce(e.branch_id->>'$', 'main') AS branch_id,
    e.run_id->>'$' AS run_id,
    TRY_CAST(e.timestamp::VARCHAR AS BIGINT) AS ts,
    e.parent_id->>'$' AS parent_id,
    coalesce(TRY_CAST(e.schema_version::VARCHAR AS INTEGER), 1) AS schema_version,
    p::VARCHAR AS payload,
    coalesce(e.metadata::VARCHAR, '{{}}') AS metadata,
    pf.new_branch_id->>'$' AS new_branch_id,
    TRY_CAST(pf.fork_point_seq::VARCHAR AS BIGINT) AS fork_point_seq,
    pf.name->>'$' AS pname,
    pf.call_id->>'$' AS call_id,
    CASE WHEN kind IN ('ToolCallFailed', 'RunErrored', 'ErrorRaised') THEN true
         WHEN kind = 'ToolCallCompleted' THEN coalesce(pf.status->>'$' NOT IN ('ok', 'success'), false)
         ELSE false END AS failure,
    pf.config->>'$.model' AS cfg_model,
    pf.config->'$.params' AS cfg_params,
    CASE kind WHEN 'Message' THEN TRY_CAST(pf.token_usage->>'$.prompt_tokens' AS BIGINT)
              WHEN 'RunFinished' THEN TRY_CAST(pf.usage->>'$.prompt_tokens' AS BIGINT) END AS tokens_in,
    CASE kind WHEN 'Message' THEN TRY_CAST(pf.token_usage->>'$.completion_tokens' AS BIGINT)
              WHEN 'RunFinished' THEN TRY_CAST(pf.usage->>'$.completion_tokens' AS BIGINT) END AS tokens_out,
    {_text_sql()} AS text,
    CASE
        WHEN bad_json THEN 'not valid JSON'
        WHEN e IS NULL OR (e.event_id IS NULL AND e.session_id IS NULL AND e.payload IS NULL AND e.kind IS NULL)
            THEN 'an event must be a JSON object with event_id, session_id, timestamp and payload'
        WHEN coalesce(json_type(e.event_id) <> 'VARCHAR' OR e.event_id->>'$' = '', true)
            THEN 'event_id must be a non-empty string'
        WHEN coalesce(json_type(e.session_id) <> 'VARCHAR' OR e.session_id->>'$' = '', true)
            THEN 'session_id must be a non-empty string'
        WHEN e.branch_id IS NOT NULL AND (json_type(e.branch_id) <> 'VARCHAR' OR e.branch_id->>'$' = '')
            THEN 'branch_id must be a non-empty string'
        WHEN coalesce(json_type(e.timestamp) NOT IN ('BIGINT', 'UBIGINT'), true)
            OR TRY_CAST(e.timestamp::VARCHAR AS BIGINT) IS NULL
            THEN 'timestamp must be an integer (microseconds since the epoch)'
        WHEN e.seq IS NOT NULL AND json_type(e.seq) NOT IN ('BIGINT', 'UBIGINT') THEN 'seq must be an integer'
        WHEN e.run_id IS NOT NULL AND json_type(e.run_id) NOT IN ('VARCHAR', 'NULL') THEN 'run_id must be a string'
        WHEN e.parent_id IS NOT NULL AND json_type(e.parent_id) NOT IN ('VARCHAR', 'NULL')
            THEN 'parent_id must be a string'
        WHEN e.schema_version IS NOT NULL AND (json_type(e.schema_version) NOT IN ('BIGINT', 'UBIGINT')
            OR TRY_CAST(e.schema_version::VARCHAR AS INTEGER) IS NULL)
            THEN 'schema_version must be an integer'
        WHEN e.metadata IS NOT NULL AND (json_type(e.metadata) <> 'OBJECT'
            OR regexp_matches(json_structure(e.metadata)::VARCHAR, ':("(BIGINT|UBIGINT|DOUBLE|BOOLEAN|NULL|JSON)"|\\[|\\{{)'))
            THEN 'metadata must be an object of string values'
        WHEN p IS NULL THEN 'payload is missing'
        WHEN ptop <> 'OBJECT' THEN 'payload must be a JSON object'
        WHEN coalesce(ktype <> 'VARCHAR', true) THEN 'payload.type must be a string'
        WHEN NOT ({_PAYLOAD_OK}) THEN 'payload does not match its type ' || kind
    END AS problem
FROM typed
"""


@dataclass(frozen=True)
class IngestResult:
    sessions_created: int
    events_added: int
    events_skipped: int
    branches_created: int


def stage_rows(con: duckdb.DuckDBPyConnection, rows: Iterable[tuple[int, str]]) -> None:
    """Load (idx, raw JSON) rows into the temp stage table with the Appender (bulk path)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _stage (idx BIGINT, raw VARCHAR)")
    appender = con.appender("_stage")
    appender.append_rows(rows)
    appender.flush()


def stage_json_array(con: duckdb.DuckDBPyConnection, document: str) -> None:
    """Load the elements of one JSON array document, indexed from 0, into the stage table."""
    con.execute("CREATE OR REPLACE TEMP TABLE _stage (idx BIGINT, raw VARCHAR)")
    con.execute(
        """
        INSERT INTO _stage
        SELECT generate_subscripts(l, 1) - 1 AS idx, unnest(l)::VARCHAR AS raw
        FROM (SELECT from_json(?::JSON, '["JSON"]') AS l)
        """,
        [document],
    )


def _explain(raw: str, fallback: str) -> str:
    """A precise message for one bad row, from pydantic when it can say more than the SQL check."""
    try:
        EventEnvelope.model_validate_json(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = ".".join(str(part) for part in err["loc"] if not str(part).startswith("function-"))
        loc = loc.replace("kind.", "payload.") if loc.startswith("kind.") else loc
        msg = err["msg"]
        if err["type"] == "json_invalid":
            return f"not valid JSON ({err.get('ctx', {}).get('error', msg)})"
        return f"{loc}: {msg}" if loc else msg
    return fallback


def _fail(con: duckdb.DuckDBPyConnection, locate: Locate, sql: str, params: Sequence[Any] = ()) -> None:
    """Run a query returning (idx, problem) of the first bad row, if any, and raise for it."""
    row = con.execute(sql, list(params)).fetchone()
    if row is None or row[0] is None:
        return
    idx, problem = row[0], row[1]
    raw_row = con.execute("SELECT raw FROM _stage WHERE idx = ?", [idx]).fetchone()
    if raw_row is not None and problem.startswith(("payload", "metadata", "timestamp", "event_id", "session_id", "not valid")):
        problem = _explain(raw_row[0], problem)
    raise InvalidEvent(locate(idx), problem)


def ingest(
    con: duckdb.DuckDBPyConnection,
    locate: Locate,
    *,
    implicit_sessions: bool,
) -> IngestResult:
    """Validate and append the staged rows. ``con`` must be inside a transaction."""
    con.execute(_PARSE_SQL)
    con.execute(_EXTRACT_SQL)
    _fail(con, locate, "SELECT idx, problem FROM _ev WHERE problem IS NOT NULL ORDER BY idx LIMIT 1")
    # The first occurrence is named through ``locate`` (a raw idx is a 0-based element index for arrays
    # and API batches, which is not the line or event number people see).
    dup = con.execute(
        """
        SELECT max_idx, event_id, min_idx
        FROM (SELECT event_id, min(idx) AS min_idx, arg_max(idx, idx) FILTER (WHERE rn = 2) AS max_idx
              FROM (SELECT event_id, idx, row_number() OVER (PARTITION BY event_id ORDER BY idx) AS rn FROM _ev)
              GROUP BY event_id HAVING count(*) > 1)
        ORDER BY max_idx LIMIT 1
        """
    ).fetchone()
    if dup is not None:
        raise InvalidEvent(locate(dup[0]), f"duplicate event_id {dup[1]} (also at {locate(dup[2])})")
    total = con.execute("SELECT count(*) FROM _ev").fetchone()[0]
    # Events already in the journal are skipped: importing a file twice adds nothing.
    # Usually none is (a first import, an append): then _new is a view of _ev, not a copy of every column.
    known = con.execute("SELECT count(*) FROM events x JOIN _ev USING (event_id)").fetchone()[0]
    if known:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _new_rows AS
            SELECT * FROM _ev WHERE event_id NOT IN (SELECT x.event_id FROM events x JOIN _ev USING (event_id))
            """
        )
        con.execute("CREATE OR REPLACE TEMP VIEW _new AS SELECT * FROM _new_rows")
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW _new AS SELECT * FROM _ev")
    added = con.execute("SELECT count(*) FROM _new").fetchone()[0]
    if added == 0:
        return IngestResult(0, 0, total, 0)

    # ---------------------------------------------------------------- sessions
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _new_sessions AS
        SELECT session_id,
               coalesce(arg_min(pname, idx) FILTER (WHERE kind = 'SessionCreated'), session_id) AS name,
               coalesce(arg_min(cfg_model, idx) FILTER (WHERE kind = 'SessionCreated'), '') AS model,
               arg_min(cfg_params, idx) FILTER (WHERE kind = 'SessionCreated') AS params,
               coalesce(arg_min(ts, idx) FILTER (WHERE kind = 'SessionCreated'), min(ts)) AS created_at,
               arg_min(kind, idx) AS first_kind,
               arg_min(branch_id, idx) AS first_branch,
               min(idx) AS first_idx
        FROM _new WHERE session_id NOT IN (SELECT session_id FROM sessions)
        GROUP BY session_id
        """
    )
    if not implicit_sessions:
        _fail(
            con,
            locate,
            """SELECT first_idx, 'unknown session ' || session_id || ' (create it first)' FROM _new_sessions
               WHERE first_kind <> 'SessionCreated' ORDER BY first_idx LIMIT 1""",
        )
    # ---------------------------------------------------------------- branches
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _new_branches AS
        SELECT session_id, new_branch_id AS branch_id, pname AS name, branch_id AS parent_branch_id,
               fork_point_seq, ts AS created_at, idx AS created_idx
        FROM _new WHERE kind = 'BranchCreated'
        """
    )
    _fail(
        con,
        locate,
        """
        SELECT created_idx, problem FROM (
            SELECT nb.created_idx,
                CASE
                    WHEN nb.branch_id IS NULL OR nb.branch_id = '' THEN 'BranchCreated needs a new_branch_id'
                    WHEN nb.name IS NULL OR trim(nb.name) = '' THEN 'BranchCreated needs a name'
                    WHEN nb.branch_id = 'main' OR nb.name = 'main' THEN 'main is the session''s first branch; it cannot be created again'
                    WHEN b.branch_id IS NOT NULL THEN 'branch id ' || nb.branch_id || ' already exists in session ' || nb.session_id
                    WHEN count(*) OVER (PARTITION BY nb.session_id, nb.branch_id) > 1
                        AND nb.created_idx > min(nb.created_idx) OVER (PARTITION BY nb.session_id, nb.branch_id)
                        THEN 'branch id ' || nb.branch_id || ' is created twice'
                END AS problem
            FROM _new_branches nb
            LEFT JOIN branches b ON b.session_id = nb.session_id AND b.branch_id = nb.branch_id
        ) WHERE problem IS NOT NULL ORDER BY created_idx LIMIT 1
        """,
    )
    # Renames (Custom events, see renames.py): well-formed, and branch names unique at every point.
    renames.check(con, lambda sql: _fail(con, locate, sql), new_branches=True)
    # Every event must be on a branch that exists (in the journal, or created earlier in this batch).
    _fail(
        con,
        locate,
        """
        SELECT n.idx,
            CASE WHEN n.session_id IN (SELECT session_id FROM _new_sessions)
                      AND n.session_id NOT IN (SELECT session_id FROM _new_branches WHERE branch_id = n.branch_id)
                 THEN 'unknown session ' || n.session_id || ' for an event on branch ' || n.branch_id
                 WHEN nb.created_idx IS NOT NULL THEN 'event on branch ' || n.branch_id || ' comes before the BranchCreated that creates it'
                 ELSE 'unknown branch ' || n.branch_id || ' in session ' || n.session_id END
        FROM _new n
        LEFT JOIN branches b ON b.session_id = n.session_id AND b.branch_id = n.branch_id
        LEFT JOIN _new_branches nb ON nb.session_id = n.session_id AND nb.branch_id = n.branch_id
        WHERE n.branch_id <> 'main' AND b.branch_id IS NULL AND (nb.created_idx IS NULL OR nb.created_idx > n.idx)
        ORDER BY n.idx LIMIT 1
        """,
    )
    # ---------------------------------------------------------------- seq
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _seq_of AS
        SELECT n.idx, coalesce(b.head_seq, 0) + row_number() OVER (PARTITION BY n.session_id, n.branch_id ORDER BY n.idx) AS seq
        FROM _new n LEFT JOIN branches b ON b.session_id = n.session_id AND b.branch_id = n.branch_id
        """
    )
    # Only (idx, seq) is materialised (copying the wide rows cost as much as the window itself).
    con.execute("CREATE OR REPLACE TEMP VIEW _seq AS SELECT n.*, s.seq FROM _new n JOIN _seq_of s USING (idx)")
    _fail(
        con,
        locate,
        """
        SELECT idx, 'fork_point_seq ' || fork_point_seq || ' is past the head of branch ' || branch_id
                    || ' (' || (seq - 1) || ')'
        FROM _seq WHERE kind = 'BranchCreated' AND fork_point_seq > seq - 1 ORDER BY idx LIMIT 1
        """,
    )
    # ---------------------------------------------------------------- write
    con.execute(
        """
        INSERT INTO sessions (session_id, name, model, params, created_at)
        SELECT session_id, name, model, coalesce(params::VARCHAR, '{}'), created_at FROM _new_sessions
        """
    )
    sessions_created = con.execute("SELECT count(*) FROM _new_sessions").fetchone()[0]
    con.execute(
        """
        INSERT INTO branches (session_id, branch_id, name, parent_branch_id, fork_point_seq, created_at)
        SELECT session_id, 'main', 'main', NULL, 0, created_at FROM _new_sessions
        UNION ALL
        SELECT session_id, branch_id, name, parent_branch_id, fork_point_seq, created_at FROM _new_branches
        """
    )
    branches_created = con.execute("SELECT count(*) FROM _new_branches").fetchone()[0]
    base = con.execute("SELECT coalesce(max(ord), 0) FROM events").fetchone()[0]
    con.execute(
        """
        INSERT INTO events (event_id, session_id, branch_id, seq, run_id, ts, parent_id, kind, payload, metadata,
                            schema_version, text, tokens_in, tokens_out, call_id, failure, ord)
        SELECT event_id, session_id, branch_id, seq, run_id, ts, parent_id, kind, payload, metadata,
               schema_version, coalesce(text, ''), tokens_in, tokens_out, call_id, failure, ? + row_number() OVER (ORDER BY idx)
        FROM _seq ORDER BY idx
        """,
        [base],
    )
    _refresh_aggregates(con)
    renames.apply(con)
    return IngestResult(sessions_created, added, total - added, branches_created)


def _refresh_aggregates(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute heads and session aggregates for what the batch touched (no drift, no double counting).

    Tokens: an assistant Message's token_usage counts; a RunFinished's usage counts only for runs whose
    messages reported none (both usually describe the same tokens). First/last activity (and so wall time
    and the list's "last activity") leave out the structural annotations BranchCreated and BranchMerged.
    """
    con.execute(
        """
        UPDATE branches AS b SET head_seq = h.head
        FROM (SELECT session_id, branch_id, max(seq) AS head FROM _seq GROUP BY ALL) h
        WHERE b.session_id = h.session_id AND b.branch_id = h.branch_id
        """
    )
    con.execute(
        """
        UPDATE sessions AS s SET
            event_count = a.n, first_ts = a.first_ts, last_ts = a.last_ts,
            tokens_in = a.tin, tokens_out = a.tout, closed = a.closed, branch_count = a.branches,
            tool_calls = a.tool_calls, failures = a.failures
        FROM (
            SELECT ev.session_id, sum(r.n) AS n, min(r.first_ts) AS first_ts, max(r.last_ts) AS last_ts,
                   sum(CASE WHEN r.msg_in + r.msg_out > 0 THEN r.msg_in ELSE r.fin_in END) AS tin,
                   sum(CASE WHEN r.msg_in + r.msg_out > 0 THEN r.msg_out ELSE r.fin_out END) AS tout,
                   coalesce(arg_max(r.life, r.life_ts) FILTER (WHERE r.life IS NOT NULL) = 'SessionClosed', false) AS closed,
                   (SELECT count(*) FROM branches bb WHERE bb.session_id = ev.session_id) AS branches,
                   sum(r.tool_calls) AS tool_calls, sum(r.failures) AS failures
            FROM (SELECT DISTINCT session_id FROM _seq) ev
            JOIN (
                SELECT session_id, run_id, count(*) AS n,
                       -- activity and wall time are the agent's: a fork or merge made later by a person
                       -- (BranchCreated/BranchMerged, stamped when made) does not count
                       min(ts) FILTER (WHERE kind NOT IN ('BranchCreated', 'BranchMerged')) AS first_ts,
                       max(ts) FILTER (WHERE kind NOT IN ('BranchCreated', 'BranchMerged')) AS last_ts,
                       count(*) FILTER (WHERE kind = 'ToolCallRequested') AS tool_calls,
                       count(*) FILTER (WHERE failure) AS failures,
                       coalesce(sum(tokens_in) FILTER (WHERE kind = 'Message'), 0) AS msg_in,
                       coalesce(sum(tokens_out) FILTER (WHERE kind = 'Message'), 0) AS msg_out,
                       coalesce(sum(tokens_in) FILTER (WHERE kind = 'RunFinished'), 0) AS fin_in,
                       coalesce(sum(tokens_out) FILTER (WHERE kind = 'RunFinished'), 0) AS fin_out,
                       arg_max(kind, ord) FILTER (WHERE kind IN ('SessionClosed', 'SessionResumed')) AS life,
                       max(ord) FILTER (WHERE kind IN ('SessionClosed', 'SessionResumed')) AS life_ts
                FROM events WHERE session_id IN (SELECT DISTINCT session_id FROM _seq)
                GROUP BY session_id, run_id
            ) r ON r.session_id = ev.session_id
            GROUP BY ev.session_id
        ) a
        WHERE s.session_id = a.session_id
        """
    )


def assigned_seqs(con: duckdb.DuckDBPyConnection, result: IngestResult) -> list[int]:
    """After :func:`ingest` (same transaction): the seq of every staged row in idx order. A row whose event
    was already in the journal gets the stored event's seq."""
    if result.events_added + result.events_skipped == 0:
        return []
    if result.events_skipped == 0:
        return [row[0] for row in con.execute("SELECT seq FROM _seq_of ORDER BY idx").fetchall()]
    return [row[0] for row in con.execute(
        "SELECT x.seq FROM _ev n JOIN events x USING (event_id) ORDER BY n.idx"
    ).fetchall()]


def append_rows(con: duckdb.DuckDBPyConnection, rows: Iterable[tuple[int, str]], locate: Locate) -> AppendResult:
    """The API append inside the caller's transaction: stage (idx, raw JSON) rows, ingest them (a new
    session must start with its SessionCreated) and say which seq each row got."""
    stage_rows(con, rows)
    result = ingest(con, locate, implicit_sessions=False)
    return AppendResult(tuple(assigned_seqs(con, result)), result.events_added, result.events_skipped,
                        result.sessions_created, result.branches_created)
