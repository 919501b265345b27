"""A long-running process's hold on the journal: one read-write connection while there is work, and
group commit.

``lago-tui serve`` answers many clients at once. Opening the file per request would cost 30-85 ms each
and, in one process, a file cannot be open read-only and read-write at the same time. So the server keeps
**one** read-write connection (:class:`FileOwner`):

- reads run on cursors of that connection; DuckDB's MVCC lets them run while a write transaction is open
  (and its Python API releases the GIL inside ``execute``), so a read never waits for a long write;
- the connection is opened on first use and closed after ``idle_release`` seconds without use, so the TUI,
  the CLI and other writers on the same machine get the file whenever the server is idle;
- writes run on the one writer thread of :class:`GroupCommitter`: requests queued while a transaction
  commits are gathered into the next one, and each request's future is resolved only after that COMMIT
  returned, with its seqs. A group of plain events takes the lean path (:mod:`.append_path`: four
  statements, aggregates updated from the batch); anything else takes the ordinary ingest path, where a
  request that breaks a rule fails alone: the group is retried without it.

Nothing here knows about HTTP.
"""

from __future__ import annotations

import atexit
import json
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from .connection import Connector, _translate, check_file
from .errors import InvalidEvent, JournalBusy, JournalError, JournalPermission
from .intent import WriterIntent

# The server's connection keeps a bounded buffer pool: its RSS stays well under the 250 MB target after
# a million appended events. One DuckDB thread: small transactions spend most of their time in per-statement
# overhead, which a second thread doubles (0.15 ms -> 0.29 ms for a trivial query), and the other core is
# the event loop's.
OWNER_MEMORY_LIMIT = "160MB"
OWNER_THREADS = 1
# Ingesting a batch takes DuckDB some 30-60 times the batch's JSON size at its peak (a 15 MB batch failed
# with "Out of Memory" under 512 MB, passed under 1 GB). A large group raises the limit for its own
# transaction only; the buffer pool goes back to OWNER_MEMORY_LIMIT afterwards.
BYTES_TO_MEMORY = 64
MAX_GROUP_BYTES = 16 * 1024 * 1024  # a group gathers no more than this much JSON (one request may exceed it)

_LIVE: weakref.WeakSet[FileOwner] = weakref.WeakSet()


@atexit.register
def _release_all() -> None:
    # A connection still open at interpreter exit makes DuckDB's bindings print leak warnings.
    for owner in list(_LIVE):
        owner.release(timeout=1.0)


class FileOwner:
    """One read-write connection to the journal, shared by readers (cursors) and the one writer.

    It has the interface :class:`~lago_tui.journal.store.Journal` expects of its connector (``reader``,
    ``writer``, ``release``, ``holds_connection``, ``idle_release``), so a ``Journal(path,
    connector=owner)`` answers every read and write through it.
    """

    def __init__(
        self, path: str | Path, *, idle_release: float = 1.0, busy_timeout: float = 10.0,
        memory_limit: str = OWNER_MEMORY_LIMIT, threads: int = OWNER_THREADS, create_parents: bool = False,
    ) -> None:
        self.path = Path(path).expanduser()
        self.idle_release = idle_release
        self.memory_limit = memory_limit
        self.threads = threads
        # create_parents: as Journal's (only the default journal's directory is made; a typo'd one is an error)
        self._opener = Connector(self.path, busy_timeout=busy_timeout, idle_release=0, create_parents=create_parents)
        self._lock = threading.Condition(threading.Lock())
        self._write_lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._wcur: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._last_used = 0.0
        self._timer: threading.Timer | None = None
        # Held for as long as the connection is open: readers in other processes give the file up and wait
        # (they could not open it anyway), writers queue on it instead of spinning on DuckDB's lock.
        self._intent = WriterIntent(self.path)
        self.opens = 0  # how often the file was opened (a measure of how often it was let go)
        # Moves on every opening and every write transaction: a cache of what the file holds (the lean
        # append path's) is good only while it saw every generation.
        self.generation = 0
        _LIVE.add(self)

    # ------------------------------------------------------------------ opening and letting go

    def _open(self) -> duckdb.DuckDBPyConnection:
        exists = check_file(self.path, must_exist=False)
        if not exists:
            self._opener._prepare_directory()
        self._intent.acquire(self._opener.busy_timeout)
        try:
            con = self._opener._open(read_only=False, creating=not exists)
        except BaseException:
            self._intent.release()
            raise
        try:
            self._opener._check_schema(con, writable=True)
            con.execute(f"SET memory_limit = '{self.memory_limit}'")
            con.execute(f"SET threads = {int(self.threads)}")
        except duckdb.Error as exc:
            con.close()
            self._intent.release()
            raise _translate(self.path, exc) from None
        except BaseException:
            con.close()
            self._intent.release()
            raise
        self.opens += 1
        self.generation += 1
        return con

    def _acquire(self, *, cursor: bool) -> duckdb.DuckDBPyConnection:
        """A cursor of the connection (opened if needed), or the writer's cursor; counts one user."""
        with self._lock:
            if self._con is None:
                self._con = self._open()
                self._wcur = self._con.cursor()
            cur = self._con.cursor() if cursor else self._wcur
            self._users += 1
            assert cur is not None
            return cur

    def _done(self) -> None:
        with self._lock:
            self._users -= 1
            self._last_used = time.monotonic()
            if self._users == 0:
                self._lock.notify_all()
                self._arm_timer()

    def _arm_timer(self) -> None:
        if self._con is None or self._timer is not None:
            return
        if self.idle_release <= 0:
            self._close()
            return
        self._timer = threading.Timer(self.idle_release, self._on_idle)
        self._timer.daemon = True
        self._timer.start()

    def _on_idle(self) -> None:
        with self._lock:
            self._timer = None
            if self._con is None:
                return
            idle = time.monotonic() - self._last_used
            if self._users == 0 and idle >= self.idle_release * 0.95:
                self._close()
            else:
                self._timer = threading.Timer(max(0.05, self.idle_release - idle), self._on_idle)
                self._timer.daemon = True
                self._timer.start()

    def _close(self) -> None:
        con, wcur = self._con, self._wcur
        self._con = self._wcur = None
        for c in (wcur, con):
            if c is not None:
                try:
                    c.close()  # the last close checkpoints the WAL into the file
                except duckdb.Error:
                    pass
        if con is not None:
            self._intent.release()

    @property
    def holds_connection(self) -> bool:
        return self._con is not None

    def release(self, timeout: float = 5.0) -> None:
        """Close the connection now, once the reads and the write in progress are done."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            deadline = time.monotonic() + timeout
            while self._users and time.monotonic() < deadline:
                self._lock.wait(max(0.0, deadline - time.monotonic()))
            if self._users:
                self._arm_timer()  # still in use: the idle timer closes it afterwards
                return
            self._close()

    close = release

    # ------------------------------------------------------------------ the connector interface

    @contextmanager
    def roomy(self) -> Iterator[None]:
        """As ``Connector.roomy``; the owner's one connection already has a pool sized for whole-journal reads."""
        yield

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for reading; it sees committed data and never waits for a write in progress."""
        cur = self._acquire(cursor=True)
        try:
            yield cur
        except duckdb.Error as exc:
            raise _translate(self.path, exc) from None
        finally:
            try:
                cur.close()
            except duckdb.Error:
                pass
            self._done()

    @contextmanager
    def writer(self, *, payload_bytes: int = 0) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer's cursor inside one transaction (one writer at a time); committed on success.
        ``payload_bytes``: the JSON size about to be ingested, to give DuckDB the memory it needs."""
        with self._write_lock:
            cur = self._acquire(cursor=False)
            self.generation += 1
            raised = False
            try:
                base = _megabytes(self.memory_limit)
                need = payload_bytes * BYTES_TO_MEMORY // (1024 * 1024)
                if need > base:
                    cur.execute(f"SET memory_limit = '{need}MB'")
                    raised = True
                try:
                    cur.execute("BEGIN TRANSACTION")
                except duckdb.Error as exc:
                    raise _translate(self.path, exc) from None
                try:
                    yield cur
                    cur.execute("COMMIT")
                except BaseException as exc:
                    try:
                        cur.execute("ROLLBACK")
                    except duckdb.Error:
                        pass
                    if isinstance(exc, duckdb.Error):
                        if "out of memory" in str(exc).lower():
                            raise TooLarge(f"{payload_bytes} bytes of events are too many to store at once; "
                                           "send them in smaller batches") from None
                        raise _translate(self.path, exc) from None
                    raise
            finally:
                if raised:
                    try:
                        cur.execute(f"SET memory_limit = '{self.memory_limit}'")
                    except duckdb.Error:
                        pass
                self._done()


def _megabytes(limit: str) -> int:
    text = limit.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text) / (1024 * 1024))


# --------------------------------------------------------------------------------------------- group commit


class ShuttingDown(JournalError):
    """The committer is closing and takes no more work."""


class TooLarge(JournalError):
    """A batch too large to ingest in one transaction within the memory DuckDB may use."""


class _Where(str):
    """An ingest location ("event 3") that also says which request of the group the event came from."""

    request: int

    def __new__(cls, text: str, request: int) -> _Where:
        obj = super().__new__(cls, text)
        obj.request = request
        return obj


@dataclass
class _Append:
    rows: list[str]
    event_ids: set[str]
    keys: set[tuple[str, str]]
    minted: frozenset[str] = frozenset()  # event_ids this process made (fresh ULIDs)
    parsed: list[Any] | None = None  # the events as plain JSON values, when the caller says they are
    future: Future[tuple[int, ...]] = field(default_factory=Future)

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows)


@dataclass
class _Call:
    fn: Callable[[], Any]
    keys: Callable[[Any], Iterable[tuple[str, str]]] | None
    future: Future[Any] = field(default_factory=Future)


@dataclass
class CommitStats:
    groups: int = 0
    requests: int = 0
    events: int = 0
    retries: int = 0
    lean: int = 0  # transactions that took the lean path
    commit_seconds: float = 0.0
    largest_group: int = 0


class _NotLean(Exception):
    """The group is not for the lean path (raised inside its transaction, which then writes nothing)."""


# Failures that are about the file, not about any one request: retrying requests one by one won't help.
_FILE_ERRORS = (JournalBusy, JournalPermission)


class GroupCommitter:
    """One writer thread: append requests queued meanwhile are committed together, each answered after
    the COMMIT with its seqs (a :class:`~concurrent.futures.Future` per request).

    ``on_commit(keys)`` is called on the writer thread after each successful transaction with the
    (session_id, branch_id) pairs it wrote to, so followers (server-sent event streams) wake up at once.
    """

    def __init__(
        self, owner: FileOwner, *, max_events: int = 20_000, gather: float = 0.002,
        on_commit: Callable[[set[tuple[str, str]]], None] | None = None,
    ) -> None:
        self.owner = owner
        self.max_events = max_events
        self.gather = gather
        self.on_commit = on_commit
        self.stats = CommitStats()
        self._last_group = 1  # requests answered by the last transaction
        self._last_commit = 0.0  # seconds it took
        self._queue: deque[_Append | _Call] = deque()
        self._cond = threading.Condition()
        self._closing = False
        from .append_path import LeanAppender  # here: it imports the event models (pydantic)

        self.lean = LeanAppender()
        self._thread = threading.Thread(target=self._run, name="lago-group-commit", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ submitting

    def append(self, events: Sequence[dict[str, Any]], *, minted: Iterable[str] = (),
               from_json: bool = False) -> Future[tuple[int, ...]]:
        """Queue one all-or-nothing append of wire dicts; the future gives their seqs, in order.

        ``minted``: the event_ids among them that the caller made itself just now (fresh ULIDs), which
        need no look-up in the journal. ``from_json``: the events hold only what ``json.loads`` makes
        (dicts with string keys, lists, strings, numbers, booleans, None), so the lean path may check them
        as they are instead of parsing their text again.

        The future fails with :class:`InvalidEvent` (or another JournalError) when this request is refused;
        other requests committed in the same transaction are not affected.
        """
        rows: list[str] = []
        event_ids: set[str] = set()
        keys: set[tuple[str, str]] = set()
        for i, event in enumerate(events):
            try:
                row = json.dumps(event, ensure_ascii=False)
                row.encode("utf-8")
            except (TypeError, ValueError) as exc:  # UnicodeEncodeError: a lone surrogate
                raise InvalidEvent(f"event {i + 1}", f"cannot be stored as JSON text ({exc})") from None
            rows.append(row)
            if isinstance(event, dict):
                if isinstance(event.get("event_id"), str):
                    event_ids.add(event["event_id"])
                session, branch = event.get("session_id"), event.get("branch_id", "main")
                if isinstance(session, str) and isinstance(branch, str):
                    keys.add((session, branch))
        return self._submit(_Append(rows, event_ids, keys, frozenset(minted), list(events) if from_json else None))

    def call(
        self, fn: Callable[[], Any], *, keys: Callable[[Any], Iterable[tuple[str, str]]] | None = None
    ) -> Future[Any]:
        """Run ``fn`` (which writes through the owner, e.g. ``journal.merge_branch``) on the writer thread,
        in order with the appends; ``keys(result)`` names the branches it wrote to."""
        return self._submit(_Call(fn, keys))

    def _submit(self, item: Any) -> Future[Any]:
        with self._cond:
            if self._closing:
                raise ShuttingDown("the journal server is shutting down")
            self._queue.append(item)
            self._cond.notify()
        return item.future

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)

    @property
    def pending(self) -> int:
        return len(self._queue)

    # ------------------------------------------------------------------ the writer thread

    def _take(self) -> list[Any]:
        """The next unit of work: one call, or consecutive appends up to ``max_events`` events, none of
        which repeats an event_id of an earlier one (a repeat waits for the next group, where it is known)."""
        with self._cond:
            first = self._queue.popleft()
            if isinstance(first, _Call):
                return [first]
            group, seen, count, size = [first], set(first.event_ids), len(first.rows), first.size
            while self._queue and isinstance(self._queue[0], _Append):
                nxt = self._queue[0]
                if (count + len(nxt.rows) > self.max_events or size + nxt.size > MAX_GROUP_BYTES
                        or not seen.isdisjoint(nxt.event_ids)):
                    break
                self._queue.popleft()
                group.append(nxt)
                seen |= nxt.event_ids
                count += len(nxt.rows)
                size += nxt.size
            return group

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
            self._gather()
            work = self._take()
            if isinstance(work[0], _Call):
                self._run_call(work[0])
            else:
                self._commit(work)

    def _gather(self) -> None:
        """Wait briefly for the requests that are on their way back.

        A transaction costs nearly the same for 1 event or 500, so its size decides throughput. Clients
        answered by the last commit send their next request a moment later; committing whatever is queued
        at once would split them over two transactions. So wait until as many requests are queued as the
        last group answered, at most ``gather`` seconds plus a quarter of the last commit's time (a lone
        request on an idle server waits only ``gather``).
        """
        if self.gather <= 0:
            return
        extra = min(0.010, self._last_commit / 4) if self._last_group > 1 else 0.0
        deadline = time.monotonic() + self.gather + extra
        with self._cond:
            target = max(2, self._last_group)
            while (len(self._queue) < target and not self._closing
                   and not isinstance(self._queue[0], _Call)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)

    def _run_call(self, call: _Call) -> None:
        try:
            result = call.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
            call.future.set_exception(exc)
            return
        call.future.set_result(result)
        if call.keys is not None and self.on_commit is not None:
            self._notify(set(call.keys(result)))

    def _commit(self, group: list[_Append]) -> None:
        if self._commit_lean(group):
            return
        from .ingest import append_rows

        pending = list(group)
        while pending:
            rows: list[tuple[int, str]] = []
            owners: list[tuple[int, int]] = []
            for k, req in enumerate(pending):
                for i, row in enumerate(req.rows):
                    owners.append((k, i))
                    rows.append((len(rows), row))

            def locate(idx: int) -> str:
                k, i = owners[idx]
                return _Where(f"event {i + 1}", k)

            started = time.perf_counter()
            try:
                with self.owner.writer(payload_bytes=sum(len(r) for _, r in rows)) as con:
                    result = append_rows(con, rows, locate)
            except InvalidEvent as exc:
                culprit = 0 if len(pending) == 1 else getattr(exc.location, "request", None)
                if culprit is None:
                    pending = self._one_by_one(pending)
                    continue
                bad = pending.pop(culprit)
                bad.future.set_exception(InvalidEvent(str(exc.location), exc.problem))
                self.stats.retries += bool(pending)
                continue
            except _FILE_ERRORS as exc:
                for req in pending:
                    req.future.set_exception(exc)
                return
            except BaseException as exc:  # noqa: BLE001 - an unexpected failure: find whose it is
                if len(pending) == 1:
                    pending[0].future.set_exception(exc)
                    return
                pending = self._one_by_one(pending)
                continue
            self._answer(pending, result.seqs, time.perf_counter() - started)
            return

    def _commit_lean(self, group: list[_Append]) -> bool:
        """Commit a group of plain events through the lean path; False (nothing written) when it is not
        plain or anything went wrong, for the general path to do it (and to say what is wrong). A file that
        is busy or not writable fails the group at once (True: answered), as the general path would after
        waiting for the file a second time."""
        rows = [row for req in group for row in req.rows]
        minted = frozenset().union(*(req.minted for req in group))
        parsed = [obj for req in group for obj in (req.parsed or [None] * len(req.rows))]
        started = time.perf_counter()
        try:
            with self.owner.writer(payload_bytes=sum(len(r) for r in rows)) as con:
                seqs = self.lean.append(con, self.owner.generation, rows, minted, parsed)
                if seqs is None:
                    raise _NotLean
        except _FILE_ERRORS as exc:  # the file is busy or not ours: the general path would wait for it again
            self.lean.reset()
            for req in group:
                req.future.set_exception(exc)
            return True
        except Exception:  # noqa: BLE001 - not plain, or a failure the general path will meet and report
            self.lean.reset()
            return False
        self.lean.committed()
        self.stats.lean += 1
        self._answer(group, seqs, time.perf_counter() - started)
        return True

    def _one_by_one(self, pending: list[_Append]) -> list[_Append]:
        """The failing request could not be told: commit each alone (each failure stays its own)."""
        self.stats.retries += 1
        for req in pending:
            self._commit([req])
        return []

    def _answer(self, group: list[_Append], seqs: Sequence[int], seconds: float) -> None:
        st = self.stats
        st.groups += 1
        st.requests += len(group)
        st.events += len(seqs)
        st.commit_seconds += seconds
        st.largest_group = max(st.largest_group, len(group))
        self._last_group, self._last_commit = len(group), seconds
        n = 0
        keys: set[tuple[str, str]] = set()
        for req in group:
            m = len(req.rows)
            req.future.set_result(tuple(seqs[n:n + m]))
            n += m
            keys |= req.keys
        if self.on_commit is not None:
            self._notify(keys)

    def _notify(self, keys: set[tuple[str, str]]) -> None:
        try:
            self.on_commit(keys)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - a follower's trouble must not stop the writer
            pass
