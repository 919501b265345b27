"""Running the app with uvicorn: our own listening socket (so ``--port 0`` can print the real URL), a
request-head timeout uvicorn lacks, and a graceful stop on SIGINT/SIGTERM.

On a signal: streams send their done frame and end, requests in flight finish (at most
:data:`GRACEFUL_SECONDS`), the committer commits what is queued, the file is released, exit 0.

HTTP parsing is httptools and the event loop uvloop (uvicorn's "standard" choice), where installed; else
uvicorn's pure-Python h11 and asyncio's own loop. Measured here (32 keep-alive clients sending single-event
appends, a lean load generator on the same 2 cores): h11 + asyncio 1,595 events/s, httptools 2,000,
httptools + uvloop 2,240. Every request of a single-event client waits for the loop twice (its request
parsed, its answer written) between two group commits, so the loop's time per request is on the path of
every ack. (With the earlier threaded load generator, which took a third of a core from the server, the
difference did not show.) ``--http h11`` (hidden) chooses h11.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from .accesslog import configure_logging, escape
from .errors import error_response
from .security import HEADER_TIMEOUT, KEEP_ALIVE_TIMEOUT, MAX_HEADER_BYTES
from .state import ServerState

GRACEFUL_SECONDS = 5.0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); ``OSError`` with the reason when it cannot be had."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(2048)
            sock.set_inheritable(True)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"no address for {host}")


def url_of(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    return f"http://{shown}:{port}"


def default_http() -> str:
    """httptools where it is installed, else h11."""
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


def default_loop() -> str:
    """uvloop where it is installed (not on Windows), else asyncio's own loop."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


# A request head (request line and headers) longer than this is refused with 431 as it arrives: the headers'
# own limit (security.HeaderLimit, 32 KiB) plus room for a long request line. h11 bounds a head that arrives
# in pieces by itself (16 KiB); httptools does not, and read a 100 MB header line before letting go.
MAX_HEAD_BYTES = MAX_HEADER_BYTES + 16 * 1024
_HEAD_TOO_LARGE = error_response(431, f"request head is larger than {MAX_HEAD_BYTES} bytes",
                                 code="request_header_fields_too_large").body


def _protocol_class(http: str, header_timeout: float = HEADER_TIMEOUT) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol plus a deadline and a size limit for the request head: a connection that opens
    and sends a head slowly (or nothing) is closed after HEADER_TIMEOUT seconds instead of being held
    forever, and one whose head passes MAX_HEAD_BYTES gets 431 and is closed."""
    if http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base  # type: ignore[assignment]

    class Protocol(Base):  # type: ignore[misc, valid-type]
        _head_timer: asyncio.TimerHandle | None = None
        _waiting_cycle: Any = None
        _head_bytes = 0  # bytes received since the connection (or the last answer) while no head is complete

        def _arm_head_timer(self) -> None:
            self._disarm_head_timer()
            self._waiting_cycle = self.cycle
            self._head_bytes = 0
            self._head_timer = self.loop.call_later(header_timeout, self._head_timeout)

        def _disarm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timeout(self) -> None:
            self._head_timer = None
            if self.cycle is self._waiting_cycle and not self.transport.is_closing():
                self.transport.close()  # still no (new) request head

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def data_received(self, data: bytes) -> None:
            timer = self._head_timer
            super().data_received(data)
            if self._head_timer is None or self._head_timer is not timer:
                return  # reading a body, or a whole request was answered meanwhile (the count starts again)
            if self.cycle is not self._waiting_cycle:
                self._disarm_head_timer()  # a request head arrived (what came with it is its body)
                return
            self._head_bytes += len(data)  # all of it part of a head still incomplete
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()

        def _refuse_head(self) -> None:
            self._disarm_head_timer()
            if not self.transport.is_closing():
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                    b"content-length: " + str(len(_HEAD_TOO_LARGE)).encode() + b"\r\nconnection: close\r\n\r\n"
                    + _HEAD_TOO_LARGE)
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_timer()
            super().connection_lost(exc)

    return Protocol


class _Server(uvicorn.Server):
    """uvicorn's server with our start line, shutdown hook, and signals that end in a normal exit."""

    def __init__(self, config: uvicorn.Config, state: ServerState, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.lago = state
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self.on_started()

    def handle_exit(self, sig: int, frame: Any) -> None:
        first = not self.should_exit
        super().handle_exit(sig, frame)
        if first:
            loop = self.lago.bell._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self.lago.begin_shutdown)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the signal after a graceful stop; a server that stopped as asked exits 0.
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def run(app: Any, state: ServerState, sock: socket.socket, url: str, *, http: str | None = None,
        header_timeout: float = HEADER_TIMEOUT) -> None:
    """Serve until SIGINT/SIGTERM. Prints one line with the URL once the server accepts requests."""

    def started() -> None:
        journal = escape(str(state.settings.journal))
        print(f"lago-tui serve: {url} (journal {journal}); Ctrl+C to stop", flush=True)

    config = uvicorn.Config(
        app, http=_protocol_class(http or default_http(), header_timeout), loop=default_loop(), lifespan="on", log_config=configure_logging(),
        access_log=False, server_header=False, date_header=True, timeout_keep_alive=int(KEEP_ALIVE_TIMEOUT),
        timeout_graceful_shutdown=int(GRACEFUL_SECONDS), backlog=2048,
    )
    # The committer thread runs short DuckDB statements (4-6 on the lean path, ~25 on the general one) and
    # needs the GIL back after each (and inside each, where DuckDB checks for signals); with the event loop
    # busy it waited up to the 5 ms default switch interval every time. (0.1 ms and 2 ms measured no better
    # than 0.5 ms for 500-event batches.)
    # (A pure-Python busy thread made a 32-event group commit 50 -> 379 ms at 5 ms, 228 ms at 0.5 ms.)
    sys.setswitchinterval(0.0005)
    server = _Server(config, state, started)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        sys.stdout.flush()
