"""Export of a branch's timeline and seq ranges, and the jsonl / md / openai renderings (journal.formats)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lago_tui.journal import InvalidSpec, Journal, NotFound
from lago_tui.journal.formats import clean_text, render, to_markdown, to_openai

from analysis_sessions import SessionWriter, random_session, timeline_events

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("analysis-export") / "journal.duckdb"
    with Journal(path) as j:
        session = random_session(j, 21, events=90)
    return path, session


def test_branch_export_is_the_timeline_and_ranges_cut_its_own_seqs(generated: tuple[Path, str]) -> None:
    path, session = generated
    with Journal(path) as j:
        detail = j.session(session)
        everything = list(j.export(session))
        assert len(everything) == detail.summary.event_count
        for b in detail.branches:
            timeline = timeline_events(j, session, b.branch_id)
            assert list(j.export(session, branch=b.branch_id)) == timeline
            own = [e for e in timeline if e["branch_id"] == b.branch_id]
            if not own:
                continue
            lo, hi = (len(own) + 2) // 3, max(1, 2 * len(own) // 3)
            assert list(j.export(session, branch=b.name, from_seq=lo, to_seq=hi)) == [
                e for e in own if lo <= e["seq"] <= hi]
            assert list(j.export(session, branch=b.branch_id, to_seq=hi)) == timeline[: len(timeline) - len(own) + hi]
            assert list(j.export(session, branch=b.branch_id, from_seq=hi)) == own[hi - 1:]
            assert list(j.export(session, branch=b.branch_id, to_seq=0)) == timeline[: len(timeline) - len(own)]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"from_seq": 1}, "needs a branch"),
        ({"branch": "main", "from_seq": 0}, "outside branch main"),
        ({"branch": "main", "to_seq": 10**6}, "outside branch main"),
        ({"branch": "main", "from_seq": 3, "to_seq": 2}, "after to seq 2"),
    ],
)
def test_export_refuses_bad_ranges_before_any_output(generated: tuple[Path, str], kwargs, error) -> None:  # noqa: ANN001
    path, session = generated
    with Journal(path) as j, pytest.raises(InvalidSpec, match=error):
        j.export(session, **kwargs)
    with Journal(path) as j, pytest.raises(NotFound):
        j.export(session, branch="nope")


def _conversation(tmp_path: Path) -> tuple[Journal, str]:
    j = Journal(tmp_path / "j.duckdb")
    w = SessionWriter(j, "chat", "c")
    hostile = "evil \x1b]52;c;SGVsbG8=\x07 \u202eRTL\u200b zero \x9b31m ```fence``` \r\nnext"
    w.emit("main", {"type": "Message", "role": "system", "content": "be brief"})
    w.emit("main", {"type": "Message", "role": "developer", "content": "dev rules"})
    w.emit("main", {"type": "Message", "role": "user", "content": hostile})
    w.emit("main", {"type": "Message", "role": "assistant", "content": "looking"})
    w.emit("main", {"type": "ToolCallRequested", "call_id": "c1", "tool_name": "read_file", "arguments": {"path": "a.py"}})
    w.emit("main", {"type": "ToolCallRequested", "call_id": "c2", "tool_name": "shell", "arguments": "ls -l"})
    w.emit("main", {"type": "ToolCallStarted", "tool_name": "read_file"})
    w.emit("main", {"type": "ToolCallCompleted", "call_id": "c1", "tool_name": "read_file", "duration_ms": 3,
                    "status": "ok", "result": {"text": "print(1)"}})
    w.emit("main", {"type": "ToolCallFailed", "call_id": "c2", "tool_name": "shell", "error": "denied \x1b[2J"})
    w.emit("main", {"type": "ToolCallCompleted", "call_id": "c404", "tool_name": "x", "duration_ms": 1, "status": "ok"})
    w.emit("main", {"type": "ToolCallRequested", "call_id": "c3", "tool_name": "grep"})
    w.emit("main", {"type": "ToolCallCompleted", "call_id": "c3", "tool_name": "grep", "duration_ms": 1,
                    "status": "timeout", "result": "partial"})
    w.emit("main", {"type": "Message", "role": "critic", "content": "hmm"})
    w.emit("main", {"type": "FileWrite", "path": "a\x1b.py", "size_bytes": 5})
    w.emit("main", {"type": "Message", "role": "assistant", "content": "done"})
    w.flush()
    return j, w.session_id


def test_openai_messages(tmp_path: Path) -> None:
    j, session = _conversation(tmp_path)
    with j:
        messages = to_openai(j.export(session, branch="main"))
    assert messages[:3] == [
        {"role": "system", "content": "be brief"},
        {"role": "system", "content": "dev rules"},
        {"role": "user", "content": messages[2]["content"]},
    ]
    assert messages[3] == {"role": "assistant", "content": "looking", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}},
        {"id": "c2", "type": "function", "function": {"name": "shell", "arguments": '"ls -l"'}},
    ]}
    assert messages[4] == {"role": "tool", "tool_call_id": "c1", "content": '{"text": "print(1)"}'}
    assert messages[5] == {"role": "tool", "tool_call_id": "c2", "content": "error: denied \x1b[2J"}
    # the result of c404 (never requested) is left out; c3 opens a new assistant message
    assert messages[6] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c3", "type": "function", "function": {"name": "grep", "arguments": "{}"}}]}
    assert messages[7] == {"role": "tool", "tool_call_id": "c3", "content": "error (timeout): partial"}
    assert messages[8:] == [{"role": "user", "content": "[critic] hmm"}, {"role": "assistant", "content": "done"}]
    for m in messages:
        assert m["role"] in ("user", "assistant", "system", "tool")
    text = "".join(render(iter([]), "openai"))
    assert json.loads(text) == []


def test_markdown_transcript_is_readable_and_has_no_raw_control_characters(tmp_path: Path) -> None:
    j, session = _conversation(tmp_path)
    with j:
        events = list(j.export(session, branch="main"))
    md = "".join(to_markdown(events, title="chat \x1b[31m title", branch_names={"main": "main"}))
    assert not RAW_CONTROL.search(md)
    assert md.startswith("# chat \\x1b[31m title\n")
    assert "## user · seq 4" in md and "## assistant · seq 5" in md
    assert "**Tool call** `read_file` · call `c1`" in md and '"path": "a.py"' in md
    assert "**Result** of `read_file` · ok · 3 ms" in md and "print(1)" in md
    assert "**Tool failed** `shell`" in md and "denied \\x1b[2J" in md
    assert "\\u202eRTL\\u200b" in md and "\\x9b31m" in md
    assert "*wrote* `a\\x1b.py` (5 B)" in md
    assert "ToolCallStarted" not in md


def test_jsonl_is_the_wire_format(tmp_path: Path) -> None:
    j, session = _conversation(tmp_path)
    with j:
        events = list(j.export(session, branch="main"))
    lines = "".join(render(iter(events), "jsonl")).splitlines()
    assert [json.loads(line) for line in lines] == events
    with pytest.raises(ValueError):
        render(iter(events), "xml")


def test_clean_text() -> None:
    assert clean_text("a\r\nb\tc\x00\x7f\u2028") == "a\nb\tc\\x00\\x7f\\u2028"
