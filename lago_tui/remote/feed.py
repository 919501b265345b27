"""Live updates from a server: a thread follows its change stream, the TUI reads the latest token.

``GET /lago-tui/v1/changes`` is a Server-Sent Events stream: a ``change`` frame with the journal's
change token at once and after every write, and a ``: ping`` comment every few seconds. The thread keeps
the newest token in memory (:attr:`ChangeFeed.token`, what ``change_token()`` returns), notices a dead
or silent server by the missing pings, says so in :attr:`ChangeFeed.note`, and reconnects with backoff.
Every reconnection changes the token, so screens reload whatever they may have missed meanwhile.

A plain Lago server has no change stream: the thread then polls its session list instead.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import TYPE_CHECKING, Any

from . import protocol as P
from .errors import RemoteError

if TYPE_CHECKING:
    from .client import RemoteJournal

PING_TIMEOUT = 15.0  # seconds without a frame (the server pings every 5) before the stream counts as dead
RETRY_FIRST = 0.25
RETRY_MAX = 2.0
PLAIN_POLL = 2.0  # seconds between session-list polls on a plain Lago server


class ChangeFeed:
    """Follows a server's changes in a daemon thread. ``token`` and ``note`` are read without locking."""

    def __init__(self, journal: RemoteJournal) -> None:
        self.journal = journal
        self.token: tuple[int, Any] = (0, None)
        self.note: str | None = None
        self.connected = False
        self._epoch = 0
        self._stop = threading.Event()
        self._conn: Any = None
        self._thread = threading.Thread(target=self._run, name="lago-change-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.sock.shutdown(2) if conn.sock is not None else None
            except OSError:
                pass
            conn.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        delay = RETRY_FIRST
        while not self._stop.is_set():
            try:
                self.journal.probe()
                if self.journal.plain is not None:
                    self._poll_plain()
                else:
                    self._follow()
                delay = RETRY_FIRST
            except RemoteError as exc:
                self._down(str(exc))
            except Exception as exc:  # never let the thread die silently
                self._down(f"change feed: {type(exc).__name__}: {exc}")
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, RETRY_MAX)

    def _down(self, message: str) -> None:
        if self.connected or self.note != message:
            self.connected = False
            self.note = message
            self._bump(None)

    def _bump(self, server_token: Any) -> None:
        self._epoch += 1
        self.token = (self._epoch, server_token)

    def _follow(self) -> None:
        transport = self.journal.transport
        conn, raw = transport.stream(
            "GET", P.CHANGES, headers={"Accept": "text/event-stream"}, timeout=PING_TIMEOUT
        )
        self._conn = conn
        first = True
        try:
            for line in transport.lines(raw):
                if self._stop.is_set():
                    return
                if not line.startswith(b"data:"):
                    continue
                try:
                    frame = json.loads(line[5:])
                except ValueError:
                    continue
                server_token = frame.get("token") if isinstance(frame, dict) else None
                if first:  # (re)connected: whatever happened while away, screens reload once
                    first = False
                    self.connected = True
                    self.note = None
                    self._bump(server_token)
                elif server_token != self.token[1]:
                    self.token = (self._epoch, server_token)
            raise RemoteError(f"the lago-tui server at {transport.url} closed the change stream")
        finally:
            self._conn = None
            conn.close()

    def _poll_plain(self) -> None:
        """A plain Lago server: the session list's digest is the token (sessions and branches only)."""
        transport = self.journal.transport
        while not self._stop.is_set():
            body = transport.request("GET", "/v1/sessions").body
            digest = hashlib.blake2b(body, digest_size=8).hexdigest()
            if not self.connected:
                self.connected = True
                self.note = None
                self._bump(digest)
            elif digest != self.token[1]:
                self.token = (self._epoch, digest)
            if self._stop.wait(PLAIN_POLL):
                return
