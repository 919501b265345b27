"""A journal written by an older schema: read as it is (no write, no lock file, byte for byte unchanged, by any
number of readers at once), migrated by the next write, and nothing lost either way."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path

import duckdb
import pytest
from cli_support import LAGO, REPO

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


def _version(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
    finally:
        con.close()


def _fingerprint(path: Path) -> tuple:
    st = path.stat()
    return sorted(os.listdir(path.parent)), hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns


_V1: dict[str, tuple[Path, dict]] = {}


@pytest.fixture
def v1_journal(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The demo journal at schema 1 (built once per worker, copied) and its sessions' totals at schema 2."""
    if "v1" not in _V1:
        template = tmp_path_factory.mktemp("v1") / "old.duckdb"
        with Journal(template) as journal:
            journal.import_file(demo_source())
            expected = {s.session_id: journal.session(s.session_id).totals for s in journal.list_sessions()}
        assert any(t.failures for t in expected.values()) and any(t.tool_calls for t in expected.values())
        _downgrade_to_v1(template)
        (template.parent / "old.duckdb.lock").unlink(missing_ok=True)
        _V1["v1"] = (template, expected)
    template, expected = _V1["v1"]
    path = tmp_path / "data" / "old.duckdb"
    path.parent.mkdir()
    path.write_bytes(template.read_bytes())
    return path, expected


def test_v1_journal_is_read_without_changing_a_byte(v1_journal: tuple[Path, dict]) -> None:
    path, expected = v1_journal
    before = _fingerprint(path)
    with Journal(path) as journal:
        assert {s.session_id: journal.session(s.session_id).totals for s in journal.list_sessions()} == expected
        incident = journal.resolve_session("incident-2231-db-latency")
        timeline = journal.timeline(incident)
        window = timeline.window(0, timeline.length)
        failed = [ev for ev in window if ev.kind == "ToolCallRequested" and ev.outcome and ev.outcome.status != "ok"]
        assert failed, "tool outcomes are read from a v1 journal too"
        assert len(list(journal.export(incident))) == journal.session(incident).summary.event_count
    assert _fingerprint(path) == before, "a read changed the file or its folder (a migration, a lock file...)"
    assert _version(path) == 1


def test_v1_journal_read_by_cli_commands_and_concurrent_readers(v1_journal: tuple[Path, dict]) -> None:
    """Read-only commands never migrate: the hash is the same after each, and readers at the same time (which a
    migrating reader would have made 'busy') all succeed."""
    path, _ = v1_journal
    before = _fingerprint(path)
    for args in (["sessions"], ["show", "incident-2231-db-latency"], ["log", "incident-2231-db-latency", "--json"],
                 ["export", "incident-2231-db-latency"]):
        proc = subprocess.run([*LAGO, "--journal", str(path), *args], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert proc.returncode == 0 and proc.stderr == "", (args, proc.stderr)
        assert _fingerprint(path) == before, f"{args} changed the file"
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with Journal(path, busy_timeout=10) as journal:
                for _ in range(3):
                    journal.list_sessions()
                    journal.session("incident-2231-db-latency")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _fingerprint(path) == before


def test_v1_journal_is_migrated_by_the_next_write(v1_journal: tuple[Path, dict]) -> None:
    path, expected = v1_journal
    with Journal(path) as journal:
        incident = journal.resolve_session("incident-2231-db-latency")
        before = journal.session(incident).totals
        journal.append([{
            "event_id": "01MIGRATIONTEST00000000001", "session_id": incident, "timestamp": 1_800_000_000_000_000,
            "payload": {"type": "ToolCallFailed", "call_id": "c", "tool_name": "t", "error": "boom"},
        }])
        after = journal.session(incident).totals
        assert after.failures == before.failures + 1
        assert {s: journal.session(s).totals for s in expected if s != incident} == {
            s: t for s, t in expected.items() if s != incident}
    assert _version(path) == SCHEMA_VERSION
