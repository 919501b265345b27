"""Jumps in the timeline, as in less and vim: to a seq (``:``), between a tool call's request and its
result (``%``), to the next / previous error (``e``/``E``) or run start (``]``/``[``), to marks
(``m`` + letter sets, ``'`` + letter goes; ``''`` goes back to where the last jump left).

Error and run-start positions are read once per timeline (in a worker, with the query language:
``kind:error``, ``kind:RunStarted``) and kept, so stepping through them asks nothing more of the journal. Marks are kept per session for as long as the app runs.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from textual.app import App

from ...journal import JournalBusy, JournalError, TimelineAPI
from ...safe import one_line

from .search import all_matches

if TYPE_CHECKING:
    from .screen import SessionDetailScreen

__all__ = ["ERROR_QUERY", "RUN_QUERY", "JumpController", "Mark", "parse_seq"]

ERROR_QUERY = "kind:error"  # the error family: failed tool calls and completions, RunErrored, ErrorRaised
RUN_QUERY = "kind:RunStarted"
BACK = "'"  # the mark a jump leaves behind (``''`` returns to it)
CONTEXT = 3


@dataclass(frozen=True)
class Mark:
    """Where a mark points: the event, and the branch whose timeline showed it."""

    branch_id: str  # the branch shown when the mark was set
    event_branch: str
    seq: int


_MARKS: WeakKeyDictionary[App[object], dict[str, dict[str, Mark]]] = WeakKeyDictionary()


def marks_of(app: App[object], session_id: str) -> dict[str, Mark]:
    """The marks of one session, for as long as ``app`` runs."""
    return _MARKS.setdefault(app, {}).setdefault(session_id, {})


_SEQ_RE = re.compile(r"^\s*(?:(?P<branch>.+?)\s*@\s*)?(?P<seq>\d+)\s*$")


def parse_seq(text: str) -> tuple[str | None, int]:
    """``120`` or ``BRANCH@120`` -> (branch or None, seq). Raises ValueError with a reason."""
    match = _SEQ_RE.match(text)
    if match is None:
        raise ValueError("type a seq (120) or a branch and a seq (attempt-2@120)")
    return match.group("branch"), int(match.group("seq"))


class JumpController:
    """The jumps of one detail screen."""

    def __init__(self, screen: SessionDetailScreen) -> None:
        self.screen = screen
        self._positions: dict[str, tuple[TimelineAPI, list[int]]] = {}  # "error"/"run" -> (timeline, positions)

    # ------------------------------------------------------------------ to a seq

    def to_seq(self, text: str) -> str | None:
        """Jump to ``text`` (``120`` or ``BRANCH@120``); returns why not, or None when it jumped."""
        screen, timeline, detail = self.screen, self.screen.timeline, self.screen.detail
        if timeline is None or detail is None:
            return "the timeline is still loading"
        try:
            branch_ref, seq = parse_seq(text)
        except ValueError as err:
            return str(err)
        segments = timeline.segment_bounds  # root first; the branch's own events last
        if branch_ref is not None:
            info = detail.branch(branch_ref)
            if info is None or info.branch_id not in {b for b, _ in segments}:
                return f"no branch {one_line(branch_ref, 40)} in this timeline"
            candidates = [info.branch_id]
        else:
            candidates = [b for b, _ in reversed(segments)]  # the branch's own seq first, then its ancestors'
        for branch_id in candidates:
            position = timeline.exact_position(branch_id, seq)
            if position is not None:
                self.jump(position)
                return None
        last = dict(segments).get(candidates[0], 0)
        name = screen.branch_name(candidates[0])
        hidden = " (or hidden by the kind filter)" if timeline.kinds else ""
        return f"no seq {seq} on {one_line(name, 40)} (1..{last}){hidden}"

    # ------------------------------------------------------------------ request <-> result

    def partner(self) -> None:
        screen, timeline = self.screen, self.screen.timeline
        row = screen.highlighted()
        if timeline is None or row is None:
            return
        if row.ev.kind not in ("ToolCallRequested", "ToolCallCompleted", "ToolCallFailed"):
            screen.notify("% jumps between a tool call's request and its result (completion or failure)",
                          severity="warning", timeout=3)
            return
        position = row.ev.position

        def work() -> int | None:
            return timeline.partner(position)

        def done(found: int | None) -> None:
            if screen.timeline is not timeline:
                return
            if found is None:
                screen.notify("Its other half is not in this timeline", severity="warning", timeout=3)
            else:
                self.jump(found)

        self._run(work, done, "sd-partner")

    # ------------------------------------------------------------------ errors and run starts

    def step(self, what: str, *, forward: bool) -> None:
        """``e``/``E`` (what="error"), ``]``/``[`` (what="run")."""
        timeline = self.screen.timeline
        if timeline is None:
            return
        cached = self._positions.get(what)
        if cached is not None and cached[0] is timeline:
            self._step_in(what, cached[1], forward)
            return
        query = ERROR_QUERY if what == "error" else RUN_QUERY

        def work() -> list[int]:
            return all_matches(timeline, query)

        def done(positions: list[int]) -> None:
            self._positions[what] = (timeline, positions)
            if self.screen.timeline is timeline:
                self._step_in(what, positions, forward)

        self._run(work, done, f"sd-jump-{what}")

    def _step_in(self, what: str, positions: list[int], forward: bool) -> None:
        label = "error" if what == "error" else "run start"
        if not positions:
            self.screen.notify(f"No {label} in this timeline", severity="warning", timeout=3)
            return
        cursor = self.screen.cursor
        if forward:
            i = bisect_right(positions, cursor)
            wrapped, target = i == len(positions), positions[0 if i == len(positions) else i]
        else:
            i = bisect_left(positions, cursor) - 1
            wrapped, target = i < 0, positions[-1 if i < 0 else i]
        number = positions.index(target) + 1
        self.jump(target)
        self.screen.notify(f"{label} {number:,} of {len(positions):,}" + (" (wrapped around)" if wrapped else ""),
                           timeout=2)

    def forget(self) -> None:
        """The timeline was replaced: positions found for the old one are of no use."""
        self._positions.clear()

    # ------------------------------------------------------------------ marks

    def set_mark(self, letter: str) -> None:
        screen = self.screen
        row = screen.highlighted()
        if row is None or screen.branch_id is None:
            return
        marks_of(screen.app, screen.session_id)[letter] = Mark(screen.branch_id, row.ev.branch_id, row.ev.seq)
        screen.notify(f"Mark {letter} set at seq {row.ev.seq}", timeout=2)

    def go_to_mark(self, letter: str) -> None:
        screen = self.screen
        mark = marks_of(screen.app, screen.session_id).get(letter)
        if mark is None:
            screen.notify(f"No mark {letter}" + (" (a jump sets it)" if letter == BACK else ""), severity="warning",
                          timeout=3)
            return
        timeline = screen.timeline
        if timeline is not None and mark.branch_id == screen.branch_id:
            position = timeline.exact_position(mark.event_branch, mark.seq)
            if position is None:
                position = timeline.position_of(mark.event_branch, mark.seq)
            if position is not None:
                self.jump(position)
                return
        self._remember()
        screen.open_branch_at(mark.branch_id, (mark.event_branch, mark.seq))

    def marks(self) -> dict[str, Mark]:
        return dict(marks_of(self.screen.app, self.screen.session_id))

    # ------------------------------------------------------------------ helpers

    def jump(self, position: int) -> None:
        """Go to ``position`` with context, remembering where we were (for ``''``)."""
        if position != self.screen.cursor:
            self._remember()
        self.screen.jump_to(position, context=CONTEXT)

    def _remember(self) -> None:
        screen = self.screen
        row = screen.highlighted()
        if row is not None and screen.branch_id is not None:
            marks_of(screen.app, screen.session_id)[BACK] = Mark(screen.branch_id, row.ev.branch_id, row.ev.seq)

    def _run(self, work: Callable[[], object], done: Callable[..., None], group: str) -> None:
        screen = self.screen

        def run() -> None:
            try:
                result = work()
            except JournalBusy:
                screen.deliver(lambda: screen.notify("journal busy, try again", severity="warning"))
                return
            except JournalError as err:
                message = one_line(str(err), 300)
                screen.deliver(lambda: screen.notify(message, severity="error", markup=False))
                return
            screen.deliver(done, result)

        screen.run_worker(run, thread=True, group=group, exclusive=True, exit_on_error=False)
