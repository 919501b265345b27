"""HTTP to one server: keep-alive connections, timeouts, the bearer token, and every failure as one line.

Standard library only (``http.client``): the client adds nothing to start-up and nothing to install.
Idle connections are pooled and shared by every thread (the TUI runs each call in a fresh worker thread,
so per-thread connections would never be reused); a request takes one, and gives it back once its
response has been read. A connection idle for longer than the server keeps it open is dropped rather
than reused, so a request never races the server closing it.

The token is sent only in the ``Authorization`` header: never in a message, a URL or a ``repr``.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from .errors import NotALagoServer, RemoteError, ServerTimeout, ServerUnavailable, Unauthorized
from .protocol import error_from_body

ENV_TOKEN = "LAGO_TOKEN"

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 30.0
_MAX_IDLE = 2.0  # seconds an idle connection is reused (uvicorn closes them after 5)
_POOL_SIZE = 8
_USER_AGENT = "lago-tui"


def is_url(target: str | None) -> bool:
    return bool(target) and target.split("://", 1)[0].lower() in ("http", "https") and "://" in target  # type: ignore[union-attr]


def display_url(url: str) -> str:
    """The URL to show people: no user, password, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body)


class Transport:
    """Requests to one server (``http://`` or ``https://``, optionally below a path prefix)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise RemoteError(f"not a valid server URL: {url!r} ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise RemoteError(f"not a valid server URL: {url!r} (expected http://HOST[:PORT] or https://...)")
        self.scheme = scheme
        self.host = parts.hostname
        self.port = port or (443 if scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.url = display_url(url)
        self._token = token or None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._ssl = ssl_context
        self._pool: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:  # never the token
        return f"Transport({self.url!r}, token={'set' if self._token else 'none'})"

    @property
    def has_token(self) -> bool:
        return self._token is not None

    # ------------------------------------------------------------------ connections

    def _new_connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            context = self._ssl or ssl.create_default_context()
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """A pooled connection (reused=True) or a new one, not yet connected."""
        now = time.monotonic()
        with self._lock:
            while self._pool:
                conn, since = self._pool.pop()
                if now - since < _MAX_IDLE:
                    return conn, True
                conn.close()
        return self._new_connection(self.connect_timeout), False

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._pool) < _POOL_SIZE:
                self._pool.append((conn, time.monotonic()))
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, []
        for conn, _ in pool:
            conn.close()

    # ------------------------------------------------------------------ requests

    def path(self, route: str, query: Iterable[tuple[str, str]] | Mapping[str, str] | None = None) -> str:
        qs = urlencode(list(query.items()) if isinstance(query, Mapping) else list(query or ()))
        return self.base_path + route + (f"?{qs}" if qs else "")

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        out = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if self._token:
            out["Authorization"] = f"Bearer {self._token}"
        if extra:
            out.update(extra)
        return out

    def request(
        self,
        method: str,
        route: str,
        *,
        query: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
        json_body: Any = None,
        body: bytes | Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Response:
        """Send one request and read the whole response. ``check``: raise on 4xx/5xx (as journal errors).

        A reused connection that turns out closed is retried once on a new one for a GET (the server
        never saw it); anything else that fails becomes a :class:`RemoteError`.
        """
        extra = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            extra["Content-Type"] = "application/json"
        target = self.path(route, query)
        attempt = 0
        while True:
            attempt += 1
            conn, reused = self._take()
            try:
                conn.timeout = self.connect_timeout
                if conn.sock is None:
                    conn.connect()
                conn.sock.settimeout(timeout or self.read_timeout)
                conn.request(method, target, body=body, headers=self.headers(extra))
                raw = conn.getresponse()
                response = Response(raw.status, raw.headers, raw.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if reused and attempt == 1 and (method == "GET" or isinstance(exc, BrokenPipeError)):
                    continue
                raise self.failure(exc, reading=True) from None
            except BaseException as exc:
                self._abandon(conn, exc, timeout)
                raise
            if raw.will_close:
                conn.close()
            else:
                self._give_back(conn)
            if check and response.status >= 400:
                raise self.http_error(response)
            return response

    def stream(
        self,
        method: str,
        route: str,
        *,
        query: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Start a request whose response is read as it comes (export, the change feed, uploads).

        The connection is the caller's: close it when done. Errors before the body are raised here.
        """
        conn = self._new_connection(self.connect_timeout)
        try:
            conn.connect()
            conn.sock.settimeout(timeout or self.read_timeout)
            target = self.path(route, query)
            hdrs = self.headers(headers)
            if body is not None and not isinstance(body, (bytes, bytearray)):  # a file: send it in chunks
                conn.putrequest(method, target, skip_accept_encoding=True)
                for key, value in hdrs.items():
                    conn.putheader(key, value)
                conn.endheaders()
                while chunk := body.read(256 * 1024):
                    conn.send(chunk)
            else:
                conn.request(method, target, body=body, headers=hdrs)
            raw = conn.getresponse()
        except BaseException as exc:
            self._abandon(conn, exc, timeout)
            raise
        if raw.status >= 400:
            try:
                response = Response(raw.status, raw.headers, raw.read())
            except (OSError, http.client.HTTPException) as exc:
                raise self.failure(exc, reading=True) from None
            finally:
                conn.close()
            raise self.http_error(response)
        return conn, raw

    def lines(self, raw: http.client.HTTPResponse) -> Iterator[bytes]:
        """The lines of a streamed body; a broken stream is a :class:`RemoteError`."""
        try:
            while True:
                line = raw.readline()
                if not line:
                    return
                yield line
        except (OSError, http.client.HTTPException) as exc:
            raise self.failure(exc, reading=True) from None

    # ------------------------------------------------------------------ failures

    def _abandon(self, conn: http.client.HTTPConnection, exc: BaseException, timeout: float | None) -> None:
        """Close a connection a request failed on; raise the one-line error if it was a network failure
        (anything else, e.g. KeyboardInterrupt, the caller re-raises)."""
        connected = conn.sock is not None
        conn.close()
        if isinstance(exc, (OSError, http.client.HTTPException, ValueError)):
            raise self.failure(exc, reading=connected, timeout=timeout) from None

    def failure(self, exc: BaseException, *, reading: bool, timeout: float | None = None) -> RemoteError:
        """One clear line for a failure to talk to the server at all."""
        where = f"the lago-tui server at {self.url}"
        if isinstance(exc, (TimeoutError, socket.timeout)):
            if reading:
                return ServerTimeout(f"{where} did not answer within {timeout or self.read_timeout:g} s")
            return ServerUnavailable(f"cannot reach {where}: timed out after {self.connect_timeout:g} s")
        if isinstance(exc, ConnectionRefusedError):
            return ServerUnavailable(f"cannot reach {where}: connection refused (is `lago-tui serve` running?)")
        if isinstance(exc, socket.gaierror):
            return ServerUnavailable(f"cannot reach {where}: unknown host {self.host!r}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return RemoteError(f"{where}: TLS certificate not trusted ({exc.verify_message or exc})")
        if isinstance(exc, ssl.SSLError):
            return NotALagoServer(f"{self.url} did not answer HTTPS ({exc.reason or exc}); is it http:// instead?")
        if isinstance(exc, http.client.IncompleteRead):
            return ServerUnavailable(f"{where} closed the connection in the middle of an answer")
        if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
            return ServerUnavailable(f"{where} closed the connection (restarting or stopped?)")
        if isinstance(exc, http.client.HTTPException):  # BadStatusLine and friends: not HTTP at all
            return NotALagoServer(f"{self.url} is not a Lago server (it does not speak HTTP)")
        if isinstance(exc, OSError):
            return ServerUnavailable(f"cannot reach {where}: {exc.strerror or exc}")
        return RemoteError(f"{where}: {exc}")

    def http_error(self, response: Response) -> Exception:
        """The journal error for a 4xx/5xx answer."""
        body: Any = None
        if response.content_type == "application/json":
            try:
                body = response.json()
            except ValueError:
                body = None
        if response.status == 401:
            if self._token:
                return Unauthorized(f"the server at {self.url} refused the token (401): check $LAGO_TOKEN")
            return Unauthorized(
                f"the server at {self.url} needs a token (401): set LAGO_TOKEN to the token `lago-tui serve` was given"
            )
        if isinstance(body, dict):
            known = error_from_body(body)
            if known is not None:
                return known
            message = body.get("message")
            if isinstance(message, str) and message:
                if response.status == 503:
                    return ServerUnavailable(f"the server at {self.url} is unavailable: {message}")
                return RemoteError(message)
        if response.status in (502, 503, 504):
            return ServerUnavailable(f"the server at {self.url} is unavailable ({response.status})")
        if response.status in (404, 405) or body is None:
            return NotALagoServer(
                f"{self.url} is not a Lago server (HTTP {response.status}, {response.content_type or 'no content type'})"
            )
        return RemoteError(f"the server at {self.url} answered {response.status}")
