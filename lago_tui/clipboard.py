"""Copy text for the person at the terminal, and say truthfully where it went.

A terminal may silently drop the OSC 52 sequence Textual sends (tmux without ``set-clipboard``, most
terminals over ssh, some by policy), so "Copied" alone can be a lie. Here the text goes:

1. to the terminal as OSC 52 (always: free, and the only way through ssh);
2. to the system clipboard tool when one is present for this session (``wl-copy`` under Wayland,
   ``xclip`` / ``xsel`` under X11, ``pbcopy`` on macOS, ``clip.exe`` under WSL);
3. to a file (``clipboard.txt`` in the state directory, readable only by you) when no tool took it,

and the notification names each place. ``$LAGO_TUI_CLIPBOARD`` chooses: ``auto`` (the default),
``file`` (never a tool: always the file) or ``off`` (OSC 52 only).

:func:`copy_text` blocks (it may run a tool): call it from a thread. :func:`copy_for_user` does the
whole thing from a screen: OSC 52 now, the rest in a thread worker, then a notification.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .paths import state_dir

if TYPE_CHECKING:
    from textual.dom import DOMNode

ENV_MODE = "LAGO_TUI_CLIPBOARD"
FILE_NAME = "clipboard.txt"
TOOL_TIMEOUT = 3.0  # seconds a clipboard tool may take before we give up on it


@dataclass(frozen=True, slots=True)
class CopyResult:
    """Where a copy went."""

    tool: str | None = None
    """The system clipboard tool that took the text, if any."""
    file: Path | None = None
    """The file the text was saved to, if any."""
    problem: str | None = None
    """Why neither a tool nor the file took it (both were tried or refused)."""

    def message(self, what: str) -> str:
        """``what`` (e.g. "the session id") and where it went, in one line."""
        if self.tool:
            return f"Copied {what} to the system clipboard ({self.tool})"
        if self.file is not None:
            return (
                f"Copied {what} to the terminal clipboard (OSC 52, if your terminal allows it) "
                f"and saved it in {_home(self.file)}"
            )
        if self.problem:
            return f"Sent {what} to the terminal clipboard (OSC 52, if your terminal allows it); {self.problem}"
        return f"Sent {what} to the terminal clipboard (OSC 52: works only if your terminal allows it)"


def _home(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except (ValueError, RuntimeError, KeyError):
        return str(path)


def mode(env: Mapping[str, str] | None = None) -> str:
    value = (os.environ if env is None else env).get(ENV_MODE, "auto").strip().lower()
    return value if value in ("auto", "file", "off") else "auto"


def system_tools(env: Mapping[str, str] | None = None) -> list[tuple[str, list[str]]]:
    """The clipboard commands usable in this session, best first: ``(name, argv)``."""
    env = os.environ if env is None else env
    candidates: list[tuple[str, list[str]]] = []
    if sys.platform == "darwin":
        candidates.append(("pbcopy", ["pbcopy"]))
    if env.get("WAYLAND_DISPLAY"):
        candidates.append(("wl-copy", ["wl-copy"]))
    if env.get("DISPLAY"):
        candidates.append(("xclip", ["xclip", "-selection", "clipboard", "-in"]))
        candidates.append(("xsel", ["xsel", "--clipboard", "--input"]))
    if env.get("WSL_DISTRO_NAME"):
        candidates.append(("clip.exe", ["clip.exe"]))
    path = env.get("PATH")
    found: list[tuple[str, list[str]]] = []
    for name, argv in candidates:
        program = shutil.which(argv[0], path=path)
        if program is not None:
            found.append((name, [program, *argv[1:]]))
    return found


def copy_to_system(text: str, env: Mapping[str, str] | None = None) -> str | None:
    """Give ``text`` to the first clipboard tool that takes it; its name, or None."""
    for name, argv in system_tools(env):
        try:
            # The tools fork a child that serves the selection: never wait on their output pipes.
            done = subprocess.run(
                argv,
                input=text.encode("utf-8"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return name
    return None


def save_to_file(text: str) -> Path:
    """Write ``text`` to the clipboard file (replacing it; only you can read it); its path."""
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILE_NAME
    tmp = target.with_name(FILE_NAME + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(target)
    return target


def copy_text(text: str, env: Mapping[str, str] | None = None) -> CopyResult:
    """Copy ``text`` to the system clipboard tool, else to the file (blocking: call from a thread).

    Sending OSC 52 is the caller's part (it needs the terminal); see :func:`copy_for_user`.
    """
    chosen = mode(env)
    if chosen == "off":
        return CopyResult()
    if chosen == "auto":
        tool = copy_to_system(text, env)
        if tool is not None:
            return CopyResult(tool=tool)
    try:
        return CopyResult(file=save_to_file(text))
    except OSError as exc:
        return CopyResult(problem=f"could not save it to a file: {exc.strerror or exc}")


def copy_for_user(node: DOMNode, text: str, what: str) -> None:
    """From a screen or widget: copy ``text`` everywhere it can go, then say where (``what`` names it)."""
    app = node.app
    app.copy_to_clipboard(text)  # OSC 52, to the terminal

    def work() -> None:
        result = copy_text(text)
        app.call_from_thread(app.notify, result.message(what), title="Copy", markup=False, timeout=4)

    node.run_worker(work, thread=True, group="clipboard", exclusive=True, exit_on_error=False)
