"""The journal's tables, its schema version and migrations.

Events are stored once, on the branch that wrote them; a branch's timeline is assembled from its ancestors'
segments at read time. ``sessions`` and ``branches`` carry aggregates that every write transaction
recomputes for the sessions it touched, so the session list never scans the events table.
"""

from __future__ import annotations

import duckdb

SCHEMA_VERSION = 1

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
    closed       BOOLEAN NOT NULL DEFAULT false
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
    ord            BIGINT NOT NULL  -- global write order: export replays it so parents precede children
);
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (event_id);
"""

# version -> SQL that brings a journal of version-1 up to it
MIGRATIONS: dict[int, str] = {}


def create(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TABLES)
    con.execute(
        "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [str(SCHEMA_VERSION)]
    )


def migrate(con: duckdb.DuckDBPyConnection, found: int) -> None:
    for version in range(found + 1, SCHEMA_VERSION + 1):
        con.execute(MIGRATIONS[version])
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
