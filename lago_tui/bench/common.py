"""What the benchmark sections share: results, the cached synthetic journal, timing, the table."""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import synth

T0 = 1_700_000_000_000_000  # the timestamps (microseconds) of the events the robust measures generate


def child_env() -> dict[str, str]:
    """The environment for a measuring child (``python -c ...``): this checkout's lago_tui first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    return env

FULL = {"sessions": 10_000, "events": 1_000_000, "big": 200_000}
QUICK = {"sessions": 1_000, "events": 100_000, "big": 20_000}
RESULT_TAG = "BENCH-RESULT "


@dataclass
class Result:
    level: str
    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str = ""  # e.g. "<= 60"
    note: str = ""
    missing: str = ""  # why there is no number

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def ok(self) -> bool | None:
        med = self.median
        if med is None or not self.target:
            return None
        op, num = self.target.split()
        limit = float(num.replace(",", ""))
        return med <= limit if op == "<=" else med >= limit

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["median"] = self.median
        d["ok"] = self.ok
        return d


def _source_hash() -> str:
    src = Path(synth.__file__).read_bytes()
    return hashlib.sha256(src).hexdigest()[:10]


def cached_journal(params: dict[str, int], seed: int, cache_dir: Path, *, rebuild: bool, log) -> tuple[Path, synth.Manifest, Path, bool]:  # noqa: ANN001
    """(journal path, manifest, JSONL dir, built now?) — built once per parameters and generator version."""
    key = f"s{params['sessions']}-e{params['events']}-b{params['big']}-seed{seed}-{_source_hash()}"
    root = cache_dir / key
    db = root / "journal.duckdb"
    files = root / "jsonl"
    done = root / "done"
    if rebuild and root.exists():
        shutil.rmtree(root)
    if done.exists() and db.exists():
        log(f"reusing {db}")
        return db, synth.load_manifest(db), files, False
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    log(f"building {db} ({params['sessions']:,} sessions, {params['events']:,} events, big session "
        f"{params['big']:,}) ...")
    chunk = 100_000 if params["events"] >= 400_000 else 25_000
    manifest = synth.build(db, seed=seed, chunk=chunk, work_dir=files, keep_files=True, log=log, **params)
    done.write_text("ok")
    return db, manifest, files, True


def _timed(fn, *args, **kw) -> tuple[float, Any]:  # noqa: ANN001
    t = time.perf_counter()
    out = fn(*args, **kw)
    return (time.perf_counter() - t) * 1000, out


def _message(session_id: str, branch: str = "main", text: str = "bench append") -> dict[str, Any]:
    from ..journal import ids

    return {"event_id": ids.new_ulid(), "session_id": session_id, "branch_id": branch,
            "timestamp": time.time_ns() // 1000, "payload": {"type": "Message", "role": "user", "content": text}}


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit in ("events/s",):
        return f"{v:,.0f}"
    if unit == "x":
        return f"{v:,.1f}"
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def print_table(results: list[Result], header: str) -> None:
    print()
    print(header)
    if not results:
        return
    w = max(len(r.name) for r in results)
    print(f"{'level':8} {'measure':{w}} {'median':>12} {'unit':9} {'target':>12} {'ok':4} {'n':>3}  notes")
    print("-" * (w + 60))
    for r in results:
        ok = {True: "yes", False: "NO", None: ""}[r.ok]
        med = r.missing if r.missing and r.median is None else _fmt(r.median, r.unit)
        if r.missing and r.median is None:
            print(f"{r.level:8} {r.name:{w}} {'':>12} {'':9} {r.target:>12} {'':4} {'':>3}  {r.missing}")
            continue
        print(f"{r.level:8} {r.name:{w}} {med:>12} {r.unit:9} {r.target:>12} {ok:4} {len(r.values):>3}  {r.note}")
