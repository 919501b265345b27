"""One line per request on stderr: method, path, status, duration. Never a body, never a header (so never
the token); every byte a client chose is shown escaped, so the log holds no control character."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Everything but printable ASCII: C0, DEL, and (in text decoded as latin-1 or UTF-8) C1 and beyond.
_UNSAFE = re.compile(r"[^\x20-\x7e]")
_UNSAFE_KEEP_NL = re.compile(r"[^\x20-\x7e\n]")


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character outside printable ASCII as a visible escape (``\\x1b``)."""
    return (_UNSAFE_KEEP_NL if keep_newlines else _UNSAFE).sub(_escape_char, text)


def request_target(scope: Scope) -> str:
    """The path and query exactly as the client sent them (percent-escapes kept), escaped for a log."""
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    target = raw.decode("latin-1")
    query = scope.get("query_string") or b""
    if query:
        target += "?" + query.decode("latin-1")
    return escape(target)


class AccessLog:
    """ASGI middleware (outermost): logs each request when its answer is complete (a stream: when it ends)."""

    def __init__(self, app: ASGIApp, stream: TextIO | None = None) -> None:
        self.app = app
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        except Exception:  # noqa: BLE001 - already answered 500 and logged by the error handler
            status = status or 500
        finally:
            ms = (time.perf_counter() - started) * 1000
            line = f"{escape(scope.get('method', '?'))} {request_target(scope)} {status or '-'} {ms:.1f}ms\n"
            try:
                (self.stream or sys.stderr).write(line)
            except (OSError, ValueError):  # stderr closed or full: the request itself went fine
                pass


class EscapingFormatter(logging.Formatter):
    """For uvicorn's own messages: the same escaping as the access log (newlines of tracebacks kept)."""

    def format(self, record: logging.LogRecord) -> str:
        return escape(super().format(record), keep_newlines=True)


def configure_logging(level: int = logging.WARNING) -> dict[str, Any]:
    """A logging config for uvicorn: its warnings and errors on stderr, escaped; no access log of its own."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"escaped": {"()": EscapingFormatter, "format": "lago-tui serve: %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "escaped", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": logging.CRITICAL, "propagate": False},
        },
    }
