"""Issue 11.5, 11.6, 11.7 and the import half of 11.9: whatever import accepts, every reader reads back exactly;
whatever it cannot, it refuses with FILE:LINE and the reason, before writing; a known event_id is idempotent
only with the same content; files are streamed in bounded memory."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cli_support import LAGO, REPO, T0

from lago_tui.journal import InvalidEvent, Journal
from lago_tui.journal.validate import MAX_DEPTH, MAX_EVENT_BYTES

SID = "ROBUST"


def created(event_id: str = "C0", session: str = SID) -> dict[str, Any]:
    return {"event_id": event_id, "session_id": session, "timestamp": T0,
            "payload": {"type": "SessionCreated", "name": "robust", "config": {"model": "m"}}}


def custom(event_id: str, data: Any, session: str = SID) -> dict[str, Any]:
    return {"event_id": event_id, "session_id": session, "timestamp": T0 + 1,
            "payload": {"type": "Custom", "event_type": "probe", "data": data}}


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def write(path: Path, lines: list[str], fmt: str) -> list[int]:
    """Write raw JSON texts as JSON Lines or a pretty JSON array; returns the line each element starts on."""
    if fmt == "jsonl":
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return list(range(1, len(lines) + 1))
    starts, text, line = [], "[\n", 2
    for i, raw in enumerate(lines):
        starts.append(line)
        text += "  " + raw + (",\n" if i < len(lines) - 1 else "\n")
        line += 1 + raw.count("\n")
    path.write_text(text + "]\n", encoding="utf-8")
    return starts


def state(journal: Journal) -> Any:
    return journal.exists() and [(s.session_id, s.event_count, s.tokens) for s in journal.list_sessions(sort="id")]


# text of the bad event -> words of the problem
REFUSED: dict[str, tuple[str, tuple[str, ...]]] = {
    # the envelope is level 1, the payload 2: 99 arrays in payload.data make 101
    "nesting-101": (json.dumps(custom("X", nested(MAX_DEPTH - 1))), ("nested deeper than 100",)),
    "nesting-5000": ('{"event_id": "X", "session_id": "ROBUST", "timestamp": 1, "payload": {"type": "Custom", "event_type": "p", '
     '"data": ' + "[" * 5000 + "]" * 5000 + "}}", ("nested deeper",)),
    "int-2^64": (json.dumps(custom("X", 2**64)), ("18446744073709551616", "outside")),
    "int-below-i64": (json.dumps(custom("X", -(2**63) - 1)), ("outside",)),
    "int-5000-digits": ('{"event_id": "X", "session_id": "ROBUST", "timestamp": 1, "payload": {"type": "Custom",'
                        ' "event_type": "p", "data": ' + "9" * 5000 + "}}", ("integer", "outside")),
    "nan": (json.dumps(custom("X", math.nan)), ("NaN",)),
    "infinity": (json.dumps(custom("X", -math.inf)), ("-Infinity",)),
    "float-overflow": (json.dumps(custom("X", 1)).replace('"data": 1', '"data": 1e400'), ("1e400", "too large")),
    "duplicate-top-key": ('{"event_id": "X", "event_id": "Y", "session_id": "ROBUST", "timestamp": 1, '
                          '"payload": {"type": "SessionResumed"}}', ("duplicate key", "event_id")),
    "duplicate-payload-key": ('{"event_id": "X", "session_id": "ROBUST", "timestamp": 1, "payload": '
                              '{"type": "Message", "role": "user", "content": "a", "content": "b"}}', ("duplicate key",)),
    "duplicate-deep-key": (json.dumps(custom("X", {"a": [{"k": 1}]})).replace('{"k": 1}', '{"k": 1, "k": 2}'),
                           ("duplicate key 'k'",)),
    "duplicate-metadata-key": ('{"event_id": "X", "session_id": "ROBUST", "timestamp": 1, "payload": '
                               '{"type": "SessionResumed"}, "metadata": {"a": "1", "a": "2"}}', ("duplicate",)),
    "lone-high-surrogate": (json.dumps(custom("X", "a\ud800b")), ("lone surrogate \\ud800",)),
    "lone-low-surrogate-key": (json.dumps(custom("X", {"\udc00": 1})), ("lone surrogate",)),
    "type-object": (json.dumps({**custom("X", 1), "payload": {"type": {"a": 1}}}), ("payload.type", "object")),
    "type-array": (json.dumps({**custom("X", 1), "payload": {"type": ["Message"]}}), ("payload.type", "array")),
    "type-number": (json.dumps({**custom("X", 1), "payload": {"type": 7}}), ("payload.type",)),
    "type-missing": (json.dumps({**custom("X", 1), "payload": {"data": 1}}), ("payload.type is required",)),
    "tokens-near-2^63": (json.dumps({"event_id": "X", "session_id": SID, "timestamp": 2, "payload": {
        "type": "Message", "role": "assistant", "content": "c",
        "token_usage": {"prompt_tokens": 2**63 - 10, "completion_tokens": 1, "total_tokens": 1}}}),
        ("prompt_tokens", "0..4294967295")),
    "tokens-negative": (json.dumps({"event_id": "X", "session_id": SID, "timestamp": 2, "payload": {
        "type": "RunFinished", "usage": {"prompt_tokens": -1}}}), ("usage.prompt_tokens",)),
    "tokens-string": (json.dumps({"event_id": "X", "session_id": SID, "timestamp": 2, "payload": {
        "type": "Message", "role": "a", "content": "c", "token_usage": {"completion_tokens": "12"}}}),
        ("completion_tokens", "expected an integer")),
    "too-large": (json.dumps(custom("X", "x" * (MAX_EVENT_BYTES + 1))), ("larger than 4 MiB",)),
    "metadata-number": (json.dumps({**custom("X", 1), "metadata": {"n": 1}}), ("metadata",)),
    "timestamp-beyond-i64": (json.dumps({**custom("X", 1), "timestamp": 2**63}), ("timestamp",)),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_readers_cannot_read_back_is_refused_naming_file_and_line(case: str, tmp_path: Path) -> None:
    bad, words = REFUSED[case]
    journal = Journal(tmp_path / "j.duckdb", idle_release=0)
    journal.import_file(_one(tmp_path, [json.dumps(created())]))
    before = state(journal)
    for fmt in ("jsonl", "json"):
        source = tmp_path / f"bad.{fmt}"
        lines = write(source, [json.dumps(created("C1", "OTHER")), json.dumps(custom("G1", 1)), bad,
                               json.dumps(custom("G2", 2))], fmt)
        with pytest.raises(InvalidEvent) as info:
            journal.import_file(source)
        assert info.value.location == f"{source}:{lines[2]}", (fmt, str(info.value))
        for word in words:
            assert word in info.value.problem, (fmt, word, info.value.problem)
        assert "\n" not in str(info.value)
        assert state(journal) == before
    journal.close()


def _one(folder: Path, lines: list[str], name: str = "one.jsonl") -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_limits_themselves_are_accepted_and_read_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.duckdb")
    # "depth": with the envelope, payload and this object, exactly MAX_DEPTH (100) levels.
    # "pair": U+1F30D as raw UTF-8 and U+1F600 written below as the escaped surrogate pair \ud83d\ude00.
    edge = {"depth": nested(MAX_DEPTH - 3),
            "u64": 2**64 - 1, "i64": -(2**63), "pair": "\U0001f30d \U0001f600",
            "big_float": 1.7976931348623157e308, "tiny": 5e-324, "neg_zero": -0.0}
    events = [created(), custom("E1", edge),
              {"event_id": "E2", "session_id": SID, "timestamp": T0 + 2, "payload": {
                  "type": "Message", "role": "assistant", "content": "c",
                  "token_usage": {"prompt_tokens": 2**32 - 1, "completion_tokens": 2**32 - 1, "total_tokens": 0}}}]
    # ensure_ascii=False writes both characters as raw UTF-8; the second is then rewritten as a JSON escape, so
    # the file holds one non-BMP character of each form and the import has to join an escaped surrogate pair.
    text = [json.dumps(events[0]), json.dumps(events[1], ensure_ascii=False).replace("\U0001f600", "\\ud83d\\ude00"),
            json.dumps(events[2])]
    assert '"pair": "\U0001f30d \\ud83d\\ude00"' in text[1]
    assert '"u64": 18446744073709551615' in text[1] and '"i64": -9223372036854775808' in text[1]
    assert journal.import_file(_one(tmp_path, text)).events == 3
    exported = list(journal.export(SID))
    assert exported[1]["payload"]["data"] == json.loads(text[1])["payload"]["data"]
    data = exported[1]["payload"]["data"]
    assert set(data) == set(edge)
    assert data == edge
    assert type(data["u64"]) is int and data["u64"] == 2**64 - 1
    assert type(data["i64"]) is int and data["i64"] == -(2**63)
    assert data["pair"] == "\U0001f30d \U0001f600" and len(data["pair"]) == 3  # joined, not two lone halves
    assert math.copysign(1.0, data["neg_zero"]) == -1.0
    assert journal.session(SID).summary.tokens == 2 * (2**32 - 1)
    journal.close()


def test_the_old_tracebacks_in_a_json_array_are_one_line_errors_through_the_cli(tmp_path: Path) -> None:
    for name, element in [("bigint", json.dumps(custom("X", 1)).replace('"data": 1', '"data": ' + "7" * 4400)),
                          ("deep", REFUSED["nesting-5000"][0]),
                          ("type-object", REFUSED["type-object"][0]),
                          ("surrogate", REFUSED["lone-high-surrogate"][0])]:
        source = tmp_path / f"{name}.json"
        source.write_text("[\n" + json.dumps(created()) + ",\n" + element + "\n]\n", encoding="utf-8")
        proc = subprocess.run([*LAGO, "--journal", str(tmp_path / "j.duckdb"), "import", str(source)],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith(f"lago-tui: error: {source}:3: ") and proc.stderr.count("\n") == 1
        assert "corrupt" not in proc.stderr
        assert not (tmp_path / "j.duckdb").exists()


# --------------------------------------------------------------------------------------------- read back exactly


def _random_value(rng: random.Random, depth: int) -> Any:
    pick = rng.randrange(10 if depth < 40 else 6)
    if pick == 0:
        return rng.choice([None, True, False])
    if pick == 1:
        return rng.choice([0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, rng.randrange(-10**18, 10**18)])
    if pick == 2:
        return rng.choice([0.1, 1e-7, 1e300, -2.5e-308, 1.0, 100000.0, rng.uniform(-1e9, 1e9), 3.141592653589793])
    if pick in (3, 4, 5):
        alphabet = "ab \t\n\"\\/\x00\x1b\x7f\x9b\u00e9\u200b\u202e\u2028\ufeff\U0001f600\U000e0041\u4e2d"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
    if pick in (6, 7):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    keys = ["a", "", "type", "content", "k\x00", "\u202e", "\U0001f600", "data", "x y"]
    return {rng.choice(keys) + str(i): _random_value(rng, depth + 1) for i in range(rng.randrange(0, 4))}


def test_whatever_import_accepts_every_reader_reads_back_exactly(tmp_path: Path) -> None:
    """Random payloads (floats, integers at the edges, every kind of awkward character, deep nesting, unknown
    kinds, fields of known kinds with other types) through JSON Lines and a JSON array: export, the timeline
    windows the TUI and `log --json` read, get_event, and the inspector's rendering all give back what was
    imported (the parsed value: key order, whitespace and number spelling may differ)."""
    from lago_tui.widgets.inspector import full_text_of, json_text

    rng = random.Random(11)
    events = [created()]
    for i in range(1, 160):
        payload = {"type": rng.choice(["Custom", "Message", "Mystery", "ToolCallCompleted"])}
        if payload["type"] == "Custom":
            payload.update(event_type="e", data=_random_value(rng, 0))
        elif payload["type"] == "Message":
            payload.update(role=rng.choice(["user", "as\x1bsistant"]), content=str(_random_value(rng, 30)),
                           extra=_random_value(rng, 0))
        elif payload["type"] == "ToolCallCompleted":
            payload.update(tool_name="t", result=_random_value(rng, 0), duration_ms=rng.randrange(0, 2**40),
                           status=rng.choice(["ok", "error"]))
        else:
            payload.update({"content": _random_value(rng, 0), "name": _random_value(rng, 0)})
        events.append({"event_id": f"R{i}", "session_id": SID, "timestamp": T0 + i, "payload": payload,
                       "metadata": {"m\u202e": str(i)}, "run_id": rng.choice([None, "run-1"]), "schema_version": 3})
    texts = [json.dumps(e, ensure_ascii=rng.random() < 0.5) for e in events]
    for fmt in ("jsonl", "json"):
        path = tmp_path / f"{fmt}.duckdb"
        source = tmp_path / f"round.{fmt}"
        write(source, texts, fmt)
        with Journal(path) as journal:
            assert journal.import_file(source).events == len(events)
            originals = [json.loads(t) for t in texts]
            exported = list(journal.export(SID))
            assert [e["payload"] for e in exported] == [o["payload"] for o in originals]
            assert [e["metadata"] for e in exported] == [o.get("metadata", {}) for o in originals]
            timeline = journal.timeline(SID)
            window = timeline.window(0, timeline.length)
            assert [ev.payload for ev in window] == [o["payload"] for o in originals]
            for ev in window[::7]:
                assert journal.get_event(ev.event_id).payload == ev.payload
                assert full_text_of(ev)
                json_text(ev.payload, {})
            # and what was exported imports again as the same events (idempotent)
            again = tmp_path / "again.jsonl"
            again.write_text("\n".join(json.dumps(e) for e in exported), encoding="utf-8")
            assert journal.import_file(again).skipped == len(events)


# --------------------------------------------------------------------------------------------- known event ids


def test_a_known_event_id_is_idempotent_only_with_the_same_content(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.duckdb")
    first = [created(), {**custom("K1", {"x": 1.0, "y": [1, 2]}), "metadata": {"a": "b"}}]
    journal.import_file(_one(tmp_path, [json.dumps(e) for e in first], "first.jsonl"))
    before = state(journal)
    # the same events spelt differently: key order, spacing, number spelling, a seq, ensure_ascii
    same = '{"session_id":"ROBUST","payload":{"event_type":"probe","data":{"y":[1,2],"x":1e0},"type":"Custom"},' \
           '"timestamp":1700000000000001,"event_id":"K1","seq":99,"metadata":{"a":"\\u0062"},"branch_id":"main"}'
    result = journal.import_file(_one(tmp_path, [json.dumps(created()), same], "same.jsonl"))
    assert (result.events, result.skipped) == (0, 2)
    conflicts = {
        "payload": {**first[1], "payload": {**first[1]["payload"], "data": {"x": 2}}},
        "metadata": {**first[1], "metadata": {"a": "c"}},
        "timestamp": {**first[1], "timestamp": T0 + 5},
        "run": {**first[1], "run_id": "r"},
    }
    for name, event in conflicts.items():
        source = _one(tmp_path, [json.dumps(custom("NEW", 1)), json.dumps(event)], f"{name}.jsonl")
        with pytest.raises(InvalidEvent) as info:
            journal.import_file(source)
        assert info.value.location == f"{source}:2"
        assert "K1" in info.value.problem and "different content" in info.value.problem
        assert "session ROBUST, branch main, seq 2" in info.value.problem  # the other place
        assert state(journal) == before
    other = _one(tmp_path, [json.dumps(created("O0", "OTHER")), json.dumps(custom("K1", {"x": 1.0}, "OTHER"))],
                 "other.jsonl")
    with pytest.raises(InvalidEvent) as info:
        journal.import_file(other)
    assert info.value.location == f"{other}:2" and "another session" in info.value.problem
    assert "session ROBUST" in info.value.problem
    with pytest.raises(InvalidEvent, match="different content"):  # the API path too
        journal.append([conflicts["payload"]])
    assert journal.append([first[1]]).events_skipped == 1
    assert state(journal) == before
    journal.close()


def test_a_duplicate_across_chunks_of_one_file_names_both_lines(tmp_path: Path) -> None:
    from lago_tui.journal import importer

    lines = [json.dumps(created())] + [json.dumps(custom(f"D{i}", "x" * 400)) for i in range(1, 8000)]
    lines.append(json.dumps(custom("D7", "again")))
    source = _one(tmp_path, lines)
    assert os.path.getsize(source) > 2 * importer.FIRST_CHUNK_BYTES  # so the repeat is chunks away
    journal = Journal(tmp_path / "j.duckdb")
    with pytest.raises(InvalidEvent) as info:
        journal.import_file(source)
    assert info.value.location == f"{source}:{len(lines)}"
    assert info.value.problem == f"duplicate event_id D7 (also at {source}:8)"
    assert not journal.exists()


def test_chunks_import_as_one_piece(tmp_path: Path) -> None:
    """A session started without SessionCreated, whose SessionCreated and BranchCreated come chunks later, with
    events on the branch after that: the same sessions, branches, seqs and ords as one transaction would give;
    ord is the global write order, 1..n, across imports and appends."""
    filler = [json.dumps({"event_id": f"F{i}", "session_id": "LATE", "timestamp": T0 + 10 + i,
                          "payload": {"type": "Message", "role": "user", "content": "y" * 300}}) for i in range(3000)]
    lines = [json.dumps({"event_id": "F-first", "session_id": "LATE", "timestamp": T0 + 5,
                         "payload": {"type": "Message", "role": "user", "content": "early"}})] + filler + [
        json.dumps({"event_id": "LATE-C", "session_id": "LATE", "timestamp": T0 + 1,
                    "payload": {"type": "SessionCreated", "name": "named late", "config": {"model": "mm"}}}),
        json.dumps({"event_id": "LATE-B", "session_id": "LATE", "timestamp": T0 + 9000,
                    "payload": {"type": "BranchCreated", "new_branch_id": "side", "name": "side",
                                "fork_point_seq": 3000}}),
        json.dumps({"event_id": "LATE-S", "session_id": "LATE", "branch_id": "side", "timestamp": T0 + 9001,
                    "payload": {"type": "Message", "role": "user", "content": "on the side"}})]
    journal = Journal(tmp_path / "j.duckdb")
    journal.create_session({"name": "before"})
    assert journal.import_file(_one(tmp_path, lines)).events == len(lines)
    journal.append([{"event_id": "after", "session_id": "LATE", "timestamp": T0,
                     "payload": {"type": "SessionResumed"}}])
    detail = journal.session("LATE")
    assert (detail.summary.name, detail.summary.model, detail.summary.created_at) == ("named late", "mm", T0 + 1)
    assert {b.name: (b.fork_point_seq, b.head_seq) for b in detail.branches} == {"main": (0, 3004), "side": (3000, 1)}
    assert journal.get_event("LATE-S").seq == 1 and journal.get_event("after").seq == 3004
    journal.close()
    con = duckdb.connect(str(tmp_path / "j.duckdb"), read_only=True)
    try:
        ords = [r[0] for r in con.execute("SELECT ord FROM events ORDER BY ord").fetchall()]
    finally:
        con.close()
    assert ords == list(range(1, len(lines) + 3))


def test_a_journal_that_already_holds_huge_token_counts_still_takes_appends(tmp_path: Path) -> None:
    """Written before the u32 rule: one message claims 2^63 - 10 prompt tokens. Appends to its session and
    sorting the list by tokens keep working (before: both failed with an overflow)."""
    path = tmp_path / "j.duckdb"
    with Journal(path) as journal:
        sid = journal.create_session({"name": "huge"})
        journal.create_session({"name": "small"})
        journal.append([{"event_id": "T1", "session_id": sid, "timestamp": T0, "payload": {
            "type": "Message", "role": "assistant", "content": "c",
            "token_usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}}])
    con = duckdb.connect(str(path))
    con.execute("UPDATE events SET tokens_in = 9223372036854775797 WHERE event_id = 'T1'")
    con.execute("UPDATE sessions SET tokens_in = 9223372036854775797 WHERE session_id = ?", [sid])
    con.close()
    with Journal(path) as journal:
        journal.append([{"event_id": "T2", "session_id": sid, "timestamp": T0 + 1, "payload": {
            "type": "Message", "role": "assistant", "content": "c",
            "token_usage": {"prompt_tokens": 100, "completion_tokens": 100, "total_tokens": 200}}}])
        assert [s.name for s in journal.list_sessions(sort="tokens")] == ["huge", "small"]
        assert journal.session(sid).summary.tokens_in == 2**63 - 1  # capped, not failed


# --------------------------------------------------------------------------------------------- bounded memory

MEASURE = """
    import sys, threading, time, psutil
    from lago_tui.journal import Journal, connection, importer, wholefile
    connection.WRITER_MEMORY_LIMIT = "64MB"  # DuckDB's pool fills sooner: what is left is what grows
    importer.CHUNK_BYTES = 2 * 1024 * 1024  # and both files are many chunks
    wholefile.WHOLE_MAX = 0  # streamed (a file read whole needs memory in proportion, up to WHOLE_MAX)
    proc = psutil.Process()
    peak = [0]
    def sample():
        while True:
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.01)
    threading.Thread(target=sample, daemon=True).start()
    result = Journal(sys.argv[1]).import_file(sys.argv[2])
    time.sleep(0.05)
    print(result.events, peak[0] // (1024 * 1024), flush=True)
"""


def _generate(path: Path, megabytes: int) -> None:
    line = {"event_id": "", "session_id": "", "timestamp": T0,
            "payload": {"type": "Message", "role": "user", "content": "lorem ipsum dolor sit amet " * 12}}
    with open(path, "w", encoding="utf-8") as fh:
        size, i = 0, 0
        while size < megabytes * 1024 * 1024:
            line["event_id"], line["session_id"] = f"E{i}", f"S{i % 20}"
            text = json.dumps(line) + "\n"
            fh.write(text)
            size += len(text)
            i += 1


def test_import_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """Peak RSS of a child importing 12 MB and 48 MB of JSON Lines (DuckDB's pool capped at 64 MB and chunks at
    2 MB so that both are in their steady state): about the same, far below the file (before: ~20 times the input: the whole file, its lines, its
    parse and DuckDB's copies in memory at once). The 1 GB figure (target <= 600 MB, with the real 192 MB
    pool) is measured by `python -m lago_tui.bench.robust`."""
    peaks = {}
    for mb in (12, 48):
        source = tmp_path / f"{mb}.jsonl"
        _generate(source, mb)
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(MEASURE), str(tmp_path / f"{mb}.duckdb"),
                               str(source)], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert proc.returncode == 0, proc.stderr
        events, peak = map(int, proc.stdout.split())
        assert events > mb * 2000
        peaks[mb] = peak
        source.unlink()
    assert peaks[48] < peaks[12] + 40, peaks
    assert peaks[48] < 250, peaks


def test_a_refused_line_far_into_a_file_leaves_the_journal_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "j.duckdb"
    with Journal(path) as journal:
        journal.create_session({"name": "keep"})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    lines = [json.dumps(created())] + [json.dumps(custom(f"L{i}", "z" * 500)) for i in range(1, 12000)]
    lines[11000] = lines[11000].replace('"data": "', '"data": NaN, "x": "')
    source = _one(tmp_path, lines)
    with Journal(path) as journal:
        with pytest.raises(InvalidEvent) as info:
            journal.import_file(source)
    assert info.value.location == f"{source}:11001" and "NaN" in info.value.problem
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert sorted(os.listdir(tmp_path)) == ["j.duckdb", "j.duckdb.lock", "one.jsonl"]
