"""Files that are not (usable) journals: each gets the right JournalError, with a message naming the path,
and is left exactly as it was (same bytes, same mtime, no WAL or other file created next to it)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from bad_files import make_sqlite, make_text, make_truncated, make_zero

from lago_tui.journal import (
    Journal,
    JournalCorrupt,
    JournalError,
    JournalNotFound,
    JournalPermission,
    JournalTooNew,
    NotAJournal,
)

T0 = 1_700_000_000_000_000
_GOOD: dict[str, Path] = {}


@pytest.fixture
def good_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real journal of a few MB (built once per worker; tests copy it, never touch it)."""
    path = _GOOD.get("path")
    if path is None:
        folder = tmp_path_factory.mktemp("good")
        source = folder / "events.jsonl"
        lines = [{"event_id": "G0", "session_id": "GOOD", "timestamp": T0,
                  "payload": {"type": "SessionCreated", "name": "good", "config": {}}}]
        lines += [{"event_id": f"G{i}", "session_id": "GOOD", "timestamp": T0 + i,
                   "payload": {"type": "Message", "role": "user", "content": f"line {i} " + "lorem ipsum " * 20}}
                  for i in range(1, 4000)]
        source.write_text("\n".join(json.dumps(o) for o in lines), encoding="utf-8")
        path = folder / "good.duckdb"
        with Journal(path) as journal:
            journal.import_file(source)
        assert not Path(str(path) + ".wal").exists()
        _GOOD["path"] = path
    return path


# --------------------------------------------------------------------------------------------- makers


def make_corrupted(path: Path, good: Path) -> None:
    data = bytearray(good.read_bytes())
    n = len(data)
    data[n // 4 : 3 * n // 4] = bytes((i * 151 + 7) % 256 for i in range(3 * n // 4 - n // 4))
    path.write_bytes(bytes(data))


def make_header_corrupted(path: Path, good: Path) -> None:
    data = bytearray(good.read_bytes())
    data[4096:12288] = b"\x5a" * 8192  # DuckDB's two database headers
    path.write_bytes(bytes(data))


def make_directory(path: Path, good: Path) -> None:
    path.mkdir()
    (path / "inside.txt").write_text("x", encoding="utf-8")


def make_newer_schema(path: Path, good: Path) -> None:
    shutil.copyfile(good, path)
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()


def make_foreign_duckdb(path: Path, good: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (id INTEGER, total DOUBLE)")
    con.execute("INSERT INTO invoices VALUES (1, 9.5)")
    con.close()


def make_foreign_meta(path: Path, good: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (x INTEGER)")  # a table of the same name, someone else's
    con.close()


def make_garbled_version(path: Path, good: Path) -> None:
    shutil.copyfile(good, path)
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = 'v2-beta' WHERE key = 'schema_version'")
    con.close()


CASES: dict[str, tuple[Callable[[Path, Path], None], type[JournalError], str]] = {
    "zero-bytes": (make_zero, NotAJournal, "empty"),
    "text-file": (make_text, NotAJournal, "not a DuckDB file"),
    "sqlite-file": (make_sqlite, NotAJournal, "SQLite"),
    "truncated-journal": (make_truncated, JournalCorrupt, "corrupt"),
    "corrupted-journal": (make_corrupted, JournalCorrupt, "corrupt"),
    "corrupted-headers": (make_header_corrupted, JournalCorrupt, "corrupt"),
    "directory": (make_directory, NotAJournal, "directory"),
    "newer-schema": (make_newer_schema, JournalTooNew, "99"),
    "garbled-schema-version": (make_garbled_version, NotAJournal, "v2-beta"),
    "foreign-duckdb": (make_foreign_duckdb, NotAJournal, "not a lago-tui journal"),
    "foreign-meta-table": (make_foreign_meta, NotAJournal, "not a lago-tui journal"),
}


def fingerprint(path: Path) -> tuple:
    """What must not change: the bytes and mtime of the file (or a directory's listing), and its folder."""
    folder = sorted(os.listdir(path.parent))
    if path.is_dir():
        return folder, sorted(os.listdir(path)), path.stat().st_mtime_ns
    return folder, hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size, path.stat().st_mtime_ns


def operations(journal: Journal, tmp_path: Path) -> dict[str, Callable[[], object]]:
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"event_id": "N1", "session_id": "NEW", "timestamp": T0,
                                  "payload": {"type": "SessionCreated", "name": "n"}}), encoding="utf-8")
    return {
        "check": journal.check,
        "list_sessions": journal.list_sessions,
        "search": lambda: journal.search("x"),
        "create_session": lambda: journal.create_session({"name": "would write"}),
        "import_file": lambda: journal.import_file(source),
    }


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_refused_and_left_untouched(case: str, tmp_path: Path, good_journal: Path) -> None:
    make, error, words = CASES[case]
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "journal.duckdb"
    make(path, good_journal)
    before = fingerprint(path)

    journal = Journal(path, busy_timeout=1)
    for name, op in operations(journal, tmp_path).items():
        with pytest.raises(error) as info:
            op()
        message = str(info.value)
        assert str(path) in message, (name, message)
        assert words.lower() in message.lower(), (name, message)
        assert "\n" not in message
        assert journal.holds_connection is False
        assert fingerprint(path) == before, f"{name} changed {case}"
    journal.close()
    assert fingerprint(path) == before
    assert not Path(str(path) + ".wal").exists()


def test_missing_path_on_a_read_only_operation(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.duckdb", tmp_path / "no" / "such" / "dir" / "nope.duckdb"):
        journal = Journal(path)
        with pytest.raises(JournalNotFound) as info:
            journal.check()
        assert str(path) in str(info.value)
        assert journal.list_sessions() == []
        assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_empty_duckdb_file_reads_as_empty_and_becomes_a_journal_on_write(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    before = fingerprint(path)
    journal = Journal(path)
    journal.check()
    assert journal.list_sessions() == []
    assert journal.count_sessions() == 0
    assert journal.search("x") == []
    journal.close()
    assert fingerprint(path) == before
    sid = journal.create_session({"name": "first"})
    assert [s.session_id for s in journal.list_sessions()] == [sid]
    journal.close()


def test_unreadable_file(tmp_path: Path, good_journal: Path) -> None:
    path = tmp_path / "locked-away.duckdb"
    shutil.copyfile(good_journal, path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): chmod 000 does not stop this process")
        before = (sorted(os.listdir(tmp_path)), path.stat().st_mtime_ns, path.stat().st_size)
        journal = Journal(path)
        for op in (journal.check, journal.list_sessions, lambda: journal.create_session({"name": "x"})):
            with pytest.raises(JournalPermission) as info:
                op()
            assert str(path) in str(info.value)
        assert (sorted(os.listdir(tmp_path)), path.stat().st_mtime_ns, path.stat().st_size) == before
    finally:
        path.chmod(0o644)


def test_a_good_copy_is_fine(tmp_path: Path, good_journal: Path) -> None:
    """The control for the cases above: the same operations succeed on an intact copy."""
    path = tmp_path / "journal.duckdb"
    shutil.copyfile(good_journal, path)
    journal = Journal(path)
    for op in operations(journal, tmp_path).values():
        op()
    assert sorted(s.event_count for s in journal.list_sessions()) == [1, 1, 4000]
    assert len(journal.search("line 3999")) == 1
    journal.close()
