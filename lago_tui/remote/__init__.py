"""The journal interface over HTTP: a client of ``lago-tui serve`` (or of any Lago server).

No Textual here, and nothing of it is imported unless a journal is a URL or a served file.
"""

from .client import RemoteJournal, RemoteTimeline
from .errors import NeedsLagoTuiServe, NotALagoServer, RemoteError, ServerTimeout, ServerUnavailable, Unauthorized

__all__ = [
    "NeedsLagoTuiServe", "NotALagoServer", "RemoteError", "RemoteJournal", "RemoteTimeline", "ServerTimeout",
    "ServerUnavailable", "Unauthorized",
]
