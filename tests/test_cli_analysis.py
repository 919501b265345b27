"""The analysis commands as scripts use them: state, diff, check and export's --branch/--from/--to/--format
(exact JSON keys, exit statuses, one-line errors, no raw control character from the journal)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lago_tui.cli import run
from lago_tui.journal import Journal

from analysis_sessions import SessionWriter

HOSTILE = "\x1b]0;owned\x07\x1b[31mred\u202e"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def cli(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> tuple[int, str, str]:
    try:
        code = run(["--journal", str(path), *args])
    except SystemExit as exc:  # argparse refusals
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def journal_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Session "retry": main, then attempt-1 and attempt-2 forked at main@4, attempt-2b nested in attempt-2;
    session "sound": nothing wrong."""
    path = tmp_path_factory.mktemp("cli-analysis") / "journal.duckdb"
    with Journal(path) as j:
        w = SessionWriter(j, "retry", "r")
        w.emit("main", {"type": "RunStarted"}, run_id="r1")
        w.emit("main", {"type": "Message", "role": "user", "content": "fix " + HOSTILE})
        w.emit("main", {"type": "StatePatched", "patch": {"plan": ["read"]}})
        a1, a2 = w.branch("main", "attempt-1", 4), w.branch("main", "attempt-2", 4)
        for branch, result in ((a1, "fail"), (a2, "pass")):
            w.emit(branch, {"type": "ToolCallRequested", "call_id": f"c-{branch}", "tool_name": "run_tests",
                            "arguments": {"k": HOSTILE}}, run_id="r1")
            w.emit(branch, {"type": "ToolCallCompleted", "call_id": f"c-{branch}", "tool_name": "run_tests",
                            "duration_ms": 5, "status": "ok", "result": result}, run_id="r1")
            w.emit(branch, {"type": "FileWrite", "path": "src/" + HOSTILE, "blob_hash": "abc", "size_bytes": 10})
        w.emit(a2, {"type": "Message", "role": "assistant", "content": "done",
                    "token_usage": {"prompt_tokens": 5, "completion_tokens": 2}}, run_id="r1")
        w.emit(a2, {"type": "ToolCallRequested", "call_id": "c-open", "tool_name": "shell" + HOSTILE})
        nested = w.branch(a2, "attempt-2b", 2)
        w.emit(nested, {"type": "Message", "role": "assistant", "content": "other"})
        w.emit("main", {"type": "SessionClosed"})
        w.flush()
        s = SessionWriter(j, "sound", "s")
        s.emit("main", {"type": "Message", "role": "user", "content": "hi"})
        s.flush()
    return path


def test_state_json_has_exactly_the_contract_keys(journal_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, journal_file, "state", "retry", "--branch", "attempt-2", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["session_id", "branch_id", "at_seq", "messages", "files", "tokens", "tool_calls", "runs",
                          "state"]
    assert data["session_id"] == "r-session" and data["branch_id"] == "r-attempt-2" and data["at_seq"] == 6
    assert [set(m) for m in data["messages"]] == [{"seq", "branch_id", "role", "content"}] * 2
    assert data["messages"][0] == {"seq": 3, "branch_id": "main", "role": "user", "content": "fix " + HOSTILE}
    assert data["files"] == {"src/" + HOSTILE: {"blob_hash": "abc", "size_bytes": 10}}
    assert data["tokens"] == {"in": 5, "out": 2}
    assert data["tool_calls"] == [
        {"call_id": "c-r-attempt-2", "tool_name": "run_tests", "status": "ok", "seq": 1},
        {"call_id": "c-open", "tool_name": "shell" + HOSTILE, "status": "pending", "seq": 5},
    ]
    assert data["runs"] == [{"run_id": "r1", "status": "running"}]
    assert data["state"] == {"plan": ["read"]}

    code, out, _ = cli(capsys, journal_file, "state", "retry", "--branch", "attempt-2", "--at", "0", "--json")
    assert code == 0 and json.loads(out)["tool_calls"] == [] and json.loads(out)["at_seq"] == 0
    code, out, _ = cli(capsys, journal_file, "state", "sound", "--json")
    assert json.loads(out)["state"] == {} and json.loads(out)["files"] == {}


def test_state_plain_output(journal_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, journal_file, "state", "retry", "--branch", "attempt-2")
    assert code == 0
    assert not RAW.search(out)
    assert out.startswith("retry  branch attempt-2  at seq 6 of 6\n")
    assert "tool calls  2 (1 pending, 1 ok)" in out and "runs        1 (1 running)" in out
    assert "pending tool calls" in out and "\\x1b]0;owned\\x07" in out
    assert '"read"' in out and "^     3  user" in out


@pytest.mark.parametrize("args", [("--at", "6"), ("--at", "-1"), ("--branch", "nope")])
def test_state_errors_are_one_line_exit_2(journal_file: Path, capsys: pytest.CaptureFixture[str], args) -> None:  # noqa: ANN001
    code, out, err = cli(capsys, journal_file, "state", "retry", "--branch", "attempt-1", *args)
    assert code == 2 and out == ""
    assert err.startswith("lago-tui: error: ") and err.count("\n") == 1


def test_diff_json_has_exactly_the_contract_shape(journal_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, journal_file, "diff", "retry", "attempt-1", "attempt-2", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["fork", "rows", "totals"]
    assert data["fork"] == {"branch_id": "main", "seq": 4}
    for row in data["rows"]:
        assert list(row) == ["left", "right", "status"] and row["status"] in ("same", "changed", "left", "right")
        for side in (row["left"], row["right"]):
            assert side is None or list(side) == ["seq", "kind", "summary"]
    assert [r["status"] for r in data["rows"]] == ["same", "changed", "same", "right", "right", "right"]
    assert list(data["totals"]) == ["left", "right"]
    assert data["totals"]["left"]["events"] == 3 and data["totals"]["right"]["events"] == 6
    assert data["totals"]["right"]["tokens_in"] == 5

    # a branch and its descendant: the fork is the descendant's fork point on that line
    code, out, _ = cli(capsys, journal_file, "diff", "retry", "attempt-2", "attempt-2b", "--json")
    data = json.loads(out)
    assert data["fork"] == {"branch_id": "r-attempt-2", "seq": 2}
    assert [(r["status"], (r["left"] or {}).get("seq"), (r["right"] or {}).get("seq")) for r in data["rows"]][0][0] \
        in ("left", "right", "changed")


def test_diff_plain_output(journal_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, journal_file, "diff", "retry", "attempt-1", "attempt-2")
    assert code == 0
    assert not RAW.search(out)
    lines = out.splitlines()
    assert lines[0].startswith("fork main @4   left attempt-1 (3 events after it)   right attempt-2 (6 events)")
    assert lines[1] == "2 same, 1 changed, 0 only left, 3 only right"
    assert lines[3].startswith("  ── attempt-1 ──") and "│ ── attempt-2 ──" in lines[3]  # each side's branch
    body = [ln for ln in lines[4:] if "│" in ln]
    assert [ln[0] for ln in body] == [" ", "~", " ", "+", "+", "+"]
    assert any(ln.split()[:4] == ["events", "3", "6", "+3"] for ln in lines)
    code, _, err = cli(capsys, journal_file, "diff", "retry", "attempt-1", "nope")
    assert code == 2 and err.startswith("lago-tui: error: no branch 'nope'")


def test_check_exit_statuses_and_json(journal_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, journal_file, "check", "sound")
    assert (code, out) == (0, "no problems found (1 session checked)\n")
    code, out, _ = cli(capsys, journal_file, "check", "sound", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = cli(capsys, journal_file, "check", "--json")
    assert code == 1
    problems = json.loads(out)
    assert [list(p) for p in problems] == [["session_id", "branch_id", "seq", "event_id", "code", "message"]] * 2
    assert [(p["code"], p["branch_id"], p["seq"]) for p in problems] == [
        ("unfinished_run", "main", 2), ("unfinished_tool_call", "r-attempt-2", 5)]
    code, out, _ = cli(capsys, journal_file, "check")
    assert code == 1 and not RAW.search(out)
    assert "attempt-2" in out and "unfinished_tool_call" in out and out.endswith("2 problems in 1 session\n")
    code, _, err = cli(capsys, journal_file, "check", "nope")
    assert code == 2 and err.startswith("lago-tui: error: ")
    code, _, err = cli(capsys, journal_file.with_name("missing.duckdb"), "check")
    assert code == 2


def test_export_branch_range_and_formats(journal_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, journal_file, "export", "retry", "--branch", "attempt-2")
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["branch_id"], e["seq"]) for e in events] == [("main", s) for s in range(1, 5)] + [
        ("r-attempt-2", s) for s in range(1, 7)]
    code, log, _ = cli(capsys, journal_file, "log", "retry", "--branch", "attempt-2", "--json")
    assert out == log
    code, out, _ = cli(capsys, journal_file, "export", "retry", "--branch", "attempt-2", "--from", "2", "--to", "3")
    assert [(e["branch_id"], e["seq"]) for e in map(json.loads, out.splitlines())] == [("r-attempt-2", 2), ("r-attempt-2", 3)]
    code, out, _ = cli(capsys, journal_file, "export", "retry", "--to", "2")  # a range without a branch: main
    assert [e["seq"] for e in map(json.loads, out.splitlines())] == [1, 2]
    code, out, _ = cli(capsys, journal_file, "export", "retry")  # all branches, as before
    assert len(out.splitlines()) == 17

    code, out, _ = cli(capsys, journal_file, "export", "retry", "--branch", "attempt-2", "--format", "md")
    assert code == 0 and not RAW.search(out)
    assert out.startswith("# retry · attempt-2\n") and "## user · seq 3" in out and "**Tool call** `run_tests`" in out
    target = tmp_path / "chat.json"
    code, out, _ = cli(capsys, journal_file, "export", "retry", "--branch", "attempt-2", "--format", "openai",
                       "-o", str(target))
    assert code == 0 and out == ""
    messages = json.loads(target.read_text(encoding="utf-8"))
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1]["tool_calls"][0]["function"] == {"name": "run_tests", "arguments": json.dumps({"k": HOSTILE}, ensure_ascii=False)}
    assert messages[2] == {"role": "tool", "tool_call_id": "c-r-attempt-2", "content": "pass"}


@pytest.mark.parametrize("args", [("--from", "0"), ("--from", "3", "--to", "2"), ("--to", "99"), ("--branch", "nope"),
                                  ("--format", "xml")])
def test_export_refusals_write_nothing(journal_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       args) -> None:  # noqa: ANN001
    target = tmp_path / "out.jsonl"
    branch = () if "--branch" in args else ("--branch", "attempt-1")
    code, out, err = cli(capsys, journal_file, "export", "retry", *branch, *args, "-o", str(target))
    assert code == 2 and out == "" and err.count("lago-tui: error: ") == 1
    assert err.splitlines()[-1].startswith("lago-tui: error: ")
    assert list(tmp_path.iterdir()) == []
