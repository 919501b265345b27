"""One exception hierarchy for everything the journal can refuse. Messages are one line, for people."""

from __future__ import annotations


class JournalError(Exception):
    """Base of every expected journal failure (the CLI prints it as one line and exits 2)."""


class JournalNotFound(JournalError):
    """A read-only operation was given a path where no journal exists (nothing is created)."""


class NotAJournal(JournalError):
    """The path exists but is not a DuckDB file, or not a lago-tui journal."""


class JournalCorrupt(JournalError):
    """DuckDB could not read the file."""


class JournalTooNew(JournalError):
    """The file was written by a newer lago-tui schema or a newer DuckDB storage version."""


class JournalBusy(JournalError):
    """Another process held the journal for longer than the retry deadline."""


class JournalPermission(JournalError):
    """The operating system refused access to the journal file or its directory."""


class NotFound(JournalError):
    """A session, branch or event that does not exist (or an ambiguous reference)."""


class InvalidEvent(JournalError):
    """An event or import line that breaks the format or the journal's rules.

    ``location`` is ``FILE:LINE`` for imports (or ``event N`` for API batches).
    """

    def __init__(self, location: str, problem: str) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"{location}: {problem}" if location else problem)


class InvalidSpec(JournalError):
    """A session or branch specification that fails validation (name, params, fork point...)."""


class Conflict(JournalError):
    """The journal's current state forbids the change: a merge that is not a fast-forward (or already done),
    a branch name already taken. Retrying the same request gives the same answer (HTTP 409)."""
