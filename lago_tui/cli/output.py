"""What every command shares: the one-line error, escaping of journal text, tables, plurals."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

PROG = "lago-tui"


def error(message: str) -> None:
    """``lago-tui: error: MESSAGE`` on stderr, escaped to one line."""
    from ..safe import visible

    sys.stderr.write(f"{PROG}: error: {visible(message)}\n")


def clean(text: str) -> str:
    """Journal text made safe for a terminal, on one line."""
    from ..safe import one_line

    return one_line(text)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def table(rows: Iterable[list[str]], header: list[str], right: set[int], out: TextIO) -> None:
    from rich.cells import cell_len

    rows = [header, *rows]
    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - cell_len(cell))
            cells.append(pad + cell if i in right else cell + pad)
        out.write("  ".join(cells).rstrip() + "\n")
