"""Benchmarks of lago-tui on a synthetic journal: ``python -m lago_tui.bench [--quick] [--runs N] [--json OUT]``.

Builds (or reuses, cached in a temp directory keyed by the parameters and the generator's source) a synthetic
journal from :mod:`lago_tui.synth` — by default 10,000 sessions, 1,000,000 events, one session of 200,000
events with nested branches — then measures, and prints a table of medians over ``--runs`` runs (the same
numbers go to ``--json``):

* journal level: the session list query, 100-event windows of the big timeline at random positions, import
  rate, appends (direct and through the BatchingWriter), search across all events, Timeline.find;
* analysis: state at random points of the big session, comparing two 100k-event attempts, the
  integrity check of the whole journal;
* query level (issue 13): typed list queries to an updated list, typed timeline queries to the first match;
* robust (issue 11): appends lost while the app holds PageDown on the agent's session, peak memory of a
  1 GB (``--quick``: 256 MB) import;
* app level, driving the real app headless (``App.run_test(size=(120, 40))`` with a Pilot) in child
  processes: process start to a painted session list, filter keystrokes, opening the big session, ``G``,
  PageDown, a jump, switching to a nested branch, search, key latency during a search, live updates from
  another process, the create-session form, peak RSS, and a plain DataTable loaded with every row as a
  baseline;
* remote (``bench/remote.py``): the same app through a ``lago-tui serve`` on this machine (start-up beside
  the local figure, open, ``G``, jump, PageDown) and an agent appending 20 events/s through the server while
  PageDown is held on its session (0 failed appends).

"Painted" means the table's row renderer produced the row (Textual renders through the compositor even when
headless; only the terminal write is skipped). Timings on a shared 2-core machine are noisy: read medians.

This module imports textual only inside the child processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from .analysis import analysis_level
from .app_level import app_level, child_main
from .common import FULL, QUICK, Result, cached_journal, print_table
from .journal_level import journal_level
from .query import query_level

__all__ = ["Result", "main"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lago_tui.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smaller journal (1,000 sessions, 100,000 events)")
    ap.add_argument("--runs", type=int, default=None, help="runs per measure, medians reported (5; 3 with --quick)")
    ap.add_argument("--json", metavar="OUT", help="also write the results as JSON here")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "lago-tui-bench"))
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached synthetic journal")
    ap.add_argument("--no-app", action="store_true", help="journal level only")
    ap.add_argument("--no-journal", action="store_true", help="app level only")
    ap.add_argument("--no-analysis", action="store_true", help="skip state / compare / check (issue 10)")
    ap.add_argument("--no-remote", action="store_true", help="leave out the remote rows (the app through a server)")
    ap.add_argument("--serve", action="store_true",
                    help="only the server's measures: a real lago-tui serve under load from another process")
    ap.add_argument("--no-robust", action="store_true", help="skip the lock fight and the large-import memory")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--manifest", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child, args.db, args.manifest, args.runs)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    params = QUICK if args.quick else FULL
    if args.runs is None:
        args.runs = 3 if args.quick else 5
    if args.serve:
        return _serve(args, log)
    t_all = time.perf_counter()
    load_before = os.getloadavg()[0]
    db, m, files, built = cached_journal(params, args.seed, Path(args.cache_dir), rebuild=args.rebuild, log=log)
    scratch = Path(tempfile.mkdtemp(prefix="lago-bench-scratch-"))
    results: list[Result] = []
    try:
        if not args.no_journal:
            log("journal level ...")
            results += journal_level(db, m, files, args.runs, scratch, built, log)
            log("query level ...")
            results += query_level(db, m, args.runs, log)
        if not args.no_analysis:
            log("analysis ...")
            results += analysis_level(db, m, args.runs, scratch, args.quick, log)
        if not args.no_app:
            log("app level ...")
            results += app_level(db, m, args.runs, scratch, log)
            from .detail import detail_level

            log("detail screen ...")
            results += detail_level(db, m, args.runs, log)
        if not args.no_app and not args.no_remote:
            from .remote import remote_level

            log("remote (the app through lago-tui serve) ...")
            results += remote_level(db, m, args.runs, scratch, log, quick=args.quick, local=results)
        if not (args.no_robust or args.no_app):  # the lock fight drives the app
            from .robust import robust_results  # here: `python -m lago_tui.bench.robust` runs it alone

            log("robust (lock fight, large-import memory) ...")
            results += robust_results(scratch, log, trials=args.runs, import_mb=256 if args.quick else 1024)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    header = (f"lago-tui bench: {m.sessions:,} sessions, {m.events:,} events, big session {m.big:,} events "
              f"(deepest branch {m.deepest_branch}); payload avg {m.payload_bytes_avg:.0f} B, max "
              f"{m.payload_bytes_max:,} B; medians of {args.runs} runs; {os.cpu_count()} CPUs; "
              f"{time.perf_counter() - t_all:.0f} s; load average {load_before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after")
    print_table(results, header)
    if args.json:
        Path(args.json).write_text(json.dumps({"header": header, "journal": str(db), "manifest": asdict(m),
                                               "results": [r.to_json() for r in results]}, indent=1),
                                   encoding="utf-8")
    return 0


def _serve(args: argparse.Namespace, log) -> int:  # noqa: ANN001
    from .serve import serve_level

    t_all = time.perf_counter()
    load_before = os.getloadavg()[0]
    scratch = Path(tempfile.mkdtemp(prefix="lago-bench-serve-"))
    try:
        results = serve_level(scratch, args.runs, args.quick, log)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    header = (f"lago-tui bench --serve: a lago-tui serve process and a load generator process on this machine; "
              f"medians of {args.runs} runs; {os.cpu_count()} CPUs; {time.perf_counter() - t_all:.0f} s; load "
              f"average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print_table(results, header)
    if args.json:
        Path(args.json).write_text(json.dumps({"header": header, "results": [r.to_json() for r in results]},
                                              indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
