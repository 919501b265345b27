"""Issue 11's measures: appends lost while a person browses, and peak memory of a large import.

``python -m lago_tui.bench.robust [--trials N] [--import-mb MB]`` runs them alone; ``python -m lago_tui.bench``
runs them after the app level (``--no-robust`` skips them).

* The lock fight (see :mod:`.lockfight`): an agent at 20 events/s through a BatchingWriter while the real app
  holds PageDown on that session; target 0 appends lost or failed.
* Import memory: a JSON Lines file of ``MB`` megabytes of ordinary events (1,024 in the full run: the issue's
  1 GB, streamed; and 120 MB, read whole by DuckDB) imported by a child process whose peak RSS (VmHWM) is read at
  the end; target <= 600 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from .common import T0, Result, child_env
from .lockfight import lockfight_results


_MEASURE = """
    import json, sys, time
    from lago_tui.journal import Journal

    t = time.perf_counter()
    result = Journal(sys.argv[1]).import_file(sys.argv[2])
    seconds = time.perf_counter() - t
    with open("/proc/self/status") as fh:  # VmHWM: the kernel's own peak, which no sampling can miss
        peak_kb = int(fh.read().split("VmHWM:")[1].split()[0])
    print(json.dumps({"events": result.events, "seconds": seconds, "peak_mb": peak_kb / 1024}), flush=True)
"""


WHOLE_MB = 120  # the largest file below wholefile.WHOLE_MAX: the other import path's memory


def generate(path: Path, megabytes: int) -> int:
    """JSON Lines of ordinary agent events (messages, tool calls and results) across 200 sessions."""
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore".split()
    n = size = 0
    with open(path, "w", encoding="utf-8") as fh:
        for s in range(200):
            line = json.dumps({"event_id": f"S{s}", "session_id": f"MEM{s}", "timestamp": T0,
                               "payload": {"type": "SessionCreated", "name": f"mem-{s}", "config": {"model": "m"}}})
            fh.write(line + "\n")
            size += len(line) + 1
        while size < megabytes * 2**20:
            n += 1
            kind = n % 4
            if kind == 0:
                payload = {"type": "ToolCallRequested", "call_id": f"c{n}", "tool_name": "grep",
                           "arguments": {"pattern": words[n % 15], "path": "/src"}}
            elif kind == 1:
                payload = {"type": "ToolCallCompleted", "call_id": f"c{n - 1}", "tool_name": "grep",
                           "result": " ".join(words[(n + i) % 15] for i in range(40)), "duration_ms": 12, "status": "ok"}
            else:
                payload = {"type": "Message", "role": "assistant" if kind == 2 else "user",
                           "content": " ".join(words[(n * 7 + i) % 15] for i in range(10 + n % 70)),
                           "token_usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}}
            line = json.dumps({"event_id": f"E{n}", "session_id": f"MEM{n % 200}", "timestamp": T0 + n,
                               "payload": payload, "metadata": {}})
            fh.write(line + "\n")
            size += len(line) + 1
    return n + 200


def import_memory(scratch: Path, megabytes: int, log) -> Result:  # noqa: ANN001
    from ..journal.wholefile import WHOLE_MAX

    way = "read whole by DuckDB" if megabytes * 2**20 < WHOLE_MAX * 0.99 else "streamed"
    r = Result("robust", f"peak RSS importing a {megabytes:,} MB JSON Lines file ({way})", "MB", target="<= 600")
    source = scratch / "memory.jsonl"
    events = generate(source, megabytes)
    journal = scratch / "memory.duckdb"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_MEASURE), str(journal), str(source)],
                          capture_output=True, text=True, env=child_env(), timeout=3600)
    for leftover in (source, journal, Path(f"{journal}.wal"), Path(f"{journal}.lock")):
        leftover.unlink(missing_ok=True)
    if proc.returncode != 0:
        r.missing = f"import failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
        return r
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    r.values.append(res["peak_mb"])
    r.note = f"{res['events']:,} events in {res['seconds']:.0f} s ({res['events'] / res['seconds']:,.0f}/s)"
    log(f"  import memory: {res}")
    assert res["events"] == events
    return r


def robust_results(scratch: Path, log, *, trials: int = 3, import_mb: int = 1024) -> list[Result]:  # noqa: ANN001
    os.environ.setdefault("LAGO_TUI_CONFIG_DIR", tempfile.mkdtemp(prefix="lago-bench-cfg-"))
    return [*lockfight_results(trials, scratch, log), import_memory(scratch, import_mb, log),
            import_memory(scratch, WHOLE_MB, log)]


def main(argv: list[str] | None = None) -> int:
    from .common import print_table

    ap = argparse.ArgumentParser(prog="python -m lago_tui.bench.robust", description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=3, help="lock-fight trials (7.5 s each)")
    ap.add_argument("--import-mb", type=int, default=1024, help="size of the generated import file")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lago-bench-robust-") as tmp:
        results = robust_results(Path(tmp), lambda m: print(m, file=sys.stderr, flush=True), trials=args.trials,
                                 import_mb=args.import_mb)
    print_table(results, f"lago-tui bench (robust): {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
