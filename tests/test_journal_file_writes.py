"""How a writer uses the journal file: row groups written as they fill, and what a rolled-back write gives back.

A writer attaches the journal with small row groups and writes each one as it fills (connection._open_writer),
so a large import compresses and writes while it still reads. A rolled-back write has then written blocks
nobody uses; the writer cuts them off again (connection._FileEnd), so a failed import leaves the file as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest

from lago_tui.journal import InvalidEvent, Journal
from lago_tui.journal import connection
from lago_tui.journal.connection import _FileEnd

T0 = 1_763_000_000_000_000


def _events(count: int, *, sessions: int = 20) -> list[dict]:
    return [{"event_id": f"E{i}", "session_id": f"S{i % sessions}", "timestamp": T0 + i,
             "payload": {"type": "Message", "role": "user", "content": f"message {i} " + "x" * 120}}
            for i in range(count)]


def _write(path: Path, events: list[dict], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + tail, encoding="utf-8")
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    db = tmp_path / "j.duckdb"
    with Journal(db) as j:
        j.import_file(_write(tmp_path / "first.jsonl", _events(100)))
    return db


def test_an_import_writes_row_groups_of_the_writers_size(journal: Path, tmp_path: Path) -> None:
    with Journal(journal) as j:
        j.import_file(_write(tmp_path / "big.jsonl", _events(40_000)[100:]))
    con = duckdb.connect(str(journal), read_only=True)
    try:
        sizes = [n for (n,) in con.execute(
            "SELECT max(count) FROM pragma_storage_info('events') GROUP BY row_group_id ORDER BY row_group_id"
        ).fetchall()]
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 40_000
    finally:
        con.close()
    assert max(sizes) <= connection.WRITER_ROW_GROUP_SIZE
    assert len(sizes) >= 40_000 // connection.WRITER_ROW_GROUP_SIZE


@pytest.mark.parametrize("way", ["whole", "streamed"])
def test_a_failed_import_leaves_the_file_as_it_was(journal: Path, tmp_path: Path, way: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # 60k events (~12 MB) fill row groups that are written during the transaction; the last line is refused.
    from lago_tui.journal import wholefile

    if way == "streamed":
        monkeypatch.setattr(wholefile, "WHOLE_MAX", -1)
    source = _write(tmp_path / "bad.jsonl", _events(60_000)[100:], tail='{"event_id": ""}\n')
    before = (_digest(journal), os.path.getsize(journal))
    with Journal(journal) as j, pytest.raises(InvalidEvent, match="bad.jsonl:59901"):
        j.import_file(source)
    assert (_digest(journal), os.path.getsize(journal)) == before
    with Journal(journal) as j:  # and it still takes a write
        assert j.import_file(_write(tmp_path / "ok.jsonl", _events(200)[100:])).events == 100


def _fake_file(path: Path, size: int, header: bytes = b"H") -> None:
    path.write_bytes(header * _FileEnd.HEADERS + b"b" * (size - _FileEnd.HEADERS))


def test_the_tail_is_cut_only_while_the_headers_are_the_same(tmp_path: Path) -> None:
    path = tmp_path / "f"
    _fake_file(path, 40_000)
    end = _FileEnd.of(path)
    assert end is not None
    with open(path, "ab") as fh:
        fh.write(b"n" * 50_000)
    end.trim(path)
    assert path.read_bytes() == b"H" * _FileEnd.HEADERS + b"b" * (40_000 - _FileEnd.HEADERS)

    # A checkpoint ran (new headers): the blocks past the old end may be in use; nothing is cut.
    _fake_file(path, 90_000, header=b"C")
    end.trim(path)
    assert os.path.getsize(path) == 90_000
    # A write-ahead log is left (a commit reached it, then failed): it may name those blocks; nothing is cut.
    _fake_file(path, 90_000)
    Path(str(path) + ".wal").write_bytes(b"w")
    end.trim(path)
    assert os.path.getsize(path) == 90_000
    Path(str(path) + ".wal").unlink()
    # A file that did not grow is left alone.
    _fake_file(path, 30_000)
    end.trim(path)
    assert os.path.getsize(path) == 30_000
