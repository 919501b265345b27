"""Importing a file: JSON Lines or one JSON array, streamed in bounded memory, checked, appended in chunks.

The file is read in blocks and cut into chunks of at most :data:`CHUNK_BYTES` / :data:`CHUNK_EVENTS`; each
event is checked by :mod:`.validate` as it is read, and each chunk is appended by :class:`.ingest.Ingest` in a
worker thread while the next chunk is read and checked (two cores: Python checks, DuckDB inserts). All of it
is one transaction: any failure, or Ctrl-C, leaves the journal as it was. (A regular JSON Lines file of up to
128 MB goes to :mod:`.wholefile` first, and comes here only if that declines it.)

What a path may be: a regular file, a pipe or FIFO (``<(generate)``; a FIFO whose writer has not come after
:data:`FIFO_WAIT` seconds reads as empty, so nothing waits forever), or a character device (``/dev/stdin``;
``/dev/zero`` is refused at once as not text). A directory or socket is refused. Memory stays bounded whatever the input: one chunk being checked,
one being inserted, and no line or array element longer than :data:`~.validate.MAX_TEXT_BYTES`.
"""

from __future__ import annotations

import codecs
import itertools
import json
import os
import queue
import select
import stat
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import duckdb

from .bulk import feeding_duckdb
from .errors import InvalidEvent, JournalError
from .ingest import Ingest, IngestResult, Row, search_text
from .validate import MAX_TEXT_BYTES, EventProblem, check_envelope, check_line, parse_event_at, written_spaced

# Each chunk costs some 20-50 ms of fixed work (statements planned, temp tables made), so chunks are as large
# as memory allows. DuckDB parses a chunk of small events (a few hundred bytes) in about 4 times its size, of
# larger ones (20 KB tool results, 3 MB messages) in some 20 times: those count 4 times against the budget,
# which keeps any chunk well inside the writer's 192 MB.
CHUNK_BYTES = 12 * 1024 * 1024
LARGE_EVENT = 4 * 1024
LARGE_WEIGHT = 4
CHUNK_EVENTS = 30_000
FIRST_CHUNK_BYTES = 1024 * 1024  # smaller, so that inserting starts early; chunks then double up to CHUNK_BYTES
READ_BLOCK = 1024 * 1024
FIFO_WAIT = 2.0  # seconds a named pipe's writer has to open it and send its first bytes (see open_input)
_MIB = MAX_TEXT_BYTES // (1024 * 1024)

Rows = list[Row]


def open_input(path: Path) -> int:
    """A file descriptor to read ``path`` from, never blocking on a FIFO without a writer (one error line for
    whatever is wrong with the path: missing, a directory, not readable, a socket...)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise JournalError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise JournalError(f"{path}: is a directory") from None
    except PermissionError:
        raise JournalError(f"{path}: permission denied") from None
    except OSError as exc:
        raise JournalError(f"{path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise JournalError(f"{path}: is a directory")
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            raise JournalError(f"{path}: not a file, pipe or character device")
        if stat.S_ISFIFO(mode):
            _wait_for_a_writer(fd, FIFO_WAIT)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # opened without waiting; from here on, read as a file is read
    except BaseException:
        os.close(fd)
        raise
    return fd


def _wait_for_a_writer(fd: int, seconds: float) -> None:
    """A FIFO's writer may open it a moment after we do (``mkfifo p; gen > p & import p``): until it does, a
    read would see the end at once. Wait up to ``seconds`` for its first bytes (or its close); a writer that
    never comes leaves an empty input, which is refused as such. (Linux and macOS poll a FIFO with no writer
    as not ready.)"""
    if not hasattr(select, "poll"):
        return
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll(int(seconds * 1000))


class ImportSource:
    """The events of one import file, as checked chunks of (idx, JSON text); :meth:`locate` names an idx."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.array = False
        self._chunk_bytes = FIRST_CHUNK_BYTES
        self._element_lines = array("q")  # JSON arrays: the line each element starts on, by element index

    def locate(self, idx: int) -> str:
        line = self._element_lines[idx] if self.array and idx < len(self._element_lines) else idx
        return f"{self.path}:{line}"

    def _grow(self) -> None:
        self._chunk_bytes = min(CHUNK_BYTES, self._chunk_bytes * 2)

    def _full(self, rows: Rows, size: int, adding: int) -> bool:
        """Whether the chunk being filled (``size`` by :func:`_weight`) must be handed on before an event of
        ``adding`` characters joins it."""
        return bool(rows) and (size + _weight(adding) > self._chunk_bytes or len(rows) >= CHUNK_EVENTS)

    def _problem(self, line: int, problem: str) -> InvalidEvent:
        return InvalidEvent(f"{self.path}:{line}", problem)

    def _too_long(self, line: int) -> InvalidEvent:
        return self._problem(line, f"line longer than {_MIB} MiB (not an event of this journal)")

    def chunks(self) -> Iterator[Rows]:
        fd = open_input(self.path)
        try:
            blocks = read_blocks(fd, self.path)
            first = b""
            for block in blocks:  # enough to see how the file starts
                first += block
                if first.lstrip(b" \t\r\n\xef\xbb\xbf") or len(first) > 64:
                    break
            if b"\x00" in first[:4096]:
                at = first[: first.index(b"\x00")].count(b"\n") + 1
                raise self._problem(at, "not a text file (it contains NUL bytes)")
            head = first.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
            self.array = head.startswith(b"[")
            rest = _chain(first, blocks)
            found = False
            for rows in (self._array_chunks(rest) if self.array else self._line_chunks(rest)):
                found = found or bool(rows)
                yield rows
            if not found:
                raise self._problem(1, "no events (expected a JSON array or JSON Lines)")
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ JSON Lines

    def _line_chunks(self, blocks: Iterator[bytes]) -> Iterator[Rows]:
        rows: Rows = []
        seen: dict[str, int] = {}  # event_id -> line, in this chunk (across chunks the ingest checks)
        size = 0
        line_no = 0
        at_start = True
        for complete, _ in line_blocks(blocks, self._too_long):
            if b"\x00" in complete:
                bad = line_no + complete[: complete.index(b"\x00")].count(b"\n") + 1
                raise self._problem(bad, "contains a NUL byte (not a JSON Lines text file)")
            try:
                text = complete.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self._problem(line_no + complete[: exc.start].count(b"\n") + 1, "not valid UTF-8") from None
            if at_start:
                if text.startswith("\ufeff"):
                    text, complete = text[1:], complete[3:]
                at_start = False
            has_cr = b"\r" in complete
            spaced = written_spaced(complete)
            # The same lines as bytes (UTF-8 never has a newline byte inside a character): the fast path parses those.
            for line, raw in zip(text.split("\n"), complete.split(b"\n")):
                line_no += 1
                if has_cr and line.endswith("\r"):
                    line, raw = line[:-1], raw[:-1]
                if not line or line.isspace():
                    continue
                try:
                    event = check_line(raw, line, spaced=spaced, escaped=False)
                except EventProblem as exc:
                    raise InvalidEvent(f"{self.path}:{line_no}", str(exc), index=line_no) from None
                weight = len(line)  # _full and _weight, inlined: this runs once per event
                if weight > LARGE_EVENT:
                    weight *= LARGE_WEIGHT
                if rows and (size + weight > self._chunk_bytes or len(rows) >= CHUNK_EVENTS):
                    yield rows
                    rows, size, seen = [], 0, {}
                    self._grow()
                event_id = event["event_id"]
                if seen.setdefault(event_id, line_no) != line_no:
                    raise InvalidEvent(f"{self.path}:{line_no}",
                                       f"duplicate event_id {event_id} (also at {self.path}:{seen[event_id]})")
                rows.append((line_no, line, search_text(event)))
                size += weight
        if rows:
            yield rows

    # ------------------------------------------------------------------ one JSON array

    def _array_chunks(self, blocks: Iterator[bytes]) -> Iterator[Rows]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        buf = ""
        pos = 0
        line = 1  # the line of buf[pos]
        eof = False
        consumed_lines = 0  # lines in text dropped from buf

        def more() -> bool:
            nonlocal buf, pos, eof, consumed_lines
            if eof:
                return False
            if pos > 0:
                consumed_lines += buf.count("\n", 0, pos)
                buf, pos = buf[pos:], 0
            block = next(blocks, None)
            try:
                if block is None:
                    eof = True
                    buf += decoder.decode(b"", final=True)
                else:
                    buf += decoder.decode(block)
            except UnicodeDecodeError:
                raise self._problem(consumed_lines + buf.count("\n") + 1, "not valid UTF-8") from None
            return True

        def skip_space() -> None:
            nonlocal pos, line
            while True:
                end = len(buf)
                start = pos
                while pos < end and buf[pos] in " \t\r\n\ufeff":
                    pos += 1
                line += buf.count("\n", start, pos)
                if pos < end or not more():
                    return

        more()
        skip_space()
        if pos >= len(buf) or buf[pos] != "[":
            raise self._problem(line, "not valid JSON (expected a JSON array)")
        pos += 1
        rows: Rows = []
        seen: dict[str, int] = {}
        size = 0
        index = 0
        expect_value = True  # after "[" or ","
        while True:
            skip_space()
            if pos >= len(buf):
                raise self._problem(line, "not valid JSON (the array is not closed with ])")
            ch = buf[pos]
            if ch == "]" and (index == 0 or not expect_value):
                pos += 1
                skip_space()
                if pos < len(buf):
                    raise self._problem(line, "not valid JSON (text after the closing ])")
                break
            if not expect_value:
                if ch != ",":
                    raise self._problem(line, "not valid JSON (expected , or ] between events)")
                pos += 1
                expect_value = True
                continue
            start_line = line
            while True:
                try:
                    obj, end = parse_event_at(buf, pos)
                    break
                except json.JSONDecodeError as exc:
                    cut_off = exc.msg.startswith("Unterminated string") or exc.pos >= len(buf) - 8
                    if cut_off and len(buf) - pos <= MAX_TEXT_BYTES and more():
                        continue
                    if cut_off and len(buf) - pos > MAX_TEXT_BYTES:
                        raise self._problem(start_line, f"event larger than {_MIB} MiB, or not valid JSON") from None
                    at = consumed_lines + buf.count("\n", 0, exc.pos) + 1
                    raise self._problem(at, f"not valid JSON ({exc.msg})") from None
                except EventProblem as exc:
                    raise InvalidEvent(f"{self.path}:{start_line}", str(exc), index=index) from None
            try:
                check_envelope(obj)
            except EventProblem as exc:
                raise InvalidEvent(f"{self.path}:{start_line}", str(exc), index=index) from None
            text = buf[pos:end]
            if self._full(rows, size, len(text)):
                yield rows
                rows, size, seen = [], 0, {}
                self._grow()
            event_id = obj["event_id"]
            if seen.setdefault(event_id, index) != index:
                raise InvalidEvent(f"{self.path}:{start_line}",
                                   f"duplicate event_id {event_id} (also at {self.locate(seen[event_id])})")
            line += text.count("\n")
            pos = end
            self._element_lines.append(start_line)
            rows.append((index, text, search_text(obj)))
            index += 1
            size += _weight(len(text))
            expect_value = False
        if rows:
            yield rows


def _weight(length: int) -> int:
    """What an event of ``length`` characters counts against a chunk's budget (see CHUNK_BYTES)."""
    return length if length <= LARGE_EVENT else LARGE_WEIGHT * length


def _chain(first: bytes, blocks: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from blocks


def read_blocks(fd: int, path: Path) -> Iterator[bytes]:
    """The file open at ``fd``, :data:`READ_BLOCK` bytes at a time; a read error is one clear line."""
    while True:
        try:
            block = os.read(fd, READ_BLOCK)
        except OSError as exc:
            raise JournalError(f"{path}: {exc.strerror or exc}") from None
        if not block:
            return
        yield block


def line_blocks(blocks: Iterable[bytes], too_long: Callable[[int], Exception]) -> Iterator[tuple[bytes, bool]]:
    """``blocks`` of JSON Lines cut at line ends, as (lines joined by ``\\n``, whether a newline ended the last
    of them): every piece but the file's last line, which needs none, ends at a newline (not included).
    ``too_long(line)`` is raised for a line (1-based) longer than :data:`~.validate.MAX_TEXT_BYTES`."""
    pending = b""
    lines = 0  # in the pieces given so far
    for block in blocks:
        data = pending + block
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > MAX_TEXT_BYTES:
                raise too_long(lines + 1)
            pending = data
            continue
        complete, pending = data[:cut], data[cut + 1:]
        lines += complete.count(b"\n") + 1
        if len(pending) > MAX_TEXT_BYTES:
            raise too_long(lines + 1)
        yield complete, True
    if pending:
        yield pending, False


# --------------------------------------------------------------------------------------------- the pipeline


def import_into(con: duckdb.DuckDBPyConnection, source: ImportSource, first: Rows,
                chunks: Iterator[Rows]) -> IngestResult:
    """Append ``first`` and the rest of ``chunks`` (from ``source.chunks()``) inside ``con``'s open transaction.

    The caller's thread reads and checks chunk N+1 while a worker appends chunk N. Whichever fails first in
    file order is reported; on any failure (or KeyboardInterrupt) the worker is stopped before this returns,
    so the caller can roll back.
    """
    job = Ingest(con, source.locate, implicit_sessions=True)
    work: queue.Queue[Rows | None] = queue.Queue(maxsize=1)
    failure: list[BaseException] = []
    stop = threading.Event()

    def worker() -> None:
        while True:
            rows = work.get()
            if rows is None or stop.is_set():
                return
            try:
                job.add(rows)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                failure.append(exc)
                stop.set()
                return

    thread = threading.Thread(target=worker, name="lago-import", daemon=True)
    with feeding_duckdb():
        thread.start()
        try:
            for rows in itertools.chain([first], chunks):
                while not stop.is_set():
                    try:
                        work.put(rows, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            _finish(work, thread)
        except BaseException:
            stop.set()
            if thread.is_alive():
                try:
                    con.interrupt()  # a chunk being appended stops now (Ctrl-C, or a bad line further on)
                except duckdb.Error:
                    pass
            _finish(work, thread)
            if failure and not isinstance(failure[0], duckdb.InterruptException):
                raise failure[0] from None  # the worker's chunk came first in the file
            raise
    if failure:
        raise failure[0]
    return job.finish()


def _finish(work: queue.Queue[Rows | None], thread: threading.Thread) -> None:
    while thread.is_alive():
        try:
            work.put(None, timeout=0.1)
            break
        except queue.Full:
            if not thread.is_alive():
                break
    thread.join()
