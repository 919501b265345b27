"""A journal file that a ``lago-tui serve`` may own, now or later: the TUI's view of a path.

While a server owns the file (its sidecar names a live server), every call goes through that server, so
browsing never takes the file's lock from it; otherwise calls go to the file itself. The choice is made
again whenever it may have changed: a server that stopped (calls fail and its sidecar is gone or stale)
hands the file back to direct use, and a server that started later (a sidecar appeared) is used from
the next call on. Timelines follow the switch (a branch's positions are the same either way).

:meth:`change_token` stays memory-and-stat only: a switch is noticed there (the sidecar's presence is
part of the token) and made by the next call, which runs in a worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..journal.api import JournalAPI, TimelineAPI
from ..journal.store import Journal
from ..journal.views import TimelineEvent
from ..sidecar import sidecar_path
from .client import RemoteJournal
from .errors import ServerUnavailable

RECHECK = 1.0  # seconds between looks for a server that started (one live check each)


class ServedFile(JournalAPI):
    """The file at ``path``, through its server whenever one owns it."""

    def __init__(self, path: Path, remote: RemoteJournal | None = None, *, create_parents: bool = False) -> None:
        self.path = Path(path)
        self._local = Journal(self.path, create_parents=create_parents)
        self._remote = remote
        self._lock = threading.Lock()
        self.generation = 0  # grows at every switch (timelines rebuild themselves)
        self._next_look = 0.0

    def __repr__(self) -> str:
        return f"ServedFile({str(self.path)!r}, via={self._remote.location if self._remote else None!r})"

    @property
    def location(self) -> str:
        remote = self._remote
        return f"{self.path} via {remote.location}" if remote is not None else str(self.path)

    @property
    def via_server(self) -> bool:
        return self._remote is not None

    # ------------------------------------------------------------------ choosing

    def current(self) -> JournalAPI:
        """The server while one owns the file, else the file (may contact a new server: call in workers)."""
        remote = self._remote
        if remote is not None:
            return remote
        now = time.monotonic()
        if now >= self._next_look and sidecar_path(self.path).exists():
            self._next_look = now + RECHECK
            from .sidecar import live_server

            found = live_server(self.path)
            if found is not None:
                self._switch(found)
                return found
        return self._local

    def _switch(self, remote: RemoteJournal | None) -> None:
        with self._lock:
            old, self._remote = self._remote, remote
            self.generation += 1
        if old is not None and old is not remote:
            old.close()
        if remote is not None:
            self._local.close()  # hand the file to the server now

    def _server_gone(self, remote: JournalAPI) -> bool:
        """After a failed call through ``remote``: True if the server no longer owns the file (switched)."""
        from .sidecar import live_server

        if remote is not self._remote:
            return True  # another call switched meanwhile
        found = live_server(self.path)
        if found is None:
            self._switch(None)
            return True
        found.close()
        return False

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        impl = self.current()
        try:
            return getattr(impl, name)(*args, **kwargs)
        except ServerUnavailable:
            if impl is self._local or not self._server_gone(impl):
                raise
        return getattr(self.current(), name)(*args, **kwargs)

    # ------------------------------------------------------------------ what is not a plain call

    def close(self) -> None:
        remote = self._remote
        if remote is not None:
            remote.close()
        self._local.close()

    def change_token(self) -> Hashable:
        remote = self._remote
        if remote is not None:
            return (self.generation, "server", remote.change_token())
        return (self.generation, "file", sidecar_path(self.path).exists(), self._local.change_token())

    def status(self) -> str | None:
        remote = self._remote
        return remote.status() if remote is not None else None

    def limitations(self) -> str | None:
        remote = self._remote
        return remote.limitations() if remote is not None else None

    def local_files(self) -> list[tuple[str, str]]:
        return self._local.local_files()  # the same files, whoever serves them right now

    @property
    def idle_release(self) -> float:
        return self._local.idle_release

    @idle_release.setter
    def idle_release(self, seconds: float) -> None:
        self._local.idle_release = seconds

    def export(self, session: str) -> Iterator[dict[str, Any]]:
        yield from self.call("export", session)

    def timeline(
        self, session: str, branch: str = "main", kinds: Iterable[str] | None = None, *,
        query: Any = None, detail: Any = None,
    ) -> TimelineAPI:
        inner = self.call("timeline", session, branch, kinds, query=query, detail=detail)
        return ServedTimeline(self, inner)


def _delegate(cls: type) -> type:
    """Every other JournalAPI method: the same call on whichever side owns the file now."""
    for name, value in vars(JournalAPI).items():
        if name.startswith("_") or name in cls.__dict__ or not callable(value):
            continue

        def method(self: ServedFile, *args: Any, __name: str = name, **kwargs: Any) -> Any:
            return self.call(__name, *args, **kwargs)

        method.__name__ = name
        method.__doc__ = value.__doc__
        setattr(cls, name, method)
    cls.__abstractmethods__ = frozenset()  # type: ignore[attr-defined]
    return cls


_delegate(ServedFile)


class ServedTimeline(TimelineAPI):
    """A timeline of a :class:`ServedFile` that rebuilds itself on the other side after a switch."""

    def __init__(self, journal: ServedFile, inner: TimelineAPI) -> None:
        self.journal = journal
        self._inner = inner
        self._generation = journal.generation
        self.session_id = inner.session_id
        self.branch_id = inner.branch_id
        self.kinds = inner.kinds
        self.query = inner.query

    def _timeline(self) -> TimelineAPI:
        if self._generation != self.journal.generation:
            generation = self.journal.generation
            self._inner = self.journal.current().timeline(
                self.session_id, self.branch_id, self.kinds, query=self.query.text if self.query else None)
            self._generation = generation
        return self._inner

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        inner = self._timeline()
        try:
            return getattr(inner, name)(*args, **kwargs)
        except ServerUnavailable:
            remote = self.journal._remote
            if remote is None or not self.journal._server_gone(remote):
                raise
        return getattr(self._timeline(), name)(*args, **kwargs)

    @property
    def length(self) -> int:
        return self._inner.length

    @property
    def fork_positions(self) -> list[int]:
        return self._inner.fork_positions

    @property
    def segment_bounds(self) -> list[tuple[str, int]]:
        return self._inner.segment_bounds

    def refresh(self) -> int:
        return self._call("refresh")

    def position_of(self, branch_id: str, seq: int) -> int | None:
        return self._call("position_of", branch_id, seq)

    def window(self, start: int, count: int) -> list[TimelineEvent]:
        return self._call("window", start, count)

    def find(self, text: str, start: int, *, forward: bool = True) -> int | None:
        return self._call("find", text, start, forward=forward)

    def count_matches(self, query: str) -> int:
        return self._call("count_matches", query)

    def match_positions(self, query: str, start: int = 0, count: int | None = None) -> list[int]:
        return self._call("match_positions", query, start, count)

    def exact_position(self, branch_id: str, seq: int) -> int | None:
        return self._call("exact_position", branch_id, seq)

    def partner(self, position: int) -> int | None:
        return self._call("partner", position)
