"""The one journal interface: what the TUI, the CLI and the server call, whatever is behind it.

Two implementations stand behind it: :class:`~lago_tui.journal.store.Journal` (a DuckDB file, local) and
a client of ``lago-tui serve`` over HTTP (``lago_tui.remote``). Screens and commands hold a
:class:`JournalAPI` and never ask which one they have.

Rules every implementation keeps:

- every method may block (disk, network): the TUI calls them from thread workers only;
- failures are :class:`~lago_tui.journal.errors.JournalError` subclasses with one-line messages;
- results are the plain read models of :mod:`lago_tui.journal.views` (each has ``to_json``), so a server
  can send them and a client rebuild them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis_views import Comparison, Problem, StateAt
    from .views import (
        AppendResult,
        BranchInfo,
        MergeResult,
        RunFigures,
        SearchHit,
        SessionDetail,
        SessionSummary,
        TimelineEvent,
    )


def _phrase(text: str) -> str:
    """``text`` as one quoted value of the query language (``"`` and ``\\`` escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TimelineAPI(ABC):
    """A branch's timeline (inherited events first), addressed by position 0..length-1.

    ``kinds`` is the kind filter it was built with (None: every kind), ``query`` its hiding query. Positions
    are stable until :meth:`refresh` picks up appends (which only add positions at the end).
    """

    session_id: str
    branch_id: str
    kinds: tuple[str, ...] | None
    query: Any  # the hiding query it was built with (a parsed Query; ``.text`` is what was typed)

    @property
    @abstractmethod
    def length(self) -> int: ...

    @property
    @abstractmethod
    def fork_positions(self) -> list[int]:
        """Positions where an inherited segment ends and the next begins (for fork markers)."""

    @property
    @abstractmethod
    def segment_bounds(self) -> list[tuple[str, int]]:
        """(branch_id, last seq taken from it) per lineage segment, root first."""

    @abstractmethod
    def refresh(self) -> int:
        """Pick up events appended to the branch since; returns the new length."""

    @abstractmethod
    def position_of(self, branch_id: str, seq: int) -> int | None:
        """The position of (branch, seq), or of the nearest event before it; None if none."""

    @abstractmethod
    def window(self, start: int, count: int) -> list[TimelineEvent]:
        """Events at positions [start, start + count) (fewer at the end), tool requests paired."""

    @abstractmethod
    def find(self, query: str, start: int, *, forward: bool = True) -> int | None:
        """The next (previous) position at or after (before) ``start`` matching ``query``, or None.

        ``query`` is plain text or the timeline query language (:mod:`lago_tui.journal.query`); free text
        matches the payload's text and what the row shows (kind label, role, tool, outcome, summary).
        An empty query finds nothing; a bad one raises QueryError (with ``start``/``end`` offsets).
        """

    @abstractmethod
    def count_matches(self, query: str) -> int:
        """How many positions match ``query`` (0 for an empty query)."""

    @abstractmethod
    def match_positions(self, query: str, start: int = 0, count: int | None = None) -> list[int]:
        """Positions in [start, start + count) (to the end without a count) matching ``query``, ascending."""

    @abstractmethod
    def exact_position(self, branch_id: str, seq: int) -> int | None:
        """The position of event (``branch_id``, ``seq``) if it is in this timeline, else None."""

    @abstractmethod
    def partner(self, position: int) -> int | None:
        """The event paired with the one at ``position``: a tool call's request <-> its outcome (the
        completion or failure with the same call_id), or None if it has none in this timeline."""


class JournalAPI(ABC):
    """Sessions, branches and events of one journal (a file, or a server)."""

    @property
    @abstractmethod
    def location(self) -> str:
        """What to show people: the file path or the server URL (no token)."""

    # ------------------------------------------------------------------ lifecycle

    @abstractmethod
    def close(self) -> None:
        """Release files, connections and threads now."""

    def __enter__(self) -> JournalAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def exists(self) -> bool:
        """Whether there is a journal there yet (a missing file reads as an empty journal)."""

    @abstractmethod
    def check(self) -> None:
        """For read-only commands: raise if there is no readable journal there."""

    def local_files(self) -> list[tuple[str, str]]:
        """(path, what it is) of every file this journal keeps on this machine, which a command must never
        overwrite (``export -o``), also while a server serves it; empty for a journal known only by its URL."""
        return []

    @abstractmethod
    def change_token(self) -> Hashable:
        """Cheap and never blocking: equal tokens mean nothing was written in between."""

    def status(self) -> str | None:
        """A problem reaching the journal right now, in one line (a server that is down), or None.
        Memory only, never blocks: the TUI shows it until it clears."""
        return None

    def limitations(self) -> str | None:
        """What this journal cannot do, in one line, once known (a plain Lago server), or None."""
        return None

    @property
    def idle_release(self) -> float:
        """Seconds a reader keeps its resources after the last call (a hint; 0 for implementations
        that hold nothing)."""
        return 0.0

    @idle_release.setter
    def idle_release(self, seconds: float) -> None:  # noqa: B027 - a hint implementations may ignore
        pass

    # ------------------------------------------------------------------ writing

    @abstractmethod
    def append(self, events: Sequence[Any]) -> AppendResult:
        """Append EventEnvelopes (models or wire dicts) in one transaction, all or nothing.

        The result's ``seqs`` are the seqs assigned, in input order; an event whose event_id is already in
        the journal (identical content) is not added again and answers its stored seq.
        """

    @abstractmethod
    def create_session(self, spec: Any, *, now_us: int | None = None) -> str:
        """Write a session (SessionSpec or dict), its main branch and SessionCreated; returns its id."""

    @abstractmethod
    def create_branch(self, session: str, spec: Any, *, now_us: int | None = None) -> str:
        """Fork a branch (BranchSpec or dict) with a BranchCreated event; returns its id."""

    @abstractmethod
    def merge_branch(self, session: str, source: str, target: str, *, now_us: int | None = None) -> MergeResult:
        """Fast-forward ``target`` (the branch ``source`` forked from) with ``source``'s own events, then a
        BranchMerged marker, in one transaction. :class:`~lago_tui.journal.errors.Conflict` when the target
        has moved on since the fork (so also when merging twice)."""

    @abstractmethod
    def import_file(self, path: Any) -> Any:
        """Import a JSON array or JSON Lines file of EventEnvelopes, all or nothing."""

    @abstractmethod
    def export(
        self, session: str, *, branch: str | None = None, from_seq: int | None = None, to_seq: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every event of a session (all branches) as wire objects, in write order.

        With a ``branch``: that branch's timeline in order (inherited events included), optionally cut to
        ``from_seq``..``to_seq``, seqs of the branch itself (no ``from_seq``: from the first inherited
        event; a range without a branch is refused).
        """

    # ------------------------------------------------------------------ reading

    @abstractmethod
    def count_sessions(self, query: str | None = None) -> int:
        """Sessions matching ``query``: the list's query language (plain text matches name, id and model)."""

    @abstractmethod
    def list_sessions(
        self,
        query: str | None = None,
        *,
        sort: str = "last_activity",
        descending: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SessionSummary]: ...

    @abstractmethod
    def session_index(
        self, session_id: str, query: str | None = None, *, sort: str = "last_activity", descending: bool = True
    ) -> int | None:
        """Position of a session in the filtered, sorted list (to keep a highlight across reloads)."""

    def match_sessions(self, text: str, *, limit: int = 50) -> list[SessionSummary]:
        """Sessions whose name, id or model hold the characters of ``text`` in order (a fuzzy match, for
        the palette), best first: names holding ``text`` as typed, then the most recently active.

        Implementations should override this; the default only finds ``text`` as typed (a quoted phrase of
        the list's query language, so nothing typed is read as a filter)."""
        return self.list_sessions(_phrase(text), limit=limit)

    def sessions_named(self, name: str, *, limit: int = 20) -> list[SessionSummary]:
        """Sessions whose name is exactly ``name`` (to warn about duplicates and list the candidates)."""
        found = self.list_sessions("name:=" + _phrase(name), sort="created", limit=None)
        return [s for s in found if s.name == name][:limit]

    @abstractmethod
    def models(self) -> list[str]:
        """Models already used in the journal, most used first."""

    @abstractmethod
    def resolve_session(self, ref: str) -> str:
        """A session id from an id, a unique id prefix or a unique name."""

    @abstractmethod
    def session(self, ref: str) -> SessionDetail: ...

    @abstractmethod
    def get_event(self, event_id: str) -> TimelineEvent: ...

    @abstractmethod
    def timeline(
        self, session: str, branch: str = "main", kinds: Iterable[str] | None = None,
        *, query: str | None = None, detail: SessionDetail | None = None,
    ) -> TimelineAPI:
        """A branch's timeline; pass the session's ``detail`` if you already have it.

        ``kinds`` (kinds, families such as ``tool``, roles such as ``assistant``) and ``query`` (the timeline
        query language) hide non-matching events. Unknown kinds and bad queries raise QueryError.
        """

    @abstractmethod
    def search(self, text: str, *, session: str | None = None, limit: int = 100) -> list[SearchHit]: ...

    # ------------------------------------------------------------------ analysis (issue 10)

    @abstractmethod
    def state_at(self, session: str, branch: str = "main", at_seq: int | None = None) -> StateAt:
        """The state of ``branch`` as of its own event ``at_seq`` (default its head; 0: at its fork point):
        messages, tool calls with status, runs, files, tokens, agent state. Past the head is InvalidSpec."""

    @abstractmethod
    def compare_branches(self, session: str, left: str, right: str) -> Comparison:
        """Events of two branches after their common fork point, aligned side by side, with totals."""

    @abstractmethod
    def problems(self, session: str | None = None) -> list[Problem]:
        """Integrity problems of one session (or of all sessions), each at its offending event."""

    @abstractmethod
    def list_branches(self, session: str | None = None) -> list[BranchInfo]:
        """The branches of one session, or of every session (grouped by session), main first."""

    @abstractmethod
    def read_events(
        self, session: str, branch: str = "main", after_seq: int = 0, limit: int | None = None
    ) -> list[TimelineEvent]:
        """A branch's own events (none inherited) with seq > ``after_seq`` (exclusive), by seq, at most
        ``limit``. Raises NotFound for an unknown session or branch."""

    # ------------------------------------------------------------------ session management

    @abstractmethod
    def close_session(self, session: str, reason: str | None = None, *, now_us: int | None = None) -> str:
        """Append SessionClosed to the session's main branch; returns its event id.

        Raises InvalidSpec if the session is closed already."""

    @abstractmethod
    def rename_session(self, session: str, name: str, *, now_us: int | None = None) -> str:
        """Rename a session (an event records it, so export/import carry it); returns the event id."""

    @abstractmethod
    def rename_branch(self, session: str, branch: str, name: str, *, now_us: int | None = None) -> str:
        """Rename a branch (not main; names stay unique in the session); returns the event id."""

    @abstractmethod
    def delete_session(self, session: str) -> dict[str, Any]:
        """Delete a session, its branches and events in one transaction.

        Returns ``{session_id, name, events, branches}`` (what was deleted)."""

    @abstractmethod
    def runs(self, session: str, branch: str = "main") -> list[RunFigures]:
        """Per-run and per-step figures (tokens in/out, tool calls, failures, wall time) of a branch's timeline."""

    def head_seq(self, session: str, branch: str = "main") -> int:
        from .errors import NotFound

        detail = self.session(session)
        info = detail.branch(branch)
        if info is None:
            raise NotFound(f"no branch {branch!r} in session {detail.summary.name}")
        return info.head_seq
