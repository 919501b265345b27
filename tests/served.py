"""A real ``lago-tui serve`` process on a free loopback port, for tests that talk to a server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lago_tui.remote import RemoteJournal
from lago_tui.sidecar import read_sidecar, sidecar_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    journal_path: Path
    port: int
    token: str | None
    args: tuple[str, ...] = ()
    proc: subprocess.Popen | None = None
    clients: list[RemoteJournal] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Served:
        """Start the server and wait until it owns the file (its sidecar is there) and answers."""
        sidecar_path(self.journal_path).unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "lago_tui", "--journal", str(self.journal_path), "serve",
               "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        if self.token:
            cmd += ["--token", self.token]
        env = dict(os.environ)
        env.pop("LAGO_TOKEN", None)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True)
        deadline = time.monotonic() + timeout
        while True:
            found = read_sidecar(self.journal_path)
            if found is not None and found.pid == self.proc.pid:
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"lago-tui serve exited {self.proc.returncode}: {self.proc.stderr.read()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("lago-tui serve did not start in time")
            time.sleep(0.02)
        return self

    def client(self, **kwargs: object) -> RemoteJournal:
        client = RemoteJournal(self.url, self.token, **kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> str:
        """Stop the server; returns what it wrote on stderr."""
        proc, self.proc = self.proc, None
        if proc is None:
            return ""
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        return err or ""

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()
        self.stop()


def serve(journal_path: Path, *args: str, token: str | None = None, port: int | None = None) -> Served:
    return Served(journal_path, port or free_port(), token, tuple(args)).start()
