"""Command palette: open any session in the journal by (fuzzy) name, id or model, as you type.

Each keystroke asks the journal (:meth:`~lago_tui.journal.JournalAPI.match_sessions`, in a thread) for
the sessions whose name, id or model hold the typed characters in order, so the oldest of a
100,000-session journal is found as readily as the newest; a short pause coalesces fast typing.

Session names come from agents, so they never reach the palette as strings: Textual's
``Matcher.highlight`` parses its argument as markup (``Content.from_markup``), and the palette
parses a ``str`` prompt and the ``help`` text as markup too. Here the prompt is always a
:class:`~textual.content.Content` built by :func:`lago_tui.safe.safe_content`, the fuzzy match runs
on the sanitised display text (so the highlight offsets line up with what is shown), and ``help``
is a fixed string of ours.

This module knows the app only as "something with a ``journal`` and an ``open_session``" (imports
flow from the app to here, never back).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from .journal import JournalAPI, JournalBusy, JournalError
from .journal.views import SessionSummary
from .safe import one_line, safe_content

MATCH_LIMIT = 60
"""Sessions asked of the journal per query (the palette shows the best of them)."""
RECENT = 1_000
"""The most recently active sessions also matched here, on the text as shown (escapes included)."""
DISCOVER = 10
"""Recent sessions shown before anything is typed."""
TYPING_PAUSE = 0.06
"""Seconds to wait for the next key before asking the journal (a new key cancels the wait)."""
NAME_WIDTH = 60
"""Cells of a session name shown in the palette (longer names end with ``…``)."""
MODEL_WIDTH = 30

OPEN_HELP = "Open this session"


@runtime_checkable
class SessionOpener(Protocol):
    """What the palette needs of the app."""

    journal: JournalAPI

    def open_session(self, session_id: str, *, branch_id: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    session_id: str
    name: str  # sanitised, one line, at most NAME_WIDTH cells: exactly the text shown
    content: Content  # the same text, styled (escapes reversed)
    suffix: Content  # dim "  model  id" after the name


def _entry(session_id: str, name: str, model: str) -> _Entry:
    shown = one_line(name or "(unnamed)", NAME_WIDTH)
    content = safe_content(name or "(unnamed)", single_line=True, width=NAME_WIDTH)
    assert content.plain == shown  # the match offsets below rely on it
    suffix = Content("")
    if model:
        suffix = Content("  ") + safe_content(model, "dim", single_line=True, width=MODEL_WIDTH)
    suffix += Content.styled(f"  {one_line(session_id, 12)[:10]}", "dim")
    return _Entry(session_id, shown, content, suffix)


def _entries(sessions: list[SessionSummary]) -> list[_Entry]:
    return [_entry(s.session_id, s.name, s.model) for s in sessions]


def highlight(content: Content, plain: str, offsets: Any, style: Any) -> Content:
    """``content`` with ``style`` on the matched ``offsets`` (never parsing ``plain`` as markup)."""
    for offset in offsets:
        if 0 <= offset < len(plain) and not plain[offset].isspace():
            content = content.stylize(style, offset, offset + 1)
    return content


class SessionCommands(Provider):
    """Open a session by name: fuzzy, over the whole journal, queried as you type.

    The journal matches the stored names; the most recent sessions are also matched here on their
    names as shown, so what a person sees (``\x1b`` for an escape byte) finds them too.
    """

    _recent: asyncio.Task[list[_Entry]] | None = None

    async def startup(self) -> None:
        self._recent = asyncio.create_task(self._ask("", RECENT))

    def _opener(self) -> SessionOpener | None:
        app = self.app
        return app if isinstance(app, SessionOpener) else None

    _problem: str | None = None

    async def _ask(self, query: str, limit: int) -> list[_Entry]:
        opener = self._opener()
        if opener is None:
            return []
        try:
            if query:
                sessions = await asyncio.to_thread(opener.journal.match_sessions, query, limit=limit)
            else:
                sessions = await asyncio.to_thread(opener.journal.list_sessions, limit=limit)
        except JournalBusy:
            self._problem = "The journal is busy (another process is writing): type again to retry"
            return []
        except JournalError:
            return []  # an unreadable journal has its own error screen; the palette still runs commands
        self._problem = None
        return _entries(sessions)

    def _open(self, session_id: str) -> None:
        opener = self._opener()
        if opener is not None:
            opener.open_session(session_id)

    async def discover(self) -> Hits:
        for entry in await self._ask("", DISCOVER):
            yield DiscoveryHit(
                entry.content + entry.suffix,
                partial(self._open, entry.session_id),
                text=entry.name,
                help=OPEN_HELP,
            )

    async def search(self, query: str) -> Hits:
        query = query.strip()
        if not query:
            return
        await asyncio.sleep(TYPING_PAUSE)  # cancelled here when another key follows at once
        entries = await self._ask(query, MATCH_LIMIT)
        matcher = self.matcher(query)
        fuzzy = matcher.fuzzy_search
        lowered = query.lower()
        if self._problem is not None:
            yield Hit(1.0, Content.styled(self._problem, "$text-warning"), lambda: None, text=self._problem)
        seen = {entry.session_id for entry in entries}
        recent = await self._recent if self._recent is not None else []
        entries += [
            entry for entry in recent
            if entry.session_id not in seen and fuzzy.match(matcher.query, entry.name)[0] > 0
        ]
        for rank, entry in enumerate(entries):
            score, offsets = fuzzy.match(matcher.query, entry.name)
            if score <= 0:
                # Matched by its id or model (or only beyond the shown part of a long name): still a hit,
                # ranked after the name matches, in the journal's order.
                by_id = entry.session_id.lower().startswith(lowered)
                score, offsets = (0.9 if by_id else 0.5) / (1 + rank / 100), ()
            yield Hit(
                score,
                highlight(entry.content, entry.name, offsets, matcher.match_style) + entry.suffix,
                partial(self._open, entry.session_id),
                text=entry.name,
                help=OPEN_HELP,
            )
