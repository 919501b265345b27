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


def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal file holding the demo sessions, imported once per worker (copy it, never open it)."""
    template = _DEMO_TEMPLATE.get("path")
    if template is None:
        template = tmp_path_factory.getbasetemp() / "demo-template.duckdb"
        with Journal(template) as j:
            j.import_file(demo_source())
        _DEMO_TEMPLATE["path"] = template
    return template


@pytest.fixture
def demo_journal(tmp_path_factory: pytest.TempPathFactory, journal_path: Path):
    """A journal holding the demo sessions (imported once per worker, then copied)."""
    shutil.copyfile(demo_template(tmp_path_factory), journal_path)
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


# ---------------------------------------------------------------------------- the same flows over a server
# Flows that take ``demo_api`` / ``demo_api_rw`` / ``journal_api`` run twice: on the file, and through a real
# ``lago-tui serve`` on a free loopback port (issue 9: same behaviour either way). Read-only flows share one
# server per module; flows that write get a server of their own.


@pytest.fixture(params=["file", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory):
    """One server per test module over a demo journal of its own. Read only: do not write through it."""
    from served import serve

    path = tmp_path_factory.mktemp("served-demo") / "journal.duckdb"
    shutil.copyfile(demo_template(tmp_path_factory), path)
    served = serve(path)
    yield served
    served.close()


def _client(served):  # noqa: ANN001, ANN202
    client = served.client()
    client.path = served.journal_path  # for tests that write the file from another process
    return client


@pytest.fixture
def demo_api(backend: str, request: pytest.FixtureRequest):
    """The demo journal as a JournalAPI: the file, or the module's server (read only)."""
    if backend == "file":
        yield request.getfixturevalue("demo_journal")
        return
    client = _client(request.getfixturevalue("demo_server"))
    yield client
    client.close()


@pytest.fixture
def demo_api_rw(backend: str, request: pytest.FixtureRequest, journal_path: Path):
    """The demo journal as a JournalAPI that the test may write to: its own file, or its own server."""
    demo = request.getfixturevalue("demo_journal")
    if backend == "file":
        yield demo
        return
    from served import serve

    demo.close()
    served = serve(journal_path)
    yield _client(served)
    served.close()


@pytest.fixture
def journal_api(backend: str, request: pytest.FixtureRequest, journal_path: Path):
    """An empty journal as a JournalAPI: a new file, or a server of its own on one."""
    if backend == "file":
        yield request.getfixturevalue("journal")
        return
    from served import serve

    served = serve(journal_path)
    yield _client(served)
    served.close()
