"""lago-tui's own routes, under ``/lago-tui/v1``: what the TUI and the CLI need that Lago's API lacks.

Lago's routes (``/v1/...``, ``/health``) stay exactly Lago's; everything here is separate, described in
:mod:`lago_tui.remote.protocol` (shared with the client) and documented in the README ("Extension routes").

Every journal call runs in a worker thread, never on the event loop. Built timelines are kept in a small
LRU (:class:`TimelineCache`) so that a client paging through a 200k-event branch pays for the shape of the
timeline once, as a local reader does. The change feed (:class:`ChangeFeed`) tells followers about every
write, whoever made it: this server's commits (:meth:`Extension.note_write`) at once, other processes'
writes by the journal's ``change_token`` within :data:`WATCH_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..journal.api import JournalAPI, TimelineAPI
from ..journal.errors import InvalidEvent, JournalError
from ..remote import protocol as P
from .jsonio import read_json
from .state import ANY

TIMELINE_CACHE = 32  # built timelines kept (session, branch, kind filter)
WATCH_INTERVAL = 0.1  # seconds between looks at the journal's change token (a stat, no file opened)
PING_INTERVAL = 5.0  # seconds between keep-alive comments on the change stream
EXPORT_CHUNK = 500  # events per chunk of an export stream
MAX_FIND_TEXT = 10_000
MAX_MATCHES = 100_000  # positions per /timeline/matches answer
MAX_IMPORT = P.MAX_IMPORT  # an import goes to a temporary file first, never to memory


def json_response(value: Any, status: int = 200) -> Response:
    # ASCII escapes: any string the journal holds travels exactly, whatever it contains.
    body = json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return Response(body, status_code=status, media_type="application/json")


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response({"error": code, "message": message, **extra}, status)


def journal_error_response(exc: BaseException) -> Response:
    status, body = P.error_body(exc)
    return json_response(body, status)


# ---------------------------------------------------------------------------------------------- timelines


@dataclass
class _Entry:
    timeline: TimelineAPI
    lock: threading.Lock = field(default_factory=threading.Lock)


Filter = tuple[tuple[str, ...] | None, str | None]  # (kinds, hiding query text) a timeline was built with


class TimelineCache:
    """Built timelines by (session id, branch id, kinds, hiding query), least recently used dropped first.

    A timeline's positions never change (appends only add positions at the end), so one built at any
    head answers every client that knows a shorter or equal length; it is refreshed when a client knows
    more than it does. Each entry has a lock: a timeline is not safe to page and refresh at once.
    """

    def __init__(self, owner: Any, size: int = TIMELINE_CACHE) -> None:
        self._owner = owner  # has .journal (the server's, once open)
        self.size = size
        self._entries: OrderedDict[tuple[str, str, Filter], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def journal(self) -> JournalAPI:
        return self._owner.journal

    def _put(self, timeline: TimelineAPI, hide: str | None) -> _Entry:
        key = (timeline.session_id, timeline.branch_id, (timeline.kinds, hide))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(timeline)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def open(self, session: str, branch: str, kinds: tuple[str, ...] | None, hide: str | None = None) -> _Entry:
        """For a client opening or refreshing a timeline (``session`` may be a name or prefix)."""
        detail = self.journal.session(session)
        timeline = self.journal.timeline(detail.summary.session_id, branch, kinds, query=hide, detail=detail)
        key = (timeline.session_id, timeline.branch_id, (timeline.kinds, hide))
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return self._put(timeline, hide)
        with entry.lock:
            entry.timeline.refresh()
        return self._put(entry.timeline, hide)

    def get(self, session_id: str, branch_id: str, kinds: tuple[str, ...] | None, length: int,
            hide: str | None = None) -> _Entry:
        """For a client that has the timeline (ids exact, kinds as the server resolved them): one at least
        ``length`` long."""
        key = (session_id, branch_id, (kinds, hide))
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            entry = self._put(self.journal.timeline(session_id, branch_id, kinds, query=hide), hide)
        if entry.timeline.length < length:
            with entry.lock:
                if entry.timeline.length < length:
                    entry.timeline.refresh()
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def timeline_meta(timeline: TimelineAPI) -> dict[str, Any]:
    return {
        "session_id": timeline.session_id,
        "branch_id": timeline.branch_id,
        "kinds": list(timeline.kinds) if timeline.kinds is not None else None,
        "query": timeline.query.text if getattr(timeline, "query", None) is not None else None,
        "length": timeline.length,
        "segment_bounds": [[b, seq] for b, seq in timeline.segment_bounds],
        "fork_positions": timeline.fork_positions,
    }


# ---------------------------------------------------------------------------------------------- change feed


class ChangeFeed:
    """The journal's changes as a stream, on the server's commit bell.

    The bell rings (key ``ANY``) after every commit of the server's committer; writes it does not see
    (this extension's own, another process's while the server was idle) ring it through a thread that
    compares the journal's change token (two ``stat`` calls, no file opened) every :data:`WATCH_INTERVAL`.
    The token followers get is ``BOOT-VERSION``: a restarted server never repeats an old one.
    """

    def __init__(self, state: Any) -> None:
        self.state = state
        self.boot = secrets.token_hex(4)
        self._watching = False
        self._lock = threading.Lock()

    @property
    def bell(self) -> Any:
        return self.state.bell

    @property
    def token(self) -> str:
        return f"{self.boot}-{self.bell.version(ANY)}"

    def note_write(self) -> None:
        """A write just committed (from any thread): followers hear of it now."""
        self.bell.ring_threadsafe([])

    def _start_watching(self) -> None:
        with self._lock:
            if self._watching:
                return
            self._watching = True
        threading.Thread(target=self._watch, name="lago-tui-change-watch", daemon=True).start()

    def _watch(self) -> None:
        journal = self.state.journal
        last = journal.change_token()
        while not self.state.shutting_down and not self.bell.closed:
            time.sleep(WATCH_INTERVAL)
            try:
                token = journal.change_token()
            except Exception:  # a stat that failed is no change
                continue
            if token != last:
                last = token
                self.note_write()

    async def follow(self) -> AsyncIterator[bytes]:
        """The SSE frames of one follower: the current token, then one frame per change, pings between;
        it ends when the server starts to stop."""
        self._start_watching()
        sent = -1
        while not self.state.shutting_down:
            version = self.bell.version(ANY)
            if version != sent:
                sent = version
                yield f"event: change\nid: {sent}\ndata: {json.dumps({'token': self.token})}\n\n".encode()
            elif not await self.bell.wait(ANY, sent, PING_INTERVAL):
                yield b": ping\n\n"


# ---------------------------------------------------------------------------------------------- routes


def _kinds(request: Request) -> tuple[str, ...] | None:
    kinds = request.query_params.getlist("kind")
    return tuple(sorted(set(kinds))) if kinds else None


def _hide(request: Request) -> str | None:
    """The hiding query a timeline was built with (``hide=``), if any."""
    return request.query_params.get("hide") or None


def _int(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise P.BadArgument(f"missing query parameter {name!r}")
        return default
    try:
        return int(raw)
    except ValueError:
        raise P.BadArgument(f"query parameter {name!r} must be an integer, not {raw!r}") from None


def _str(request: Request, name: str) -> str:
    raw = request.query_params.get(name)
    if raw is None:
        raise P.BadArgument(f"missing query parameter {name!r}")
    return raw


class Extension:
    """The extension routes over the server's journal (``state.journal``, opened by the server).

    ``lago_tui.server.app.create_app(settings, extensions=[extension_routes])`` mounts them under
    ``/lago-tui/v1``, behind the same middleware (token, access log) as Lago's routes.
    """

    def __init__(self, state: Any, *, info: dict[str, Any] | None = None) -> None:
        self.state = state
        self.timelines = TimelineCache(self)
        self.feed = ChangeFeed(state)
        self.started_at = time.time()
        self.extra_info = dict(info or {})

    @property
    def journal(self) -> JournalAPI:
        journal = self.state.journal
        if journal is None:
            raise JournalError("the journal is not open yet")
        return journal

    def note_write(self) -> None:
        self.feed.note_write()

    # ------------------------------------------------------------------ plumbing

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(fn, *args, **kwargs)

    async def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A write on the server's committer thread, in order with the appends of Lago's routes."""
        committer = self.state.committer
        if committer is None:
            raise JournalError("the journal is not open yet")
        try:
            return await asyncio.wrap_future(committer.call(lambda: fn(*args, **kwargs)))
        finally:
            self.note_write()

    def _handler(self, fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except P.BadArgument as exc:
                return error_response(400, "bad_request", str(exc))
            except JournalError as exc:
                return journal_error_response(exc)

        endpoint.__name__ = getattr(fn, "__name__", "endpoint")
        return endpoint

    def routes(self) -> list[Route]:
        """The routes, relative to the prefix they are mounted under."""
        h = self._handler
        handmade = [
            (P.INFO, h(self.info), "GET"),
            (P.CHANGES, h(self.changes), "GET"),
            (P.TIMELINE, h(self.timeline), "GET"),
            (P.TIMELINE_WINDOW, h(self.window), "GET"),
            (P.TIMELINE_FIND, h(self.find), "GET"),
            (P.TIMELINE_POSITION, h(self.position), "GET"),
            (P.TIMELINE_COUNT, h(self.count), "GET"),
            (P.TIMELINE_MATCHES, h(self.matches), "GET"),
            (P.TIMELINE_EXACT, h(self.exact), "GET"),
            (P.TIMELINE_PARTNER, h(self.partner), "GET"),
            (P.IMPORT, h(self.import_file), "POST"),
            (P.EXPORT, h(self.export), "GET"),
        ]
        routes = [Route(path.removeprefix(P.PREFIX), endpoint, methods=[method]) for path, endpoint, method in handmade]
        for op in P.OPS:
            if callable(getattr(JournalAPI, op.name, None)):  # an entry for an operation not merged yet waits
                routes.append(Route(op.path, h(self._op_endpoint(op)), methods=[op.method]))
        return routes

    def _op_endpoint(self, op: P.Op) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            kwargs: dict[str, Any] = {}
            body: Any = None
            if any(p.where == "body" for p in op.params):
                body = await read_json(request, self.state.settings.max_body)  # 415, 413, 400 as Lago's routes
                if not isinstance(body, dict):
                    raise P.BadArgument("the body must be a JSON object")
            for param in op.params:
                if param.where == "body":
                    kwargs[param.name] = P.from_body(param, body)
                else:
                    kwargs[param.name] = P.from_query(param, request.query_params.getlist(param.key))
            method = getattr(self.journal, op.name)
            result = await (self._run(method, **kwargs) if op.method == "GET" else self._write(method, **kwargs))
            return json_response(op.result.encode(result), op.status)

        endpoint.__name__ = op.name
        return endpoint

    # ------------------------------------------------------------------ info and changes

    async def info(self, request: Request) -> Response:
        from .. import __version__

        return json_response({
            "service": P.SERVICE,
            "api": P.API_VERSION,
            "version": __version__,
            "pid": os.getpid(),
            "journal": self.journal.location,
            "started_at": int(self.started_at * 1_000_000),
            "boot": self.feed.boot,
            "operations": sorted(op.name for op in P.OPS if callable(getattr(JournalAPI, op.name, None))),
            **self.extra_info,
        })

    async def changes(self, request: Request) -> Response:
        state = self.state
        if state.shutting_down:
            return error_response(503, "unavailable", "the server is stopping")
        if state.open_streams >= state.settings.max_streams:
            return error_response(503, "unavailable",
                                  f"too many open streams (the limit is {state.settings.max_streams})")

        async def frames() -> AsyncIterator[bytes]:
            state.open_streams += 1
            try:
                async for frame in self.feed.follow():
                    yield frame
            finally:
                state.open_streams -= 1

        return StreamingResponse(
            frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # ------------------------------------------------------------------ timelines

    async def timeline(self, request: Request) -> Response:
        session, branch = _str(request, "session"), request.query_params.get("branch", "main")
        entry = await self._run(self.timelines.open, session, branch, _kinds(request), _hide(request))
        return json_response(timeline_meta(entry.timeline))

    def _entry(self, request: Request) -> tuple[Any, int]:
        length = _int(request, "length", 0)
        entry = self.timelines.get(_str(request, "session"), _str(request, "branch"), _kinds(request), length,
                                   _hide(request))
        return entry, length

    async def window(self, request: Request) -> Response:
        start, count = _int(request, "start"), _int(request, "count")
        if count < 0 or count > 10_000:
            raise P.BadArgument("count must be between 0 and 10000")

        def read() -> list[dict[str, Any]]:
            entry, length = self._entry(request)
            end = min(start + count, length or entry.timeline.length)
            with entry.lock:
                return [ev.to_json() for ev in entry.timeline.window(start, max(0, end - start))]

        return json_response(await self._run(read))

    async def find(self, request: Request) -> Response:
        text, start = _str(request, "text"), _int(request, "start")
        if len(text) > MAX_FIND_TEXT:
            raise P.BadArgument(f"search text longer than {MAX_FIND_TEXT} characters")
        forward = P.from_query(P.Param("forward", "bool", default=True), request.query_params.getlist("forward"))

        def find() -> int | None:
            entry, _ = self._entry(request)
            with entry.lock:
                return entry.timeline.find(text, start, forward=forward)

        return json_response(await self._run(find))

    async def count(self, request: Request) -> Response:
        text = _str(request, "text")
        if len(text) > MAX_FIND_TEXT:
            raise P.BadArgument(f"search text longer than {MAX_FIND_TEXT} characters")

        def count() -> int:
            entry, _ = self._entry(request)
            with entry.lock:
                return entry.timeline.count_matches(text)

        return json_response(await self._run(count))

    async def matches(self, request: Request) -> Response:
        text, start = _str(request, "text"), _int(request, "start", 0)
        count = _int(request, "count", MAX_MATCHES)
        if len(text) > MAX_FIND_TEXT:
            raise P.BadArgument(f"search text longer than {MAX_FIND_TEXT} characters")
        if count < 0 or count > MAX_MATCHES:
            raise P.BadArgument(f"count must be between 0 and {MAX_MATCHES}")

        def matches() -> list[int]:
            entry, _ = self._entry(request)
            with entry.lock:
                return entry.timeline.match_positions(text, start, count)

        return json_response(await self._run(matches))

    async def position(self, request: Request) -> Response:
        branch, seq = _str(request, "of_branch"), _int(request, "seq")

        def position() -> int | None:
            entry, _ = self._entry(request)
            with entry.lock:
                return entry.timeline.position_of(branch, seq)

        return json_response(await self._run(position))

    async def exact(self, request: Request) -> Response:
        branch, seq = _str(request, "of_branch"), _int(request, "seq")

        def exact() -> int | None:
            entry, _ = self._entry(request)
            with entry.lock:
                return entry.timeline.exact_position(branch, seq)

        return json_response(await self._run(exact))

    async def partner(self, request: Request) -> Response:
        position = _int(request, "position")

        def partner() -> int | None:
            entry, _ = self._entry(request)
            with entry.lock:
                return entry.timeline.partner(position)

        return json_response(await self._run(partner))

    # ------------------------------------------------------------------ import and export

    async def import_file(self, request: Request) -> Response:
        """The body is a JSON array or JSON Lines file: kept in a temporary file, then imported at once."""
        name = request.query_params.get("name") or "upload"
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_IMPORT:
            return error_response(413, "payload_too_large", f"an import is limited to {MAX_IMPORT} bytes")
        fd, tmp = await self._run(tempfile.mkstemp, prefix="lago-tui-import-", suffix=".jsonl")
        try:
            size = 0
            with os.fdopen(fd, "wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_IMPORT:
                        return error_response(413, "payload_too_large", f"an import is limited to {MAX_IMPORT} bytes")
                    if chunk:
                        await self._run(fh.write, chunk)
            try:
                result = await self._write(self.journal.import_file, tmp)
            except InvalidEvent as exc:  # name the client's file, not ours
                raise InvalidEvent(exc.location.replace(tmp, name), exc.problem) from None
            except JournalError as exc:
                raise type(exc)(str(exc).replace(tmp, name)) from None
        finally:
            await self._run(_unlink, tmp)
        data = P.view("ImportResult").encode(result)
        data["path"] = name
        return json_response(data)

    async def export(self, request: Request) -> Response:
        session_id = await self._run(self.journal.resolve_session, _str(request, "session"))
        options: dict[str, Any] = {}
        for name, param in (("branch", P.Param("branch", "str", default=None)),
                            ("from_seq", P.Param("from_seq", "int", default=None)),
                            ("to_seq", P.Param("to_seq", "int", default=None))):
            options[name] = P.from_query(param, request.query_params.getlist(name))
        # Journal.export checks its arguments when called (unknown branch, a range without a branch), so
        # refusals come before the 200; the events themselves stream.
        events = await self._run(lambda: self.journal.export(session_id, **options))
        return StreamingResponse(
            iterate_in_threadpool(self._export_chunks(events)), media_type="application/x-ndjson",
        )

    def _export_chunks(self, events: Iterator[dict[str, Any]]) -> Iterator[bytes]:
        buffer: list[str] = []
        try:
            for event in events:
                buffer.append(json.dumps(event, ensure_ascii=True, separators=(",", ":")))
                if len(buffer) >= EXPORT_CHUNK:
                    yield ("\n".join(buffer) + "\n").encode("ascii")
                    buffer.clear()
        except JournalError as exc:  # after the 200: the last line says what went wrong
            buffer.append(json.dumps(P.error_body(exc)[1], ensure_ascii=True))
        if buffer:
            yield ("\n".join(buffer) + "\n").encode("ascii")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def extension_routes(state: Any) -> list[Route]:
    """For ``create_app(settings, extensions=[extension_routes])``."""
    return Extension(state).routes()
