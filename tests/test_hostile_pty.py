"""The real `lago-tui` binary under a real pseudo-terminal, on a journal seeded with hostile text.

Whatever the journal holds, no ESC sequence, C1 control, NUL, DEL, bidi or zero-width character from it
may reach the terminal: we read every byte the app writes while it shows the list, the preview, the
detail screen, the timeline and the inspector, and look for the content's own sequences.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from lago_tui.journal import Journal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

# Sequences an attacker would like to reach the terminal, each distinctive enough that the app itself
# never writes it (checked against a clean run below).
HOSTILE_SEQUENCES = {
    "osc0-title": "\x1b]0;pwned-title\x07",
    "osc52-clipboard": "\x1b]52;c;cHduZWQtY2xpcA==\x07",
    "osc8-link": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "ris-reset": "\x1bc",
    "dcs": "\x1bP+q544e\x1b\\",
    "csi-clear": "\x1b[2J\x1b[3J",
    "csi-dsr": "\x1b[6n",
    "csi-colour": "\x1b[38;5;201mmagenta",
    "c1-csi": "\x9b31m",
    "c1-osc": "\x9d0;c1-title\x9c",
    "nul": "a\x00b",
    "del": "a\x7fb",
    "bidi-rlo": "abc\u202eevil\u202c",
    "bidi-isolate": "\u2066isolated\u2069",
    "zero-width": "zero\u200bwidth\u200d\ufeff",
}
# Byte patterns that must never appear in the app's output.
FORBIDDEN = {
    "OSC other than pointer shape": re.compile(rb"\x1b\](?!22;)"),
    "RIS": re.compile(rb"\x1bc"),
    "DCS": re.compile(rb"\x1bP"),
    "clear screen/scrollback": re.compile(rb"\x1b\[[23]J"),
    "cursor position report request": re.compile(rb"\x1b\[6n"),
    "256-colour 201 from content": re.compile(rb"\x1b\[38;5;201m"),
    "NUL": re.compile(rb"\x00"),
    "DEL": re.compile(rb"\x7f"),
}
# Code points that must never appear in the decoded output.
FORBIDDEN_TEXT = {
    "C1 control": re.compile("[\x80-\x9f]"),
    "bidi control": re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"),
    "zero-width": re.compile("[\u200b-\u200d\ufeff\u2060]"),
}


def _events(text_by_case: dict[str, str]) -> list[dict]:
    events = []
    t = 1_795_000_000_000_000
    sid = "01HOSTILE0000000000000000S"
    name = "hostile " + "".join(text_by_case.values())
    events.append({"event_id": "01HOSTILE00000000000000000", "session_id": sid, "branch_id": "main", "seq": 0,
                   "timestamp": t, "payload": {"type": "SessionCreated", "name": name,
                                               "config": {"model": "m\x1b]0;model-title\x07", "params": {"k\x1bc": "v\x9b31m"}}},
                   "metadata": {}, "schema_version": 1})
    for i, (case, text) in enumerate(text_by_case.items(), 1):
        events.append({"event_id": f"01HOSTILE{i:017d}", "session_id": sid, "branch_id": "main", "seq": 0,
                       "timestamp": t + i * 1_000_000,
                       "payload": {"type": "Message", "role": "assistant", "content": f"{case}: {text} [@click=app.quit]x[/]"},
                       "metadata": {"note": text}, "schema_version": 1})
    events.append({"event_id": "01HOSTILEUNKNOWN0000000000", "session_id": sid, "branch_id": "main", "seq": 0,
                   "timestamp": t + 99_000_000, "payload": {"type": "Weird\x1b]0;kind\x07", "blob": "".join(text_by_case.values())},
                   "metadata": {}, "schema_version": 3})
    return events


def _run_in_pty(argv: list[str], keys: list[tuple[bytes, float]], *, env: dict[str, str], settle: float) -> bytes:
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    out = bytearray()

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                out.extend(data)

    try:
        pump(settle)
        for key, wait in keys:
            os.write(fd, key)
            pump(wait)
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        pump(0.5)
        os.waitpid(pid, 0)
        os.close(fd)
    return bytes(out)


def _binary() -> str:
    candidate = Path(sys.executable).with_name("lago-tui")
    return str(candidate) if candidate.exists() else "lago-tui"


KEYS = [
    (b"j", 0.6),            # preview of the session
    (b"k", 0.6),
    (b"\r", 2.5),           # detail: header, tree, timeline, inspector
    (b"G", 1.0),            # last event: the unknown kind with everything in it
    (b"k", 0.8),
    (b"g", 0.8),
    (b"j" * 5, 1.0),
]


def _offences(output: bytes) -> dict[str, list[bytes | str]]:
    found: dict[str, list[bytes | str]] = {}
    for label, pattern in FORBIDDEN.items():
        hits = [output[max(0, m.start() - 20): m.end() + 20] for m in pattern.finditer(output)]
        if hits:
            found[label] = hits[:3]
    text = output.decode("utf-8", "surrogateescape")
    for label, text_pattern in FORBIDDEN_TEXT.items():
        hits_text = [text[max(0, m.start() - 20): m.end() + 20] for m in text_pattern.finditer(text)]
        if hits_text:
            found[label] = hits_text[:3]
    return found


def test_no_content_control_sequence_reaches_the_terminal(tmp_path: Path) -> None:
    source = tmp_path / "hostile.jsonl"
    source.write_text("\n".join(json.dumps(e) for e in _events(HOSTILE_SEQUENCES)) + "\n", encoding="utf-8")
    path = tmp_path / "hostile.duckdb"
    with Journal(path) as journal:
        journal.import_file(source)
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", LAGO_TUI_CONFIG_DIR=str(tmp_path / "cfg"))
    output = _run_in_pty([_binary(), "--journal", str(path)], KEYS, env=env, settle=4.0)
    text = output.decode("utf-8", "replace")
    # The app really showed the content (as visible escapes), or this test proves nothing.
    assert "hostile" in text
    assert "\\x1b" in text and "\\u202e" in text
    assert "Traceback" not in text
    assert _offences(output) == {}


def test_clean_run_has_none_of_the_forbidden_sequences(demo_journal: Journal, tmp_path: Path) -> None:
    """The control: the app's own output on the demo never matches FORBIDDEN (so the check is sound)."""
    demo_journal.close()
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", LAGO_TUI_CONFIG_DIR=str(tmp_path / "cfg"))
    output = _run_in_pty([_binary(), "--journal", str(demo_journal.path)], KEYS, env=env, settle=4.0)
    assert b"fix-flaky-auth-test" in output or "fix-flaky-auth-test".encode() in output.replace(b"\x1b", b"")
    assert _offences(output) == {}


@pytest.mark.parametrize("case", sorted(HOSTILE_SEQUENCES))
def test_the_detector_flags_each_hostile_sequence(case: str) -> None:
    """The check above can fail: each sequence, written raw, is caught."""
    leaked = ("row: " + HOSTILE_SEQUENCES[case] + " end").encode("utf-8")
    assert _offences(leaked) != {}
