"""A real ``lago-tui serve`` process on a free loopback port, and a real HTTP client (``http.client``)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]


class Server:
    """``lago-tui --journal PATH serve --port 0 ...``; stderr (the access log) goes to a file."""

    def __init__(self, journal: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True) -> None:
        self.journal = journal
        self.log_path = journal.with_name(journal.name + ".serve.log")
        self.log = self.log_path.open("w")
        full_env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lago_tui", "--journal", str(journal), "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=full_env, cwd=str(REPO),
        )
        self.url = ""
        self.line = ""
        if wait:
            self.line = self.proc.stdout.readline() if self.proc.stdout else ""
            if "http://" not in self.line:
                self.stop()
                raise RuntimeError(f"server did not start: {self.line!r}\n{self.stderr()}")
            self.url = "http://" + self.line.split("http://", 1)[1].split()[0]
            parts = urlsplit(self.url)
            self.host, self.port = parts.hostname, parts.port

    def client(self, token: str | None = None) -> Client:
        return Client(self.host, self.port, token=token)

    def stderr(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    """Keep-alive JSON client; reconnects when the server closed the connection."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host, self.port, self.token = host, port, token
        self.conn = http.client.HTTPConnection(host, port, timeout=30)

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None, content_type: str | None = "application/json") -> Response:
        hdrs = {}
        if content_type is not None and (body is not None or raw is not None):
            hdrs["Content-Type"] = content_type
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        hdrs.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, data, hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def close(self) -> None:
        self.conn.close()

    # conveniences
    def new_session(self, name: str = "s", **fields: Any) -> str:
        r = self.post("/v1/sessions", {"name": name, **fields})
        assert r.status == 201, r
        return r.json["session_id"]

    def append(self, session: str, *events: dict[str, Any]) -> Response:
        if len(events) == 1:
            return self.post(f"/v1/sessions/{session}/events", {"event": events[0]})
        return self.post(f"/v1/sessions/{session}/events", {"events": list(events)})


def message(content: str = "hello", role: str = "user", **fields: Any) -> dict[str, Any]:
    return {"payload": {"type": "Message", "role": role, "content": content}, **fields}


class Stream:
    """An SSE stream read line by line from a raw socket (so frames arrive as the server sends them)."""

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        self.sock = socket.create_connection((host, port), timeout=15)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
        self.file = self.sock.makefile("rb")
        status_line = self.file.readline().decode()
        self.status = int(status_line.split()[1])
        self.headers: dict[str, str] = {}
        while True:
            line = self.file.readline().decode().rstrip("\r\n")
            if not line:
                break
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self._buffer = b""

    def _read_chunk(self) -> bytes:
        if not self.chunked:
            return self.file.read1(65536)
        size_line = self.file.readline()
        if not size_line:
            return b""
        size = int(size_line.strip() or b"0", 16)
        if size == 0:
            self.file.readline()
            return b""
        data = self.file.read(size)
        self.file.readline()
        return data

    def frames(self, count: int, timeout: float = 15) -> list[dict[str, str]]:
        """The next ``count`` frames (comments such as ': ping' count as frames with key 'comment')."""
        out: list[dict[str, str]] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            while b"\n\n" not in self._buffer:
                self.sock.settimeout(max(0.1, deadline - time.monotonic()))
                data = self._read_chunk()
                if not data:
                    return out
                self._buffer += data
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            frame: dict[str, str] = {}
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    frame["comment"] = line[1:].strip()
                else:
                    k, _, v = line.partition(":")
                    frame[k] = v[1:] if v.startswith(" ") else v
            out.append(frame)
        return out

    def events(self, count: int, timeout: float = 15) -> list[dict[str, str]]:
        """The next ``count`` frames with data, skipping keep-alive comments."""
        out: list[dict[str, str]] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            got = self.frames(1, timeout=max(0.1, deadline - time.monotonic()))
            if not got:
                break
            if "data" in got[0]:
                out.append(got[0])
        return out

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # the makefile() keeps the descriptor open otherwise
        except OSError:
            pass
        self.file.close()
        self.sock.close()


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
