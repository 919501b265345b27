"""The one place that opens the journal file.

DuckDB lets one process hold a file read-write, or several processes read-only, never both. So a process
holds the journal only while it works: writers for one transaction, readers for a burst of queries
(released after ``idle_release`` seconds without use). A lock conflict is retried with jittered backoff
until a deadline, then reported as :class:`JournalBusy`.

Before DuckDB sees a path we check it ourselves, so that a SQLite or text file, a directory, a missing
path on a read-only operation or an unreadable file gets a clear error and is never created or modified.
"""

from __future__ import annotations

import atexit
import errno
import os
import weakref
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from . import schema
from .errors import (
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalNotFound,
    JournalPermission,
    JournalTooNew,
    NotAJournal,
)

# Every connection: no file access from SQL, no extension downloads (a SQLite file otherwise makes DuckDB
# try to fetch the sqlite extension). The progress bar is turned off per connection.
_BASE_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "threads": 2,
}
READER_MEMORY_LIMIT = "128MB"
_DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file
# The last marker: another Journal object in this process has the file open the other way (read-only vs
# read-write). Like a lock held by another process it goes away (idle reader released, transaction over).
_LOCK_MARKERS = (
    "could not set lock", "conflicting lock", "resource temporarily unavailable",
    "same database file with a different configuration",
)


def check_file(path: Path, *, must_exist: bool) -> bool:
    """Validate ``path`` without opening it in DuckDB. Returns whether the file exists."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if must_exist:
            raise JournalNotFound(f"no journal at {path}") from None
        parent = path.parent
        if not parent.exists():
            return False
        if not parent.is_dir():
            raise NotAJournal(f"{parent} is not a directory") from None
        if not os.access(parent, os.W_OK | os.X_OK):
            raise JournalPermission(f"permission denied: cannot create a journal in {parent}") from None
        return False
    except PermissionError:
        raise JournalPermission(f"permission denied: {path}") from None
    except OSError as exc:
        raise JournalError(f"cannot access {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise NotAJournal(f"{path} is a directory, not a journal file")
    if st.st_size == 0:
        raise NotAJournal(f"{path} is empty (0 bytes), not a journal")
    try:
        with open(path, "rb") as fh:
            header = fh.read(16)
    except PermissionError:
        raise JournalPermission(f"permission denied: {path}") from None
    except OSError as exc:
        raise JournalError(f"cannot read {path}: {exc.strerror or exc}") from None
    if header.startswith(b"SQLite format 3"):
        raise NotAJournal(f"{path} is a SQLite database, not a lago-tui journal")
    if len(header) < 12 or header[8:12] != _DUCKDB_MAGIC:
        raise NotAJournal(f"{path} is not a DuckDB file (not a lago-tui journal)")
    return True


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _LOCK_MARKERS)


def _translate(path: Path, exc: BaseException) -> JournalError:
    """Map a DuckDB or OS error to one clear line."""
    text = str(exc)
    low = text.lower()
    if isinstance(exc, PermissionError) or "permission denied" in low:
        return JournalPermission(f"permission denied: {path}")
    if "read-only file system" in low or getattr(exc, "errno", None) == errno.EROFS:
        return JournalPermission(f"{path} is on a read-only file system")
    if "storage version" in low or "newer version" in low or "version number" in low:
        return JournalTooNew(f"{path} was written by a newer DuckDB than {duckdb.__version__}; upgrade lago-tui")
    if _is_lock_error(exc):
        return JournalBusy(f"journal busy: {path} is locked by another process")
    if "not a valid duckdb" in low or "not a duckdb" in low:
        return NotAJournal(f"{path} is not a DuckDB file (not a lago-tui journal)")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return JournalCorrupt(f"{path} is corrupt or unreadable: {first}")


def _creation_error(path: Path, exc: BaseException) -> JournalError:
    """A new journal that could not be created (read-only or virtual file system...): not "corrupt"."""
    if isinstance(exc, OSError):
        reason, code = exc.strerror or str(exc), exc.errno
    else:
        text = str(exc).strip()
        reason, code = (text.splitlines()[0].rsplit(": ", 1)[-1] if text else type(exc).__name__), None
    low = reason.lower()
    denied = code in (errno.EACCES, errno.EPERM, errno.EROFS) or "permission denied" in low or "read-only" in low
    return (JournalPermission if denied else JournalError)(f"cannot create a journal at {path}: {reason}")


class _NeedsMigration(Exception):
    """A journal of an older schema opened read-only (internal: the reader migrates it first)."""


_LIVE: weakref.WeakSet[Connector] = weakref.WeakSet()


@atexit.register
def _release_all() -> None:
    # A connection still open at interpreter exit makes DuckDB's bindings print leak warnings.
    for connector in list(_LIVE):
        connector.release()


class Connector:
    """Opens, retries, caches (readers) and releases connections to one journal file."""

    def __init__(self, path: Path, *, busy_timeout: float = 5.0, idle_release: float = 1.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.idle_release = idle_release
        self._lock = threading.RLock()
        self._reader: duckdb.DuckDBPyConnection | None = None
        self._last_used = 0.0
        self._timer: threading.Timer | None = None
        self._active = 0  # cursors in use
        self._no_cursors = threading.Condition(self._lock)
        _LIVE.add(self)

    # ------------------------------------------------------------------ opening

    def _open(self, *, read_only: bool, creating: bool = False) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.01
        while True:
            try:
                config = dict(_BASE_CONFIG)
                if read_only:
                    # Readers only page through windows: a small buffer pool keeps a browsing process lean
                    # (peak RSS 265 MB -> ~150 MB on a 1M-event journal) at a small cost per page.
                    config["memory_limit"] = READER_MEMORY_LIMIT
                    # One DuckDB thread: on two cores a search using both starved the UI thread (keys took
                    # 300 ms to answer during a search); single-threaded scans still meet their targets.
                    config["threads"] = 1
                con = duckdb.connect(str(self.path), read_only=read_only, config=config)
                con.execute("SET enable_progress_bar = false")
                return con
            except duckdb.Error as exc:
                # Creating: the path was absent when checked, so a file there now is another process's new
                # journal, whose header may not be written yet ("not a valid DuckDB database file"): wait.
                racing = creating and "not a valid duckdb" in str(exc).lower()
                if (_is_lock_error(exc) or racing) and time.monotonic() < deadline:
                    time.sleep(min(delay * (0.5 + random.random()), max(0.0, deadline - time.monotonic())))
                    delay = min(delay * 2, 0.25)
                    continue
                if creating and not _is_lock_error(exc):
                    raise _creation_error(self.path, exc) from None
                raise _translate(self.path, exc) from None
            except OSError as exc:
                raise (_creation_error if creating else _translate)(self.path, exc) from None

    def _check_schema(self, con: duckdb.DuckDBPyConnection, *, writable: bool) -> bool:
        """Refuse foreign or newer files; False for an empty DuckDB file opened read-only (no tables yet)."""
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except (duckdb.CatalogException, duckdb.BinderException):  # no meta table, or someone else's "meta"
            row = None
        except duckdb.Error as exc:
            raise _translate(self.path, exc) from None
        if row is None:
            # A DuckDB file we did not write. An empty one (no tables) may become a journal on write.
            tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE NOT internal").fetchone()[0]
            if tables:
                raise NotAJournal(f"{self.path} is a DuckDB file but not a lago-tui journal")
            if writable:
                schema.create(con)
                return True
            return False
        try:
            found = int(row[0])
        except ValueError:  # a meta table with our key but not our value: not a journal we can read
            raise NotAJournal(f"{self.path} has a meta table but no journal schema version ({row[0]!r})") from None
        if found > schema.SCHEMA_VERSION:
            raise JournalTooNew(
                f"{self.path} uses journal schema {found}; this lago-tui knows up to {schema.SCHEMA_VERSION}"
            )
        if found < schema.SCHEMA_VERSION:
            if not writable:
                raise _NeedsMigration(found)
            schema.migrate(con, found)
        return True

    # ------------------------------------------------------------------ readers

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only cursor, or None when the journal file does not exist yet (reads see it empty).

        Each call gets its own cursor on the shared read-only connection, so a long search in one thread
        does not hold up page fetches in another. The connection closes once no cursor has been in use
        for ``idle_release`` seconds.
        """
        with self._lock:
            if self._reader is None:
                if not check_file(self.path, must_exist=False):
                    yield None
                    return
                con = self._open(read_only=True)
                try:
                    is_journal = self._check_schema(con, writable=False)
                except _NeedsMigration:
                    # Written by an older lago-tui: migrate once (a short write transaction), then read.
                    con.close()
                    with self.writer():
                        pass
                    con = self._open(read_only=True)
                    is_journal = self._check_schema(con, writable=False)
                except BaseException:
                    con.close()
                    raise
                if not is_journal:  # an empty DuckDB file: reads see an empty journal, as for a missing file
                    con.close()
                    yield None
                    return
                self._reader = con
            cursor = self._reader.cursor()
            self._active += 1
        try:
            yield cursor
        except duckdb.Error as exc:
            raise _translate(self.path, exc) from None
        finally:
            try:
                cursor.close()
            except duckdb.Error:
                pass
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._no_cursors.notify_all()
                self._last_used = time.monotonic()
                self._arm_idle_timer()

    def _arm_idle_timer(self) -> None:
        if self._reader is None or self.idle_release <= 0:
            if self._reader is not None:
                self._close_reader()
            return
        if self._timer is None:
            self._timer = threading.Timer(self.idle_release, self._on_idle)
            self._timer.daemon = True
            self._timer.start()

    def _on_idle(self) -> None:
        with self._lock:
            self._timer = None
            if self._reader is None:
                return
            idle = time.monotonic() - self._last_used
            if self._active == 0 and idle >= self.idle_release * 0.95:
                self._close_reader()
            else:
                self._timer = threading.Timer(max(0.05, self.idle_release - idle), self._on_idle)
                self._timer.daemon = True
                self._timer.start()

    def _close_reader(self) -> None:
        if self._reader is not None:
            try:
                self._reader.close()
            finally:
                self._reader = None

    @property
    def holds_connection(self) -> bool:
        return self._reader is not None

    def release(self, timeout: float = 5.0) -> None:
        """Close any cached connection now, after cursors still in use (other threads) are done."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            deadline = time.monotonic() + timeout
            while self._active and time.monotonic() < deadline:
                self._no_cursors.wait(max(0.0, deadline - time.monotonic()))
            if self._active:
                return  # a query is still running; the idle timer closes the connection after it
            self._close_reader()

    # ------------------------------------------------------------------ writers

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside one transaction; committed on success, closed afterwards."""
        with self._lock:
            while self._active:  # one process cannot hold the same file twice: let readers finish
                self._no_cursors.wait()
            self._close_reader()
            exists = check_file(self.path, must_exist=False)
            if not exists:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise _creation_error(self.path, exc) from None
            con = self._open(read_only=False, creating=not exists)
            try:
                try:
                    self._check_schema(con, writable=True)
                    con.execute("BEGIN TRANSACTION")
                except duckdb.Error as exc:
                    raise _translate(self.path, exc) from None
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException as exc:
                    try:
                        con.execute("ROLLBACK")
                    except duckdb.Error:
                        pass
                    if isinstance(exc, duckdb.Error):  # disk full, I/O error...: one clear line
                        raise _translate(self.path, exc) from None
                    raise
            finally:
                con.close()
