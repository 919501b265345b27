"""Parts of a session as context for another model or a file: an event, a range, a branch, a session.

What the TUI's copy menu (``y``) and save dialog (``W``) produce, through the one journal interface and
:mod:`lago_tui.journal.formats`. Blocking (journal reads, file writes): call from thread workers only.
No Textual here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .journal import JournalAPI, JournalError, TimelineAPI
from .journal.formats import FORMATS, SUFFIXES, render

__all__ = ["FORMATS", "FORMAT_LABELS", "Part", "default_file_name", "part_text", "write_part"]

FORMAT_LABELS = {"jsonl": "JSON Lines", "md": "Markdown", "openai": "OpenAI messages"}
SCOPES = ("event", "range", "branch", "session")
WINDOW = 1000  # timeline positions read per query


@dataclass(frozen=True)
class Part:
    """What to export: ``scope`` event (position ``start``), range (positions ``start``..``end``), branch
    (the timeline's branch, inherited events included) or session (every branch, jsonl only)."""

    scope: str
    session_id: str
    branch_id: str
    start: int = 0
    end: int = 0
    title: str = ""  # session and branch names, for the Markdown heading

    @property
    def count(self) -> int | None:
        """Events in an event or range part (None: as many as the branch or session has)."""
        return self.end - self.start + 1 if self.scope in ("event", "range") else None


def _events(journal: JournalAPI, timeline: TimelineAPI | None, part: Part) -> Iterator[dict[str, Any]]:
    if part.scope == "session":
        yield from journal.export(part.session_id)
        return
    if part.scope == "branch":
        yield from journal.export(part.session_id, branch=part.branch_id)
        return
    if timeline is None:
        raise JournalError("no timeline to read the selection from")
    position = part.start
    while position <= part.end:
        events = timeline.window(position, min(WINDOW, part.end - position + 1))
        if not events:
            return
        for ev in events:
            yield ev.to_wire()
        position = events[-1].position + 1


def part_text(journal: JournalAPI, timeline: TimelineAPI | None, part: Part, fmt: str,
              branch_names: dict[str, str] | None = None) -> tuple[str, int]:
    """(the part in format ``fmt``, how many events it holds)."""
    if part.scope == "session" and fmt != "jsonl":
        raise JournalError("a whole session (every branch) is exported as JSON Lines only")
    counted = _Counted(_events(journal, timeline, part))
    text = "".join(render(counted, fmt, title=part.title or None, branch_names=branch_names))
    return text, counted.n


def write_part(journal: JournalAPI, timeline: TimelineAPI | None, part: Part, fmt: str, path: str | os.PathLike[str],
               *, overwrite: bool = False, branch_names: dict[str, str] | None = None) -> int:
    """Write the part to ``path`` (through ``PATH.part``, renamed when complete); returns the events written."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise JournalError(f"{target}: is a directory")
    if target.exists() and not overwrite:
        raise JournalError(f"{target}: exists")
    if part.scope == "session" and fmt != "jsonl":
        raise JournalError("a whole session (every branch) is exported as JSON Lines only")
    counted = _Counted(_events(journal, timeline, part))
    chunks = render(counted, fmt, title=part.title or None, branch_names=branch_names)
    tmp = target.with_name(target.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(chunks)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise JournalError(f"{target}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return counted.n


def default_file_name(session_name: str, branch_name: str, part: Part, fmt: str) -> str:
    """A file name from the session and branch names, safe on every file system."""
    stem = session_name if part.scope == "session" else f"{session_name}-{branch_name}"
    if part.scope in ("event", "range"):
        stem += f"-{part.scope}"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:80] or "export"
    return stem + SUFFIXES[fmt]


class _Counted:
    """An iterator that counts what went through it."""

    def __init__(self, items: Iterable[dict[str, Any]]) -> None:
        self._it = iter(items)
        self.n = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> dict[str, Any]:
        item = next(self._it)
        self.n += 1
        return item
