"""The lock fight of issue 11: an agent appends through a BatchingWriter while a person browses the session.

``python -m lago_tui.bench.lockfight [--trials N] [--seconds S] [--rate R]``

An agent process appends ``rate`` events a second through :class:`~lago_tui.journal.BatchingWriter` (the README's
way) to a session of ~30,000 events, while the real app (headless, driven by a Pilot in this process) shows that
session and holds PageDown (a key every ~33 ms, as a held key repeats) into parts of the timeline it has not read
yet. Counted per trial: appends acknowledged, appends that failed, and acknowledged appends missing from the
journal afterwards. The target is 0 lost or failed.

Textual is imported only in this module's functions (the bench's journal level never needs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from .common import T0, Result, child_env


AGENT = """
    import json, sys, threading, time
    from lago_tui.journal import BatchingWriter, Journal

    path, session, seconds, rate = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    journal = Journal(path)  # the defaults an agent gets
    ok, failed, errors, lock = [], [], [], threading.Lock()

    def watch(future, event_id):
        def done(f):
            with lock:
                if f.exception() is not None:
                    failed.append(event_id)
                    errors.append(str(f.exception()))
                else:
                    ok.append(event_id)
        future.add_done_callback(done)

    print("ready", flush=True)
    sys.stdin.readline()
    n, end = 0, time.monotonic() + seconds
    closing_error = None
    writer = BatchingWriter(journal)
    try:
        while time.monotonic() < end:
            n += 1
            event_id = f"fight-{n:06d}"
            event = {"event_id": event_id, "session_id": session, "timestamp": 1_800_000_000_000_000 + n,
                     "payload": {"type": "Message", "role": "assistant", "content": f"agent event {n}"}}
            watch(writer.append(event), event_id)
            time.sleep(1 / rate)
    finally:
        try:
            writer.close()
        except Exception as exc:  # newer writers report failed appends here as well
            closing_error = str(exc)
    journal.close()
    with lock:
        print(json.dumps({"sent": n, "ok": ok, "failed": failed, "errors": errors[:3],
                          "closing_error": closing_error}), flush=True)
"""


def build_journal(path: Path, events: int = 30_000) -> str:
    from ..journal import Journal

    source = path.with_suffix(".jsonl")
    session = "01LOCKFIGHT000000000000000"
    with open(source, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"event_id": "LF-0", "session_id": session, "timestamp": T0,
                             "payload": {"type": "SessionCreated", "name": "lock-fight", "config": {"model": "m"}}}))
        fh.write("\n")
        for i in range(1, events):
            fh.write(json.dumps({"event_id": f"LF-{i}", "session_id": session, "timestamp": T0 + i * 1000,
                                 "payload": {"type": "Message", "role": "user" if i % 2 else "assistant",
                                             "content": f"message {i} " + "lorem ipsum dolor " * (i % 7)}}))
            fh.write("\n")
    with Journal(path) as journal:
        journal.import_file(source)
    source.unlink()
    return session


async def _browse(path: Path, session: str, agent: subprocess.Popen[str], key_interval: float) -> int:
    from ..app import LagoApp
    from ..journal import Journal
    from ..screens.session_detail import SessionDetailScreen
    from ..widgets.timeline import TimelineView

    journal = Journal(path)  # the defaults `lago-tui` uses
    app = LagoApp(journal, settings_path=path.with_suffix(".settings.json"))
    presses = 0
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_session(session)
        deadline = time.monotonic() + 30
        while not (isinstance(app.screen, SessionDetailScreen) and app.screen.query(TimelineView)
                   and app.screen.query_one(TimelineView).row_count > 1):
            if time.monotonic() > deadline:
                raise RuntimeError("the session did not open")
            await pilot.pause(0.05)
        assert agent.stdin is not None
        agent.stdin.write("go\n")
        agent.stdin.flush()
        from textual import events

        while agent.poll() is None:  # keys as a terminal sends a held key (pilot.press waits for idle)
            key = events.Key("pagedown", None)
            key.set_sender(app)
            app.post_message(key)
            presses += 1
            await asyncio.sleep(key_interval)
    journal.close()
    return presses


def trial(workdir: Path, seconds: float, rate: float, key_interval: float = 0.033, events: int = 30_000) -> dict[str, Any]:
    """One agent run against one person holding PageDown; counts of appends sent, acknowledged, failed, and
    acknowledged but missing afterwards."""
    from ..journal import Journal

    path = workdir / f"fight-{time.monotonic_ns()}.duckdb"
    session = build_journal(path, events)
    agent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(AGENT), str(path), session, str(seconds), str(rate)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=child_env())
    try:
        assert agent.stdout is not None
        if agent.stdout.readline().strip() != "ready":
            raise RuntimeError(agent.stderr.read() if agent.stderr else "agent did not start")
        presses = asyncio.run(_browse(path, session, agent, key_interval))
        out, err = agent.communicate(timeout=300)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"agent said nothing: {err[-500:]}")
    report = json.loads(lines[-1])
    with Journal(path) as journal:
        stored = {e["event_id"] for e in journal.export(session)}
    acked_missing = [e for e in report["ok"] if e not in stored]
    for suffix in ("", ".wal", ".lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return {"sent": report["sent"], "ok": len(report["ok"]), "failed": len(report["failed"]),
            "acked_missing": len(acked_missing), "presses": presses, "errors": report["errors"],
            "closing_error": report["closing_error"]}


def lockfight_results(trials: int, scratch: Path, log, seconds: float = 7.5, rate: float = 20) -> list[Result]:  # noqa: ANN001
    lost = Result("robust", f"appends lost or failed while PageDown is held ({rate:.0f} events/s agent)", "appends",
                  target="<= 0")
    failed_trials = 0
    for k in range(trials):
        res = trial(scratch, seconds, rate)
        log(f"  lock fight {k + 1}: {res}")
        lost.values.append(res["failed"] + res["acked_missing"])
        failed_trials += bool(res["failed"] or res["acked_missing"])
    lost.note = f"{failed_trials} of {trials} trials lost appends; {seconds:.1f} s per trial"
    return [lost]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lago_tui.bench.lockfight", description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=7.5)
    ap.add_argument("--rate", type=float, default=20.0)
    args = ap.parse_args(argv)
    os.environ.setdefault("LAGO_TUI_CONFIG_DIR", tempfile.mkdtemp(prefix="lago-lockfight-cfg-"))
    with tempfile.TemporaryDirectory(prefix="lago-lockfight-") as tmp:
        results = lockfight_results(args.trials, Path(tmp), lambda m: print(m, file=sys.stderr, flush=True),
                                    args.seconds, args.rate)
    for r in results:
        print(f"{r.name}: median {r.median} {r.unit} (values {r.values}); {r.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
