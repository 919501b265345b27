"""Import (JSON array and JSON Lines, all or nothing, errors as FILE:LINE) and export round trips."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lago_tui.journal import InvalidEvent, Journal, JournalError

T0 = 1_700_000_000_000_000


def ev(event_id: str, session_id: str, kind: str = "Message", *, branch: str = "main", ts: int | None = None,
       **fields: Any) -> dict[str, Any]:
    if kind == "Message":
        fields.setdefault("role", "user")
        fields.setdefault("content", f"text of {event_id}")
    n = int("".join(c for c in event_id if c.isdigit()) or 0)
    return {
        "event_id": event_id,
        "session_id": session_id,
        "branch_id": branch,
        "seq": 0,
        "timestamp": ts if ts is not None else T0 + n * 1000,
        "payload": {"type": kind, **fields},
        "metadata": {},
        "schema_version": 1,
    }


def base_events() -> list[dict[str, Any]]:
    """A valid file: a session with a branch (7 events)."""
    return [
        ev("A01", "IMP", "SessionCreated", name="imported", config={"model": "m1", "params": {"k": "v"}}),
        ev("A02", "IMP"),
        ev("A03", "IMP", role="assistant", token_usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}),
        ev("A04", "IMP", "BranchCreated", new_branch_id="side", name="side", fork_point_seq=2),
        ev("A05", "IMP", branch="side"),
        ev("A06", "IMP"),
        ev("A07", "IMP", branch="side"),
    ]


def write_jsonl(path: Path, objs: list[Any], *, raw: dict[int, str] | None = None) -> dict[int, int]:
    """One object a line; ``raw`` replaces element i by a literal text. Returns element index -> line."""
    raw = raw or {}
    lines = [raw.get(i, json.dumps(o)) for i, o in enumerate(objs)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {i: i + 1 for i in range(len(objs))}


def write_pretty_array(path: Path, objs: list[Any], *, raw: dict[int, str] | None = None) -> dict[int, int]:
    """A pretty-printed JSON array, built by hand so the line of each element is known independently."""
    raw = raw or {}
    out = ["["]
    starts = {}
    for i, o in enumerate(objs):
        text = raw.get(i, json.dumps(o, indent=2))
        block = ["  " + line for line in text.split("\n")]
        if i < len(objs) - 1:
            block[-1] += ","
        starts[i] = len(out) + 1
        out.extend(block)
    out.append("]")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return starts


WRITERS = {"jsonl": write_jsonl, "json": write_pretty_array}


def state(journal: Journal) -> tuple:
    """Everything a journal holds, comparable across journals (sessions, branches, events)."""
    sessions = journal.list_sessions(sort="id")
    return (
        [s.to_json() for s in sessions],
        [[b.to_json() for b in journal.session(s.session_id).branches] for s in sessions],
        [list(journal.export(s.session_id)) for s in sessions],
    )


@pytest.fixture
def j(tmp_path: Path) -> Journal:
    journal = Journal(tmp_path / "journal.duckdb", idle_release=0.2)
    yield journal
    journal.close()


# --------------------------------------------------------------------------------------------- formats


def test_json_array_and_json_lines_import_the_same(tmp_path: Path) -> None:
    events = base_events()
    results = {}
    for fmt, writer in WRITERS.items():
        source = tmp_path / f"in.{fmt}"
        writer(source, events)
        with Journal(tmp_path / f"{fmt}.duckdb") as journal:
            result = journal.import_file(source)
            assert (result.path, result.sessions, result.events, result.skipped, result.branches) == (
                str(source), 1, 7, 0, 1)
            results[fmt] = state(journal)
    # compact array on one line, JSON Lines with CRLF, blank lines and a BOM: the same again
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(events), encoding="utf-8")
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(("\ufeff" + "\r\n\r\n".join(json.dumps(e) for e in events) + "\r\n\r\n").encode("utf-8"))
    for source in (compact, crlf):
        with Journal(tmp_path / f"{source.name}.duckdb") as journal:
            journal.import_file(source)
            results[source.name] = state(journal)

    assert results["jsonl"] == results["json"] == results["compact.json"] == results["crlf.jsonl"]
    sessions, branches, exported = results["jsonl"]
    assert sessions[0]["session_id"] == "IMP" and sessions[0]["name"] == "imported"
    assert (sessions[0]["model"], sessions[0]["params"], sessions[0]["event_count"]) == ("m1", {"k": "v"}, 7)
    assert [(b["branch_id"], b["parent_branch_id"], b["fork_point_seq"], b["head_seq"]) for b in branches[0]] == [
        ("main", None, 0, 5), ("side", "main", 2, 2)]
    assert [(o["event_id"], o["branch_id"], o["seq"]) for o in exported[0]] == [
        ("A01", "main", 1), ("A02", "main", 2), ("A03", "main", 3), ("A04", "main", 4), ("A05", "side", 1),
        ("A06", "main", 5), ("A07", "side", 2)]
    assert [{k: v for k, v in o.items() if k != "seq"} for o in exported[0]] == [
        {k: v for k, v in o.items() if k != "seq"} for o in events]


def test_a_session_without_session_created_is_created_implicitly(j: Journal, tmp_path: Path) -> None:
    source = tmp_path / "bare.jsonl"
    write_jsonl(source, [ev("B01", "BARE", ts=T0 + 5), ev("B02", "BARE", ts=T0 + 9)])
    assert j.import_file(source).sessions == 1
    s = j.session("BARE").summary
    assert (s.name, s.created_at, s.event_count) == ("BARE", T0 + 5, 2)


# --------------------------------------------------------------------------------------------- bad lines

# name -> (mutate(events) -> (events, index of the bad element, whether it was inserted), words of the problem)
BadCase = Callable[[list[dict[str, Any]]], tuple[list[Any], int, bool]]


def _set(i: int, fn: Callable[[dict[str, Any]], None]) -> BadCase:
    def mutate(events: list[dict[str, Any]]) -> tuple[list[Any], int, bool]:
        fn(events[i])
        return events, i, False
    return mutate


def _insert(i: int, obj: dict[str, Any]) -> BadCase:
    def mutate(events: list[dict[str, Any]]) -> tuple[list[Any], int, bool]:
        events.insert(i, obj)
        return events, i, True
    return mutate


def _no_content(e: dict[str, Any]) -> None:
    del e["payload"]["content"]


BAD_CASES: dict[str, tuple[BadCase, tuple[str, ...]]] = {
    "timestamp-abc": (_set(4, lambda e: e.update(timestamp="abc")), ("timestamp",)),
    "timestamp-float": (_set(2, lambda e: e.update(timestamp=1.5)), ("timestamp",)),
    "message-without-content": (_set(5, _no_content), ("content",)),
    "event-id-number": (_set(2, lambda e: e.update(event_id=12)), ("event_id",)),
    "payload-not-object": (_set(6, lambda e: e.update(payload="Message")), ("payload",)),
    "metadata-not-strings": (_set(1, lambda e: e.update(metadata={"n": 1})), ("metadata",)),
    "not-an-object": (lambda evs: (evs[:3] + [[1, 2]] + evs[3:], 3, True), ("object",)),
    "unknown-session-on-a-branch": (_insert(5, ev("X01", "GHOST", branch="feature")), ("unknown session", "GHOST")),
    "duplicate-id-in-file": (_insert(6, ev("A02", "IMP")), ("duplicate", "A02")),
    "branch-event-before-branch-created": (
        lambda evs: ([*evs[:3], ev("A99", "IMP", branch="side"), *evs[3:]], 3, True), ("side", "before")),
    "unknown-branch": (_set(6, lambda e: e.update(branch_id="nowhere")), ("nowhere",)),
    "fork-point-past-head": (_set(3, lambda e: e["payload"].update(fork_point_seq=4)), ("fork_point_seq", "past")),
    "branch-name-reused": (
        _insert(6, ev("A50", "IMP", "BranchCreated", new_branch_id="other", name="side", fork_point_seq=1)),
        ("side",)),
}


_PREPOPULATED: dict[str, Path] = {}


@pytest.fixture
def populated(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Journal:
    """A journal that already holds a session (so 'unchanged' is not trivially 'empty').

    Built once per worker and copied: each test still gets its own file in tmp_path.
    """
    template = _PREPOPULATED.get("path")
    if template is None:
        template = tmp_path_factory.mktemp("prepopulated") / "template.duckdb"
        source = template.with_suffix(".jsonl")
        write_jsonl(source, [ev("P01", "PRE", "SessionCreated", name="pre"), ev("P02", "PRE"),
                             ev("P03", "PRE", "SessionClosed")])
        with Journal(template) as journal:
            journal.import_file(source)
        _PREPOPULATED["path"] = template
    path = tmp_path / "journal.duckdb"
    shutil.copyfile(template, path)
    journal = Journal(path, idle_release=0.2)
    yield journal
    journal.close()


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_a_bad_element_aborts_the_file_naming_its_line(populated: Journal, tmp_path: Path, case: str) -> None:
    mutate, words = BAD_CASES[case]
    before = state(populated)
    assert len(before[0]) == 1
    for fmt, writer in WRITERS.items():  # JSON Lines, and a pretty-printed JSON array
        objs, bad_index, inserted = mutate(base_events())
        source = tmp_path / f"bad.{fmt}"
        lines = writer(source, objs)
        with pytest.raises(InvalidEvent) as info:
            populated.import_file(source)
        expected_location = f"{source}:{lines[bad_index]}"
        assert info.value.location == expected_location
        assert str(info.value).startswith(expected_location + ": ")
        for word in words:
            assert word.lower() in info.value.problem.lower(), (word, info.value.problem)
        assert state(populated) == before  # nothing of the file was written

    # the file with that one element removed (or repaired) imports whole: it was that element, and only it
    if inserted:
        del objs[bad_index]
    else:
        objs[bad_index] = base_events()[bad_index]
    WRITERS["json"](source, objs)
    assert populated.import_file(source).events == len(objs)


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_invalid_json_names_its_line(populated: Journal, tmp_path: Path, fmt: str) -> None:
    objs = base_events()
    source = tmp_path / f"broken.{fmt}"
    broken = '{"event_id": "A04", "session_id": "IMP", oops}'
    lines = WRITERS[fmt](source, objs, raw={3: broken})
    before = state(populated)
    with pytest.raises(InvalidEvent) as info:
        populated.import_file(source)
    assert info.value.location == f"{source}:{lines[3]}"
    assert "json" in info.value.problem.lower()
    assert state(populated) == before


def test_jsonl_line_numbers_count_blank_lines_and_crlf(populated: Journal, tmp_path: Path) -> None:
    events = base_events()
    events[4]["timestamp"] = "abc"
    text = "\r\n".join(["", json.dumps(events[0]), "", "   ", *map(json.dumps, events[1:4]), "", json.dumps(events[4])])
    source = tmp_path / "gaps.jsonl"
    source.write_bytes(("\ufeff" + text + "\r\n").encode("utf-8"))
    before = state(populated)
    with pytest.raises(InvalidEvent) as info:
        populated.import_file(source)
    assert info.value.location == f"{source}:9"  # line 9 of the file, blank lines counted
    assert "timestamp" in info.value.problem
    assert state(populated) == before


def test_bad_line_far_into_a_long_file(populated: Journal, tmp_path: Path) -> None:
    objs = [ev("L0000", "LONG", "SessionCreated", name="long")] + [ev(f"L{i:04d}", "LONG") for i in range(1, 3000)]
    objs[2345]["payload"]["role"] = None
    for fmt, writer in WRITERS.items():
        source = tmp_path / f"long.{fmt}"
        lines = writer(source, objs)
        before = state(populated)
        with pytest.raises(InvalidEvent) as info:
            populated.import_file(source)
        assert info.value.location == f"{source}:{lines[2345]}"
        assert "role" in info.value.problem
        assert state(populated) == before


def test_unusable_import_files(j: Journal, tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no such file"):
        j.import_file(tmp_path / "missing.jsonl")
    with pytest.raises(JournalError, match="directory"):
        j.import_file(tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InvalidEvent) as info:
        j.import_file(empty)
    assert info.value.location == f"{empty}:1"
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(ev("U01", "U")).encode() + b"\n" + b'{"event_id": "caf\xe9"}\n')
    with pytest.raises(InvalidEvent) as info:
        j.import_file(latin)
    assert info.value.location == f"{latin}:2"
    assert "UTF-8" in info.value.problem
    assert not (tmp_path / "journal.duckdb").exists() or j.list_sessions() == []


# --------------------------------------------------------------------------------------------- idempotence


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_importing_the_same_file_twice_adds_nothing(j: Journal, tmp_path: Path, fmt: str) -> None:
    source = tmp_path / f"twice.{fmt}"
    WRITERS[fmt](source, base_events())
    j.import_file(source)
    once = state(j)
    again = j.import_file(source)
    assert (again.sessions, again.events, again.skipped, again.branches) == (0, 0, 7, 0)
    assert state(j) == once

    # a longer version of the file adds only its new events, after the existing ones
    more = base_events() + [ev("A08", "IMP", branch="side"), ev("A09", "IMP")]
    WRITERS[fmt](source, more)
    result = j.import_file(source)
    assert (result.events, result.skipped) == (2, 7)
    exported = list(j.export("IMP"))
    assert [(o["event_id"], o["seq"]) for o in exported[-2:]] == [("A08", 3), ("A09", 6)]
    assert exported[:7] == once[2][0]


# --------------------------------------------------------------------------------------------- round trip


def _rich_journal(journal: Journal) -> list[str]:
    """Sessions made through the API: params, nested branches, merges, tools, runs, unknown kinds."""
    first = journal.create_session({"name": "rich one", "model": "gpt-4o", "params": {"temperature": "0.3"}},
                                   now_us=T0)
    second = journal.create_session({"name": "second", "params": {"a": "1", "b": "two"}}, now_us=T0 + 1)
    batch = [ev("R01", first, "RunStarted", run_id=None, provider="openai"),
             ev("R02", first, "ToolCallRequested", call_id="c1", tool_name="ls", arguments={"dir": "/"}),
             ev("R03", first, "ToolCallCompleted", call_id="c1", tool_name="ls", result=["a", "b"], duration_ms=3,
                status="ok"),
             ev("R04", first, role="assistant", token_usage={"prompt_tokens": 5, "completion_tokens": 6,
                                                             "total_tokens": 11}),
             ev("R05", first, "FutureKind", anything={"nested": [1, {"x": None}]}, score=0.25)]
    batch[0]["run_id"] = "run-1"
    batch[4]["schema_version"] = 3
    batch[4]["metadata"] = {"origin": "test"}
    batch[2]["parent_id"] = "R02"
    journal.append(batch)
    a = journal.create_branch(first, {"name": "a", "fork_point_seq": 3}, now_us=T0 + 2)
    journal.append([ev("R06", first, branch=a), ev("R07", first, branch=a)])
    b = journal.create_branch(first, {"name": "b", "parent": "a", "fork_point_seq": 1}, now_us=T0 + 3)
    journal.append([ev("R08", first, branch=b), ev("R09", first),
                    ev("R10", first, "BranchMerged", source_branch_id=a, merge_seq=2),
                    ev("R11", first, "SessionClosed", reason="done"),
                    ev("R12", second), ev("R13", second, "TextDelta", delta="partial")])
    return [first, second]


def test_export_then_import_reproduces_the_journal(tmp_path: Path) -> None:
    with Journal(tmp_path / "source.duckdb") as source:
        _rich_journal(source)
        original = state(source)
        timelines = {
            (s.session_id, b.branch_id): [e.to_wire() for e in source.timeline(s.session_id, b.branch_id).window(0, 99)]
            for s in source.list_sessions() for b in source.session(s.session_id).branches
        }
        files: dict[str, list[Path]] = {}
        for fmt, writer in WRITERS.items():
            for s in source.list_sessions():
                out = tmp_path / f"{s.session_id}.{fmt}"
                writer(out, list(source.export(s.session_id)))
                files.setdefault(fmt, []).append(out)

    for fmt, paths in files.items():
        with Journal(tmp_path / f"copy-{fmt}.duckdb") as copy_journal:
            for path in paths:
                copy_journal.import_file(path)
            assert state(copy_journal) == original, fmt
            for (sid, branch), events in timelines.items():
                assert [e.to_wire() for e in copy_journal.timeline(sid, branch).window(0, 99)] == events
    # what was compared is not trivial
    sessions, branches, exported = original
    assert len(sessions) == 2 and sum(len(b) for b in branches) == 4
    assert sum(len(e) for e in exported) == 17
    assert sessions[[s["name"] for s in sessions].index("rich one")]["params"] == {"temperature": "0.3"}
    assert [m for b in branches[0] + branches[1] for m in b["merged_into"]] == [
        {"branch_id": "main", "at_seq": 9, "merge_seq": 2}]


def test_export_of_an_imported_file_is_the_file_with_seqs(j: Journal, tmp_path: Path) -> None:
    events = base_events()
    e = events[1]  # with every optional field, in Lago's key order
    events[1] = {"event_id": e["event_id"], "session_id": e["session_id"], "branch_id": "main", "run_id": "r",
                 "seq": 0, "timestamp": e["timestamp"], "parent_id": "A01", "payload": e["payload"],
                 "metadata": {"x": "y"}, "schema_version": 1}
    source = tmp_path / "in.jsonl"
    write_jsonl(source, events)
    j.import_file(source)
    expected = copy.deepcopy(events)
    for obj, seq in zip(expected, [1, 2, 3, 4, 1, 5, 2], strict=True):
        obj["seq"] = seq
    assert [json.dumps(o) for o in j.export("IMP")] == [json.dumps(o) for o in expected]
