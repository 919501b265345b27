"""What the tests that run ``lago-tui`` in a child process share: the repository, the command, the child's
environment, and the timestamp their hand-made events start from."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_BIN = Path(sys.executable).with_name("lago-tui")
LAGO = [str(_BIN)] if _BIN.exists() else [sys.executable, "-m", "lago_tui"]
"""The lago-tui command: the console script installed beside this Python, else ``python -m lago_tui``."""
T0 = 1_700_000_000_000_000
"""Microseconds: the first timestamp of hand-made events."""


def repo_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child: this repository first on PYTHONPATH, and ``extra`` set."""
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra)
