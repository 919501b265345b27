"""Makers of files that are not usable journals, shared by the journal-level and the CLI/TUI fault tests.

Each maker writes ``path``; ``good`` is a real journal some of them derive from.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def make_zero(path: Path, good: Path) -> None:
    path.write_bytes(b"")


def make_text(path: Path, good: Path) -> None:
    path.write_text("these are my notes, not a journal\n" * 40, encoding="utf-8")


def make_sqlite(path: Path, good: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE sessions (id TEXT)")
    con.execute("INSERT INTO sessions VALUES ('x')")
    con.commit()
    con.close()


def make_truncated(path: Path, good: Path) -> None:
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 3])
