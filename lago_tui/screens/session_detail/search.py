"""Search in the timeline, with the query language of :mod:`lago_tui.journal.query` (free text, or
``kind:tool``, ``status:error``, ``seq:100..200``, ``-word``...).

Two modes, ``&`` switches: *highlight* (``/``) marks every match and ``n``/``N`` step through them
("match 3/17"); *filter* hides what does not match (the timeline is rebuilt with the query). In highlight
mode one journal call (`TimelineAPI.match_positions`) gives the positions of all matches of the branch
shown; the count, the marks on screen, ``n``/``N`` and the ordinal all come from that list. The first match
is found (and shown) first, then the rest are counted; until they are, ``n``/``N`` ask the journal
(`TimelineAPI.find`). The search runs in a thread worker; keys keep working meanwhile. A query that cannot
be read is refused where it is typed, with the offending part marked.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.worker import get_current_worker

from ...journal import JournalBusy, JournalError, TimelineAPI
from ...journal.query import QueryError, parse_timeline
from ...safe import one_line
from ...widgets.timeline import SearchMarks

if TYPE_CHECKING:
    from .screen import SessionDetailScreen

__all__ = ["CONTEXT", "SearchController", "all_matches", "check_query", "needles_of"]

CONTEXT = 3
"""Rows kept visible around a match the cursor jumps to."""

MATCHES_PER_CALL = 100_000  # a server answers at most this many positions a call: ask again from there


def check_query(query: str) -> QueryError | None:
    """Why ``query`` cannot be read (its error, with the offending span), or None if it can."""
    try:
        parse_timeline(query)
    except QueryError as err:
        return err
    return None


def needles_of(query: str) -> tuple[str, ...]:
    """The text a query highlights where it is shown (its free text, lowercase)."""
    try:
        words = parse_timeline(query).free_text
    except QueryError:
        return ()
    return tuple(w.lower() for w in words if w)


def all_matches(timeline: TimelineAPI, query: str) -> list[int]:
    """Every position of ``timeline`` matching ``query`` (blocking; asks again while answers come full)."""
    positions = timeline.match_positions(query)
    chunk = positions
    while len(chunk) >= MATCHES_PER_CALL:
        chunk = timeline.match_positions(query, chunk[-1] + 1)
        positions.extend(chunk)
    return positions


class SearchController:
    """The search of one detail screen: its query, its mode, its matches and the worker that counts them."""

    def __init__(self, screen: SessionDetailScreen) -> None:
        self.screen = screen
        self.query = ""
        self.filtering = False  # filter mode: the timeline shows only the matches (&)
        self.positions: list[int] | None = None  # every match of the timeline shown, once counted
        self.searching = False
        self._timeline: TimelineAPI | None = None  # the timeline the positions belong to
        self._jump: int | None = None  # when counted: jump to the first match from here (forward)

    # ------------------------------------------------------------------ state

    @property
    def active(self) -> bool:
        return bool(self.query)

    def marks(self) -> SearchMarks | None:
        if not self.query:
            return None
        return SearchMarks(needles_of(self.query), None if self.filtering else self.positions)

    def ordinal(self, position: int) -> tuple[int | None, int] | None:
        """(1-based number of the match at ``position``, or None if it is not one; total), once counted."""
        positions = self.positions
        if positions is None or self.filtering:
            return None
        i = bisect_left(positions, position)
        return (i + 1 if i < len(positions) and positions[i] == position else None), len(positions)

    # ------------------------------------------------------------------ commands

    def submit(self, query: str, cursor: int, *, filtering: bool | None = None) -> QueryError | None:
        """Search for ``query`` (highlight, or filter): returns why it cannot be read, or None once started."""
        query = query.strip()
        problem = check_query(query) if query else None
        if problem is not None:
            return problem
        if not query:
            self.clear()
            return None
        mode = self.filtering if filtering is None else filtering
        was_filtering, self.filtering = self.filtering, mode
        self.query = query
        self.positions = None
        if mode or was_filtering:
            # the timeline is rebuilt (with or without the query), the cursor kept on its event; back in
            # highlight mode the matches are counted again without a jump (that event is one of them)
            self._jump = None
            self.screen.filter_changed()
            return None
        self._jump = max(0, cursor)
        self._count()
        return None

    def toggle_mode(self, cursor: int) -> None:
        """``&``: hide what does not match, or show everything again with the matches marked."""
        if self.query:
            self.submit(self.query, cursor, filtering=not self.filtering)

    def clear(self) -> None:
        was_filtering = self.filtering
        self.query = ""
        self.filtering = False
        self.positions = None
        self._jump = None
        self.searching = False
        self.screen.workers.cancel_group(self.screen, "sd-search")
        if was_filtering:
            self.screen.filter_changed()
        self.screen.search_changed()

    @property
    def hiding_query(self) -> str | None:
        """The query the timeline is built with (filter mode), else None."""
        return self.query if self.filtering and self.query else None

    def timeline_changed(self) -> None:
        """The timeline shown was replaced or grew: count again (a pending jump goes to the first match)."""
        if self.query and not self.filtering:
            self._count()
        else:
            self.screen.search_changed()

    def step(self, cursor: int, *, forward: bool) -> None:
        """``n`` / ``N``: the next (previous) match after (before) ``cursor``, wrapping around."""
        if self.filtering:  # every row shown matches
            self.screen.step_rows(1 if forward else -1)
            return
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
                positions = all_matches(timeline, query)
            except JournalBusy as err:
                self._from_thread(self._failed, query, getattr(err, "retry_note", None) or "journal busy, try again")
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
        self.screen.deliver(callback, *args)

    # ------------------------------------------------------------------ results (UI thread)

    def _counted(self, timeline: TimelineAPI, query: str, positions: list[int]) -> None:
        if query != self.query or timeline is not self.screen.timeline or self.filtering:
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
