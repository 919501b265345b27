"""The one place that opens the journal file.

DuckDB lets one process hold a file read-write, or several processes read-only, never both. So a process
holds the journal only while it works: writers for one transaction, readers for a burst of queries
(released after ``idle_release`` seconds without use). A lock conflict is retried with jittered backoff
until a deadline, then reported as :class:`JournalBusy`.

Readers yield to writers (see :mod:`.intent`): a writer takes the intent lock beside the journal before it
opens the file, and a reader neither opens the file while it is held nor keeps a cached connection open
once its current query is done.

Readers never write: a journal of an older schema is read through temporary views that present the
current schema (nothing in the file changes); the next write migrates it.

Before DuckDB sees a path we check it ourselves, so that a SQLite or text file, a directory, a missing
path on a read-only operation or an unreadable file gets a clear error and is never created or modified.
"""

from __future__ import annotations

import atexit
import errno
import os
import weakref
import random
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from . import schema
from .errors import (
    Interrupted,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalNotFound,
    JournalPermission,
    JournalResource,
    JournalTooNew,
    NotAJournal,
)
from .intent import WriterIntent, writer_waiting

# Every connection: no file access from SQL, no extension downloads (a SQLite file otherwise makes DuckDB
# try to fetch the sqlite extension). The progress bar is turned off per connection.
_BASE_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "threads": 2,
}
# 48 MB: the app browsing the 1M-event journal peaked at ~275 MB with 128 (its buffer pool filled by a search's
# scan of the text column, on top of ~110 MB of Python), ~192 MB now; pages, jumps and searches measured no
# slower. A statement that needs more (a scan over events of megabytes) gets more: timeline.execute_roomy.
READER_MEMORY_LIMIT = "48MB"
# What a statement, or an operation over a whole session or journal (state, compare, check, runs), gets for its
# duration: `Connection.roomy()`, `timeline.execute_roomy`.
ROOMY_MEMORY_LIMIT = "512MB"
# A writer's buffer pool: past it DuckDB spills to ``PATH.tmp``, so an import of any size stays within bounds
# (peak ~0.6 GB for a session of large events, whose commit needs some 400 MB beyond the pool).
WRITER_MEMORY_LIMIT = "192MB"
# Rows per row group in what writers write (DuckDB's default: 122,880). A transaction's row groups are written
# as each fills (see _open_writer), so an import of 100k events compresses and writes its data while it still
# reads the file rather than all in its commit: 95k -> 108k events/s in alternating runs of the import bench
# (122k and 132k in two full runs after; its commit went from 0.30 to 0.06 s a file).
# Browsing measured the same on a journal written either way (enter 75 vs 71 ms, jump 36 vs 32 ms).
WRITER_ROW_GROUP_SIZE = 16_384
_DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file
# How often a reader holding a cached connection looks whether a writer wants the file (each look is a
# non-blocking flock on PATH.lock: two system calls).
INTENT_POLL = 0.02
# The last marker: another Journal object in this process has the file open the other way (read-only vs
# read-write). Like a lock held by another process it goes away (idle reader released, transaction over).
_LOCK_MARKERS = (
    "could not set lock", "conflicting lock", "resource temporarily unavailable",
    "same database file with a different configuration",
    "unique file handle conflict",  # a writer attaching the file another connection of this process has open
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def resource_error(path: Path, exc: BaseException) -> JournalResource | None:
    """Out of memory, disk full, no temp space: the machine's limits, never the journal's fault."""
    low = str(exc).lower()
    code = getattr(exc, "errno", None)
    if isinstance(exc, MemoryError) or "out of memory" in low or "memory limit" in low or "failed to allocate" in low:
        return JournalResource(f"not enough memory to work on {path}: {_first_line(exc)}")
    if code in (errno.ENOSPC, errno.EDQUOT) or "no space left" in low or "disk quota" in low or "disk is full" in low:
        return JournalResource(f"no space left on the device of {path} (nothing was written)")
    return None


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
    resource = resource_error(path, exc)
    if resource is not None:
        return resource
    if isinstance(exc, duckdb.InterruptException) or "interrupted" in low:
        return Interrupted(f"interrupted while working on {path}")
    return JournalCorrupt(f"{path} is corrupt or unreadable: {_first_line(exc)}")


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


class CommittedInterrupt(KeyboardInterrupt):
    """Ctrl-C arrived while a write was being committed; the commit finished first (the write is in)."""


@contextmanager
def _interrupts_deferred() -> Iterator[list[int]]:
    """Hold SIGINT back (main thread only) while a commit runs, so that it is never half-reported: the list
    the block gets is non-empty afterwards if Ctrl-C was pressed meanwhile."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except ValueError:  # not the main interpreter
        yield received
        return
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)


def _open_writer(path: Path, config: dict[str, object], readable: Path | None) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the journal at ``path``, attached with :data:`WRITER_ROW_GROUP_SIZE`.

    ``readable``: the one file its SQL may read (an import's, see wholefile.py), named while external access is
    on; access is then turned off, which cannot be undone. Attaching needs access on too, so it is on until the
    journal is attached, as it is while ``duckdb.connect`` opens a file.
    """
    con = duckdb.connect(":memory:", config={**config, "enable_external_access": True})
    try:
        # Spills go beside the journal, as they would for a journal opened directly (not to ./.tmp).
        con.execute("SET temp_directory = ?", [str(path) + ".tmp"])
        con.execute(f"ATTACH ? AS journal (ROW_GROUP_SIZE {WRITER_ROW_GROUP_SIZE})", [str(path)])
        con.execute("USE journal")
        con.execute("DETACH memory")
        # Each row group a transaction fills is compressed and written as soon as it is full, while the rest
        # of the transaction goes on, instead of all of them in the commit.
        con.execute("SET write_buffer_row_group_count = 1")
        con.execute("SET allowed_paths = ?", [[str(readable)] if readable is not None else []])
        con.execute("SET enable_external_access = false")
    except BaseException:
        con.close()
        raise
    return con


class _FileEnd:
    """A journal file's size and headers before a write, to give back what a write rolled back had written.

    A transaction's full row groups are written to the file as they fill (see :func:`_open_writer`): rolled
    back, they are unused blocks, past the end the file had when only its headers say which blocks are used.
    While the headers are the same (no checkpoint ran since) and no write-ahead log is left (one could name
    those blocks: a commit that reached the log and failed after it), cutting the file back to its size loses
    nothing, and a failed import does not leave the journal bigger than it was.
    """

    HEADERS = 3 * 4096  # DuckDB's main header and its two database headers

    def __init__(self, size: int, headers: bytes) -> None:
        self.size, self.headers = size, headers

    @classmethod
    def of(cls, path: Path) -> _FileEnd | None:
        try:
            with open(path, "rb") as fh:
                return cls(os.fstat(fh.fileno()).st_size, fh.read(cls.HEADERS))
        except OSError:
            return None

    def trim(self, path: Path) -> None:
        """Called with the file closed and the writer-intent lock still held."""
        now = _FileEnd.of(path)
        if now is None or now.size <= self.size or now.headers != self.headers or len(self.headers) < self.HEADERS:
            return
        try:
            if os.path.getsize(str(path) + ".wal"):
                return
        except OSError:  # no log: the usual case
            pass
        try:
            os.truncate(path, self.size)
        except OSError:
            pass  # unused blocks stay until the next checkpoint reuses them: nothing is lost


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def compat_views(con: duckdb.DuckDBPyConnection, found: int) -> list[str]:
    """SQL that shows a journal of schema ``found`` as the current schema, read-only, on one cursor.

    Temporary views of the same names shadow the file's tables (temp objects are resolved first, and
    belong to the cursor that made them); they read the file's tables by their qualified names.
    """
    db = _quoted(con.execute("SELECT current_database()").fetchone()[0])
    statements: list[str] = []
    if found < 2:
        failure = schema.FAILURE_SQL
        statements.append(f"CREATE OR REPLACE TEMP VIEW events AS SELECT *, {failure} AS failure FROM {db}.main.events")
        statements.append(
            "CREATE OR REPLACE TEMP VIEW sessions AS SELECT s.*, coalesce(a.tool_calls, 0) AS tool_calls, "
            f"coalesce(a.failures, 0) AS failures FROM {db}.main.sessions s LEFT JOIN ("
            "SELECT session_id, count(*) FILTER (WHERE kind = 'ToolCallRequested') AS tool_calls, "
            f"count(*) FILTER (WHERE {failure}) AS failures FROM {db}.main.events GROUP BY session_id) a "
            "USING (session_id)"
        )
    return statements


_LIVE: weakref.WeakSet[Connector] = weakref.WeakSet()


@atexit.register
def _release_all() -> None:
    # A connection still open at interpreter exit makes DuckDB's bindings print leak warnings.
    for connector in list(_LIVE):
        connector.release()


class Connector:
    """Opens, retries, caches (readers) and releases connections to one journal file."""

    def __init__(
        self, path: Path, *, busy_timeout: float = 5.0, idle_release: float = 1.0, create_parents: bool = False
    ) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.idle_release = idle_release
        self.create_parents = create_parents  # only for the default journal: a typo'd path is an error
        self._lock = threading.RLock()
        self._reader: duckdb.DuckDBPyConnection | None = None
        self._compat: list[str] = []  # views run on each reader cursor of an older-schema journal
        self._last_used = 0.0
        self._watcher: threading.Thread | None = None
        self._active = 0  # cursors in use
        self._roomy = 0  # operations that asked for a larger reader pool (roomy())
        self._no_cursors = threading.Condition(self._lock)
        _LIVE.add(self)

    # ------------------------------------------------------------------ opening

    def _open(self, *, read_only: bool, creating: bool = False, readable: Path | None = None) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.01
        while True:
            try:
                config = dict(_BASE_CONFIG)
                if read_only:
                    # Readers only page through windows: a small buffer pool keeps a browsing process lean
                    # (peak RSS 265 MB -> ~150 MB on a 1M-event journal) at a small cost per page.
                    config["memory_limit"] = ROOMY_MEMORY_LIMIT if self._roomy else READER_MEMORY_LIMIT
                    # One DuckDB thread: on two cores a search using both starved the UI thread (keys took
                    # 300 ms to answer during a search); single-threaded scans still meet their targets.
                    config["threads"] = 1
                else:
                    config["memory_limit"] = WRITER_MEMORY_LIMIT
                if read_only:
                    con = duckdb.connect(str(self.path), read_only=True, config=config)
                else:
                    con = _open_writer(self.path, config, readable)
                con.execute("SET enable_progress_bar = false")
                if not read_only:
                    # ZSTD compresses a whole vector (2,048 values) of large strings together, so reading one
                    # 40 KB payload back needed ~128 MB, more than a reader's memory limit: a session of big
                    # tool results imported fine and could never be read again. Other methods read per value.
                    con.execute("SET disabled_compression_methods = 'zstd'")
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
        """Refuse foreign or newer files; False for an empty DuckDB file opened read-only (no tables yet).

        An older schema is migrated when ``writable``; read-only, :attr:`_compat` gets the views that
        show it as the current one.
        """
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
            if writable:
                schema.migrate(con, found)
            else:
                self._compat = compat_views(con, found)
        return True

    # ------------------------------------------------------------------ readers


    @contextmanager
    def roomy(self) -> Iterator[None]:
        """Readers get the larger buffer pool (ROOMY_MEMORY_LIMIT) while this is held: for operations over a
        whole session or journal (an integrity check of 1M events needs more than a browsing reader's 48 MB),
        given back when the last one ends."""
        with self._lock:
            self._roomy += 1
            if self._roomy == 1 and self._reader is not None:
                self._reader.execute(f"SET memory_limit = '{ROOMY_MEMORY_LIMIT}'")
        try:
            yield
        finally:
            with self._lock:
                self._roomy -= 1
                if self._roomy == 0 and self._reader is not None:
                    try:
                        self._reader.execute(f"SET memory_limit = '{READER_MEMORY_LIMIT}'")
                    except duckdb.Error:
                        pass  # the connection is being closed: the next one opens with the small pool

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only cursor, or None when the journal file does not exist yet (reads see it empty).

        Each call gets its own cursor on the shared read-only connection, so a long search in one thread
        does not hold up page fetches in another. The connection closes once no cursor has been in use
        for ``idle_release`` seconds, or as soon as no cursor is in use and a writer wants the file.
        """
        with self._lock:
            if self._reader is not None and writer_waiting(self.path):
                self._let_writer_in()
            if self._reader is None:
                if not check_file(self.path, must_exist=False):
                    yield None
                    return
                self._wait_for_writers()
                con = self._open(read_only=True)
                try:
                    self._compat = []
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
            try:
                for statement in self._compat:
                    cursor.execute(statement)
            except duckdb.Error as exc:
                raise _translate(self.path, exc) from None
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
                self._watch()

    def _let_writer_in(self) -> None:
        """A writer wants the file: close the cached connection once no cursor of it is in use."""
        while self._active:
            self._no_cursors.wait()
        self._close_reader()

    def _wait_for_writers(self) -> None:
        """Open nothing while a writer holds the intent lock; JournalBusy after ``busy_timeout``."""
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.002
        while writer_waiting(self.path):
            if time.monotonic() >= deadline:
                raise JournalBusy(f"journal busy: another process is writing to {self.path}")
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.05)

    def _watch(self) -> None:
        """Start the thread that closes the cached connection when idle or when a writer wants in."""
        if self._reader is None:
            return
        if self.idle_release <= 0:
            self._close_reader()
            return
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch_loop, name="lago-journal-reader", daemon=True)
            self._watcher.start()

    def _watch_loop(self) -> None:
        while True:
            time.sleep(INTENT_POLL)
            with self._lock:
                if self._reader is None:
                    self._watcher = None
                    return
                if self._active:
                    continue
                idle = time.monotonic() - self._last_used
                if idle >= self.idle_release * 0.95 or writer_waiting(self.path):
                    self._close_reader()
                    self._watcher = None
                    return

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
            deadline = time.monotonic() + timeout
            while self._active and time.monotonic() < deadline:
                self._no_cursors.wait(max(0.0, deadline - time.monotonic()))
            if self._active:
                return  # a query is still running; the watcher closes the connection after it
            self._close_reader()

    # ------------------------------------------------------------------ writers

    reads_files = True  # writer(readable=...) lets an import's SQL read its file (see wholefile.py)

    @contextmanager
    def writer(self, *, readable: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside one transaction; committed on success, closed afterwards.
        ``readable``: the one file its SQL may read (an import's); no file otherwise.

        The writer-intent lock is held from before the file is opened until after it is closed, so
        readers (here and in other processes) let go of it and do not take it back meanwhile.
        """
        with self._lock:
            while self._active:  # one process cannot hold the same file twice: let readers finish
                self._no_cursors.wait()
            self._close_reader()
            exists = check_file(self.path, must_exist=False)
            if not exists:
                self._prepare_directory()
            intent = WriterIntent(self.path)
            intent.acquire(self.busy_timeout)
            committed = False
            # Ours to remove if nothing gets committed: a file DuckDB creates now (not one another creator
            # made since the check above, which _open waits for).
            creating_here = not exists and not os.path.lexists(self.path)
            before = _FileEnd.of(self.path) if exists else None
            try:
                con = self._open(read_only=False, creating=not exists, readable=readable)
                try:
                    try:
                        self._check_schema(con, writable=True)
                        con.execute("BEGIN TRANSACTION")
                    except duckdb.Error as exc:
                        raise _translate(self.path, exc) from None
                    try:
                        yield con
                        with _interrupts_deferred() as deferred:
                            con.execute("COMMIT")
                            committed = True
                            con.close()  # the checkpoint, still with Ctrl-C held back
                        if deferred:
                            # Ctrl-C came while committing: the write is in; say so, do not call it undone.
                            raise CommittedInterrupt(f"interrupted after the write to {self.path} was committed")
                    except CommittedInterrupt:
                        raise
                    except BaseException as exc:
                        try:
                            con.execute("ROLLBACK")
                        except duckdb.Error:
                            pass
                        if isinstance(exc, duckdb.Error):  # disk full, I/O error...: one clear line
                            raise _translate(self.path, exc) from None
                        raise
                finally:
                    try:
                        con.close()
                    except duckdb.Error as exc:  # the checkpoint on close failed (disk full...)
                        raise _translate(self.path, exc) from None
            finally:
                # A write that changed nothing leaves nothing behind: not the journal file it was about to
                # create (still held under the intent lock, so nobody else has it open), not a lock file.
                if not committed and creating_here:
                    for leftover in (self.path, Path(str(self.path) + ".wal")):
                        try:
                            leftover.unlink()
                        except OSError:
                            pass
                elif not committed and before is not None:
                    before.trim(self.path)
                intent.release() if committed else intent.discard()

    def _prepare_directory(self) -> None:
        parent = self.path.parent
        if parent.is_dir():
            return
        if not self.create_parents:
            missing = parent
            while not missing.parent.exists() and missing.parent != missing:
                missing = missing.parent
            raise JournalError(f"cannot create a journal at {self.path}: no directory {missing}")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _creation_error(self.path, exc) from None
