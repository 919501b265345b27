"""What the routes share: the journal (behind one FileOwner), the group committer, the commit bell, the
settings, and the shutdown flag."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .security import DEFAULT_MAX_BODY, DEFAULT_MAX_STREAMS

if TYPE_CHECKING:
    from ..journal.owner import FileOwner, GroupCommitter
    from ..journal.store import Journal

Key = tuple[str, str | None]  # (session_id, branch_id); (session_id, None): anything in the session
ANY: Key = ("", None)  # rung by every commit


@dataclass(frozen=True)
class Settings:
    journal: Path
    token: str | None = None
    cors_origin: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    max_streams: int = DEFAULT_MAX_STREAMS
    idle_release: float = 1.0  # seconds the server keeps the file open without work
    keep_alive_ping: float = 15.0  # seconds without a frame before a stream sends ": ping"
    gather: float = 0.002  # seconds the committer waits for more requests before committing a lone one
    create_parents: bool = False  # make the journal's missing directory (the default journal's only)


class Bell:
    """Wakes coroutines waiting for commits to a (session, branch), and everyone at shutdown.

    Versions count the commits per key; a follower reads the version *before* it queries, then waits for
    a newer one, so a commit that lands between its query and its wait is never missed.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._versions: dict[Key, int] = defaultdict(int)
        self._waiters: dict[Key, set[asyncio.Future[None]]] = defaultdict(set)
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def version(self, key: Key) -> int:
        return self._versions[key]

    def ring_threadsafe(self, keys: Iterable[tuple[str, str]]) -> None:
        """From the committer thread: the branches one transaction wrote to."""
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self.ring, list(keys))
            except RuntimeError:  # the loop closed meanwhile (shutdown)
                pass

    def ring(self, keys: Iterable[tuple[str, str]]) -> None:
        touched: set[Key] = {ANY}
        for session, branch in keys:
            touched.add((session, branch))
            touched.add((session, None))
        for key in touched:
            self._versions[key] += 1
            for fut in self._waiters.pop(key, ()):
                if not fut.done():
                    fut.set_result(None)

    async def wait(self, key: Key, seen: int, timeout: float) -> bool:
        """True once ``key`` has a version newer than ``seen`` (or the bell is closed), False on timeout."""
        if self.closed or self._versions[key] != seen:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters[key]
        waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            waiters.discard(fut)
            if not waiters and self._waiters.get(key) is waiters:
                del self._waiters[key]

    def close(self) -> None:
        """Wake every waiter for good (the server is shutting down)."""
        self.closed = True
        for waiters in self._waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        self._waiters.clear()


class ServerState:
    """Built by the app factory; the journal and committer are opened by the app's lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bell = Bell()
        self.started_at = time.monotonic()
        self.open_streams = 0
        self.shutting_down = False
        self.owner: FileOwner | None = None
        self.journal: Journal | None = None
        self.committer: GroupCommitter | None = None
        self.ready = False

    def open(self) -> None:
        """Open the journal (creating a missing one, checking an existing one) and start the committer.
        Blocking; raises JournalError when the file cannot be the journal."""
        from ..journal.owner import FileOwner, GroupCommitter
        from ..journal.store import Journal

        if self.ready:
            return
        s = self.settings
        self.owner = FileOwner(s.journal, idle_release=s.idle_release, create_parents=s.create_parents)
        self.journal = Journal(s.journal, connector=self.owner)
        with self.owner.writer():  # creates or migrates the file, checks it is a journal
            pass
        self.committer = GroupCommitter(self.owner, gather=s.gather, on_commit=self.bell.ring_threadsafe)
        self.ready = True

    def begin_shutdown(self) -> None:
        """On SIGINT/SIGTERM (on the event loop): streams send their done frame and end."""
        self.shutting_down = True
        self.bell.close()

    def stop(self) -> None:
        """After the last request: commit what is queued, then let go of the file. Blocking."""
        self.ready = False
        if self.committer is not None:
            self.committer.close()
        if self.owner is not None:
            self.owner.release()
