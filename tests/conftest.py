"""Shared fixtures: every test builds its own journal in tmp_path; apps get a fixed clock."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from lago_tui.journal import Journal
from lago_tui.paths import demo_source

# Times show in the local zone: pin it, so snapshots and outputs are the same on every machine (and in the
# processes tests start, which inherit it). Tests of other zones set TZ themselves.
os.environ["TZ"] = "UTC"
time.tzset()

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLDEN = SHARED / "fixtures" / "lago-golden"

# 2026-11-21 12:00:00 UTC: a day after the last demo session, so relative times are stable.
FIXED_NOW_US = 1_795_262_400_000_000


def fixed_clock() -> int:
    return FIXED_NOW_US


_DEMO_TEMPLATE: dict[str, Path] = {}


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.duckdb"


@pytest.fixture
def journal(journal_path: Path):
    j = Journal(journal_path, idle_release=0.2)
    yield j
    j.close()


@pytest.fixture
def demo_journal(tmp_path_factory: pytest.TempPathFactory, journal_path: Path):
    """A journal holding the demo sessions (imported once per worker, then copied)."""
    template = _DEMO_TEMPLATE.get("path")
    if template is None:
        template = tmp_path_factory.getbasetemp() / "demo-template.duckdb"
        with Journal(template) as j:
            j.import_file(demo_source())
        _DEMO_TEMPLATE["path"] = template
    shutil.copyfile(template, journal_path)
    j = Journal(journal_path, idle_release=0.2)
    yield j
    j.close()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the user's real settings or journal from tests."""
    monkeypatch.setenv("LAGO_TUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LAGO_TUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LAGO_TUI_CLIPBOARD", "file")  # never the real system clipboard
    monkeypatch.setenv("LAGO_JOURNAL", str(tmp_path / "default-journal.duckdb"))
