"""Search in the timeline: every match counted and marked at once, next/previous without a query.

One journal call (`TimelineAPI.match_positions`) gives the positions of all matches of the branch
shown; the count, the marks on screen, ``n``/``N`` and "match 3/17" all come from that list. Until it
arrives (a search over 200k events takes a moment), ``n``/``N`` ask the journal directly
(`TimelineAPI.find`). The search runs in a thread worker; keys keep working meanwhile.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.worker import get_current_worker

from ...journal import JournalBusy, JournalError, TimelineAPI
from ...safe import one_line
from ...widgets.timeline import SearchMarks

if TYPE_CHECKING:
    from .screen import SessionDetailScreen

__all__ = ["SearchController", "needles_of"]

CONTEXT = 3
"""Rows kept visible around a match the cursor jumps to."""


def needles_of(query: str) -> tuple[str, ...]:
    """The text a query highlights where it is shown (lowercase)."""
    query = query.strip()
    return (query.lower(),) if query else ()


class SearchController:
    """The search of one detail screen: its query, its matches and the worker that counts them."""

    def __init__(self, screen: SessionDetailScreen) -> None:
        self.screen = screen
        self.query = ""
        self.positions: list[int] | None = None  # every match of the timeline shown, once counted
        self.searching = False
        self._timeline: TimelineAPI | None = None  # the timeline the positions belong to
        self._jump: int | None = None  # when counted: jump to the first match from here (forward)

    # ------------------------------------------------------------------ state

    @property
    def active(self) -> bool:
        return bool(self.query)

    def marks(self) -> SearchMarks | None:
        return SearchMarks(needles_of(self.query), self.positions) if self.query else None

    def ordinal(self, position: int) -> tuple[int | None, int] | None:
        """(1-based number of the match at ``position``, or None if it is not one; total), once counted."""
        positions = self.positions
        if positions is None:
            return None
        i = bisect_left(positions, position)
        return (i + 1 if i < len(positions) and positions[i] == position else None), len(positions)

    # ------------------------------------------------------------------ commands

    def submit(self, query: str, cursor: int) -> None:
        """Search for ``query``: count and mark every match, then go to the first one from ``cursor``."""
        self.query = query.strip()
        self.positions = None
        if not self.query:
            self.clear()
            return
        self._jump = max(0, cursor)
        self._count()

    def clear(self) -> None:
        self.query = ""
        self.positions = None
        self._jump = None
        self.searching = False
        self.screen.workers.cancel_group(self.screen, "sd-search")
        self.screen.search_changed()

    def timeline_changed(self) -> None:
        """The timeline shown was replaced or grew: count again (no jump)."""
        if self.query:
            self._jump = None
            self._count()

    def step(self, cursor: int, *, forward: bool) -> None:
        """``n`` / ``N``: the next (previous) match after (before) ``cursor``, wrapping around."""
        positions = self.positions
        if positions is None or self._timeline is not self.screen.timeline:
            self._find(cursor + 1 if forward else cursor - 1, forward=forward)
            return
        if not positions:
            self._no_match()
            return
        if forward:
            i = bisect_right(positions, cursor)
            wrapped = i == len(positions)
            target = positions[0 if wrapped else i]
        else:
            i = bisect_left(positions, cursor) - 1
            wrapped = i < 0
            target = positions[-1 if wrapped else i]
        self._go(target, wrapped)

    # ------------------------------------------------------------------ workers

    def _count(self) -> None:
        """Count every match; when a jump is wanted, find the first match first (it shows sooner)."""
        timeline, query, jump = self.screen.timeline, self.query, self._jump
        if timeline is None:
            return
        self.searching = True
        self.screen.search_changed()

        def run() -> None:
            worker = get_current_worker()
            try:
                if jump is not None and timeline.length:
                    wrapped = False
                    pos = timeline.find(query, min(jump, timeline.length - 1), forward=True)
                    if pos is None and jump > 0:
                        wrapped, pos = True, timeline.find(query, 0, forward=True)
                    if worker.is_cancelled:
                        return
                    self._from_thread(self._first_found, timeline, query, pos, wrapped)
                positions = timeline.match_positions(query)
            except JournalBusy:
                self._from_thread(self._failed, query, "journal busy, try again")
                return
            except JournalError as err:
                self._from_thread(self._failed, query, str(err))
                return
            if not worker.is_cancelled:
                self._from_thread(self._counted, timeline, query, positions)

        self.screen.run_worker(run, thread=True, group="sd-search", exclusive=True, exit_on_error=False)

    def _find(self, start: int, *, forward: bool) -> None:
        timeline, query = self.screen.timeline, self.query
        if timeline is None or not query:
            return

        def run() -> None:
            try:
                length = timeline.length
                wrapped = False
                pos = None
                if (forward and start < length) or (not forward and start >= 0):
                    pos = timeline.find(query, start, forward=forward)
                if pos is None and length:
                    wrapped = True
                    pos = timeline.find(query, 0 if forward else length - 1, forward=forward)
            except JournalError as err:
                self._from_thread(self._failed, query, "journal busy, try again" if isinstance(err, JournalBusy)
                                  else str(err))
                return
            self._from_thread(self._found, query, pos, wrapped)

        self.screen.run_worker(run, thread=True, group="sd-find", exclusive=True, exit_on_error=False)

    def _from_thread(self, callback: Callable[..., None], *args: object) -> None:
        self.screen.app.call_from_thread(callback, *args)

    # ------------------------------------------------------------------ results (UI thread)

    def _counted(self, timeline: TimelineAPI, query: str, positions: list[int]) -> None:
        if query != self.query or timeline is not self.screen.timeline:
            return  # a newer search, or another timeline, meanwhile
        self.searching = False
        self.positions = positions
        self._timeline = timeline
        jump, self._jump = self._jump, None
        self.screen.search_changed()
        if jump is None:
            return
        if not positions:
            self._no_match()
            return
        i = bisect_left(positions, jump)
        wrapped = i == len(positions)
        self._go(positions[0 if wrapped else i], wrapped)

    def _first_found(self, timeline: TimelineAPI, query: str, pos: int | None, wrapped: bool) -> None:
        if query != self.query or timeline is not self.screen.timeline or self._jump is None:
            return
        self._jump = None
        if pos is None:
            self._no_match()
        else:
            self._go(pos, wrapped)

    def _found(self, query: str, pos: int | None, wrapped: bool) -> None:
        if query != self.query:
            return
        if pos is None:
            self._no_match()
        else:
            self._go(pos, wrapped)

    def _failed(self, query: str, message: str) -> None:
        if query != self.query:
            return
        self.searching = False
        self.screen.search_changed()
        self.screen.notify(one_line(message, 300), severity="error", title="search", markup=False)

    def _no_match(self) -> None:
        self.screen.notify("No match for " + one_line(self.query, 60), severity="warning", markup=False)

    def _go(self, position: int, wrapped: bool) -> None:
        if wrapped:
            self.screen.notify("Search wrapped around", timeout=2)
        self.screen.jump_to(position, context=CONTEXT)
