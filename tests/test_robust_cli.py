"""Issue 11.2, 11.3 and 11.9 through the real `lago-tui` binary: output files written as a shell's `>` would
(done safely), no raw control byte from the journal in any output or error and every error one line, and no
traceback whatever the output, the path, the arguments or the signal."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_support import LAGO, T0, repo_env

from lago_tui.journal import Journal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices, FIFOs and signals")

# Bytes no output of the CLI may carry raw: C0 but tab/newline, DEL, C1 (as UTF-8), bidi and zero-width.
RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\x8b-\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]|\xef\xbb\xbf")


def env() -> dict[str, str]:
    return repo_env(LAGO_TUI_CONFIG_DIR="/nonexistent-config")


def lago(cwd: Path, *args: str, stdout: int | None = subprocess.PIPE, timeout: float = 60,
         **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*LAGO, *args], stdout=stdout, stderr=subprocess.PIPE, timeout=timeout, env=env(),
                          cwd=str(cwd), **kw)


def one_error_line(proc: subprocess.CompletedProcess[bytes], *words: str, status: int = 2) -> str:
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == status, (proc.returncode, err)
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n") and err.startswith("lago-tui: error: "), repr(err)
    assert not RAW_CONTROL.search(proc.stderr), repr(err)
    for word in words:
        assert word.lower() in err.lower(), (word, err)
    return err


# --------------------------------------------------------------------------------------------- a hostile journal

EVIL_ID = "S\x1b]52;c;cHduZWQ=\x07\x1b[2J\x00\u202e\x9b31m\u200b\n"
EVIL_NAME = "evil\nlago-tui: error: forged line\r\x1bc"


def hostile_events() -> list[dict]:
    sid = EVIL_ID
    return [
        {"event_id": "H1\x1b[31m", "session_id": sid, "timestamp": T0,
         "payload": {"type": "SessionCreated", "name": EVIL_NAME,
                     "config": {"model": "m\x1b]0;title\x07", "params": {"k\x1bc": "v\x9b31m\u2066"}}}},
        {"event_id": "H2", "session_id": sid, "timestamp": T0 + 1, "run_id": "run\x1b[1m",
         "payload": {"type": "Message", "role": "as\x1b[31msistant\n", "content": "hi\x1b]8;;http://x\x07link\x00"}},
        {"event_id": "H3", "session_id": sid, "timestamp": T0 + 2,
         "payload": {"type": "BranchCreated", "new_branch_id": "b\x1b[2J\n", "name": "br\x07\u202e", "fork_point_seq": 2}},
        {"event_id": "H4", "session_id": sid, "branch_id": "b\x1b[2J\n", "timestamp": T0 + 3,
         "payload": {"type": "ToolCallRequested", "call_id": "c\x1b", "tool_name": "t\x1b[5m", "arguments": {"\x1b": "\x9d"}}},
        {"event_id": "H5", "session_id": sid, "timestamp": T0 + 4,
         "payload": {"type": "Wh\x1b[7mat", "x\x00": ["\u202e", "\x1b"]}, "metadata": {"m\x1b": "\x07"}},
    ]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    source = folder / "hostile.jsonl"
    source.write_text("\n".join(json.dumps(e) for e in hostile_events()) + "\n", encoding="utf-8")
    with Journal(folder / "h.duckdb") as journal:
        journal.import_file(source)
    return folder / "h.duckdb"


def test_no_output_of_any_command_carries_raw_control_bytes(hostile: Path, tmp_path: Path) -> None:
    """sessions, show, log (plain and JSON, both branches), export: ids, names, roles, kinds, models, params,
    run ids, metadata and content all shown escaped; and what is escaped as JSON reads back exactly."""
    prefix = "S"
    commands = [["sessions"], ["sessions", "--json"], ["show", prefix], ["show", prefix, "--json"],
                ["log", prefix], ["log", prefix, "--json"], ["log", prefix, "--branch", "br\x07\u202e"],
                ["log", prefix, "--branch", "br\x07\u202e", "--json"], ["export", prefix]]
    outputs = {}
    for args in commands:
        proc = lago(tmp_path, "--journal", str(hostile), *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert proc.stderr == b""
        assert not RAW_CONTROL.search(proc.stdout), (args, RAW_CONTROL.search(proc.stdout))
        outputs[" ".join(args)] = proc.stdout.decode("utf-8")
    table = outputs["sessions"]
    assert "\\x1b]52;c;cHduZWQ=\\x07" in table and "\\u202e" in table and "\\x9b31m" in table
    assert len(table.splitlines()) == 2, "a newline in an id or a name made a second row"
    show = outputs[f"show {prefix}"]
    assert "k\\x1bc=v\\x9b31m\\u2066" in show and "b\\x1b[2J" in show
    log = outputs[f"log {prefix}"]
    assert "as\\x1b[31msistant" in log and len(log.splitlines()) == 4
    exported = [json.loads(line) for line in outputs[f"export {prefix}"].splitlines()]
    assert [e["event_id"] for e in exported] == ["H1\x1b[31m", "H2", "H3", "H4", "H5"]
    assert exported[4]["payload"] == hostile_events()[4]["payload"]
    assert exported[1]["payload"]["content"] == "hi\x1b]8;;http://x\x07link\x00"
    assert json.loads(outputs["sessions --json"])[0]["session_id"] == EVIL_ID


def test_every_error_is_one_line_whatever_the_names_paths_and_values(hostile: Path, tmp_path: Path) -> None:
    cases = [
        (["show", "no\nsuch\x1b[2J"], "no session"),
        (["log", "S", "--branch", "x\ny\x1b]0;t\x07"], "no branch"),
        (["export", "S", "-o", str(tmp_path / "no\ndir" / "f\x1b.jsonl")], "no directory"),
        (["import", str(tmp_path / "missing\n\x1b[2J.jsonl")], "no such file"),
        (["branch", "S", "--name", "dup\nname", "--from", "nope\x07"], "control or invisible"),
        (["branch", "S", "--name", "fine", "--from", "nope\n\x07"], "no branch"),
        (["new", "--name", "bad\x1bname"], "control"),
        (["log", "S", "--limit", "x\ny"], "whole number"),
        (["nosuchcommand\n\x1b[2J"], "invalid choice"),
    ]
    for args, words in cases:
        one_error_line(lago(tmp_path, "--journal", str(hostile), *args), words)
    # a file line that forges: the problem names FILE:LINE and stays on one line
    bad = tmp_path / "bad\nname.jsonl"
    bad.write_text(json.dumps({"event_id": "x\n", "session_id": "s", "timestamp": "t\nlago-tui: error: x"}),
                   encoding="utf-8")
    one_error_line(lago(tmp_path, "--journal", str(tmp_path / "j.duckdb"), "import", str(bad)), "timestamp")


# --------------------------------------------------------------------------------------------- export -o


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, bytes]:
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.duckdb"
    proc = lago(folder, "--journal", str(path), "demo")
    assert proc.returncode == 0, proc.stderr
    with Journal(path) as journal:
        session = journal.list_sessions(sort="name")[0].session_id
    expected = lago(folder, "--journal", str(path), "export", session).stdout
    return path, session, expected


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_o_replaces_a_regular_file_atomically_keeping_mode_and_owner(demo: tuple[Path, str, bytes],
                                                                            tmp_path: Path) -> None:
    journal, session, expected = demo
    target = tmp_path / "out.jsonl"
    target.write_text("old content\n", encoding="utf-8")
    target.chmod(0o600)
    owner = (4321, 4321) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    if os.geteuid() == 0:
        os.chown(target, *owner)
    proc = lago(tmp_path, "--journal", str(journal), "export", session, "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    st = target.stat()
    assert target.read_bytes() == expected
    assert stat.S_IMODE(st.st_mode) == 0o600 and (st.st_uid, st.st_gid) == owner
    assert sorted(os.listdir(tmp_path)) == ["out.jsonl"], "a temp file was left behind"
    # a new file gets 0666 less the umask
    fresh = tmp_path / "fresh.jsonl"
    proc = lago(tmp_path, "--journal", str(journal), "export", session, "-o", str(fresh))
    assert proc.returncode == 0 and fresh.read_bytes() == expected
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


def test_export_o_writes_devices_and_fifos_in_place_and_follows_symlinks(demo: tuple[Path, str, bytes],
                                                                         tmp_path: Path) -> None:
    journal, session, expected = demo
    null_before = os.stat("/dev/null")
    assert lago(tmp_path, "--journal", str(journal), "export", session, "-o", "/dev/null").returncode == 0
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == null_before.st_rdev
    if Path("/dev/full").exists():
        one_error_line(lago(tmp_path, "--journal", str(journal), "export", session, "-o", "/dev/full"),
                       "/dev/full", "no space")
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    proc = lago(tmp_path, "--journal", str(journal), "export", session, "-o", str(fifo))
    assert proc.returncode == 0, proc.stderr
    assert reader.communicate(timeout=30)[0] == expected
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    # a symlink is written through (the link stays a link), as a shell's > does
    real = tmp_path / "real.jsonl"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    assert lago(tmp_path, "--journal", str(journal), "export", session, "-o", str(link)).returncode == 0
    assert link.is_symlink() and real.read_bytes() == expected
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "created-through-link.jsonl")
    assert lago(tmp_path, "--journal", str(journal), "export", session, "-o", str(dangling)).returncode == 0
    assert (tmp_path / "created-through-link.jsonl").read_bytes() == expected
    # a hard-linked file is written in place: both names see the export
    twin = tmp_path / "twin.jsonl"
    os.link(real, twin)
    assert lago(tmp_path, "--journal", str(journal), "export", session, "-o", str(twin)).returncode == 0
    assert real.stat().st_ino == twin.stat().st_ino


def test_export_o_never_overwrites_the_journal_and_is_not_redirected(demo: tuple[Path, str, bytes],
                                                                     tmp_path: Path) -> None:
    journal, session, expected = demo
    before = _digest(journal)
    alias = tmp_path / "alias.duckdb"
    alias.symlink_to(journal)
    hard = tmp_path / "hard.duckdb"
    os.link(journal, hard)
    for target, what in [(journal, "the journal"), (Path(str(journal) + ".wal"), "write-ahead log"),
                         (Path(str(journal) + ".lock"), "lock file"), (alias, "the journal"), (hard, "the journal")]:
        one_error_line(lago(tmp_path, "--journal", str(journal), "export", session, "-o", str(target)), what)
    assert _digest(journal) == before
    # Planted links at every name the old predictable temp file (FILE.part) or a guessable one could have.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    target = tmp_path / "export.jsonl"
    for name in ("export.jsonl.part", ".export.jsonl.tmp", ".export.jsonl.part"):
        (tmp_path / name).symlink_to(victim)
    assert lago(tmp_path, "--journal", str(journal), "export", session, "-o", str(target)).returncode == 0
    assert victim.read_text(encoding="utf-8") == "precious"
    assert target.read_bytes() == expected and not target.is_symlink()


def test_export_o_failure_keeps_the_old_file_and_leaves_nothing(demo: tuple[Path, str, bytes], tmp_path: Path) -> None:
    journal, _, _ = demo
    target = tmp_path / "keep.jsonl"
    target.write_text("old\n", encoding="utf-8")
    one_error_line(lago(tmp_path, "--journal", str(journal), "export", "nosuch", "-o", str(target)), "no session")
    assert target.read_text(encoding="utf-8") == "old\n" and sorted(os.listdir(tmp_path)) == ["keep.jsonl"]
    one_error_line(lago(tmp_path, "--journal", str(journal), "export", demo[1], "-o", str(tmp_path)), "directory")


# --------------------------------------------------------------------------------------------- no tracebacks


def test_every_command_with_stdout_closed_or_full(demo: tuple[Path, str, bytes], tmp_path: Path) -> None:
    journal, session, _ = demo
    commands = [["sessions"], ["sessions", "--json"], ["show", session], ["log", session], ["export", session],
                ["new", "--name", "n"], ["branch", session, "--name", "b"], ["demo"], ["--help"], ["log", "--help"]]
    for args in commands:
        copy = tmp_path / "j.duckdb"
        copy.write_bytes(journal.read_bytes())
        before = _digest(copy)
        closed = subprocess.run([*LAGO, "--journal", str(copy), *args], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, timeout=60, env=env(), cwd=str(tmp_path),
                                preexec_fn=lambda: os.close(1))
        if "--help" in args:
            assert closed.returncode == 0 and b"Traceback" not in closed.stderr
        else:
            one_error_line(closed, "standard output is closed")
            assert _digest(copy) == before, f"{args} wrote to the journal with nowhere to say so"
        if Path("/dev/full").exists():
            with open("/dev/full", "wb") as full:
                proc = lago(tmp_path, "--journal", str(copy), *args, stdout=full)
            if "--help" in args:
                assert b"Traceback" not in proc.stderr
                continue
            err = one_error_line(proc, "no space left")
            if args[0] in ("new", "branch"):
                assert "was created" in err and re.search(r"[0-9A-Z]{26} was created", err), err


def test_broken_pipe_is_quiet(demo: tuple[Path, str, bytes], tmp_path: Path) -> None:
    journal, session, _ = demo
    proc = subprocess.run(f"{' '.join(map(str, LAGO))} --journal {journal} log {session} --json | head -c 10",
                          shell=True, capture_output=True, timeout=60, env=env(), cwd=str(tmp_path))
    assert proc.stderr == b"" and len(proc.stdout) == 10


def test_odd_arguments_and_paths_are_one_line_errors(demo: tuple[Path, str, bytes], tmp_path: Path) -> None:
    journal, session, _ = demo
    one_error_line(lago(tmp_path, "--journal", "", "sessions"), "--journal needs a path")
    one_error_line(lago(tmp_path, "--journal", " ", "new", "--name", "x"), "--journal needs a path")
    one_error_line(lago(tmp_path, "--journal", "nodir/sub/x.duckdb", "new", "--name", "x"), "no directory nodir")
    assert not (tmp_path / "nodir").exists()
    for limit in ("-5", "-1", "ten", "1.5"):
        one_error_line(lago(tmp_path, "--journal", str(journal), "log", session, "--limit", limit), "--limit")
    proc = lago(tmp_path, "--journal", str(journal), "log", session, "--limit", "0")
    assert proc.returncode == 0 and proc.stdout == b""
    weird = os.fsencode(str(tmp_path)) + b"/\xff\xfe.duckdb"
    for args in (["new", "--name", "x"], ["sessions"]):
        proc = subprocess.run([*map(os.fsencode, LAGO), b"--journal", weird, *map(os.fsencode, args)],
                              capture_output=True, timeout=60, env=env(), cwd=str(tmp_path))
        one_error_line(proc, "not valid UTF-8", "\\xff\\xfe.duckdb")
    assert not any(name.startswith("\udcff") for name in os.listdir(tmp_path))


def test_import_of_devices_fifos_and_empty_documents(tmp_path: Path) -> None:
    journal = tmp_path / "j.duckdb"
    for name, text in [("empty.jsonl", ""), ("blank.jsonl", "\n \n\t\n"), ("array.json", "[]"),
                       ("spaced.json", "\ufeff [ \n ]\n")]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        one_error_line(lago(tmp_path, "--journal", str(journal), "import", name), f"{name}:1", "no events")
    t = time.monotonic()
    one_error_line(lago(tmp_path, "--journal", str(journal), "import", "/dev/zero", timeout=30), "/dev/zero:1",
                   "not a text file")
    assert time.monotonic() - t < 20
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    one_error_line(lago(tmp_path, "--journal", str(journal), "import", str(fifo), timeout=30), "no events")
    one_error_line(lago(tmp_path, "--journal", str(journal), "import", str(tmp_path)), "is a directory")
    assert not journal.exists()
    # a pipe with a writer is read like a file
    line = json.dumps({"event_id": "P1", "session_id": "PIPED", "timestamp": T0,
                       "payload": {"type": "SessionCreated", "name": "piped"}})
    proc = subprocess.run(f"{' '.join(map(str, LAGO))} --journal {journal} import /dev/stdin", shell=True,
                          input=(line + "\n").encode(), capture_output=True, timeout=60, env=env(), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert b"1 session, 1 event imported" in proc.stdout


def test_ctrl_c_during_import_writes_nothing_and_says_so(tmp_path: Path) -> None:
    # The events come through a pipe that stays open, so the import cannot finish (nor start committing) before
    # the signal: every trial is a Ctrl-C in the middle of the import. A write of the events returns only once
    # the importer has read all but a pipe buffer of them; past FIRST_CHUNK_BYTES (1 MiB) that means the journal
    # is open in its transaction and the first chunk is being appended while the reader goes on.
    journal = tmp_path / "j.duckdb"
    assert lago(tmp_path, "--journal", str(journal), "new", "--name", "before").returncode == 0
    before = (_digest(journal), sorted(os.listdir(tmp_path)))
    lines = b"".join(json.dumps({"event_id": f"E{i}", "session_id": f"S{i % 50}", "timestamp": T0 + i,
                                 "payload": {"type": "Message", "role": "user", "content": "x" * 80}}).encode() + b"\n"
                     for i in range(80_000))  # some 12 MiB
    for size in (4 * 1024 * 1024, len(lines)):
        data = lines[:lines.rindex(b"\n", 0, size) + 1]
        proc = subprocess.Popen([*LAGO, "--journal", str(journal), "import", "/dev/stdin"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), cwd=str(tmp_path))
        assert proc.stdin is not None
        fed: list[BaseException] = []

        def feed(stdin=proc.stdin, data=data, fed=fed) -> None:
            try:
                stdin.write(data)
                stdin.flush()
            except BaseException as exc:  # noqa: BLE001 - the child died early: reported below with its stderr
                fed.append(exc)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        feeder.join(60)
        if feeder.is_alive() or fed:
            proc.kill()
            _, err = proc.communicate(timeout=60)
            pytest.fail(f"the importer did not read its input ({fed or 'stalled'}): {err!r}")
        time.sleep(0.2)  # let the appending chunk get going
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else None  # still waiting for the rest
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)  # stdin still open: only the signal can end the import
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the import did not stop on SIGINT")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode != 0, (size, out, err)  # the signal, not the end of the input, ended it
        assert proc.returncode == 130, err
        assert b"was committed" not in err  # the import had not reached its commit
        assert err == b"lago-tui: error: interrupted; nothing unfinished was written\n", err
        assert (_digest(journal), sorted(os.listdir(tmp_path))) == before
