"""Command palette: open a session by (fuzzy) name.

Session names come from agents, so they never reach the palette as strings: Textual's
``Matcher.highlight`` parses its argument as markup (``Content.from_markup``), and the palette
parses a ``str`` prompt and the ``help`` text as markup too. Here the prompt is always a
:class:`~textual.content.Content` built by :func:`lago_tui.safe.safe_content`, the fuzzy match runs
on the sanitised display text (so the highlight offsets line up with what is shown), and ``help``
is a fixed string of ours.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from .journal import JournalError
from .safe import one_line, safe_content

if TYPE_CHECKING:
    from .app import LagoApp

MAX_SESSIONS = 5_000
"""Sessions loaded into the palette (the most recently active ones)."""
DISCOVER = 10
"""Recent sessions shown before anything is typed."""
NAME_WIDTH = 60
"""Cells of a session name shown in the palette (longer names end with ``…``)."""
MODEL_WIDTH = 30

OPEN_HELP = "Open this session"


@dataclass(frozen=True, slots=True)
class _Entry:
    session_id: str
    name: str  # sanitised, one line, at most NAME_WIDTH cells: exactly the text shown
    content: Content  # the same text, styled (escapes reversed)
    suffix: Content  # dim "  model" after the name


def _entry(session_id: str, name: str, model: str) -> _Entry:
    shown = one_line(name or "(unnamed)", NAME_WIDTH)
    content = safe_content(name or "(unnamed)", single_line=True, width=NAME_WIDTH)
    assert content.plain == shown  # the match offsets below rely on it
    suffix = Content("")
    if model:
        suffix = Content("  ") + safe_content(model, "dim", single_line=True, width=MODEL_WIDTH)
    return _Entry(session_id, shown, content, suffix)


def highlight(content: Content, plain: str, offsets: Any, style: Any) -> Content:
    """``content`` with ``style`` on the matched ``offsets`` (never parsing ``plain`` as markup)."""
    for offset in offsets:
        if 0 <= offset < len(plain) and not plain[offset].isspace():
            content = content.stylize(style, offset, offset + 1)
    return content


class SessionCommands(Provider):
    """Open a session by name: fuzzy over the most recently active sessions."""

    _entries: list[_Entry]

    async def startup(self) -> None:
        self._entries = []
        app: LagoApp = self.app  # type: ignore[assignment]
        journal = getattr(app, "journal", None)
        if journal is None:
            return
        try:
            sessions = await asyncio.to_thread(journal.list_sessions, limit=MAX_SESSIONS)
        except JournalError:
            return  # an unreadable journal has its own error screen; the palette still runs commands
        self._entries = [_entry(s.session_id, s.name, s.model) for s in sessions]

    def _open(self, session_id: str) -> None:
        self.app.open_session(session_id)  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for entry in self._entries[:DISCOVER]:
            yield DiscoveryHit(
                entry.content + entry.suffix,
                partial(self._open, entry.session_id),
                text=entry.name,
                help=OPEN_HELP,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        fuzzy = matcher.fuzzy_search
        for entry in self._entries:
            score, offsets = fuzzy.match(matcher.query, entry.name)
            if score > 0:
                yield Hit(
                    score,
                    highlight(entry.content, entry.name, offsets, matcher.match_style) + entry.suffix,
                    partial(self._open, entry.session_id),
                    text=entry.name,
                    help=OPEN_HELP,
                )
