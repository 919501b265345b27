"""What every command shares: the one-line error, the output stream, output files, tables, plurals.

Every string a command prints passes one escaping boundary, by construction rather than by care:

- :class:`Output` is the only stdout a command gets. ``line()`` and ``table()`` show each value on one line
  with every control, bidi and invisible code point as a visible escape (:func:`lago_tui.safe.one_line`);
  ``json()`` writes JSON whose every such code point is a ``\\uXXXX`` escape (the same data, but nothing a
  terminal would act on); and even plain ``write()`` escapes them, in the JSON-compatible ``\\uXXXX`` notation
  so that JSON text written through it stays valid. A command written later is safe by default.
- :func:`error` prints exactly one line, ``lago-tui: error: ...``: control characters escaped and newlines
  shown as ``\\n``, so no name, path or value can forge a second line.
- :func:`output_file` is how a command writes a file the user named (``export -o``): as a shell's ``>`` would,
  done safely (see there).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

PROG = "lago-tui"


# --------------------------------------------------------------------------------------------- escaping


def one_line(text: Any, width: int | None = None) -> str:
    """A value (journal text or anything else) made safe for a terminal, on one line, cut to ``width`` cells."""
    from ..safe import one_line as safe_one_line

    return safe_one_line(text if isinstance(text, str) else str(text), width)


def error_line(message: str) -> str:
    """``lago-tui: error: MESSAGE`` as exactly one line (newline included)."""
    from ..safe import visible

    text = str(message)
    try:  # bytes that were not UTF-8 (in a path) as \xNN, not as the surrogates Python decoded them to
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        pass
    text = visible(text).replace("\n", "\\n").replace("\t", " ")
    return f"{PROG}: error: {text}\n"


def error(message: str) -> None:
    """Print :func:`error_line` on stderr, whatever stderr is (closed, another encoding, full)."""
    _emit(sys.stderr, error_line(message))


def _emit(stream: Any, text: str) -> None:
    if stream is None:
        return  # nowhere to say it: the exit status still does
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write(text.encode("utf-8", "backslashreplace"))
            buffer.flush()
        else:
            encoding = getattr(stream, "encoding", None) or "utf-8"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
            stream.flush()
    except (OSError, ValueError):
        pass


@cache
def _json_unsafe() -> re.Pattern[str]:
    from ..safe import ESCAPED_RANGES, char_class

    return re.compile(f"[{char_class(ESCAPED_RANGES)}]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def terminal_safe(text: str) -> str:
    """``text`` with every code point a terminal could act on (C0 but tab/newline, DEL, C1, bidi, zero-width,
    tags...) as a ``\\uXXXX`` escape: valid inside a JSON string, and visible anywhere else."""
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return text
    return _json_unsafe().sub(_json_escape, text)


# The same set as lago_tui.safe's own _ASCII_CONTROL, kept here on purpose: importing safe loads Rich and
# Textual (~0.1 s), and plain ASCII output such as `lago-tui completion bash` never needs them.
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --------------------------------------------------------------------------------------------- stdout


class OutputError(Exception):
    """Writing to the output failed (closed, full, a reader went away)."""

    def __init__(self, reason: str, *, broken_pipe: bool = False) -> None:
        super().__init__(reason)
        self.broken_pipe = broken_pipe


class Output:
    """The stream a command writes to. Escapes everything (see the module docs); UTF-8; buffered.

    Write errors raise :class:`OutputError` (the CLI turns it into its one line), never a traceback.
    """

    def __init__(self, stream: BinaryIO | None, *, buffer_size: int = 1 << 16) -> None:
        self._stream = stream
        self._parts: list[bytes] = []
        self._pending = 0
        self._buffer_size = buffer_size

    # -- raw

    def write(self, text: str) -> None:
        """Write text as it is, but with anything a terminal would act on escaped (newlines and tabs kept)."""
        data = terminal_safe(text).encode("utf-8", "backslashreplace")
        self._parts.append(data)
        self._pending += len(data)
        if self._pending >= self._buffer_size:
            self.flush()

    encoding = "utf-8"

    def isatty(self) -> bool:
        try:
            return bool(self._stream is not None and self._stream.isatty())
        except (AttributeError, OSError, ValueError):
            return False

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self._parts:
            return
        data, self._parts, self._pending = b"".join(self._parts), [], 0
        if self._stream is None:
            raise OutputError("standard output is closed")
        try:
            self._stream.write(data)
            self._stream.flush()
        except BrokenPipeError:
            raise OutputError("the reader of the output went away", broken_pipe=True) from None
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise OutputError(f"cannot write the output: {reason}") from None

    # -- structured

    def line(self, *cells: Any, sep: str = "  ") -> None:
        """One line of values, each shown on one line with its control characters escaped."""
        self.write(sep.join(one_line(cell) for cell in cells) + "\n")

    def json(self, value: Any, *, indent: int | None = None) -> None:
        """One JSON value and a newline (a JSON Lines record when ``indent`` is None)."""
        self.write(json.dumps(value, ensure_ascii=False, indent=indent) + "\n")  # write() escapes

    def table(self, rows: Iterable[list[Any]], header: list[str], right: set[int] = frozenset(),
              widths: dict[int, int] | None = None) -> None:
        """Aligned columns; every cell on one line and escaped; ``widths`` caps columns (cut with ``…``)."""
        from rich.cells import cell_len

        caps = widths or {}
        body = [[one_line(cell, caps.get(i)) for i, cell in enumerate(row)] for row in rows]
        lines = [header, *body]
        sizes = [max(cell_len(r[i]) for r in lines) for i in range(len(header))]
        for row in lines:
            cells = []
            for i, cell in enumerate(row):
                pad = " " * (sizes[i] - cell_len(cell))
                cells.append(pad + cell if i in right else cell + pad)
            self.write("  ".join(cells).rstrip() + "\n")


class _TextSink:
    """A text stream (no ``.buffer``) taking the bytes :class:`Output` makes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.isatty = getattr(stream, "isatty", lambda: False)

    def write(self, data: bytes) -> None:
        self._stream.write(data.decode("utf-8"))

    def flush(self) -> None:
        self._stream.flush()


def stdout() -> Output:
    """An :class:`Output` on standard output (UTF-8 whatever the locale), or one that reports a closed one."""
    stream = sys.stdout
    if stream is None:
        return Output(None)
    buffer = getattr(stream, "buffer", None)
    return Output(buffer if buffer is not None else _TextSink(stream))


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------------------------- files


class OutputFileError(Exception):
    """An output file that cannot or must not be written (the message is for people)."""


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextmanager
def output_file(target: str, *, protected: Iterable[tuple[str, str]] = ()) -> Iterator[BinaryIO]:
    """A binary stream that writes ``target`` the way a shell's ``> target`` would, done safely.

    - Symbolic links are followed, as a shell follows them: the file the link points to is written (a link
      to nowhere gets its target created); the link itself stays.
    - A regular file (or a new one) is written to a new, uniquely named temp file beside it (created with
      ``O_EXCL`` and mode 0600, so nothing planted there can redirect the write), given the old file's mode
      and owner (a new file: 0666 less the umask), flushed to disk and renamed over the target: readers see
      the old content or the new, never a part. Nothing is left behind on failure (the old file stays).
    - A file with other hard links is written in place, as a shell would (a rename would split it from its
      other names); so is a regular file whose owner this process cannot give the new file.
    - A device, FIFO or socket is written in place (``/dev/null``, ``/dev/stdout``, ``>(gzip > x)``).
    - A directory, a missing directory or any of ``protected`` (pairs of path and what it is, e.g. the
      journal, its WAL and its lock file) is refused with :class:`OutputFileError`, writing nothing.
    """
    path = Path(target)
    real = Path(os.path.realpath(path))
    for other, what in protected:
        if _same_file(path, Path(other)):
            raise OutputFileError(f"refusing to write to {target}: it is {what}")
    try:
        st: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputFileError(f"{target}: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputFileError(f"{target}: is a directory")
    if st is not None and (not stat.S_ISREG(st.st_mode) or st.st_nlink > 1):
        yield from _in_place(target, real, truncate=stat.S_ISREG(st.st_mode))
        return
    parent = real.parent
    if not parent.is_dir():
        raise OutputFileError(f"{target}: no directory {parent}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputFileError(f"{target}: {exc.strerror or exc}") from None
    try:
        if st is not None:
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except PermissionError:  # cannot keep its owner: write it in place instead, as a shell does
                    os.close(fd)
                    fd = -1
                    os.unlink(tmp)
                    yield from _in_place(target, real, truncate=True)
                    return
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fd = -1
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, real)
        tmp = ""
        _sync_directory(parent)
    except OSError as exc:
        raise OutputFileError(f"{target}: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _in_place(target: str, real: Path, *, truncate: bool) -> Iterator[BinaryIO]:
    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0) | (os.O_TRUNC if truncate else 0)
    try:
        fh = os.fdopen(os.open(real, flags), "wb")
    except OSError as exc:
        raise OutputFileError(f"{target}: {exc.strerror or exc}") from None
    try:
        with fh:
            yield fh
            fh.flush()
    except OSError as exc:
        raise OutputFileError(f"{target}: {exc.strerror or exc}") from None


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
