"""A batching writer for agents: buffer appends, commit them together, hold the file only to commit.

Opening the journal costs 30-85 ms, so one transaction per event gives ~18 events/s. The writer collects
events and commits them as one transaction every ``interval`` seconds or ``max_events`` events, closing the
file in between so readers (the TUI) can open it.

Nothing is lost quietly:

- Each ``append`` returns a Future that resolves once its event is committed (an acknowledged append is
  durable) or fails with that event's own error.
- A busy journal (another process writing, a reader that has not let go yet) is not a failure: the batch
  is retried until ``commit_deadline`` seconds after its first attempt (two minutes by default).
- One bad event fails only its own append; the others of its batch are committed as if each had been
  appended alone, in order.
- A failure reaches the caller even if no Future is looked at: ``on_error(event, error)`` is called for it,
  or else ``flush()`` and ``close()`` (and so the end of a ``with`` block) raise :class:`AppendsFailed`.
  ``failed`` counts every failed append. A writer never closed is flushed at interpreter exit, and its
  unreported failures are printed to stderr.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .errors import InvalidEvent, JournalBusy, JournalError, JournalResource
from .models import EventEnvelope
from .store import Journal

Event = EventEnvelope | dict[str, Any]
ErrorHandler = Callable[[Event, BaseException], None]

# Worth retrying until the deadline: another process has the file, or the disk/memory is full for now.
_RETRYABLE = (JournalBusy, JournalResource)


class AppendsFailed(JournalError):
    """Appends a BatchingWriter could not commit, raised by ``flush()``/``close()`` (unless ``on_error`` is set).

    ``failures`` lists (event_id, error) for each; the message names how many and the first.
    """

    def __init__(self, failures: list[tuple[str, BaseException]], total: int) -> None:
        self.failures = failures
        self.total = total
        event_id, error = failures[0]
        more = f" (and {total - 1} more)" if total > 1 else ""
        super().__init__(f"{total} append{'s' if total != 1 else ''} not committed: event {event_id}: {error}{more}")


def _event_id(event: Event) -> str:
    value = event.get("event_id") if isinstance(event, dict) else getattr(event, "event_id", None)
    return str(value) if value is not None else "?"


_LIVE: weakref.WeakSet[BatchingWriter] = weakref.WeakSet()


@atexit.register
def _close_forgotten_writers() -> None:
    for writer in list(_LIVE):
        try:
            writer.close()
        except AppendsFailed as exc:
            sys.stderr.write(f"lago-tui: BatchingWriter at exit: {exc}\n")
        except Exception as exc:  # noqa: BLE001 - exiting: report, never raise
            sys.stderr.write(f"lago-tui: BatchingWriter at exit: {exc}\n")


class BatchingWriter:
    MAX_KEPT_FAILURES = 100  # (event_id, error) pairs kept for AppendsFailed; ``failed`` counts them all

    def __init__(
        self,
        journal: Journal,
        *,
        interval: float = 0.1,
        max_events: int = 2000,
        commit_deadline: float = 120.0,
        on_error: ErrorHandler | None = None,
    ) -> None:
        self.journal = journal
        self.interval = interval
        self.max_events = max_events
        self.commit_deadline = commit_deadline
        self.on_error = on_error
        self.failed = 0  # appends that failed, ever
        self._unreported: list[tuple[str, BaseException]] = []
        self._unreported_total = 0
        self._buffer: list[tuple[Event, Future[None]]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._commit_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="lago-batching-writer", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def append(self, event: Event) -> Future[None]:
        future: Future[None] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("BatchingWriter is closed")
            self._buffer.append((event, future))
            if len(self._buffer) >= self.max_events:
                self._cond.notify()
        return future

    def extend(self, events: list[Event]) -> list[Future[None]]:
        return [self.append(e) for e in events]

    def _take(self) -> list[tuple[Event, Future[None]]]:
        with self._cond:
            batch, self._buffer = self._buffer, []
            return batch

    def _fail(self, event: Event, future: Future[None], error: BaseException) -> None:
        future.set_exception(error)
        with self._cond:
            self.failed += 1
            if self.on_error is None:
                self._unreported_total += 1
                if len(self._unreported) < self.MAX_KEPT_FAILURES:
                    self._unreported.append((_event_id(event), error))
        if self.on_error is not None:
            try:
                self.on_error(event, error)
            except Exception as exc:  # noqa: BLE001 - a broken handler must not stop the writer
                sys.stderr.write(f"lago-tui: BatchingWriter on_error handler failed: {exc!r}\n")

    def _commit(self) -> None:
        with self._commit_lock:
            # An event_id appended twice is two appends, as if each were alone (the second is then a no-op or
            # a conflict), not a duplicate within one batch: cut the batch before each repeat.
            batch, seen = [], set()
            for item in self._take():
                event_id = _event_id(item[0])
                if event_id in seen:
                    self._commit_batch(batch)
                    batch, seen = [], set()
                seen.add(event_id)
                batch.append(item)
            self._commit_batch(batch)

    def _commit_batch(self, batch: list[tuple[Event, Future[None]]]) -> None:
        started = time.monotonic()
        delay = 0.05
        while batch:
            try:
                self.journal.append([event for event, _ in batch])
            except _RETRYABLE as exc:
                if time.monotonic() - started < self.commit_deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                for event, future in batch:
                    self._fail(event, future, exc)
                return
            except InvalidEvent as exc:
                if exc.index is None or not 0 <= exc.index < len(batch):
                    for event, future in batch:
                        self._fail(event, future, exc)
                    return
                # One bad event: it alone fails (named by its id, not its place in an internal batch);
                # the rest are committed as if each had been appended on its own.
                event, future = batch.pop(exc.index)
                self._fail(event, future, InvalidEvent(f"event {_event_id(event)}", exc.problem))
            except BaseException as exc:  # noqa: BLE001 - anything else fails the batch, visibly
                for event, future in batch:
                    self._fail(event, future, exc)
                return
            else:
                for _, future in batch:
                    future.set_result(None)
                return

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._closed and len(self._buffer) < self.max_events:
                    self._cond.wait(self.interval)
                closed = self._closed
            self._commit()
            if closed:
                return

    def _raise_unreported(self) -> None:
        with self._cond:
            failures, total = self._unreported, self._unreported_total
            self._unreported, self._unreported_total = [], 0
        if total:
            raise AppendsFailed(failures, total)

    def flush(self) -> None:
        """Commit everything buffered so far, now; raises :class:`AppendsFailed` for failures not yet reported."""
        self._commit()
        self._raise_unreported()

    def close(self) -> None:
        """Flush and stop; raises :class:`AppendsFailed` for failures not yet reported. Safe to call twice."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self._commit()
        _LIVE.discard(self)
        self._raise_unreported()

    def __enter__(self) -> BatchingWriter:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.close()
            return
        try:  # the block is already failing: keep its error, and say what else went wrong
            self.close()
        except AppendsFailed as failed:
            exc.add_note(f"also: {failed}")
