"""Importing a regular JSON Lines file in one piece: DuckDB reads and parses it while Python checks it.

The streamed import (:mod:`.importer`) hands DuckDB each chunk as strings made in Python, which DuckDB then
parses on one thread, some 20 statements a chunk. For a regular JSON Lines file of a size DuckDB can hold
(:data:`WHOLE_MAX`), this path has DuckDB read the file itself, without the GIL, into one temp table and run
the ingest's checks on it once. Meanwhile Python reads the same file and checks every line with the same gate
(:func:`.validate.check_compact`, else :func:`.validate.check_event`); the search texts it makes go to DuckDB
a chunk at a time, and each chunk's events are inserted as their texts arrive. At the end the two readings
must agree (how many events, on which lines). On two cores the whole import takes about half the time.

Whatever this path cannot vouch for, it declines (:class:`Declined`) and the caller rolls back and imports the
file the streamed way, which accepts exactly what it always accepted and says what is wrong as it always has:
a line the gate refuses, an event_id repeated, a NUL, a line DuckDB may split otherwise (a carriage return
inside it: DuckDB takes a lone one for a line end), a file that changed while it was read, any problem the
ingest's checks find, any error of DuckDB's. So this path only ever makes a good import faster.

SQL may read that one file and no other: the connection is opened with it as the only allowed path (see
:meth:`.connection.Connector.writer`).
"""

from __future__ import annotations

import os
import queue
import stat
import threading
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import duckdb

from .bulk import feeding_duckdb
from .importer import READ_BLOCK, line_blocks, open_input, read_blocks
from .ingest import _EXTRACT_SQL, Ingest, IngestResult, Pending, search_text
from .validate import MAX_TEXT_BYTES, check_compact, check_event, written_spaced

WHOLE_MIN = 1024 * 1024  # smaller files are one chunk of the streamed import anyway
# DuckDB holds the parsed file and the events being inserted (some 5 times the file) in the writer's buffer pool,
# and Python the search texts: past this the streamed import, in bounded chunks, takes less memory (a 120 MB
# file peaks at ~430 MB read whole, a 1 GB one at ~500 MB streamed: `python -m lago_tui.bench.robust`).
WHOLE_MAX = 128 * 1024 * 1024
SEND_EVENTS = 16_384  # events checked between two hand-overs of search texts to DuckDB's thread
NEAR_END_BLOCKS = 2  # ...but in the file's last blocks, every block's
MEMORY_PER_BYTE = 6  # the writer's buffer pool for this path, per byte of the file, within:
MEMORY_MIN, MEMORY_MAX = 192 << 20, 384 << 20
# DuckDB threads for parsing the file: one parses it as fast as two (0.20 s for 50 MB against 0.24, measured
# alone), and leaves the other core to Python's checking.
EXTRACT_THREADS = 1
_GLOB = frozenset("*?[]{}")  # characters DuckDB would read as a pattern of file names

# Every line of the file as a row numbered from 1, blank ones included (DuckDB reads them as NULL), the line
# ends DuckDB finds (\n, \r\n) cut off: no quoting, no escapes, and a delimiter no JSON text can hold raw.
# Lines without a "{" are blank (or refused by Python's check, which then declines this path).
_LINES = (
    "(SELECT idx, line AS raw, NULL::VARCHAR AS text FROM "
    "(SELECT row_number() OVER () AS idx, line FROM read_csv($path, columns = {'line': 'VARCHAR'}, delim = chr(1), "
    "quote = '', escape = '', header = false, auto_detect = false, strict_mode = false, "
    f"max_line_size = {MAX_TEXT_BYTES + 1024})) "
    "WHERE strpos(line, '{') > 0)"
)
_EXTRACT_FILE_SQL = _EXTRACT_SQL.replace("FROM _stage", f"FROM {_LINES}")
assert _EXTRACT_FILE_SQL != _EXTRACT_SQL

class _Checker:
    """Python's half: every line through the gate the streamed import uses, each event's search text made. It
    accepts what the streamed import accepts, and declines anything else (the streamed import says why)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = array("q")  # the line of each event, in order

    def run(self, send: Callable[[tuple[array, list[str]]], None]) -> None:
        """Check the file, handing ``send`` each chunk's (lines, search texts) as it is done."""
        seen: dict[str, int] = {}
        lines, texts = array("q"), []
        line_no = 0
        fd = open_input(self.path)
        try:
            # Near the end, every block's events go at once: what DuckDB inserts after the last line is little.
            near_end = os.fstat(fd).st_size - NEAR_END_BLOCKS * READ_BLOCK
            consumed = 0
            crlf_file = False  # its lines end with \r\n
            for complete, ended in line_blocks(read_blocks(fd, self.path), lambda _line: Declined("a line too long")):
                consumed += len(complete) + ended
                if not line_no:
                    complete = complete.removeprefix(b"\xef\xbb\xbf")
                if b"\x00" in complete:
                    raise Declined("a NUL byte")
                if crlf_file or b"\r" in complete:
                    # DuckDB reads lines ended all by \n or all by \r\n; a lone \r (JSON whitespace) or a file
                    # mixing both, it splits otherwise. Every line here ends with \r\n: the piece's last with a
                    # \r alone (its newline was cut off), or with nothing if it is the file's last, unended line.
                    ends = complete.count(b"\n")
                    if (complete.count(b"\r\n") != ends or complete.count(b"\r") != ends + ended
                            or ended and not complete.endswith(b"\r") or line_no and not crlf_file):
                        raise Declined("line ends DuckDB would read otherwise")
                    crlf_file = True
                    complete = (complete[:-1] if ended else complete).replace(b"\r\n", b"\n")
                spaced = written_spaced(complete)
                for raw in complete.split(b"\n"):
                    line_no += 1
                    event = check_compact(raw, spaced=spaced, escaped=False) if raw else None
                    if event is None:
                        if not raw or raw.isspace():
                            continue
                        line = raw.decode("utf-8")  # not UTF-8: declined (below), as any other problem
                        if line.isspace():
                            continue
                        event = check_event(line)
                    if seen.setdefault(event["event_id"], line_no) != line_no:
                        raise Declined("an event_id repeated")
                    lines.append(line_no)
                    texts.append(search_text(event))
                if lines and (len(lines) >= SEND_EVENTS or consumed >= near_end):
                    self.lines.extend(lines)
                    send((lines, texts))
                    lines, texts = array("q"), []
            if lines:
                self.lines.extend(lines)
                send((lines, texts))
        finally:
            os.close(fd)


class Declined(Exception):
    """This path cannot import the file as the streamed import would: import it that way."""


def suits(path: Path) -> Path | None:
    """The absolute path DuckDB may read for ``path``, when it is a regular JSON Lines file this path takes."""
    if os.name != "posix":
        return None
    try:
        real = Path(os.path.abspath(path))
        info = os.stat(real)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode) or not WHOLE_MIN <= info.st_size <= WHOLE_MAX:
        return None
    if _GLOB.intersection(str(real)) or not str(real).isprintable():
        return None
    try:
        with open(real, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return real if head.startswith(b"{") else None


class _Signature(NamedTuple):
    """What changes when a file is replaced, truncated or written to."""

    ino: int
    dev: int
    size: int
    mtime_ns: int


def _signature(path: Path) -> _Signature:
    info = os.stat(path)
    return _Signature(info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns)


_END = None


class _DuckSide:
    """DuckDB's half, on a thread of its own: parse the file, check it, then insert each chunk whose search
    texts Python sends (a chunk's line numbers and its texts), until :data:`_END`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, job: Ingest, path: Path) -> None:
        self.con, self.job, self.path = con, job, path
        self.chunks: queue.Queue[tuple[array, list[str]] | None] = queue.Queue()
        self.failure: BaseException | None = None
        self.pending: Pending | None = None
        self.events = 0  # rows DuckDB read as events
        self.line_sum = 0  # the sum of their line numbers
        self.stop = threading.Event()  # Python's half failed: nothing more to do
        self.thread = threading.Thread(target=self._run, name="lago-import-whole", daemon=True)

    def _run(self) -> None:
        con, job = self.con, self.job
        try:
            threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
            con.execute(f"SET threads = {min(int(threads), EXTRACT_THREADS)}")
            try:
                con.execute(_EXTRACT_FILE_SQL, {"path": str(self.path)})
            finally:
                con.execute(f"SET threads = {int(threads)}")
            self.events, self.line_sum = con.execute("SELECT count(*), coalesce(sum(idx), 0) FROM _ev").fetchone()
            self.pending = job.check_extracted(self.events)
            if self.pending is not None:
                job.begin_insert(self.pending, in_order=True)
                # What the insert leaves to do depends only on what was checked: done now, while Python reads.
                job.refresh_ahead(self.pending)
                job.end_insert(self.pending, ())
        except BaseException as exc:  # noqa: BLE001 - judged by the caller's thread
            self.failure = exc
        while True:
            chunk = self.chunks.get()
            if chunk is _END:
                return
            if self.failure is not None or self.pending is None or self.stop.is_set():
                continue
            try:
                if not job.insert_texts(*chunk):
                    raise Declined("DuckDB read the lines otherwise")
            except BaseException as exc:  # noqa: BLE001
                self.failure = exc


def import_whole(con: duckdb.DuckDBPyConnection, path: Path) -> IngestResult:
    """Import the JSON Lines file at ``path`` (from :func:`suits`) inside ``con``'s open transaction, whose
    SQL may read it. Raises :class:`Declined` when the streamed import must do it; the caller rolls back."""
    before = _signature(path)
    # DuckDB holds the parsed file and the events being inserted, some 5 times the file: within the pool, the
    # commit writes them once; spilled, it reads them back and writes them twice (0.45 s for 50 MB, not 0.25).
    con.execute(f"SET memory_limit = '{min(MEMORY_MAX, max(MEMORY_MIN, MEMORY_PER_BYTE * before.size)) >> 20}MB'")
    checker = _Checker(path)
    job = Ingest(con, lambda idx: f"{path}:{idx}", implicit_sessions=True)
    duck = _DuckSide(con, job, path)
    def send(chunk: tuple[array, list[str]]) -> None:
        if duck.failure is not None:  # the checks found a problem, or DuckDB did: no use reading on
            raise Declined("DuckDB's half failed")
        duck.chunks.put(chunk)

    with feeding_duckdb():
        duck.thread.start()
        try:
            checker.run(send)
            duck.chunks.put(_END)
            duck.thread.join()
        except BaseException as exc:  # also Ctrl-C while waiting for DuckDB: its thread is stopped before
            duck.stop.set()  # the caller rolls back on the same connection
            duck.chunks.put(_END)
            try:
                con.interrupt()
            except duckdb.Error:
                pass
            duck.thread.join()
            if isinstance(exc, Exception):  # a bad line...: the streamed import says what is wrong, and where
                raise Declined(str(exc)) from None
            raise  # Ctrl-C
    if isinstance(duck.failure, Exception):  # a problem the checks found, or DuckDB's: said the streamed way
        raise Declined(str(duck.failure))
    if duck.failure is not None:
        raise duck.failure
    lines = checker.lines
    if not lines:
        raise Declined("no events")
    if _signature(path) != before:
        raise Declined("the file changed while it was read")
    if (duck.events, duck.line_sum) != (len(lines), sum(lines)):
        raise Declined("DuckDB read the lines otherwise")
    return job.finish()
