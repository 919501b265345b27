"""A regular JSON Lines file read whole by DuckDB (journal/wholefile.py) imports exactly as the streamed import
would: the same rows in every table, the same errors; what it cannot vouch for it declines, and the streamed
import does it. Each case imports the same file both ways into fresh journals and compares everything."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lago_tui import synth
from lago_tui.journal import InvalidEvent, Journal, importer, wholefile
from lago_tui.journal.connection import Connector

from tests.test_robust_import import REFUSED, SID, T0, created

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "lago-golden"


@pytest.fixture
def streamed_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files the streamed import opened (empty: every import took the whole-file path)."""
    opened: list[Path] = []
    real = importer.ImportSource

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, path: Path) -> None:
            opened.append(path)
            super().__init__(path)

    monkeypatch.setattr(importer, "ImportSource", Spy)
    return opened


def _import(db: Path, source: Path, way: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        if way == "whole":
            m.setattr(wholefile, "WHOLE_MIN", 0)
        else:
            m.setattr(wholefile, "WHOLE_MAX", -1)
        with Journal(db) as journal:
            try:
                result = journal.import_file(source)
            except InvalidEvent as exc:
                return ("refused", str(exc))
            return (result.events, result.sessions, result.skipped, result.branches)


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
                for table in ("events", "sessions", "branches", "meta")}
    finally:
        con.close()


def both_ways(tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch, *, before: Path | None = None) -> Any:
    """Import ``source`` (after ``before``, if given) each way; assert the same answer and the same tables."""
    results, tables = {}, {}
    tmp_path.mkdir(parents=True, exist_ok=True)
    for way in ("streamed", "whole"):
        db = tmp_path / f"{way}.duckdb"
        if before is not None:
            _import(db, before, way, monkeypatch)
        results[way] = _import(db, source, way, monkeypatch)
        tables[way] = dump(db) if db.exists() else None
    assert results["whole"] == results["streamed"]
    assert tables["whole"] == tables["streamed"]
    return results["whole"]


def lines_file(path: Path, events: list[dict[str, Any]], *, end: str = "\n", dumps=json.dumps) -> Path:  # noqa: ANN001
    path.write_bytes(end.join(dumps(e) for e in events).encode("utf-8", "surrogatepass") + end.encode())
    return path


def chat(n: int, *, session: str = SID, start: int = 0) -> list[dict[str, Any]]:
    """n events of one session: its creation, then messages and tool calls (some with floats in their JSON)."""
    out = [created(f"{session}-C0", session=session)] if start == 0 else []
    for i in range(max(start, 1), n):
        if i % 3:
            payload = {"type": "Message", "role": "assistant" if i % 2 else "user",
                       "content": f"line {i} déjà vu ✓ " + "lorem ipsum " * (i % 7),
                       "token_usage": {"prompt_tokens": i, "completion_tokens": 2, "total_tokens": i + 2}}
        else:
            payload = {"type": "ToolCallRequested", "call_id": f"c{i}", "tool_name": "grep",
                       "arguments": {"pattern": "x", "ratio": i / 7e6, "n": i}}
        out.append({"event_id": f"{session}-E{i:06d}", "session_id": session, "timestamp": T0 + i, "payload": payload})
    return out


# --------------------------------------------------------------------------------------------- same result


def test_a_synthetic_journal_imports_the_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         streamed_reads: list[Path]) -> None:
    manifest, files = synth.generate_files(tmp_path / "synth", sessions=40, events=8_000, big=3_000, chunk=8_000)
    source = tmp_path / "synth.jsonl"
    source.write_bytes(b"".join(part.read_bytes() for part in files))
    assert manifest.events == 8_000
    result = both_ways(tmp_path, source, monkeypatch)
    assert result[0] == 8_000 and result[3] > 0  # events, and branches forked
    assert streamed_reads == [source]  # the whole-file import was not declined: only the streamed one read it


@pytest.mark.skipif(not GOLDEN.is_dir(), reason="needs ../shared/fixtures")
def test_lagos_golden_fixtures_import_the_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         streamed_reads: list[Path]) -> None:
    for fixture in sorted(GOLDEN.glob("*.json")):
        events = json.loads(fixture.read_text())
        events = events if isinstance(events, list) else events.get("events", [])
        source = lines_file(tmp_path / f"{fixture.stem}.jsonl", events)
        both_ways(tmp_path / fixture.stem, source, monkeypatch)
    assert len(streamed_reads) == len(list(GOLDEN.glob("*.json")))


@pytest.mark.parametrize("shape", ["crlf", "no-last-newline", "crlf-no-last-newline", "bom-and-blank-lines",
                                   "spaced", "escapes-and-nul"])
def test_files_of_every_shape_import_the_same_both_ways(shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        streamed_reads: list[Path]) -> None:
    events = chat(3_000)
    compact = (lambda e: json.dumps(e, ensure_ascii=False, separators=(",", ":")))  # noqa: E731
    texts = [compact(e) for e in events]
    # Small reads: every file is many blocks, and lines are cut across them.
    monkeypatch.setattr(importer, "READ_BLOCK", 64 * 1024)
    if shape == "crlf":
        data = "\r\n".join(texts) + "\r\n"
    elif shape == "crlf-no-last-newline":
        data = "\r\n".join(texts)
    elif shape == "no-last-newline":
        data = "\n".join(texts)
    elif shape == "bom-and-blank-lines":
        data = "\ufeff" + "".join(t + "\n" + ("\n   \t\n\u3000\n\x0c\n" if i % 100 == 0 else "") for i, t in enumerate(texts))
    elif shape == "spaced":
        data = "\n".join(json.dumps(e) for e in events) + "\n"
    else:  # surrogate pairs and other escapes, and a NUL in a search text (its chunk goes row by row)
        events[500]["payload"]["content"] = "nul \u0000 here"
        data = "\n".join(json.dumps(e) if i % 5 == 0 else compact(e) for i, e in enumerate(events)) + "\n"
        data = data.replace("\\u2713", "\\ud83d\\ude00")
    source = tmp_path / "shape.jsonl"
    source.write_bytes(data.encode("utf-8"))
    assert os.path.getsize(source) > 256 * 1024
    assert both_ways(tmp_path, source, monkeypatch)[0] == 3_000
    assert streamed_reads == [source]


def test_events_already_in_the_journal_are_skipped_the_same_both_ways(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      streamed_reads: list[Path]) -> None:
    events = chat(4_000)
    first = lines_file(tmp_path / "first.jsonl", events[:1_500])
    whole = lines_file(tmp_path / "all.jsonl", events)
    assert both_ways(tmp_path, whole, monkeypatch, before=first) == (2_500, 0, 1_500, 0)
    assert both_ways(tmp_path / "again", whole, monkeypatch, before=whole) == (0, 0, 4_000, 0)
    assert whole in streamed_reads and len(streamed_reads) == 4  # the "before" and the streamed imports only


# --------------------------------------------------------------------------------------------- declined


@pytest.mark.parametrize("ends", ["lone-cr", "mixed", "crlf-then-lf"])
def test_line_ends_duckdb_reads_otherwise_are_left_to_the_streamed_import(ends: str, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          streamed_reads: list[Path]) -> None:
    """DuckDB reads a lone \\r (JSON whitespace) as a line end, and in a file whose lines end with \\n a
    \\r\\n as two; either shifts every line after it."""
    texts = [json.dumps(e, separators=(",", ":")) for e in chat(9_000)]
    if ends == "lone-cr":
        texts[700] = texts[700].replace('"timestamp":', '"timestamp":\r')
        data = "\n".join(texts) + "\n"
    elif ends == "mixed":
        data = "".join(t + ("\r\n" if i % 2 else "\n") for i, t in enumerate(texts))
    else:  # the first blocks \r\n, then \n
        data = "\r\n".join(texts[:6_000]) + "\r\n" + "\n".join(texts[6_000:]) + "\n"
    source = tmp_path / "ends.jsonl"
    source.write_text(data, encoding="utf-8", newline="")
    assert os.path.getsize(source) > 2 * importer.READ_BLOCK
    assert both_ways(tmp_path, source, monkeypatch)[0] == 9_000
    assert streamed_reads.count(source) == 2  # the whole-file import declined it


@pytest.mark.parametrize("case", ["nesting-101", "int-2^64", "nan", "duplicate-payload-key", "lone-high-surrogate",
                                  "type-missing", "tokens-near-2^63", "too-large"])
def test_a_refused_line_is_reported_as_the_streamed_import_reports_it(case: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [json.dumps(e) for e in chat(2_000)]
    texts.insert(1_234, REFUSED[case][0].replace('"X"', '"BAD"'))
    source = tmp_path / "bad.jsonl"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    verdict, message = both_ways(tmp_path, source, monkeypatch)
    assert verdict == "refused" and "bad.jsonl:1235" in message
    for word in REFUSED[case][1]:
        assert word in message


@pytest.mark.parametrize("problem", ["repeated-id", "fork-past-head", "unknown-branch", "conflict", "not-utf8",
                                     "nul"])
def test_other_problems_are_reported_as_the_streamed_import_reports_them(problem: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    events = chat(2_000)
    before = None
    if problem == "repeated-id":
        events[1_500]["event_id"] = events[200]["event_id"]
    elif problem == "fork-past-head":
        events.insert(900, {"event_id": "F", "session_id": SID, "timestamp": T0 + 5, "payload": {
            "type": "BranchCreated", "new_branch_id": "b1", "name": "side", "fork_point_seq": 5_000}})
    elif problem == "unknown-branch":
        events[1_000]["branch_id"] = "nowhere"
    elif problem == "conflict":  # an event already in the journal, with other content
        before = lines_file(tmp_path / "before.jsonl", events[:10])
        events[5] = {**events[5], "timestamp": T0 + 99}
    data = "\n".join(json.dumps(e) for e in events).encode() + b"\n"
    if problem == "not-utf8":
        data = data.replace(b"line 1501 ", b"line \xff ", 1)
    elif problem == "nul":
        data = data.replace(b"line 1501 ", b"line \x00 ", 1)
    source = tmp_path / "bad.jsonl"
    source.write_bytes(data)
    verdict, message = both_ways(tmp_path, source, monkeypatch, before=before)
    assert verdict == "refused" and "bad.jsonl:" in message


def test_a_file_that_changes_while_it_is_read_is_left_to_the_streamed_import(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch,
                                                                               streamed_reads: list[Path]) -> None:
    source = lines_file(tmp_path / "growing.jsonl", chat(2_000))
    real, looks = wholefile._signature, [0]

    def look(path: Path) -> Any:  # noqa: ANN401
        looks[0] += 1  # the second look finds it written to
        seen = real(path)
        return seen if looks[0] == 1 else seen._replace(size=seen.size + 1, mtime_ns=seen.mtime_ns + 1)

    monkeypatch.setattr(wholefile, "_signature", look)
    monkeypatch.setattr(wholefile, "WHOLE_MIN", 0)
    with Journal(tmp_path / "j.duckdb") as journal:
        assert journal.import_file(source).events == 2_000
    assert streamed_reads == [source]


@pytest.mark.parametrize("name", ["with[brackets].jsonl", "star*.jsonl", "what?.jsonl", "{a,b}.jsonl"])
def test_a_name_duckdb_would_read_as_a_pattern_is_left_to_the_streamed_import(name: str, tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch,
                                                                                streamed_reads: list[Path]) -> None:
    source = lines_file(tmp_path / name, chat(1_000))
    monkeypatch.setattr(wholefile, "WHOLE_MIN", 0)
    assert wholefile.suits(source) is None
    with Journal(tmp_path / "j.duckdb") as journal:
        assert journal.import_file(source).events == 1_000
    assert streamed_reads == [source]


def _kept_and_next(tmp_path: Path) -> tuple[Path, Path]:
    """A journal holding one session, KEEP, and a file of 3,000 more events to import into it."""
    db = tmp_path / "j.duckdb"
    with Journal(db) as journal:
        journal.import_file(lines_file(tmp_path / "a.jsonl", chat(10, session="KEEP")))
    return db, lines_file(tmp_path / "b.jsonl", chat(3_000))


def _only_kept(journal: Journal) -> bool:
    return [s.session_id for s in journal.list_sessions()] == ["KEEP"]


def test_ctrl_c_while_checking_stops_the_import_and_writes_nothing(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    db, source = _kept_and_next(tmp_path)
    real, calls = wholefile.check_compact, [0]

    def interrupted(raw, **kw):  # noqa: ANN001, ANN003
        calls[0] += 1
        if calls[0] == 2_000:
            raise KeyboardInterrupt
        return real(raw, **kw)

    monkeypatch.setattr(wholefile, "check_compact", interrupted)
    monkeypatch.setattr(wholefile, "WHOLE_MIN", 0)
    with Journal(db) as journal:
        with pytest.raises(KeyboardInterrupt):
            journal.import_file(source)
        assert _only_kept(journal)


def test_ctrl_c_while_waiting_for_duckdb_stops_its_thread_before_the_rollback(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db, source = _kept_and_next(tmp_path)
    threads: list[Any] = []

    class Side(wholefile._DuckSide):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            real, calls = self.thread, [0]

            class Thread:  # the first wait for DuckDB's thread is interrupted, as by Ctrl-C
                def start(self) -> None:
                    real.start()

                def is_alive(self) -> bool:
                    return real.is_alive()

                def join(self) -> None:
                    calls[0] += 1
                    if calls[0] == 1:
                        raise KeyboardInterrupt
                    real.join()

            self.thread = Thread()
            threads.append(real)

    monkeypatch.setattr(wholefile, "_DuckSide", Side)
    monkeypatch.setattr(wholefile, "WHOLE_MIN", 0)
    with Journal(db) as journal:
        with pytest.raises(KeyboardInterrupt):
            journal.import_file(source)
        assert not threads[0].is_alive()  # stopped and joined before the writer rolled back
        assert _only_kept(journal)


# --------------------------------------------------------------------------------------------- the one file


def test_the_import_connection_reads_its_file_and_no_other(tmp_path: Path) -> None:
    source = lines_file(tmp_path / "in.jsonl", chat(5))
    other = lines_file(tmp_path / "other.jsonl", chat(5))
    conn = Connector(tmp_path / "j.duckdb")
    with pytest.raises(RuntimeError, match="roll back"):
        with conn.writer(readable=source) as con:
            assert con.execute("SELECT count(*) FROM read_text(?)", [str(source)]).fetchone() == (1,)
            raise RuntimeError("roll back")
    attempts = [("SELECT * FROM read_text(?)", [str(other)]), (f"COPY (SELECT 42) TO '{tmp_path / 'out.csv'}'", []),
                ("SET enable_external_access = true", [])]
    for sql, params in attempts:
        with pytest.raises(Exception, match="disabled|Cannot enable") as refused:
            with conn.writer(readable=source) as con:
                con.execute(sql, params)
        assert "42" not in str(refused.value)
    with pytest.raises(Exception, match="disabled"):  # a writer for anything else reads no file at all
        with conn.writer() as con:
            con.execute("SELECT * FROM read_text(?)", [str(source)])
    conn.release()
    assert not (tmp_path / "out.csv").exists()
