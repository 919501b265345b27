"""The writer-intent lock: how a writer asks readers in other processes to let go of the journal.

DuckDB lets one process hold a file read-write or several hold it read-only, never both, and keeps no
queue: a writer that finds a reader there just fails to open. A person paging through a timeline opens the
file again and again, so an agent's commit could lose every race. Hence a second, advisory lock:

- A writer takes an exclusive ``flock`` on ``PATH.lock`` (beside the journal) *before* it opens the file
  read-write, and holds it until its transaction is committed and the file closed. Writers queue on it
  among themselves as well, instead of spinning on DuckDB's lock.
- A reader checks it before each read burst, and keeps checking while it holds a cached connection; when a
  writer wants in, the reader closes its connection as soon as its current query is done and waits (up to
  its busy deadline) before opening again. Checking is a non-blocking shared ``flock``, taken and dropped at
  once, so it never delays a writer by more than a system call.
- Readers never create or modify anything: only a writer creates the lock file, and a missing lock file
  means no writer. The file is never deleted (another process may hold it open; unlinking a lock file is a
  race), and it holds no data.
- ``flock`` locks belong to an open file description, so two journals of one process on the same path
  exclude each other as two processes would, and closing one descriptor never drops another's lock (POSIX
  ``fcntl`` locks would). Where ``flock`` does not exist (Windows) the intent lock does nothing and only
  DuckDB's own lock remains.

A process that keeps the file open read-write for long (``lago-tui serve`` while busy) holds the intent lock
for as long as it holds the connection, so readers elsewhere wait instead of failing to open.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from .errors import JournalBusy

LOCK_SUFFIX = ".lock"


def lock_path(path: Path) -> Path:
    """``PATH.lock``: the writer-intent lock of the journal at ``path``."""
    return path.with_name(path.name + LOCK_SUFFIX)


def writer_waiting(path: Path) -> bool:
    """Whether a writer holds (or is taking) the intent lock of the journal at ``path``. Creates nothing."""
    if fcntl is None:
        return False
    try:
        fd = os.open(lock_path(path), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False  # no lock file (no writer yet), or one we may not read: nothing to yield to
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class WriterIntent:
    """The exclusive intent lock a writer holds from before it opens the journal until after it closes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.created = False  # this writer created the lock file (see discard)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float) -> None:
        """Take the lock, waiting up to ``timeout`` seconds for other writers (then :class:`JournalBusy`).

        Where the lock file cannot be created (a read-only directory...), nothing is held: the write
        itself will succeed or fail on DuckDB's own lock and permissions.
        """
        if fcntl is None or self._fd is not None:
            return
        fd = self._open()
        if fd is None:
            return
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise JournalBusy(f"journal busy: another process is writing to {self.path}") from None
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.02)
            except OSError:  # a file system without flock: carry on without the intent lock
                os.close(fd)
                return
        self._fd = fd

    def _open(self) -> int | None:
        flags = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        target = lock_path(self.path)
        try:
            fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL | flags, 0o666)
            self.created = True
            return fd
        except FileExistsError:
            pass
        except OSError:
            return None  # a directory we may not write to: no lock file, no intent
        try:
            return os.open(target, os.O_RDWR | flags)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                return None
        try:  # someone else's lock file we may not write: a read-only descriptor locks just as well
            return os.open(target, os.O_RDONLY | flags)
        except OSError:
            return None

    def discard(self) -> None:
        """Release, and remove the lock file if this writer created it: for a write that found no journal
        it could use (a foreign or damaged file), so that a refused write leaves nothing behind."""
        if self.created and self._fd is not None:
            try:
                os.unlink(lock_path(self.path))
            except OSError:
                pass
        self.release()

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
