"""Lago's golden fixtures, imported and checked the way Lago's own golden tests check them.

The fixtures live outside the repository (``../shared/fixtures/lago-golden``); see their README.md.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from lago_tui.journal import EventEnvelope, Journal

GOLDEN_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "lago-golden"
GOLDEN_FILES = ("simple-chat.json", "tool-round-trip.json", "branch-fork.json")


def _golden_path(name: str) -> Path:
    path = GOLDEN_DIR / name
    if not path.is_file():
        pytest.skip(f"Lago golden fixture {path} is absent (expected next to the repository in ../shared)")
    return path


def _load(name: str) -> list[dict]:
    return json.loads(_golden_path(name).read_text(encoding="utf-8"))


_TEMPLATE: dict[str, Path] = {}


@pytest.fixture
def golden(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Journal:
    """A journal of its own holding the three golden files, each imported as it is on disk.

    The imports run once per worker; each test gets a copy of that file in its tmp_path.
    """
    for name in GOLDEN_FILES:
        _golden_path(name)
    template = _TEMPLATE.get("path")
    if template is None:
        template = tmp_path_factory.mktemp("golden") / "golden.duckdb"
        with Journal(template) as journal:
            for name in GOLDEN_FILES:
                result = journal.import_file(GOLDEN_DIR / name)
                assert (result.events, result.skipped) == (len(_load(name)), 0)
                assert result.sessions == 1
                assert result.branches == (1 if name == "branch-fork.json" else 0)
        _TEMPLATE["path"] = template
    path = tmp_path / "golden.duckdb"
    shutil.copyfile(template, path)
    journal = Journal(path, idle_release=0.2)
    yield journal
    journal.close()


def _events(journal: Journal, session: str, branch: str = "main") -> list:
    timeline = journal.timeline(session, branch)
    return timeline.window(0, timeline.length + 10)


def _own(events: list, branch: str) -> list:
    """Events read back for one (session, branch), as Lago's golden tests read them."""
    return [e for e in events if e.branch_id == branch and not e.inherited]


# --------------------------------------------------------------------------------------------- simple-chat


def test_simple_chat(golden: Journal) -> None:
    events = _events(golden, "GOLDEN-SIMPLE-CHAT")
    assert [e.event_id for e in events] == ["EVT-SC-001", "EVT-SC-002", "EVT-SC-003", "EVT-SC-004"]
    assert [(e.branch_id, e.seq) for e in events] == [("main", 1), ("main", 2), ("main", 3), ("main", 4)]
    assert golden.head_seq("GOLDEN-SIMPLE-CHAT", "main") == 4

    third = events[2]
    assert third.kind == "Message"
    assert third.payload["role"] == "assistant"
    assert third.payload["model"] == "gpt-4"
    assert third.payload["token_usage"] == {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18}

    summary = golden.session("GOLDEN-SIMPLE-CHAT").summary
    assert (summary.name, summary.event_count, summary.branch_count) == ("simple-chat", 4, 1)
    assert (summary.tokens_in, summary.tokens_out) == (10, 8)
    assert summary.closed is False


# --------------------------------------------------------------------------------------------- tool-round-trip


def test_tool_round_trip(golden: Journal) -> None:
    events = _events(golden, "GOLDEN-TOOL-RT")
    assert len(events) == 6
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.kind for e in events] == [
        "SessionCreated", "Message", "ToolCallRequested", "ToolCallCompleted", "Message", "SessionClosed",
    ]

    requested = events[2].payload
    assert requested["call_id"] == "call-001"
    assert requested["tool_name"] == "read_file"
    assert requested["arguments"]["path"] == "/etc/hostname"
    assert requested["category"] == "fs"

    completed = events[3].payload
    assert completed["call_id"] == "call-001"
    assert completed["result"]["content"] == "agent-host"
    assert completed["duration_ms"] == 12
    assert completed["status"] == "ok"

    # The request row is paired with its completion by call_id.
    outcome = events[2].outcome
    assert outcome is not None
    assert (outcome.kind, outcome.status, outcome.duration_ms) == ("ToolCallCompleted", "ok", 12)
    assert events[3].outcome is None

    assert events[-1].kind == "SessionClosed"
    closed = {s.session_id: s.closed for s in golden.list_sessions()}
    assert closed == {"GOLDEN-TOOL-RT": True, "GOLDEN-SIMPLE-CHAT": False, "GOLDEN-BRANCH-FORK": False}
    assert golden.session("GOLDEN-TOOL-RT").totals.tool_calls == 1


# --------------------------------------------------------------------------------------------- branch-fork


def test_branch_fork(golden: Journal) -> None:
    detail = golden.session("GOLDEN-BRANCH-FORK")
    assert [b.branch_id for b in detail.branches] == ["main", "feature-x"]
    feature = detail.branch("feature-x")
    assert feature is not None
    assert (feature.name, feature.parent_branch_id, feature.fork_point_seq, feature.head_seq) == (
        "feature-x", "main", 3, 2,
    )

    main = _events(golden, "GOLDEN-BRANCH-FORK", "main")
    assert [(e.event_id, e.seq) for e in main] == [
        ("EVT-BF-001", 1), ("EVT-BF-002", 2), ("EVT-BF-003", 3), ("EVT-BF-004", 4), ("EVT-BF-007", 5),
    ]
    created = main[3]
    assert created.kind == "BranchCreated"
    assert created.payload["new_branch_id"] == "feature-x"
    assert created.payload["fork_point_seq"] == 3
    # main goes on after the fork
    assert main[4].payload["content"] == "Continue on main branch"
    assert golden.head_seq("GOLDEN-BRANCH-FORK", "main") == 5

    timeline = golden.timeline("GOLDEN-BRANCH-FORK", "feature-x")
    events = timeline.window(0, 100)
    assert [(e.branch_id, e.seq, e.inherited) for e in events] == [
        ("main", 1, True), ("main", 2, True), ("main", 3, True), ("feature-x", 1, False), ("feature-x", 2, False),
    ]
    assert [e.event_id for e in _own(events, "feature-x")] == ["EVT-BF-005", "EVT-BF-006"]
    assert [e.position for e in events] == [0, 1, 2, 3, 4]
    assert timeline.fork_positions == [3]


def test_golden_export_is_the_fixture_with_assigned_seqs(golden: Journal) -> None:
    """Exported events are the fixture objects verbatim, but with the seq the journal assigned."""
    expected_seqs = {
        "simple-chat.json": [1, 2, 3, 4],
        "tool-round-trip.json": [1, 2, 3, 4, 5, 6],
        "branch-fork.json": [1, 2, 3, 4, 1, 2, 5],
    }
    for name, seqs in expected_seqs.items():
        fixture = _load(name)
        exported = list(golden.export(fixture[0]["session_id"]))
        expected = [{**obj, "seq": seq} for obj, seq in zip(fixture, seqs, strict=True)]
        assert exported == expected
        assert [list(o) for o in exported] == [list(o) for o in expected]  # Lago's key order too


def test_reimporting_golden_files_adds_nothing(golden: Journal) -> None:
    before = [s.to_json() for s in golden.list_sessions(sort="id")]
    for name in GOLDEN_FILES:
        result = golden.import_file(GOLDEN_DIR / name)
        assert (result.events, result.sessions, result.branches) == (0, 0, 0)
        assert result.skipped == len(_load(name))
    assert [s.to_json() for s in golden.list_sessions(sort="id")] == before


# --------------------------------------------------------------------------------------------- envelope model


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_envelope_round_trip(name: str) -> None:
    for obj in _load(name):
        wire = EventEnvelope.model_validate(obj).to_wire()
        assert wire == obj
        # byte-for-byte, key order included (Lago's serde order)
        assert json.dumps(wire) == json.dumps(obj)


def test_kind_is_an_alias_of_payload(tmp_path: Path) -> None:
    original = _load("tool-round-trip.json")
    aliased = []
    for obj in original:
        obj = copy.deepcopy(obj)
        obj["kind"] = obj.pop("payload")
        aliased.append(obj)

    for plain, alias in zip(original, aliased, strict=True):
        env = EventEnvelope.model_validate(alias)
        assert env.kind == plain["payload"]["type"]
        assert env.to_wire() == plain  # written back under Lago's "payload" key
        assert "kind" not in env.to_wire()

    # The journal accepts the aliased form from a file and from the API alike.
    source = tmp_path / "aliased.jsonl"
    source.write_text("\n".join(json.dumps(o) for o in aliased) + "\n", encoding="utf-8")
    with Journal(tmp_path / "a.duckdb") as journal:
        assert journal.import_file(source).events == 6
        assert list(journal.export("GOLDEN-TOOL-RT")) == [{**o, "seq": i} for i, o in enumerate(original, 1)]
    with Journal(tmp_path / "b.duckdb") as journal:
        journal.append(aliased)
        assert list(journal.export("GOLDEN-TOOL-RT")) == [{**o, "seq": i} for i, o in enumerate(original, 1)]


UNKNOWN_PAYLOAD = {
    "type": "QuantumEntanglementObserved",
    "zeta": 1,
    "alpha": {"nested": [1, 2.5, -3, None, True, False, "x", {"deep": {"deeper": [], "empty": {}}}]},
    "float": 0.1,
    "tiny": 1.5e-7,
    "ten": 10.0,
    "big": 1e300,
    "beyond_i64": 18446744073709551615,  # u64::MAX: the largest integer Lago's serde_json keeps exact
    "lowest": -9223372036854775808,  # i64::MIN
    "text": "h\u00e9llo \U0001f30d \"quoted\" \\ back\nslash\ttab \u0001",
    "content": 42,  # a field name a known kind uses, with another type
}


def _unknown_event(session_id: str, event_id: str = "EVT-UNK-1") -> dict:
    return {
        "event_id": event_id,
        "session_id": session_id,
        "branch_id": "main",
        "run_id": "run-z",
        "seq": 0,
        "timestamp": 1700000009000000,
        "parent_id": "EVT-SC-004",
        "payload": copy.deepcopy(UNKNOWN_PAYLOAD),
        "metadata": {"producer": "future-lago", "trace": "abc"},
        "schema_version": 7,
    }


def test_unknown_payload_is_kept_exactly(tmp_path: Path) -> None:
    obj = _unknown_event("GOLDEN-SIMPLE-CHAT")
    # The model keeps it verbatim...
    assert json.dumps(EventEnvelope.model_validate(obj).to_wire()) == json.dumps(obj)

    # ...and so do import and export (after the session's own events).
    source = tmp_path / "with-unknown.jsonl"
    lines = [json.dumps(o) for o in _load("simple-chat.json")] + [json.dumps(obj)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Journal(tmp_path / "j.duckdb") as journal:
        assert journal.import_file(source).events == 5
        exported = list(journal.export("GOLDEN-SIMPLE-CHAT"))
        assert json.dumps(exported[-1]) == json.dumps({**obj, "seq": 5})
        stored = journal.get_event("EVT-UNK-1")
        assert (stored.kind, stored.schema_version, stored.seq) == ("QuantumEntanglementObserved", 7, 5)
        assert json.dumps(stored.to_wire()) == json.dumps({**obj, "seq": 5})
        # unknown payloads are searchable by their JSON text
        assert [h.event_id for h in journal.search("Entanglement")] == ["EVT-UNK-1"]

        # The API path keeps it exactly too.
        session_id = journal.create_session({"name": "api"})
        api_obj = _unknown_event(session_id, "EVT-UNK-2")
        journal.append([api_obj])
        assert json.dumps(list(journal.export(session_id))[-1]) == json.dumps({**api_obj, "seq": 2})
