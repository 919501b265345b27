"""The serve sidecar: ``FILE.serve.json`` says which ``lago-tui serve`` owns a journal file right now.

While a server owns a journal it keeps this small file beside it (owner-only permissions: it holds the
token) with its URL, pid, token, the journal's path and its start time, and removes it on exit. Local
commands and the TUI on that file read it and go through the server instead of fighting it for the
file's lock (:func:`lago_tui.connect.open_journal`). A sidecar whose process is gone, or whose URL does
not answer as that server, is stale and ignored (:func:`lago_tui.remote.sidecar.live_server`).

Plain files only: no HTTP here (the server writes it, the client reads it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SUFFIX = ".serve.json"


def sidecar_path(journal: str | os.PathLike[str]) -> Path:
    journal = Path(journal)
    return journal.with_name(journal.name + SUFFIX)


@dataclass(frozen=True)
class Sidecar:
    url: str
    pid: int
    token: str | None
    journal: str
    started_at: int  # microseconds since the epoch
    boot: str = ""  # the server's boot id (its /lago-tui/v1/info answers the same)

    def __repr__(self) -> str:  # never the token
        return f"Sidecar(url={self.url!r}, pid={self.pid}, journal={self.journal!r})"


def write_sidecar(journal: str | os.PathLike[str], sidecar: Sidecar) -> Path:
    """Write the sidecar atomically, readable by its owner only (it may hold the token)."""
    target = sidecar_path(journal)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(sidecar), fh)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


def remove_sidecar(journal: str | os.PathLike[str], pid: int | None = None) -> None:
    """Remove the sidecar (only our own: another server may have taken the file over since)."""
    target = sidecar_path(journal)
    if pid is not None:
        found = read_sidecar(journal)
        if found is not None and found.pid != pid:
            return
    try:
        target.unlink()
    except OSError:
        pass


def read_sidecar(journal: str | os.PathLike[str]) -> Sidecar | None:
    """The sidecar's contents, or None when there is none or it cannot be read or parsed."""
    try:
        data: Any = json.loads(sidecar_path(journal).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        url, pid = data["url"], data["pid"]
        token, path, started = data.get("token"), data.get("journal", ""), data.get("started_at", 0)
    except KeyError:
        return None
    if not isinstance(url, str) or not isinstance(pid, int) or not (token is None or isinstance(token, str)):
        return None
    return Sidecar(url, pid, token, str(path), int(started) if isinstance(started, int) else 0,
                   str(data.get("boot", "")))


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, someone else's
        return True
    except OSError:
        return False
    return True


def local_url(url: str) -> str:
    """The URL a process on this machine should use: a wildcard listen address becomes loopback."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in ("0.0.0.0", "::", ""):
        loop = "127.0.0.1" if host != "::" else "[::1]"
        return urlunsplit((parts.scheme, f"{loop}:{parts.port}" if parts.port else loop, parts.path, "", ""))
    return url


@contextmanager
def serving_sidecar(journal: str | os.PathLike[str], url: str, token: str | None) -> Iterator[Path | None]:
    """Keep the sidecar beside ``journal`` while the body runs (the server serves), then remove it."""
    journal = Path(journal).resolve()
    sidecar = Sidecar(local_url(url), os.getpid(), token, str(journal), time.time_ns() // 1000)
    try:
        written: Path | None = write_sidecar(journal, sidecar)
    except OSError as exc:  # a read-only directory: serving works, local clients just won't find it
        print(f"lago-tui serve: cannot write {sidecar_path(journal)} ({exc.strerror or exc}); local commands on "
              f"the file will not go through this server", file=sys.stderr, flush=True)
        written = None
    try:
        yield written
    finally:
        if written is not None:
            remove_sidecar(journal, os.getpid())
