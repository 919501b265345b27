"""The journal's tables, its schema version and migrations.

Events are stored once, on the branch that wrote them; a branch's timeline is assembled from its ancestors'
segments at read time. ``sessions`` and ``branches`` carry aggregates that every write transaction
recomputes for the sessions it touched, so the session list never scans the events table.
"""

from __future__ import annotations

import duckdb

from .kinds import FAILURE_KINDS, OK_STATUSES

SCHEMA_VERSION = 2


def _sql_strings(values: tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def failure_sql(kind: str, status: str) -> str:
    """The SQL CASE that is an event's ``failure`` flag, given SQL expressions for its kind and its payload's
    status (the rule of :data:`.kinds.FAILURE_KINDS` and :data:`.kinds.OK_STATUSES`)."""
    return (
        f"CASE WHEN {kind} IN ({_sql_strings(FAILURE_KINDS)}) THEN true "
        f"WHEN {kind} = 'ToolCallCompleted' THEN coalesce({status} NOT IN ({_sql_strings(OK_STATUSES)}), false) "
        "ELSE false END"
    )


# The flag over a stored row (its kind and payload columns): the migration and the older-schema views.
FAILURE_SQL = failure_sql("kind", "payload->>'$.status'")

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id   VARCHAR PRIMARY KEY,
    name         VARCHAR NOT NULL,
    model        VARCHAR NOT NULL DEFAULT '',
    params       VARCHAR NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL,
    event_count  BIGINT NOT NULL DEFAULT 0,
    branch_count INTEGER NOT NULL DEFAULT 1,
    tokens_in    BIGINT NOT NULL DEFAULT 0,
    tokens_out   BIGINT NOT NULL DEFAULT 0,
    first_ts     BIGINT,
    last_ts      BIGINT,
    closed       BOOLEAN NOT NULL DEFAULT false,
    tool_calls   BIGINT NOT NULL DEFAULT 0,
    failures     BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS branches (
    session_id       VARCHAR NOT NULL,
    branch_id        VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    parent_branch_id VARCHAR,
    fork_point_seq   BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    head_seq         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, branch_id)
);
CREATE TABLE IF NOT EXISTS events (
    event_id       VARCHAR NOT NULL,
    session_id     VARCHAR NOT NULL,
    branch_id      VARCHAR NOT NULL,
    seq            BIGINT NOT NULL,
    run_id         VARCHAR,
    ts             BIGINT NOT NULL,
    parent_id      VARCHAR,
    kind           VARCHAR NOT NULL,
    payload        VARCHAR NOT NULL,
    metadata       VARCHAR NOT NULL,
    schema_version INTEGER NOT NULL,
    text           VARCHAR NOT NULL,
    tokens_in      BIGINT,
    tokens_out     BIGINT,
    call_id        VARCHAR,
    failure        BOOLEAN NOT NULL,  -- ToolCallFailed, a non-ok ToolCallCompleted, RunErrored, ErrorRaised
    ord            BIGINT NOT NULL  -- global write order: export replays it so parents precede children
);
"""

# version -> SQL that brings a journal of version-1 up to it
MIGRATIONS: dict[int, str] = {
    # 2: failures flagged per event and tool/failure counts kept per session, so opening a session reads
    # no payloads (450 ms -> a few ms for a 200k-event session). The event_id index goes: the write path
    # already refuses duplicates (in the batch, and against the journal, under the file's write lock),
    # and maintaining the index cost a large part of every bulk insert.
    2: f"""
    DROP INDEX IF EXISTS events_event_id;
    ALTER TABLE events ADD COLUMN failure BOOLEAN DEFAULT false;
    UPDATE events SET failure = {FAILURE_SQL};
    ALTER TABLE sessions ADD COLUMN tool_calls BIGINT DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN failures BIGINT DEFAULT 0;
    UPDATE sessions AS s SET tool_calls = a.tool_calls, failures = a.failures
    FROM (SELECT session_id, count(*) FILTER (WHERE kind = 'ToolCallRequested') AS tool_calls,
                 count(*) FILTER (WHERE failure) AS failures
          FROM events GROUP BY session_id) a
    WHERE s.session_id = a.session_id;
    """,
}


def create(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TABLES)
    con.execute(
        "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [str(SCHEMA_VERSION)]
    )


def migrate(con: duckdb.DuckDBPyConnection, found: int) -> None:
    for version in range(found + 1, SCHEMA_VERSION + 1):
        con.execute(MIGRATIONS[version])
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
