"""A journal written by an older schema is migrated on first open, reads included, and loses nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb

from lago_tui.journal import Journal
from lago_tui.journal.schema import SCHEMA_VERSION
from lago_tui.paths import demo_source


def _downgrade_to_v1(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE events DROP COLUMN failure")
    con.execute("CREATE UNIQUE INDEX events_event_id ON events (event_id)")  # version 1 had it
    con.execute("ALTER TABLE sessions DROP COLUMN tool_calls")
    con.execute("ALTER TABLE sessions DROP COLUMN failures")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()


def test_v1_journal_is_migrated_by_a_read(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Journal(path) as journal:
        journal.import_file(demo_source())
        expected = {s.session_id: journal.session(s.session_id).totals for s in journal.list_sessions()}
    assert any(t.failures for t in expected.values()) and any(t.tool_calls for t in expected.values())
    _downgrade_to_v1(path)

    with Journal(path) as journal:
        migrated = {s.session_id: journal.session(s.session_id).totals for s in journal.list_sessions()}
        assert migrated == expected
        # Later writes keep the new counters up to date.
        incident = journal.resolve_session("incident-2231-db-latency")
        before = journal.session(incident).totals
        journal.append([{
            "event_id": "01MIGRATIONTEST00000000001", "session_id": incident, "timestamp": 1_800_000_000_000_000,
            "payload": {"type": "ToolCallFailed", "call_id": "c", "tool_name": "t", "error": "boom"},
        }])
        after = journal.session(incident).totals
        assert after.failures == before.failures + 1
    version = duckdb.connect(str(path), read_only=True).execute(
        "SELECT value FROM meta WHERE key = 'schema_version'"
    ).fetchone()[0]
    assert int(version) == SCHEMA_VERSION
