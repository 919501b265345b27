"""Serve-level measures: a real ``lago-tui serve`` process driven over HTTP by a load generator in a process
of its own (``python -m lago_tui.bench.serve --load SPEC``), as issue 8's targets ask:

* single-event appends from 32 concurrent keep-alive clients (each its own session), events/s;
* batched appends (500 events per request, 8 clients, each its own session), events/s;
* ack latency p99 at an offered 500 events/s (open loop: latency counts from the scheduled send time);
* append-to-arrival p50 on an open SSE stream (lago format);
* a CLI ``lago-tui sessions`` on the same file while the server is idle but up;
* the server's RSS after 1M appended events (100k with --quick).

Everything runs on this machine, the load generator included; read the numbers as medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .common import RESULT_TAG, Result

# --------------------------------------------------------------------------------------------- the server


class ServerProcess:
    """``lago-tui serve --port 0`` on a journal, its URL read from the line it prints."""

    def __init__(self, journal: Path, log: Path, *extra: str) -> None:
        self.journal = journal
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lago_tui", "--journal", str(journal), "serve", "--port", "0", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if "http://" not in line:
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}; see {log}")
        self.url = line.split("http://", 1)[1].split()[0]
        self.url = "http://" + self.url

    def rss_mb(self) -> float:
        """The server's resident memory (Linux: /proc), so the benchmark needs nothing the app does not."""
        with open(f"/proc/{self.proc.pid}/status") as fh:
            return int(fh.read().split("VmRSS:")[1].split()[0]) * 1024 / 1e6

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _post(conn: http.client.HTTPConnection, path: str, body: Any) -> dict[str, Any]:
    data = json.dumps(body).encode()
    conn.request("POST", path, data, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    payload = resp.read()
    if resp.status >= 300:
        raise RuntimeError(f"POST {path}: {resp.status} {payload[:200]!r}")
    return json.loads(payload)


def _writes(url: str) -> dict[str, Any]:
    """The server's group-commit figures (from /health)."""
    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    conn.request("GET", "/health")
    writes = json.loads(conn.getresponse().read()).get("writes", {})
    conn.close()
    return writes


def _commit_note(before: dict[str, Any], after: dict[str, Any]) -> str:
    groups = after["transactions"] - before["transactions"]
    if groups <= 0:
        return ""
    events = after["events"] - before["events"]
    ms = (after["commit_ms_total"] - before["commit_ms_total"]) / groups
    note = f"{events / groups:.0f} events per transaction, {ms:.0f} ms per commit"
    if "lean_transactions" in after:  # how many took the lean append path (journal/append_path.py)
        note += f", {(after['lean_transactions'] - before['lean_transactions']) / groups:.0%} lean"
    return note


def _sessions(url: str, n: int, prefix: str) -> list[str]:
    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    out = [_post(conn, "/v1/sessions", {"name": f"{prefix}-{i}", "model": "bench"})["session_id"] for i in range(n)]
    conn.close()
    return out


# --------------------------------------------------------------------------------------------- the load generator


def _message(text: str) -> dict[str, Any]:
    return {"payload": {"type": "Message", "role": "assistant", "content": text}}


def _closed_loop(url: str, sessions: list[str], clients: int, batch: int, seconds: float, total: int | None) -> dict:
    """``clients`` keep-alive connections, each on its own session, sending back to back.

    The generator shares the 2 cores with the server, so it is lean, as wrk or oha would be: one event loop,
    each connection's request made once as bytes, and an answer read as its head, Content-Length and body
    (32 threads with http.client spent about a third of a core on parsing headers and switching threads, and
    that third was taken from the server it measures). Every answer is still checked: a 2xx whose JSON holds
    the seq (or one seq per event).
    """
    return asyncio.run(_closed_loop_async(url, sessions, clients, batch, seconds, total))


async def _closed_loop_async(url: str, sessions: list[str], clients: int, batch: int, seconds: float,
                             total: int | None) -> dict:
    host = urlsplit(url)
    stop_at = time.monotonic() + seconds
    counts = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    budget = [total]
    text = "x" * 200
    body = json.dumps({"event": _message(text)} if batch == 1 else {"events": [_message(text)] * batch}).encode()
    answer_key = b'"seq"' if batch == 1 else b'"seqs"'

    def request(k: int) -> bytes:
        path = f"/v1/sessions/{sessions[k % len(sessions)]}/events"
        return (f"POST {path} HTTP/1.1\r\nHost: {host.hostname}:{host.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def client(k: int) -> None:
        message = request(k)
        reader, writer = await asyncio.open_connection(host.hostname, host.port)
        try:
            while time.monotonic() < stop_at:
                if budget[0] is not None:
                    if budget[0] <= 0:
                        break
                    budget[0] -= batch
                t = time.perf_counter()
                writer.write(message)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head[9:12])
                    found = _CONTENT_LENGTH(head)
                    if found is None:
                        raise RuntimeError(f"no Content-Length in {head[:200]!r}")
                    answer = await reader.readexactly(int(found.group(1)))
                except (OSError, asyncio.IncompleteReadError, ValueError, RuntimeError) as exc:
                    errors.append(str(exc)[:200])
                    writer.close()
                    reader, writer = await asyncio.open_connection(host.hostname, host.port)
                    continue
                if status >= 300 or answer_key not in answer:
                    errors.append(f"{status} {answer[:200]!r}")
                    continue
                latencies[k].append(time.perf_counter() - t)
                counts[k] += batch
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.perf_counter() - started
    lat = sorted(x for xs in latencies for x in xs)
    return {"events": sum(counts), "seconds": elapsed, "errors": errors[:5], "n_errors": len(errors),
            "p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
            "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else None}


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE).search


def _open_loop(url: str, sessions: list[str], rate: float, seconds: float, pool: int = 48) -> dict:
    """Single-event appends offered at ``rate``/s whatever the answers do; latency from the scheduled time."""
    host = urlsplit(url)
    n = int(rate * seconds)
    start = time.perf_counter() + 0.2
    next_i = [0]
    lock = threading.Lock()
    lat: list[float] = []
    errors: list[str] = []

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= n:
                break
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif -delay > 5.0:  # the server is far behind: what is left counts as late, unsent
                with lock:
                    lat.append(float("inf"))
                continue
            try:
                _post(conn, f"/v1/sessions/{sessions[i % len(sessions)]}/events", {"event": _message("open loop")})
            except Exception as exc:  # noqa: BLE001
                errors.append(str(exc)[:200])
                conn.close()
                conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
                continue
            with lock:
                lat.append(time.perf_counter() - due)
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(pool)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()
    late = sum(1 for x in lat if x == float("inf"))
    lat = [x if x != float("inf") else 1e6 for x in lat]  # JSON has no infinity: 1e6 s = 1e9 ms
    return {"events": len(lat), "late": late, "n_errors": len(errors), "errors": errors[:5],
            "p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
            "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else None}


def _sse_arrival(url: str, session: str, count: int, interval: float) -> dict:
    """Append ``count`` events one at a time; time from sending each to its frame arriving on a stream."""
    host = urlsplit(url)
    sock = socket.create_connection((host.hostname, host.port), timeout=60)
    sock.sendall(f"GET /v1/sessions/{session}/events?format=lago HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    reader = sock.makefile("rb")
    arrived: dict[str, float] = {}
    prefix = f"sse-{time.time_ns()}-"  # earlier runs' tags come back as history: never count them
    ready = threading.Event()

    def read() -> None:
        while len(arrived) < count:
            line = reader.readline()
            if not line:
                return
            ready.set()
            if line.startswith(b"data: "):
                try:
                    content = json.loads(line[6:])["payload"].get("content", "")
                except (ValueError, KeyError, AttributeError):
                    continue
                if content.startswith(prefix):
                    arrived[content] = time.perf_counter()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    _post(conn, f"/v1/sessions/{session}/events", {"event": _message("warm-up")})
    ready.wait(10)
    sent: dict[str, float] = {}
    for i in range(count):
        tag = f"{prefix}{i}"
        sent[tag] = time.perf_counter()
        _post(conn, f"/v1/sessions/{session}/events", {"event": _message(tag)})
        time.sleep(interval)
    thread.join(10)
    sock.close()
    lat = sorted((arrived[t] - sent[t]) * 1000 for t in sent if t in arrived)
    return {"events": len(lat), "missing": count - len(lat),
            "p50_ms": statistics.median(lat) if lat else None, "max_ms": lat[-1] if lat else None}


def load_main(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["kind"]
    if kind == "closed":
        return _closed_loop(spec["url"], spec["sessions"], spec["clients"], spec["batch"], spec["seconds"],
                            spec.get("total"))
    if kind == "open":
        return _open_loop(spec["url"], spec["sessions"], spec["rate"], spec["seconds"])
    if kind == "sse":
        return _sse_arrival(spec["url"], spec["sessions"][0], spec["count"], spec["interval"])
    raise ValueError(kind)


def _load(spec: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    """Run one load phase in a child process; its result."""
    proc = subprocess.run([sys.executable, "-m", "lago_tui.bench.serve", "--load", json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    raise RuntimeError(f"load generator failed: {proc.stderr.strip()[-500:]}")


# --------------------------------------------------------------------------------------------- the section


def serve_level(scratch: Path, runs: int, quick: bool, log) -> list[Result]:  # noqa: ANN001
    out: list[Result] = []
    seconds = 4.0 if quick else 10.0
    million = 100_000 if quick else 1_000_000
    journal = scratch / "serve.duckdb"
    server = ServerProcess(journal, scratch / "serve.log")
    try:
        idle_rss = server.rss_mb()
        clients = _sessions(server.url, 32, "single")

        r = Result("serve", "single-event appends, 32 keep-alive clients", "events/s", target=">= 1,500")
        p99s, notes = [], []
        for k in range(runs):
            before = _writes(server.url)
            res = _load({"kind": "closed", "url": server.url, "sessions": clients, "clients": 32, "batch": 1,
                         "seconds": seconds})
            notes.append(_commit_note(before, _writes(server.url)))
            r.values.append(res["events"] / res["seconds"])
            p99s.append(res["p99_ms"] or 0)
            log(f"  single-event run {k + 1}: {r.values[-1]:,.0f} events/s, p99 {res['p99_ms']:.0f} ms, "
                f"{res['n_errors']} errors")
        r.note = f"ack p99 {statistics.median(p99s):.0f} ms; {notes[len(notes) // 2]}"
        out.append(r)

        batchers = _sessions(server.url, 8, "batch")
        r = Result("serve", "batched appends (500 per request, 8 clients)", "events/s", target=">= 30,000")
        notes = []
        for k in range(runs):
            before = _writes(server.url)
            res = _load({"kind": "closed", "url": server.url, "sessions": batchers, "clients": 8, "batch": 500,
                         "seconds": seconds})
            notes.append(_commit_note(before, _writes(server.url)))
            r.values.append(res["events"] / res["seconds"])
            log(f"  batched run {k + 1}: {r.values[-1]:,.0f} events/s, {res['n_errors']} errors")
        r.note = notes[len(notes) // 2]
        out.append(r)

        r = Result("serve", "ack latency p99 at an offered 500 events/s", "ms", target="<= 100")
        late = []
        for k in range(runs):
            res = _load({"kind": "open", "url": server.url, "sessions": clients, "rate": 500, "seconds": seconds})
            r.values.append(res["p99_ms"] or float("inf"))
            late.append(res["late"])
            log(f"  open loop run {k + 1}: p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, "
                f"{res['late']} given up as > 5 s late, {res['n_errors']} errors")
        if any(late):
            r.note = f"saturated: up to {max(late)} of {int(500 * seconds)} requests more than 5 s late (counted 1e9 ms)"
        out.append(r)

        r = Result("serve", "append to arrival on an open SSE stream, p50", "ms", target="<= 100")
        streamed = _sessions(server.url, 1, "stream")
        for k in range(runs):
            res = _load({"kind": "sse", "url": server.url, "sessions": streamed, "count": 40, "interval": 0.05})
            r.values.append(res["p50_ms"] if res["p50_ms"] is not None else float("inf"))
            log(f"  sse run {k + 1}: p50 {res['p50_ms'] or float('nan'):.1f} ms, "
                f"max {res['max_ms'] or float('nan'):.1f} ms, {res['missing']} missing")
        out.append(r)

        r = Result("serve", "CLI 'lago-tui sessions' while the server is idle but up", "ms", target="<= 1,500")
        failures = 0
        for _ in range(max(runs, 3)):
            time.sleep(1.5)  # the server lets go of the file after 1 s without work
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "lago_tui", "--journal", str(journal), "sessions"],
                                  capture_output=True, text=True, timeout=60)
            if proc.returncode == 0:
                r.values.append((time.perf_counter() - t) * 1000)
            else:
                failures += 1
        r.note = f"{failures} failed" if failures else "each after 1.5 s idle"
        out.append(r)

        r = Result("serve", f"server RSS after {million:,} appended events", "MB", target="<= 250")
        bulk = _sessions(server.url, 100, "bulk")
        t = time.perf_counter()
        res = _load({"kind": "closed", "url": server.url, "sessions": bulk, "clients": 4, "batch": 500,
                     "seconds": 3600, "total": million})
        dt = time.perf_counter() - t
        r.values.append(server.rss_mb())
        r.note = (f"idle at start {idle_rss:.0f} MB; {res['events']:,} events in {dt:.0f} s "
                  f"({res['events'] / dt:,.0f}/s) into 100 sessions")
        log(f"  bulk: {res['events']:,} events in {dt:.0f} s, RSS {r.values[-1]:.0f} MB")
        out.append(r)
    finally:
        server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lago_tui.bench.serve")
    ap.add_argument("--load", required=True, help="a load phase as JSON (internal)")
    args = ap.parse_args(argv)
    result = load_main(json.loads(args.load))
    print(RESULT_TAG + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
