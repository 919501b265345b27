"""Issue 11.4: a realistic big session (2,200 tool results of 20 KB, a few events of 3 MB) imports and then reads
back through every reader within the reader's memory limit; a resource failure is never called corruption."""

from __future__ import annotations

import asyncio
import json
import os
import random
import string
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import psutil
import pytest
from cli_support import LAGO, REPO, T0

from lago_tui.journal import Journal, JournalCorrupt, JournalResource
from lago_tui.journal import connection
from lago_tui.journal.connection import _translate

RESULTS, RESULT_BYTES, HUGE = 2200, 20_000, 3


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(journal, source): tool results of 20 KB of word salad (what compresses like real output), then three
    3 MB messages. (2,200 results were enough for `export` to fail before the fix.)"""
    folder = tmp_path_factory.mktemp("big")
    rng = random.Random(5)
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))) for _ in range(3000)]

    def text(size: int) -> str:
        out, total = [], 0
        while total < size:
            word = rng.choice(words)
            out.append(word)
            total += len(word) + 1
        return " ".join(out)

    source = folder / "big.jsonl"
    with open(source, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"event_id": "B0", "session_id": "BIG", "timestamp": T0,
                             "payload": {"type": "SessionCreated", "name": "big"}}) + "\n")
        for i in range(1, RESULTS + 1):
            fh.write(json.dumps({"event_id": f"B{i}", "session_id": "BIG", "timestamp": T0 + i, "payload": {
                "type": "ToolCallCompleted", "call_id": f"c{i}", "tool_name": "read", "result": text(RESULT_BYTES),
                "duration_ms": 3, "status": "ok" if i % 5 else "error"}}) + "\n")
        for i in range(HUGE):
            fh.write(json.dumps({"event_id": f"H{i}", "session_id": "BIG", "timestamp": T0 + 10**7 + i, "payload": {
                "type": "ToolCallCompleted", "call_id": f"h{i}", "tool_name": "cat", "result": text(3 * 1024 * 1024),
                "duration_ms": 9, "status": "ok"}}) + "\n")
    path = folder / "big.duckdb"
    with Journal(path) as journal:
        assert journal.import_file(source).events == RESULTS + HUGE + 1
    return path, source


def _run_measured(args: list[str], out_path: Path) -> tuple[int, str, int]:
    """Run the CLI with stdout to a file; (status, stderr, peak RSS in MB sampled every 20 ms)."""
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([*LAGO, *args], stdout=out, stderr=subprocess.PIPE,
                                env=dict(os.environ, PYTHONPATH=str(REPO)))
        watched = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.02)
        err = proc.stderr.read().decode() if proc.stderr else ""
        proc.wait()
    return proc.returncode, err, peak // (1024 * 1024)


def test_export_and_log_of_a_big_session_succeed_exactly_in_bounded_memory(big: tuple[Path, Path],
                                                                          tmp_path: Path) -> None:
    path, source = big
    originals = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    for args, name in [(["export", "BIG"], "export"), (["log", "BIG", "--json"], "log-json"), (["log", "BIG"], "log")]:
        out = tmp_path / f"{name}.out"
        status, err, peak = _run_measured(["--journal", str(path), *args], out)
        assert status == 0 and err == "", (args, err)
        assert peak < 400, f"{args} peaked at {peak} MB"
        if name != "log":
            got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            assert [g["payload"] for g in got] == [o["payload"] for o in originals]
        else:
            assert len(out.read_text(encoding="utf-8").splitlines()) == len(originals)


def test_timeline_windows_and_pairing_over_large_events(big: tuple[Path, Path]) -> None:
    path, _ = big
    with Journal(path) as journal:
        timeline = journal.timeline("BIG")
        window = timeline.window(0, timeline.length)  # one call for everything: read in halves as needed
        assert [ev.seq for ev in window] == list(range(1, timeline.length + 1))
        tail = timeline.window(timeline.length - 3, 3)
        assert [len(ev.payload["result"]) > 3_000_000 for ev in tail] == [True] * 3
        assert timeline.find("nosuchwordatall", 0) is None
        assert journal.search("nosuchwordatall", session="BIG") == []


def test_the_app_opens_the_big_session_and_reads_its_end(big: tuple[Path, Path], tmp_path: Path) -> None:
    from lago_tui.app import LagoApp
    from lago_tui.screens.session_detail import SessionDetailScreen
    from lago_tui.widgets.timeline import TimelineView

    from conftest import fixed_clock

    path, _ = big

    async def run() -> None:
        app = LagoApp(Journal(path), clock=fixed_clock, settings_path=tmp_path / "settings.json")
        async with app.run_test(size=(120, 36)):
            app.open_session("BIG")
            deadline = time.monotonic() + 30
            while not (isinstance(app.screen, SessionDetailScreen) and app.screen.query(TimelineView)
                       and app.screen.query_one(TimelineView).row_count == RESULTS + HUGE + 1):
                assert time.monotonic() < deadline, "the big session did not open"
                await asyncio.sleep(0.05)  # (pilot.pause waits for a repaint each time: too slow a loop here)
            view = app.screen.query_one(TimelineView)
            # The rows the table asks for at the end (the page with the three 3 MB events), through the app's own
            # source and journal, in a thread as the table's fetcher does.
            source = view._source
            rows = await asyncio.to_thread(source.fetch, RESULTS - 60, 128)
            assert [row.ev.event_id for row in rows[-3:]] == [f"H{i}" for i in range(HUGE)]
            assert len(rows[-1].ev.payload["result"]) > 3_000_000
        assert app._exception is None

    asyncio.run(run())


def test_resource_failures_are_named_as_such_never_as_corruption(big: tuple[Path, Path], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = big
    monkeypatch.setattr(connection, "READER_MEMORY_LIMIT", "4MB")  # far too little for a 3 MB event
    with Journal(path) as journal:
        with pytest.raises(JournalResource) as info:
            timeline = journal.timeline("BIG")
            timeline.window(timeline.length - 3, 3)
    assert "not enough memory" in str(info.value) and "corrupt" not in str(info.value)
    here = Path("/j.duckdb")
    for message in ["Out of Memory Error: failed to allocate data of size 16.0 MiB (116.7 MiB/122.0 MiB used)",
                    'IO Error: Could not write file "/j.duckdb.wal": No space left on device',
                    "IO Error: Could not write all bytes to file: disk quota exceeded"]:
        translated = _translate(here, duckdb.IOException(message))
        assert isinstance(translated, JournalResource) and not isinstance(translated, JournalCorrupt), message
    assert isinstance(_translate(here, MemoryError()), JournalResource)
    assert isinstance(_translate(here, duckdb.IOException("Corrupt database file: checksum mismatch")), JournalCorrupt)


def test_a_session_imported_while_the_app_reads_it(big: tuple[Path, Path], tmp_path: Path) -> None:
    """A reader busy on the big session does not stop an import of more large events (the reader yields)."""
    path, _ = big
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(path.read_bytes())
    more = tmp_path / "more.jsonl"
    more.write_text("\n".join(json.dumps({"event_id": f"M{i}", "session_id": "BIG", "timestamp": T0 + 10**8 + i,
                                          "payload": {"type": "Message", "role": "user", "content": "m" * 30_000}})
                              for i in range(200)), encoding="utf-8")
    reader = Journal(copy, idle_release=30)
    stop = threading.Event()
    errors: list[BaseException] = []

    def browse() -> None:
        timeline = reader.timeline("BIG")
        position = 0
        while not stop.is_set():
            try:
                timeline.window(position % max(1, timeline.length - 100), 100)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return
            position += 97

    thread = threading.Thread(target=browse, daemon=True)
    thread.start()
    try:
        with Journal(copy, busy_timeout=5) as writer:
            assert writer.import_file(more).events == 200
    finally:
        stop.set()
        thread.join(timeout=30)
        reader.close()
    assert [e for e in errors if not isinstance(e, JournalResource)] == []
