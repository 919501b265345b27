"""Whether a journal file's serve sidecar names a live server (and then a client for it)."""

from __future__ import annotations

import os
from pathlib import Path

from ..sidecar import process_alive, read_sidecar
from .client import RemoteJournal
from .errors import RemoteError

CHECK_TIMEOUT = 2.0  # seconds the server gets to answer as itself


def live_server(journal: Path) -> RemoteJournal | None:
    """A client for the server that owns ``journal``, or None when its sidecar is stale.

    Stale: unreadable, its process is gone, or its URL does not answer ``/lago-tui/v1/info`` as the
    server that wrote it (same pid, same journal file). Then the file is used directly, as always.
    """
    sidecar = read_sidecar(journal)
    if sidecar is None or not process_alive(sidecar.pid):
        return None
    client = RemoteJournal(sidecar.url, sidecar.token, connect_timeout=CHECK_TIMEOUT, read_timeout=CHECK_TIMEOUT)
    try:
        info = client.probe()
    except RemoteError:
        client.close()
        return None
    if not info or info.get("pid") != sidecar.pid or not _same_file(info.get("journal"), journal):
        client.close()
        return None
    client.close()
    served = RemoteJournal(sidecar.url, sidecar.token)
    served.info = info
    served.served_file = str(journal)
    return served


def _same_file(served: object, journal: Path) -> bool:
    if not isinstance(served, str):
        return False
    try:
        return os.path.samefile(served, journal)
    except OSError:
        return False


__all__ = ["live_server"]
