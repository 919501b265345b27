"""CLI contract of the query language and session management (issue 13, and 12.5, 12.9, 12.13):
exact commands, outputs and JSON shapes, one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lago_tui.cli import run
from lago_tui.cli.completion import complete
from lago_tui.journal import Journal

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def cli(capsys: pytest.CaptureFixture[str], journal: Journal, *args: str) -> tuple[int, str, str]:
    code = run(["--journal", str(journal.path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def names(out: str) -> list[str]:
    return [line.split()[1] for line in out.splitlines()[1:]]


def test_sessions_where_since_until_limit(demo_journal: Journal, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, demo_journal, "sessions", "--where", "model:claude tokens:>25k")
    assert code == 0 and sorted(names(out)) == ["fix-flaky-auth-test", "migrate-billing-to-pydantic-v2"]
    code, out, _ = cli(capsys, demo_journal, "sessions", "--where", "-state:closed -model:llama")  # leading '-'
    assert code == 0 and names(out) == ["eval-gsm-arith-nightly"]
    code, out, _ = cli(capsys, demo_journal, "sessions", "--since", "2026-11-16", "--until", "2026-11-18T12:00Z")
    assert names(out) == ["docs-qa-onboarding", "incident-2240-cert-expiry"]
    code, out, _ = cli(capsys, demo_journal, "sessions", "--limit", "2", "--json")
    data = json.loads(out)
    assert len(data) == 2
    first = data[0]
    assert list(first)[:6] == ["session_id", "name", "model", "params", "created_at", "created_at_iso"]
    assert first["last_ts_iso"].endswith("Z") and first["last_ts_iso"].startswith("2026-11-20T17:45:08.450087")


@pytest.mark.parametrize(("args", "message"), [
    (["log", "fix-flaky", "--where", "deploy knd:tool"],
     "lago-tui: error: --where: unknown filter knd:; did you mean kind:? (at column 8: knd:)"),
    (["sessions", "--where", "kind:tool"], "lago-tui: error: --where: kind: is not a filter of the session list; "),
    (["sessions", "--where", 'x "open'], "lago-tui: error: --where: unterminated quote (at column 3: \"open)"),
    (["sessions", "--since", "tuesday"], "lago-tui: error: --since: expects an age (2d, 36h, 1w, today) or a date"),
    (["log", "fix-flaky", "--where", "seq:>x"], "lago-tui: error: --where: seq: expects a whole number, not 'x' (e.g. seq:>120) (at column 1: seq:>x)"),
    (["log", "fix-flaky", "--where", "branch:nope"], "lago-tui: error: --where: no branch 'nope' in this session"),
    (["log", "fix-flaky", "--until", "soon"], "lago-tui: error: --until: expects an age"),
])
def test_query_errors_are_one_line_exit_2(demo_journal: Journal, capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    code, out, err = cli(capsys, demo_journal, *args)
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_log_kind_accepts_what_the_ui_shows_and_refuses_the_rest(demo_journal: Journal,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12.5: roles and families work as kinds; an unknown kind is an error listing the valid ones."""
    code, out, _ = cli(capsys, demo_journal, "log", "fix-flaky", "--kind", "assistant", "--json")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(events) == 10
    assert {(e["payload"]["type"], e["payload"]["role"]) for e in events} == {("Message", "assistant")}
    code, out, _ = cli(capsys, demo_journal, "log", "fix-flaky", "--kind", "tool", "--kind", "RunStarted")
    kinds = {line.split()[3] for line in out.splitlines()}
    assert kinds == {"ToolCallRequested", "ToolCallStarted", "ToolCallCompleted", "RunStarted"}
    code, out, _ = cli(capsys, demo_journal, "log", "incident-2231", "--kind", "error,user", "--json")
    assert sorted(json.loads(line)["payload"]["type"] for line in out.splitlines()) == [
        "ErrorRaised", "Message", "Message", "ToolCallCompleted"]  # a non-ok completion is an error too
    code, out, err = cli(capsys, demo_journal, "log", "fix-flaky", "--kind", "Bogus")
    assert (code, out) == (2, "")
    assert err.startswith("lago-tui: error: --kind: unknown kind 'Bogus'; valid: families: session, message, tool,")
    assert "roles: user, assistant, system; kinds: SessionCreated," in err and err.count("\n") == 1
    # A kind nobody knows but this journal has is fine.
    code, out, _ = cli(capsys, demo_journal, "log", "refactor-cli", "--branch", "01M7AJYY9BE4PRJ1YEMB38H0Y8",
                       "--kind", "SandboxExecuted", "--json")
    assert code == 0 and [json.loads(line)["payload"]["type"] for line in out.splitlines()] == ["SandboxExecuted"]


def test_log_where_matches_what_is_shown(demo_journal: Journal, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, demo_journal, "log", "incident-2240", "--where", "denied kind:tool")
    lines = out.splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == ["25", "29"]
    assert "kubectl → failed" in lines[0]  # the request row shows its outcome; that is what matched


def test_log_says_which_branch_each_event_came_from(demo_journal: Journal,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12.9: a branch's timeline repeats seqs; each line names its branch."""
    code, out, _ = cli(capsys, demo_journal, "log", "migrate", "--branch", "codemod-plus-manual-fixes")
    lines = out.splitlines()
    assert code == 0
    keys = [(line[1:].split()[1], int(line[1:].split()[0])) for line in lines]
    assert len(set(keys)) == len(keys) and len({seq for _, seq in keys}) < len(keys)  # seqs repeat, keys don't
    assert {branch for branch, _ in keys} == {"main", "attempt-codemod", "codemod-plus-manual-fixes"}
    assert all(line.startswith("^") == (branch != "codemod-plus-manual-fixes") for line, (branch, _) in zip(lines, keys))
    # One segment (main): no branch column.
    code, out, _ = cli(capsys, demo_journal, "log", "fix-flaky", "--limit", "1")
    assert out.split()[1].startswith("2026-")


def test_show_json_iso_and_runs(demo_journal: Journal, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, demo_journal, "show", "fix-flaky", "--json", "--runs")
    data = json.loads(out)
    assert code == 0 and data["created_at_iso"] == "2026-11-02T09:14:07.195915Z"
    assert data["branches"][0]["created_at_iso"].endswith("Z")
    assert [r["status"] for r in data["runs"]] == ["finished", "finished", "finished"]
    assert [len(r["steps"]) for r in data["runs"]] == [4, 4, 2] and data["runs"][0]["started_ts_iso"].endswith("Z")
    code, out, _ = cli(capsys, demo_journal, "show", "fix-flaky", "--runs")
    tail = out.split("runs of main: 3\n")[1].splitlines()
    assert tail[0].split()[:3] == ["RUN", "STATUS", "STARTED"]
    assert tail[1].split()[1:2] == ["finished"] and tail[2].split()[:3] == ["step", "0", "done"]


def test_session_prefixes_and_ambiguity(demo_journal: Journal, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12.13: an ambiguous reference lists the candidates (id, name, created) on one line."""
    assert cli(capsys, demo_journal, "show", "weekly")[0] == 0  # a unique name prefix
    code, out, err = cli(capsys, demo_journal, "show", "incident")
    assert (code, out) == (2, "")
    assert re.fullmatch(r"lago-tui: error: session name prefix 'incident' is ambiguous: \w{26} \(incident-2\d{3}-[\w-]+, "
                        r"created 2026-11-\d\d \d\d:\d\d UTC\), \w{26} \(incident-2\d{3}-[\w-]+, created [^)]+\); use an id\n",
                        err)


def test_close_rename_delete(demo_journal: Journal, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, demo_journal, "close", "triage", "--reason", "by hand")
    assert code == 0 and out.startswith("closed triage-ci-timeouts (")
    code, _, err = cli(capsys, demo_journal, "close", "triage")
    assert code == 2 and err == "lago-tui: error: session triage-ci-timeouts is already closed\n"
    code, out, err = cli(capsys, demo_journal, "rename", "triage", "ci-triage")
    assert code == 0 and out.startswith("renamed triage-ci-timeouts (") and out.endswith(") to ci-triage\n")
    code, out, err = cli(capsys, demo_journal, "rename", "ci-tri", "fix-flaky-auth-test")
    assert code == 0 and err == ("lago-tui: note: 1 other session also named fix-flaky-auth-test; "
                                 "refer to this one by its id\n")
    code, _, err = cli(capsys, demo_journal, "rename", "migrate", "bad\x1bname")
    assert code == 2 and err.startswith("lago-tui: error: cannot rename: name contains a control or invisible")
    code, out, _ = cli(capsys, demo_journal, "rename", "migrate", "--branch", "attempt-codemod", "attempt-1")
    assert code == 0 and out.startswith("renamed branch attempt-codemod to attempt-1 in migrate-billing-to-pydantic-v2")
    code, _, err = cli(capsys, demo_journal, "rename", "migrate", "--branch", "nope", "x")
    assert code == 2 and "no branch 'nope'" in err
    before = demo_journal.count_sessions()
    code, out, err = cli(capsys, demo_journal, "delete", "docs-qa")  # not a terminal: refuses
    assert (code, out) == (2, "") and err == (
        "lago-tui: error: delete needs --yes when not run on a terminal (nothing was deleted)\n")
    code, out, _ = cli(capsys, demo_journal, "delete", "docs-qa", "--yes")
    assert code == 0 and re.fullmatch(r"deleted docs-qa-onboarding \(\w+\): 38 events, 1 branch\n", out)
    assert demo_journal.count_sessions() == before - 1


def test_hostile_names_stay_escaped(journal: Journal, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = "x\x1b]52;c;aGk=\x07\x1b[2J\rname"
    sid, bid = "S1\x1b[2J", "B1\x07"
    lines = [{"event_id": "e1", "session_id": sid, "timestamp": 1, "payload": {"type": "SessionCreated", "name": evil}},
             {"event_id": "e2", "session_id": sid, "timestamp": 2,
              "payload": {"type": "BranchCreated", "new_branch_id": bid, "fork_point_seq": 1, "name": evil}},
             {"event_id": "e3", "session_id": sid, "branch_id": bid, "timestamp": 3, "run_id": evil,
              "payload": {"type": "Message", "role": evil, "content": evil}}]
    (tmp_path / "evil.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    journal.import_file(tmp_path / "evil.jsonl")
    for args in (["log", "S1", "--branch", bid], ["sessions"], ["show", "S1", "--runs", "--branch", bid],
                 ["log", "S1", "--where", evil], ["close", "S1"], ["rename", "S1", "--branch", bid, "fine"],
                 ["rename", "S1", "fine"], ["delete", "S1"], ["__complete", "2", "lago-tui", "show", ""],
                 ["__complete", "2", "lago-tui", "show", "S"]):
        code, out, err = cli(capsys, journal, *args)
        assert not CONTROL.search(out) and not CONTROL.search(err.replace("\n", "")), args
        assert code in (0, 2), args


def test_completion_candidates(demo_journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAGO_JOURNAL", str(demo_journal.path))
    assert {"sessions", "log", "close", "rename", "delete", "completion"} <= set(complete(["lago-tui", ""], 1))
    assert "__complete" not in complete(["lago-tui", ""], 1)
    assert complete(["lago-tui", "lo"], 1) == ["log"]
    assert complete(["lago-tui", "log", "inci"], 2) == ["incident-2240-cert-expiry", "incident-2231-db-latency"]
    assert complete(["lago-tui", "log", "migrate", "--branch", ""], 4) == [
        "attempt-codemod", "codemod-plus-manual-fixes", "main"]
    assert complete(["lago-tui", "log", "x", "--kind", "too"], 4) == ["tool"]
    assert complete(["lago-tui", "log", "x", "--fo"], 3) == ["--follow"]
    assert complete(["lago-tui", "completion", ""], 2) == ["bash", "fish", "zsh"]
    assert complete(["lago-tui", "import", "a"], 2) == ["__files__"]
    assert complete(["lago-tui", "--journal", "j", ""], 3)[:3] == ["branch", "check", "close"]
    assert complete(["lago-tui", "rename", "weekly", ""], 3) == []  # NEW_NAME: nothing to offer
    monkeypatch.setenv("LAGO_JOURNAL", str(demo_journal.path) + ".missing")
    assert complete(["lago-tui", "show", ""], 2) == []


def test_bash_completion_script_completes(demo_journal: Journal, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, script, _ = cli(capsys, demo_journal, "completion", "bash")
    assert code == 0
    for shell in ("zsh", "fish"):
        assert cli(capsys, demo_journal, "completion", shell)[1].count("__complete") == 1
    (tmp_path / "c.bash").write_text(script)
    exe = Path(sys.executable).parent / "lago-tui"
    probe = (f'source {tmp_path / "c.bash"}; COMP_WORDS=({exe} --journal {demo_journal.path} log weekly-churn '
             '--branch ""); COMP_CWORD=6; _lago_tui_complete; printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "main\n"


def test_log_follow_prints_appends_until_interrupted(demo_journal: Journal, tmp_path: Path) -> None:
    demo_journal.close()
    exe = Path(sys.executable).parent / "lago-tui"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen([str(exe), "--journal", str(demo_journal.path), "log", "weekly", "--limit", "1",
                                 "--follow", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
    try:
        first = json.loads(follower.stdout.readline())
        assert first["payload"]["type"] == "SessionClosed"
        sid = first["session_id"]
        for n in range(3):  # three separate writes, while the follower keeps polling
            line = {"event_id": f"follow-{n}", "session_id": sid, "timestamp": 1_795_300_000_000_000 + n,
                    "payload": {"type": "Message", "role": "user", "content": f"live {n}"}}
            (tmp_path / f"{n}.jsonl").write_text(json.dumps(line))
            done = subprocess.run([str(exe), "--journal", str(demo_journal.path), "import", str(tmp_path / f"{n}.jsonl")],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
        seen = [json.loads(follower.stdout.readline())["payload"]["content"] for _ in range(3)]
        assert seen == ["live 0", "live 1", "live 2"]
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=30) == 0
        assert follower.stderr.read() == ""
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_help_lists_the_query_fields(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["log", "--help"])
    out = capsys.readouterr().out
    assert "status:error" in out and "dur:>5s" in out and "TIME: an age" in out
    time.sleep(0)
