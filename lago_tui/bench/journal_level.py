"""Journal-level measures: list, windows, import, appends, search (no UI)."""

from __future__ import annotations

import random
import shutil
import statistics
import time
from pathlib import Path

from .. import synth
from .common import Result, _message, _timed


def journal_level(db: Path, m: synth.Manifest, files: Path, runs: int, scratch: Path, built: bool, log) -> list[Result]:  # noqa: ANN001
    from ..journal import BatchingWriter, Journal

    out: list[Result] = []
    rng = random.Random(1234)
    j = Journal(db, idle_release=30)
    try:
        # ---------------------------------------------------------------- session list
        cold, _ = _timed(j.list_sessions, limit=100, sort="last_activity")
        r = Result("journal", "list_sessions(limit=100, by last activity)", "ms", target="<= 60",
                   note=f"first call (opens the file) {cold:.0f} ms")
        for _ in range(max(runs, 5)):
            r.values.append(_timed(j.list_sessions, limit=100, sort="last_activity")[0])
        out.append(r)
        r = Result("journal", "list_sessions filtered ('big-ref')", "ms", target="<= 60")
        for _ in range(max(runs, 5)):
            r.values.append(_timed(j.list_sessions, "big-ref", limit=100)[0])
        out.append(r)

        # ---------------------------------------------------------------- timeline windows
        tl_ms, tl = _timed(j.timeline, m.big_session_id, m.deepest_branch)
        r = Result("journal", f"100-event window, random positions ({tl.length:,}-event nested branch)", "ms",
                   target="<= 15", note=f"Timeline() built in {tl_ms:.0f} ms; {len(tl.segments)} segments")
        for _ in range(max(runs, 5) * 10):
            pos = rng.randrange(0, max(1, tl.length - 100))
            r.values.append(_timed(tl.window, pos, 100)[0])
        out.append(r)
        main = j.timeline(m.big_session_id, "main")
        r = Result("journal", f"100-event window, random positions (main, {main.length:,} events)", "ms", target="<= 15")
        for _ in range(max(runs, 5) * 10):
            r.values.append(_timed(main.window, rng.randrange(0, max(1, main.length - 100)), 100)[0])
        out.append(r)

        # ---------------------------------------------------------------- search and find
        r = Result("journal", f"Journal.search rare word across {m.events:,} events", "ms", target="<= 600")
        hits = 0
        for _ in range(runs):
            ms, found = _timed(j.search, m.rare_word)
            r.values.append(ms)
            hits = len(found)
        r.note = f"{hits} hits"
        out.append(r)
        r = Result("journal", "Timeline.find first match in the big session", "ms", target="<= 600")
        pos = None
        for _ in range(runs):
            ms, pos = _timed(tl.find, m.needle, 0)
            r.values.append(ms)
        r.note = f"match at position {pos} of {tl.length:,}"
        out.append(r)
        r = Result("journal", "Timeline.find with no match (whole branch scanned)", "ms", target="<= 600")
        for _ in range(runs):
            r.values.append(_timed(tl.find, "nosuchwordanywhere", 0)[0])
        out.append(r)
    finally:
        j.close()

    # ---------------------------------------------------------------- import rate
    jsonl = sorted(files.glob("synth-*.jsonl"))
    r = Result("journal", "import rate (Journal.import_file, fresh journal)", "events/s", target=">= 100,000")
    if built and m.import_s:
        r.note = f"whole build: {m.events:,} events imported in {m.import_s:.1f} s = {m.events / m.import_s:,.0f}/s"
    if jsonl:
        take = jsonl[:2]
        cpu_rates = []
        for k in range(3):  # a median of 3: the rate swings with the machine's load
            path = scratch / f"import-{k}.duckdb"
            target = Journal(path)
            t, c = time.perf_counter(), time.process_time()
            n = sum(target.import_file(f).events for f in take)
            dt, cpu = time.perf_counter() - t, time.process_time() - c
            cpu_rates.append(n / cpu)
            target.close()
            path.unlink(missing_ok=True)
            Path(str(path) + ".wal").unlink(missing_ok=True)
            r.values.append(n / dt)
            log(f"  import {n:,} events: {dt:.1f} s")
        r.note = (r.note + "; " if r.note else "") + (
            f"{len(take)} files, {n:,} events; {statistics.median(cpu_rates):,.0f} events per CPU-second (both "
            "cores: reading and checking overlap DuckDB's inserts; on a loaded machine compare this)")
    else:
        r.missing = "no JSONL files cached"
    out.append(r)

    # ---------------------------------------------------------------- appends (on a copy: they write)
    copy = scratch / "appends.duckdb"
    shutil.copyfile(db, copy)
    j = Journal(copy, idle_release=0.2)
    try:
        sid = j.create_session({"name": "bench-appends", "model": "bench"})
        r = Result("journal", "Journal.append, batches of 100", "events/s", target=">= 10,000")
        for _ in range(max(3, runs)):
            batch = [_message(sid) for _ in range(100)]
            ms, _ = _timed(j.append, batch)
            r.values.append(100 / (ms / 1000))
        r.note = f"one batch = one transaction on a {m.events:,}-event journal, to a new small session"
        out.append(r)
        r = Result("journal", f"Journal.append, batches of 100, to the {m.big:,}-event session", "events/s",
                   target=">= 10,000", note="plain events: the lean path updates the session's aggregates from the batch")
        for _ in range(3):
            batch = [_message(m.big_session_id) for _ in range(100)]
            ms, _ = _timed(j.append, batch)
            r.values.append(100 / (ms / 1000))
        out.append(r)
        r = Result("journal", "BatchingWriter, 2,000 events pushed as batches of 100", "events/s", target=">= 10,000")
        for _ in range(max(2, min(runs, 3))):
            writer = BatchingWriter(j, interval=0.1, max_events=2000)
            t = time.perf_counter()
            futures = []
            for _ in range(20):
                futures += writer.extend([_message(sid) for _ in range(100)])
            for f in futures:
                f.result(timeout=120)
            dt = time.perf_counter() - t
            writer.close()
            r.values.append(2000 / dt)
        out.append(r)
    finally:
        j.close()
    return out
