"""Where lago-tui keeps things. Nothing here creates a file or directory at import time."""

from __future__ import annotations

import os
from pathlib import Path

ENV_JOURNAL = "LAGO_JOURNAL"
ENV_CONFIG_DIR = "LAGO_TUI_CONFIG_DIR"
ENV_STATE_DIR = "LAGO_TUI_STATE_DIR"


def default_journal() -> Path:
    """``$LAGO_JOURNAL``, else ``journal.duckdb`` in the user's data directory."""
    env = os.environ.get(ENV_JOURNAL)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("lago-tui", appauthor=False) / "journal.duckdb"


def config_dir() -> Path:
    """Settings (the chosen theme): ``$LAGO_TUI_CONFIG_DIR``, else the user's config directory."""
    env = os.environ.get(ENV_CONFIG_DIR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path("lago-tui", appauthor=False)


def state_dir() -> Path:
    """Things worth keeping but not settings (the clipboard file): ``$LAGO_TUI_STATE_DIR``, else the user's
    state directory."""
    env = os.environ.get(ENV_STATE_DIR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_state_path

    return user_state_path("lago-tui", appauthor=False)


def demo_source() -> Path:
    """The demo journal source shipped with the app (assets/demo.jsonl)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_assets" / "demo.jsonl", here.parent / "assets" / "demo.jsonl"):
        if candidate.is_file():
            return candidate
    return here / "_assets" / "demo.jsonl"
