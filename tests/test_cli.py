"""The CLI as scripts use it: exact commands, JSON shapes, one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import time
import subprocess
import sys
from pathlib import Path

import pytest

from lago_tui.cli import run
from lago_tui.connect import open_journal
from lago_tui.journal import Journal

from conftest import GOLDEN


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def target(backend: str, journal_path: Path, monkeypatch: pytest.MonkeyPatch):
    """What ``--journal`` names: the file, or a ``lago-tui serve`` URL serving it (with a token)."""
    if backend == "file":
        yield str(journal_path)
        return
    from served import serve

    served = serve(journal_path, token="cli-contract-token")
    monkeypatch.setenv("LAGO_TOKEN", served.token)
    yield served.url
    served.close()


@pytest.fixture
def golden_journal(target: str, capsys: pytest.CaptureFixture[str]) -> str:
    if not GOLDEN.is_dir():
        pytest.skip("../shared/fixtures/lago-golden is not beside the repo")
    code, out, _ = cli(capsys, "--journal", target, "import", *sorted(map(str, GOLDEN.glob("*.json"))))
    assert code == 0
    assert "branch-fork.json: 1 session, 7 events imported" in out
    return target


def test_sessions_json_and_table(golden_journal: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--journal", golden_journal, "sessions", "--json")
    assert code == 0
    data = json.loads(out)
    assert {s["name"] for s in data} == {"simple-chat", "tool-round-trip", "branch-fork"}
    chat = next(s for s in data if s["name"] == "simple-chat")
    assert chat["event_count"] == 4 and chat["tokens_in"] == 10 and chat["tokens_out"] == 8
    code, out, _ = cli(capsys, "--journal", golden_journal, "sessions")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "MODEL"]
    assert len(lines) == 4


def test_show_and_log(golden_journal: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--journal", golden_journal, "show", "branch-fork", "--json")
    assert code == 0
    shown = json.loads(out)
    feature = next(b for b in shown["branches"] if b["name"] == "feature-x")
    assert (feature["parent_branch_id"], feature["fork_point_seq"], feature["head_seq"]) == ("main", 3, 2)

    code, out, _ = cli(capsys, "--journal", golden_journal, "log", "branch-fork", "--branch", "feature-x", "--json")
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["branch_id"], e["seq"]) for e in events] == [
        ("main", 1), ("main", 2), ("main", 3), ("feature-x", 1), ("feature-x", 2),
    ]
    code, out, _ = cli(capsys, "--journal", golden_journal, "log", "branch-fork", "--branch", "feature-x")
    assert [line[0] for line in out.splitlines()] == ["^", "^", "^", " ", " "]

    code, out, _ = cli(capsys, "--journal", golden_journal, "log", "GOLDEN-TOOL", "--kind", "Message", "--limit", "1", "--json")
    (last,) = [json.loads(line) for line in out.splitlines()]
    assert last["payload"]["content"] == "The hostname is agent-host."


def test_new_branch_export_import_round_trip(target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    j = ["--journal", target]
    code, out, _ = cli(capsys, *j, "new", "--name", "probe", "--model", "gpt-4.1", "--param", "temperature=0.2", "--param", "repo=a/b")
    assert code == 0
    session_id = out.strip()
    code, out, _ = cli(capsys, *j, "branch", "probe", "--name", "alt", "--at", "1")
    assert code == 0
    branch_id = out.strip()
    exported = tmp_path / "probe.jsonl"
    assert cli(capsys, *j, "export", session_id[:12], "-o", str(exported))[0] == 0
    other = tmp_path / "other.duckdb"
    code, out, _ = cli(capsys, "--journal", str(other), "import", str(exported))
    assert code == 0 and "1 session, 2 events imported" in out
    detail = Journal(other).session(session_id)
    assert detail.summary.params == {"temperature": "0.2", "repo": "a/b"}
    assert detail.branch("alt").branch_id == branch_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sessions"], "no journal at"),  # a server creates its journal: there, an empty list
        (["show", "nope"], "no journal at|no session 'nope'"),
        (["new", "--name", ""], "name is required"),
        (["new", "--name", "x", "--param", "a=1", "--param", "a=2"], "duplicate key 'a'"),
        (["new", "--name", "x", "--param", "novalue"], "expected KEY=VALUE"),
        (["import", "/nonexistent/file.jsonl"], "no such file"),
    ],
)
def test_errors_are_one_line_exit_2(
    backend: str, target: str, journal_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    file_message, _, server_message = message.partition("|")
    if backend == "server" and args == ["sessions"]:
        code, out, err = cli(capsys, "--journal", target, *args)
        assert (code, err, out.split()) == (0, "", ["ID", "NAME", "MODEL", "BRANCHES", "EVENTS", "TOKENS", "LAST",
                                                    "ACTIVITY", "STATE"])
        return
    code, out, err = cli(capsys, "--journal", target, *args)
    assert code == 2
    expected = server_message if backend == "server" and server_message else file_message
    assert err.count("\n") == 1 and err.startswith("lago-tui: error: ") and expected in err, err
    assert out == ""
    if args[0] in ("sessions", "show") and backend == "file":
        assert not journal_path.exists()  # read-only commands create nothing


def test_bad_import_line_names_file_and_line(target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    good = json.dumps({"event_id": "E1", "session_id": "S", "branch_id": "main", "seq": 0, "timestamp": 1,
                       "payload": {"type": "SessionCreated", "name": "s", "config": {}}, "metadata": {}})
    bad.write_text(good + "\n" + '{"event_id": "E2", "session_id": "S", "timestamp": "abc", "payload": {"type": "X"}}\n')
    code, _, err = cli(capsys, "--journal", target, "import", str(bad))
    assert code == 2
    assert f"{bad}:2: " in err and "timestamp" in err
    with open_journal(target) as journal:
        assert not journal.exists() or journal.count_sessions() == 0  # all or nothing


def test_import_from_a_pipe_and_bad_paths(target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`import <(gunzip -c x.gz)`: a FIFO imports on a file and through a server (which needs a size: the client
    spools it); a directory or a missing file is one line on both."""
    import threading

    line = json.dumps({"event_id": "E1", "session_id": "S", "branch_id": "main", "seq": 0, "timestamp": 1,
                       "payload": {"type": "SessionCreated", "name": "piped", "config": {}}, "metadata": {}})
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(line + "\n"))
    writer.start()
    code, out, err = cli(capsys, "--journal", target, "import", str(fifo))
    writer.join(10)
    assert code == 0, err
    with open_journal(target) as journal:
        assert [s.name for s in journal.list_sessions()] == ["piped"]
    for path, expected in ((tmp_path, "is a directory"), (tmp_path / "nope.jsonl", "no such file")):
        code, out, err = cli(capsys, "--journal", target, "import", str(path))
        assert code == 2 and err == f"lago-tui: error: {path}: {expected}\n", err


def test_a_fifo_whose_writer_opens_it_a_moment_later_is_imported(tmp_path: Path) -> None:
    """`mkfifo p; generate > p & lago-tui import p`: the writer may open the pipe after the import did; before,
    the import read the end at once and said 'no events' (the newcomer's run of the suite caught it)."""
    import threading

    line = json.dumps({"event_id": "E1", "session_id": "S", "timestamp": 1,
                       "payload": {"type": "SessionCreated", "name": "late", "config": {}}})
    fifo = tmp_path / "late.fifo"
    os.mkfifo(fifo)

    def late_writer() -> None:
        time.sleep(0.5)
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # fails at once when nobody reads any more
        except OSError:
            return
        os.set_blocking(fd, True)
        os.write(fd, (line + "\n").encode())
        os.close(fd)

    writer = threading.Thread(target=late_writer, daemon=True)
    writer.start()
    try:
        with Journal(tmp_path / "j.duckdb") as journal:
            assert journal.import_file(fifo).events == 1
            assert [s.name for s in journal.list_sessions()] == ["late"]
    finally:
        writer.join(10)


def test_binary_entry_point_and_demo(target: str) -> None:
    """The installed console script: demo then sessions lists the demo, no traceback, no leak noise."""
    env = dict(os.environ, LAGO_JOURNAL=target)
    first = subprocess.run([sys.executable, "-m", "lago_tui", "demo"], capture_output=True, text=True, env=env, timeout=60)
    assert first.returncode == 0, first.stderr
    listed = subprocess.run([sys.executable, "-m", "lago_tui", "sessions"], capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0 and listed.stderr == ""
    assert "fix-flaky-auth-test" in listed.stdout and len(listed.stdout.splitlines()) == 13
    again = subprocess.run([sys.executable, "-m", "lago_tui", "demo"], capture_output=True, text=True, env=env, timeout=60)
    assert "0 sessions, 0 events added" in again.stdout  # idempotent


def test_journal_package_never_imports_textual() -> None:
    code = "import sys, lago_tui.journal, lago_tui.summary; print('textual' in sys.modules or 'rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
