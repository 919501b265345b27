"""Remote rows: the same app measures through a ``lago-tui serve`` on this machine, beside the local ones.

A real server (``lago-tui --journal DB serve --port 0``) serves a copy of the synthetic journal; the app
children of :mod:`lago_tui.bench.app_level` run with the server's URL as their journal. Then an agent
process appends 20 events/s through Lago's HTTP route to the big session while the app holds PageDown on
it; every append must succeed (the fix for "holding PageDown made 104 of 150 appends fail").
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .. import synth
from .app_level import (
    _STARTUP_CODE,
    _child,
    _make_app,
    _query_when_mounted,
    _run_child,
    _send_key,
    _session_list_table,
    _spawn,
    _until,
    _instrument,
    _painted_since,
)
from .common import Result

AGENT_RATE = 20.0  # events per second
HOLD_SECONDS = 30.0  # how long PageDown is held (5 with --quick)


def _start_server(db: Path, log) -> tuple[subprocess.Popen, str]:  # noqa: ANN001
    from ..sidecar import read_sidecar, sidecar_path

    sidecar_path(db).unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lago_tui", "--journal", str(db), "serve", "--port", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        found = read_sidecar(db)
        if found is not None and found.pid == proc.pid:
            log(f"  server {found.url} (pid {proc.pid})")
            return proc, found.url
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("lago-tui serve did not start")
        time.sleep(0.05)


def _stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def remote_level(db: Path, m: synth.Manifest, runs: int, scratch: Path, log, *, quick: bool = False,  # noqa: ANN001
                 local: list[Result] | None = None) -> list[Result]:
    """The remote rows; ``local``: this run's app rows, so each remote row notes its local figure."""
    by_name = {r.name: r for r in local or ()}
    copy = scratch / "served.duckdb"
    shutil.copyfile(db, copy)
    manifest = Path(str(copy) + ".synth.json")
    shutil.copyfile(Path(str(db) + ".synth.json"), manifest)
    out: list[Result] = []
    proc, url = _start_server(copy, log)
    try:
        # ------------------------------------------------------------ start-up, local and remote in turn
        local = Result("remote", "local: process start to first painted session list", "ms")
        remote = Result("remote", "remote: process start to first painted session list", "ms")
        for _ in range(runs):
            for r, target in ((local, str(db)), (remote, url)):
                t, res, err = _spawn([sys.executable, "-c", _STARTUP_CODE, target], timeout=120)
                if res is None:
                    r.missing = f"child failed: {err}"
                    continue
                r.values.append((res["painted_wall"] - t) * 1000)
        ratio = Result("remote", "remote / local start to painted list", "x", target="<= 1.5")
        if local.median and remote.median:
            ratio.values = [remote.median / local.median]
            ratio.note = f"{remote.median:,.0f} ms vs {local.median:,.0f} ms, same run"
        else:
            ratio.missing = "a side is missing"
        out += [local, remote, ratio]
        log("  remote startup done")

        # ------------------------------------------------------------ navigation through the server
        _, res, err = _spawn(_child("nav", url, manifest, runs))  # type: ignore[arg-type]
        for key, label, target in (
            ("open", f"remote: enter on the {m.big:,}-event session to painted timeline", "<= 300"),
            ("last", "remote: G (last event) to painted", "<= 150"),
            ("jump", "remote: jump to a random position to painted", "<= 150"),
            ("pagedown", "remote: PageDown to painted", "<= 60"),
            ("search", "remote: search first match (enter to painted match)", ""),
        ):
            r = Result("remote", label, "ms", target=target)
            mine = by_name.get(label.removeprefix("remote: "))
            if res is None:
                r.missing = f"child failed: {err}"
            elif key in res.get("missing", {}):
                r.missing = res["missing"][key]
            else:
                r.values = res.get(key, [])
                if not r.values:
                    r.missing = res.get("error") or "no sample"
                elif mine is not None and mine.median:
                    r.note = f"local {mine.median:,.1f} ms this run: {r.median / mine.median:.2f}x"
            out.append(r)
        log("  remote navigation done")

        # ------------------------------------------------------------ an agent writing while PageDown is held
        hold = 5.0 if quick else HOLD_SECONDS
        _, res, err = _spawn([sys.executable, "-m", "lago_tui.bench.remote", url, str(manifest), str(hold)],
                             timeout=hold + 180)
        r = Result("remote", f"agent at {AGENT_RATE:.0f} events/s through the server, PageDown held {hold:.0f} s: "
                   "failed appends", "count", target="<= 0")
        if res is None:
            r.missing = f"child failed: {err}"
        else:
            r.values = [res["failed"]]
            r.note = (f"{res['appended']} appended, {res['keys']} PageDowns, {res['seen']} of them on screen in the "
                      f"end; append latency p50 {res['p50']:.0f} ms, max {res['max']:.0f} ms")
        out.append(r)
        log("  agent and PageDown done")
    finally:
        _stop_server(proc)
    return out


_AGENT_CODE = """
import http.client, json, sys, threading, time
host, port = sys.argv[1].removeprefix("http://").split(":")
session, rate, seconds = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
counts = {"ok": 0, "failed": 0}
lat = []
lock = threading.Lock()
start = time.monotonic()

def agent(worker, workers):  # each on its own keep-alive connection, sends on a fixed schedule
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    i = worker
    while True:
        due = start + i / rate
        if due > start + seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        t = time.monotonic()
        body = json.dumps({"event": {"payload": {"type": "Message", "role": "assistant", "content": f"agent {i}"}}})
        try:
            conn.request("POST", f"/v1/sessions/{session}/events", body=body,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse(); r.read()
            key = "ok" if r.status == 200 else "failed"
        except Exception:
            key = "failed"
            conn.close(); conn = http.client.HTTPConnection(host, int(port), timeout=10)
        with lock:
            counts[key] += 1
            lat.append((time.monotonic() - t) * 1000)
        i += workers

threads = [threading.Thread(target=agent, args=(w, 4)) for w in range(4)]
for t in threads: t.start()
for t in threads: t.join()
lat.sort()
print(json.dumps({**counts, "p50": lat[len(lat) // 2] if lat else 0, "max": lat[-1] if lat else 0}))
"""


def child_hold_pagedown(url: str, m: synth.Manifest, hold: float) -> None:
    """Hold PageDown on the big session (a key every ~30 ms) while an agent process appends to it."""
    _instrument()
    app = _make_app(url)
    res: dict[str, Any] = {}

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = await _session_list_table(app, pilot)
            await _until(lambda: _painted_since(table, 0) is not None, 60)
            from ..widgets.timeline import TimelineView

            app.call_later(app.open_session, m.big_session_id)
            view = await _query_when_mounted(app, "SessionDetailScreen", TimelineView)
            await _until(lambda: view is not None and not view.is_loading and view.row_count > 0, 60)
            view.focus()
            await pilot.pause()
            agent = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _AGENT_CODE, url, m.big_session_id, str(AGENT_RATE), str(hold),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            keys = 0
            end = time.monotonic() + hold
            while time.monotonic() < end:
                _send_key(app, "pagedown")
                keys += 1
                await asyncio.sleep(0.03)
            out, err = await agent.communicate()
            data = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
            res.update(failed=data.get("failed", -1), appended=data.get("ok", 0), p50=data.get("p50", 0),
                       max=data.get("max", 0), keys=keys, seen=view.cursor)
            if not data:
                res["error"] = err.decode()[-300:]
            app.exit()

    _run_child(go, res)


def main_child(argv: list[str]) -> int:
    """``python -m lago_tui.bench.remote URL MANIFEST HOLD`` (what ``--child holdpd`` runs)."""
    url, manifest, hold = argv
    m = synth.Manifest.from_json(Path(manifest).read_text(encoding="utf-8"))
    child_hold_pagedown(url, m, float(hold))
    return 0


if __name__ == "__main__":
    raise SystemExit(main_child(sys.argv[1:]))
