"""Where a `VirtualTable`'s rows come from: the source protocol, and the one fetch thread per table.

The table (UI thread) hands jobs to its :class:`Fetcher`; a single thread worker drains them, so a
source is never called concurrently by one table (DuckDB connections are not safe to share between
threads), never from the UI thread. Loads (count + key + viewport rows) go before page fetches;
requests for the same page are coalesced and pages that scrolled out of view are dropped before they
are fetched. Results go back to the table as messages, which it checks against its current data
generation (older results are discarded).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from textual.geometry import clamp
from textual.message import Message
from textual.worker import get_current_worker

__all__ = [
    "Fetcher",
    "KeyedRowSource",
    "LoadArrived",
    "LoadJob",
    "LoadOutcome",
    "PageArrived",
    "PageJob",
    "Preloaded",
    "RowSource",
    "keep_visible",
    "pages_for",
    "run_load",
]

RowT = TypeVar("RowT")
RowT_co = TypeVar("RowT_co", covariant=True)

LINGER = 1.0
"""Seconds the fetch thread waits for more work before exiting."""


class RowSource(Protocol[RowT_co]):
    """Where a `VirtualTable` gets its rows from.

    All methods are blocking and are only ever called from a worker thread, one call
    at a time per table (never concurrently for the same table).

    A source may additionally define ``index_of(key) -> int | None`` returning the
    row index of the row whose key (as computed by the table's `keep_key`) is `key`,
    or None. When present it lets `reload()` / `set_source(key=...)` put the cursor
    on a row that is not near the viewport.
    """

    def count(self) -> int:
        """Total number of rows."""
        ...

    def fetch(self, start: int, count: int) -> Sequence[RowT_co]:
        """Rows ``[start, start + count)`` (fewer if the source is shorter)."""
        ...


class KeyedRowSource(RowSource[RowT_co], Protocol[RowT_co]):
    """A `RowSource` that can also locate a row by key (optional, see `RowSource`)."""

    def index_of(self, key: Hashable) -> int | None:
        """Index of the row whose ``keep_key(row) == key``, or None (blocking)."""
        ...


# ---------------------------------------------------------------------------------- jobs and results


@dataclass(slots=True)
class PageJob:
    source: Any
    generation: int
    page: int
    page_size: int


@dataclass(slots=True)
class LoadJob:
    source: Any
    epoch: int
    replace: bool
    keep: bool
    key: Hashable | None
    has_key: bool
    cursor: int
    scroll_y: int
    visible: int
    page_size: int


@dataclass(slots=True)
class LoadOutcome:
    count: int | None = None
    error: BaseException | None = None
    key_index: int | None = None
    pages: dict[int, Sequence[Any]] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)


class PageArrived(Message, bubble=False):
    def __init__(self, job: PageJob, rows: Sequence[Any] | None, error: BaseException | None) -> None:
        self.job = job
        self.rows = rows
        self.error = error
        super().__init__()


class LoadArrived(Message, bubble=False):
    def __init__(self, job: LoadJob, outcome: LoadOutcome) -> None:
        self.job = job
        self.outcome = outcome
        super().__init__()


@dataclass(frozen=True, slots=True)
class Preloaded(Generic[RowT]):
    """Rows a caller fetched itself (with the count), for `VirtualTable.set_source(preloaded=...)`:
    ``rows`` are the rows from ``start`` (a multiple of the page size) on; ``key_index`` is where the
    key given to `set_source` is, if known."""

    count: int
    start: int = 0
    rows: Sequence[RowT] = ()
    key_index: int | None = None

    def outcome(self, page_size: int) -> LoadOutcome:
        if self.start % page_size:
            raise ValueError(f"preloaded rows must start on a page (at a multiple of {page_size})")
        pages: dict[int, Sequence[Any]] = {}
        for offset in range(0, len(self.rows), page_size):
            pages[(self.start + offset) // page_size] = self.rows[offset : offset + page_size]
        return LoadOutcome(count=self.count, key_index=self.key_index, pages=pages)


def pages_for(first: int, last: int, page_size: int) -> range:
    """Pages covering rows ``[first, last]`` (inclusive)."""
    if last < first:
        return range(0)
    return range(first // page_size, last // page_size + 1)


def keep_visible(cursor: int, scroll_y: int, visible: int, count: int) -> int:
    """The scroll offset closest to `scroll_y` that shows row `cursor`."""
    max_scroll = max(0, count - visible)
    scroll_y = clamp(scroll_y, 0, max_scroll)
    if cursor < 0 or visible <= 0:
        return scroll_y
    if cursor < scroll_y:
        scroll_y = cursor
    elif cursor >= scroll_y + visible:
        scroll_y = cursor - visible + 1
    return clamp(scroll_y, 0, max_scroll)


def run_load(job: LoadJob) -> LoadOutcome:
    """Count, locate the key and fetch the rows of the expected viewport (blocking)."""
    outcome = LoadOutcome()
    source = job.source
    try:
        count = int(source.count())
    except Exception as error:
        outcome.error = error
        return outcome
    outcome.count = count
    if count <= 0:
        outcome.count = 0
        return outcome
    page_size = job.page_size
    index_of = getattr(source, "index_of", None)
    if job.has_key and callable(index_of):
        try:
            index = index_of(job.key)
        except Exception as error:
            outcome.errors.append(error)
        else:
            if index is not None and 0 <= index < count:
                outcome.key_index = int(index)

    # Rows to fetch: the viewport where the cursor is expected to end up; when the
    # key's index is unknown, also a page either side of the old viewport so the
    # row can be found there if it moved a little.
    visible = job.visible
    if outcome.key_index is not None:
        cursor = outcome.key_index
        if job.replace:
            scroll_y = cursor - clamp(job.cursor - job.scroll_y, 0, visible - 1)
        else:
            scroll_y = job.scroll_y
        scroll_y = keep_visible(cursor, scroll_y, visible, count)
        first, last = scroll_y, scroll_y + visible - 1
    else:
        scroll_y = clamp(job.scroll_y, 0, max(0, count - visible))
        first, last = scroll_y, scroll_y + visible - 1
        if job.has_key:
            first = min(first, job.cursor) - page_size
            last = max(last, job.cursor) + page_size
    first, last = max(0, first), min(count - 1, last)
    pages = pages_for(first, last, page_size)
    if pages:
        start = pages.start * page_size
        try:
            rows = list(source.fetch(start, len(pages) * page_size))
        except Exception as error:
            outcome.errors.append(error)
        else:
            for page in pages:
                offset = (page - pages.start) * page_size
                chunk = rows[offset : offset + page_size]
                if chunk:
                    outcome.pages[page] = chunk
    return outcome


# ---------------------------------------------------------------------------------- the fetch thread


class Fetcher:
    """The job queue of one table and the thread that drains it.

    Args:
        start_thread: Starts ``loop`` in a thread worker (the table's ``run_worker``).
        post: Posts a result message to the table (thread-safe).
    """

    def __init__(self, start_thread: Callable[[Callable[[], None]], object], post: Callable[[Message], object]) -> None:
        self._start_thread = start_thread
        self._post = post
        self._lock = threading.Condition()
        self._load_job: LoadJob | None = None
        self._page_jobs: list[PageJob] = []
        self._in_flight: set[tuple[int, int]] = set()
        self._running = False

    def cancel(self) -> bool:
        """Drop every queued job; True if a load was pending (it will not report)."""
        with self._lock:
            self._page_jobs.clear()
            pending = self._load_job is not None
            self._load_job = None
        return pending

    def submit_load(self, job: LoadJob) -> bool | None:
        """Queue a load (it replaces a pending one). Returns None if dropped (a pending fresh load
        will fetch fresh data anyway), False if it replaced a pending load, True if it is new."""
        with self._lock:
            pending = self._load_job
            if pending is not None and pending.replace and not job.replace:
                return None
            self._load_job = job
            if job.replace:
                self._page_jobs.clear()
        self._wake()
        return pending is None

    def want_pages(self, jobs: list[PageJob]) -> None:
        """Replace the queued page fetches with ``jobs`` (less those already in flight)."""
        with self._lock:
            self._page_jobs = [job for job in jobs if (job.generation, job.page) not in self._in_flight]
            if not self._page_jobs:
                return
        self._wake()

    def page_done(self, job: PageJob) -> None:
        with self._lock:
            self._in_flight.discard((job.generation, job.page))

    def stop(self) -> None:
        """Forget the queue and let the thread exit now."""
        with self._lock:
            self._load_job = None
            self._page_jobs.clear()
            self._lock.notify_all()

    def _wake(self) -> None:
        with self._lock:
            if self._running:
                self._lock.notify()
                return
            self._running = True
        try:
            self._start_thread(self.loop)
        except Exception:
            with self._lock:
                self._running = False
            raise

    def _next_job(self) -> LoadJob | PageJob | None:
        """Pop the next job (loads first). Call with the lock held."""
        if self._load_job is not None:
            job, self._load_job = self._load_job, None
            return job
        if self._page_jobs:
            page_job = self._page_jobs.pop(0)
            self._in_flight.add((page_job.generation, page_job.page))
            return page_job
        return None

    def loop(self) -> None:
        """Run queued jobs one at a time (in a worker thread).

        This is the only place the source is called from. The thread lingers briefly
        when the queue is empty, so that continuous scrolling does not start a thread
        per page.
        """
        worker = get_current_worker()
        running = True
        try:
            while not worker.is_cancelled:
                with self._lock:
                    job = self._next_job()
                    if job is None:
                        self._lock.wait(LINGER)
                        job = self._next_job()
                    if job is None or worker.is_cancelled:
                        self._running = running = False
                        return
                if isinstance(job, LoadJob):
                    self._post(LoadArrived(job, run_load(job)))
                    continue
                start = job.page * job.page_size
                try:
                    rows = list(job.source.fetch(start, job.page_size))
                except Exception as error:
                    self._post(PageArrived(job, None, error))
                else:
                    self._post(PageArrived(job, rows, None))
        finally:
            if running:
                with self._lock:
                    self._running = False
