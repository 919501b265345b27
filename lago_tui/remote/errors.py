"""What talking to a server can fail with, as journal errors (one line each, for people).

Each class also derives from the journal error a screen or command already handles the right way:
an unreachable server is *busy* (the TUI shows it and retries by itself), a refused token is a
*permission* problem and a URL that is not a Lago server is *not a journal* (both: an error screen).
"""

from __future__ import annotations

from ..journal.errors import JournalBusy, JournalError, JournalPermission, NotAJournal


class RemoteError(JournalError):
    """Base of every failure that comes from talking to a server."""


class ServerUnavailable(RemoteError, JournalBusy):
    """The server cannot be reached, went away mid-request, restarts or answers 503: try again later."""

    retry_note = "server unreachable, retrying…"  # what a screen shows while it retries


class ServerTimeout(ServerUnavailable):
    """The server did not answer in time (slow network, overloaded or stuck server)."""

    retry_note = "server slow to answer, retrying…"


class Unauthorized(RemoteError, JournalPermission):
    """401: no token, or the wrong one."""


class NotALagoServer(RemoteError, NotAJournal):
    """The URL answers, but not as a Lago server (a web page, another service, not HTTP at all)."""


class NeedsLagoTuiServe(RemoteError):
    """A feature that a plain Lago server (Lago's routes only) cannot provide."""
