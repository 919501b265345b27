"""clipboard.py: the text goes to a system tool when there is one, else to a private file, and the message says which."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from lago_tui import clipboard
from lago_tui.paths import state_dir

FAKE_TOOL = """#!{python}
import sys
open({target!r}, "wb").write(sys.stdin.buffer.read())
"""


@pytest.fixture
def fake_xclip(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An X11 session whose only clipboard tool is a fake xclip writing what it gets to a file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    received = tmp_path / "received.txt"
    tool = bin_dir / "xclip"
    tool.write_text(FAKE_TOOL.format(python=sys.executable, target=str(received)))
    tool.chmod(0o755)
    return {"DISPLAY": ":0", "PATH": str(bin_dir), clipboard.ENV_MODE: "auto"}, received


def test_a_system_tool_takes_it_when_present(fake_xclip: tuple[dict[str, str], Path]) -> None:
    env, received = fake_xclip
    assert [name for name, _ in clipboard.system_tools(env)] == ["xclip"]
    result = clipboard.copy_text("01ABC é", env)
    assert result.tool == "xclip" and result.file is None
    assert received.read_bytes() == "01ABC é".encode()
    assert result.message("the id") == "Copied the id to the system clipboard (xclip)"


def test_a_failing_tool_falls_back_to_the_file(fake_xclip: tuple[dict[str, str], Path]) -> None:
    env, received = fake_xclip
    (Path(env["PATH"]) / "xclip").write_text("#!/bin/sh\nexit 1\n")
    result = clipboard.copy_text("text", env)
    assert result.tool is None and result.file == state_dir() / clipboard.FILE_NAME
    assert result.file.read_text(encoding="utf-8") == "text"
    assert not received.exists()


def test_without_a_tool_the_file_is_private_and_named() -> None:
    env = {"PATH": "", clipboard.ENV_MODE: "auto"}  # no DISPLAY, no WAYLAND_DISPLAY: no tool
    assert clipboard.system_tools(env) == []
    result = clipboard.copy_text("secret", env)
    assert result.file is not None and result.file.read_text(encoding="utf-8") == "secret"
    assert stat.S_IMODE(result.file.stat().st_mode) == 0o600
    message = result.message("the id")
    assert "OSC 52" in message and "clipboard.txt" in message and "Copied" in message


def test_modes_file_and_off(fake_xclip: tuple[dict[str, str], Path]) -> None:
    env, received = fake_xclip
    assert clipboard.copy_text("x", {**env, clipboard.ENV_MODE: "file"}).file is not None
    assert not received.exists()  # "file" never runs a tool
    off = clipboard.copy_text("x", {**env, clipboard.ENV_MODE: "off"})
    assert off.tool is None and off.file is None
    assert "works only if your terminal allows it" in off.message("it")
