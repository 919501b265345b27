"""Safe by default: loopback only, a bearer token when asked (compared in constant time), no CORS unless
one origin is named, bounded bodies and streams.

A web page open in the user's browser can send requests to 127.0.0.1; without CORS headers it cannot read
the answers, and a JSON POST needs a preflight that we never grant, so it cannot write either.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads the defaults below without importing Starlette
    from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_MAX_STREAMS = 100
HEADER_TIMEOUT = 10.0  # seconds to send a request's head (slow clients must not hold connections)
KEEP_ALIVE_TIMEOUT = 5.0  # seconds an idle keep-alive connection stays open
MAX_HEADER_BYTES = 32 * 1024  # all request headers together
PUBLIC_PATHS = frozenset({"/health"})  # answered without a token (a load balancer's liveness probe)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address (127.0.0.0/8, ::1)."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(bare, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)


class BearerAuth:
    """ASGI middleware: every route but the public ones needs ``Authorization: Bearer TOKEN``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = token.encode("utf-8")

    def _authorized(self, scope: Scope) -> bool:
        value = b""
        for name, header in scope["headers"]:
            if name == b"authorization":
                value = header
                break
        scheme, _, given = value.partition(b" ")
        if scheme.lower() != b"bearer":
            # compare anyway, so a missing header costs the same as a wrong one
            hmac.compare_digest(self.expected, self.expected + b"x")
            return False
        return hmac.compare_digest(given.strip(), self.expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        from .errors import error_response

        response = error_response(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)",
                                  headers={"WWW-Authenticate": 'Bearer realm="lago-tui"'})
        await response(scope, receive, send)


class HeaderLimit:
    """ASGI middleware: 431 when the request's headers together exceed MAX_HEADER_BYTES (uvicorn only
    bounds a head that arrives in pieces)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
            from .errors import error_response

            response = error_response(431, f"request headers are larger than {MAX_HEADER_BYTES} bytes",
                                      code="request_header_fields_too_large")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def cors_middleware(origin: str) -> tuple[type, dict]:
    """Starlette's CORS middleware for exactly one origin (``--cors ORIGIN``)."""
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware, {
        "allow_origins": [origin.rstrip("/")],
        "allow_methods": ["GET", "POST", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type", "Last-Event-ID"],
        "expose_headers": ["x-vercel-ai-ui-message-stream"],
        "max_age": 600,
    }
