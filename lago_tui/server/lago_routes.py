"""Lago's routes (``../shared/lago-api.md``): sessions, events, branches, health. Paths, status codes and
field names are Lago's; answers are supersets of Lago's (extra fields, never fewer).

Every journal call blocks, so it runs in a worker thread; writes go through the group committer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from .. import __version__
from ..journal import ids
from ..journal.errors import InvalidEvent, InvalidSpec, JournalError, NotFound
from ..journal.views import BranchInfo, SessionSummary
from . import sse
from .errors import ApiError, journal_error
from .jsonio import JSONResponse, dumps, read_json
from .state import ServerState

SESSION_PREFIXES = (("agent:", "agent"), ("vault:", "vault"), ("site-assets:", "site_assets"),
                    ("site-content:", "site_content"))
SESSION_TYPES = ("vault", "agent", "site_assets", "site_content", "default")
READ_PAGE = 2000  # events per query when a read is streamed


def session_type(name: str) -> str:
    for prefix, kind in SESSION_PREFIXES:
        if name.startswith(prefix):
            return kind
    return "default"


U64_MAX = 2**64 - 1  # Lago's seqs and limits are u64/usize
SEQ_MAX = 2**63 - 1  # the journal's seq column is a BIGINT: anything larger reads as "after everything"


def _u64(raw: str | None) -> int | None:
    if raw is None or not raw.isascii() or not raw.isdigit() or int(raw) > U64_MAX:
        return None
    return int(raw)


def _query_int(request: Request, name: str, default: int | None) -> int | None:
    """A non-negative integer query parameter (Lago's u64/usize): 400 for anything else."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = _u64(raw)
    if value is None:
        raise ApiError(400, f"invalid query: {name} must be a non-negative integer")
    return min(value, SEQ_MAX)


def _field(body: dict[str, Any], name: str, kinds: type | tuple[type, ...], *, required: bool = False,
           what: str = "a string") -> Any:
    """A field of a JSON object body; 422 (Lago's wrong-shape answer) when missing or of the wrong type."""
    if name not in body or body[name] is None:
        if required:
            raise ApiError(422, f"missing field `{name}`")
        return None
    value = body[name]
    if not isinstance(value, kinds) or (isinstance(value, bool) and kinds is int):
        raise ApiError(422, f"invalid type for `{name}`: expected {what}")
    return value


def _object(body: Any, what: str = "the request body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(422, f"{what} must be a JSON object")
    return body


class LagoRoutes:
    """The handlers, bound to the server's state."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    @property
    def journal(self) -> Any:
        if self.state.journal is None:
            raise ApiError(503, "the journal is not open yet")
        return self.state.journal

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A journal call in a worker thread."""
        return await run_in_threadpool(fn, *args, **kwargs)

    async def write(self, fn: Callable[[], Any], keys: Callable[[Any], Any] | None = None) -> Any:
        """A write on the committer's thread, in order with the appends."""
        committer = self.state.committer
        if committer is None:
            raise ApiError(503, "the journal is not open yet")
        return await asyncio.wrap_future(committer.call(fn, keys=keys))

    def exact_session(self, session_id: str) -> str:
        """``session_id`` if it is exactly a session's id (routes take ids, never names or prefixes)."""
        try:
            found = self.journal.resolve_session(session_id)
        except NotFound:
            found = None
        if found != session_id:
            raise NotFound(f"session not found: {session_id}")
        return session_id

    # ------------------------------------------------------------------ sessions

    def _session_json(self, s: SessionSummary, branches: list[str]) -> dict[str, Any]:
        out = s.to_json()
        out["branches"] = branches
        out["session_type"] = session_type(s.name)
        return out

    async def create_session(self, request: Request) -> Response:
        body = _object(await read_json(request, self.state.settings.max_body))
        name = _field(body, "name", str, required=True)
        model = _field(body, "model", str) or ""
        params = _field(body, "params", dict, what="an object of strings") or {}
        if not all(isinstance(v, str) for v in params.values()):
            raise ApiError(422, "invalid type for `params`: expected an object of strings")
        kind = session_type(name)
        for prefix, k in SESSION_PREFIXES:
            if k == kind and name == prefix:
                raise ApiError(400, f"{prefix} session requires a non-empty name after the colon "
                                    f"(e.g. {prefix}my-{k.split('_')[0]})")
        session_id = ids.new_ulid()
        event = {
            "event_id": ids.new_ulid(), "session_id": session_id, "branch_id": "main",
            "timestamp": time.time_ns() // 1000,
            "payload": {"type": "SessionCreated", "name": name,
                        "config": {"name": name, "model": model, "params": params}},
        }
        await self.append([event])
        return JSONResponse({"session_id": session_id, "branch_id": "main", "session_type": kind}, status_code=201)

    async def list_sessions(self, request: Request) -> Response:
        wanted = request.query_params.get("type")
        if wanted is not None:
            wanted = wanted.lower().replace("-", "_")
            if wanted not in SESSION_TYPES:
                raise ApiError(400, f"unknown session type: {request.query_params['type']}. "
                                    f"Valid types: {', '.join(SESSION_TYPES)}")

        def load() -> list[dict[str, Any]]:
            sessions = self.journal.list_sessions(sort="created", descending=False)
            by_session: dict[str, list[str]] = {}
            for b in self.journal.list_branches():
                by_session.setdefault(b.session_id, []).append(b.branch_id)
            return [self._session_json(s, by_session.get(s.session_id, ["main"])) for s in sessions
                    if wanted is None or session_type(s.name) == wanted]

        return JSONResponse(await self.call(load))

    async def get_session(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]

        def load() -> dict[str, Any]:
            detail = self.journal.session(self.exact_session(session_id))
            return self._session_json(detail.summary, [b.branch_id for b in detail.branches])

        return JSONResponse(await self.call(load))

    # ------------------------------------------------------------------ events

    async def append(self, events: list[dict[str, Any]], minted: list[str] | None = None) -> tuple[int, ...]:
        committer = self.state.committer
        if committer is None:
            raise ApiError(503, "the journal is not open yet")
        try:
            # the events come from the request's JSON (plain values only): no need to parse them again
            future = committer.append(events, minted=minted or (), from_json=True)
        except InvalidEvent as exc:  # cannot even be written down as JSON text (a lone surrogate)
            raise ApiError(400, f"invalid JSON: {exc}") from None
        return await asyncio.wrap_future(future)

    async def append_events(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        body = _object(await read_json(request, self.state.settings.max_body))
        if "events" in body and "event" not in body:  # lago-tui's batch extension
            batch = body["events"]
            if not isinstance(batch, list):
                raise ApiError(422, "invalid type for `events`: expected an array of events")
            single = False
        else:
            if "event" not in body:
                raise ApiError(422, "missing field `event`")
            batch, single = [body["event"]], True
        now = time.time_ns() // 1000
        events = []
        minted = []  # event_ids made here: fresh, so the committer need not look them up
        for i, event in enumerate(batch):
            if not isinstance(event, dict):
                raise ApiError(422, f"event {i + 1}: an event must be a JSON object")
            event = dict(event)
            event["session_id"] = session_id  # the path names the session; seq is assigned by the journal
            if "event_id" not in event:
                event["event_id"] = ids.new_ulid()
                minted.append(event["event_id"])
            event.setdefault("timestamp", now)
            events.append(event)
        if not events:
            return JSONResponse({"seqs": []})
        seqs = await self.append(events, minted)
        return JSONResponse({"seq": seqs[0]} if single else {"seqs": list(seqs)})

    async def read_events(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        branch = request.query_params.get("branch", "main")
        after = _query_int(request, "after_seq", 0) or 0
        limit = _query_int(request, "limit", None)
        start = max(0, after - 1)  # Lago's read is inclusive: after_seq=N starts at seq N

        def page(from_seq: int, count: int | None) -> list[dict[str, Any]]:
            try:
                return [e.to_wire() for e in self.journal.read_events(self.exact_session(session_id), branch,
                                                                      from_seq, count)]
            except NotFound:
                return []  # Lago answers an unknown session or branch with no events

        if limit is not None and limit <= READ_PAGE:
            return JSONResponse(await self.call(page, start, limit))

        async def pages() -> AsyncIterator[bytes]:  # a long branch goes out in pages, in constant memory
            sent, cursor, first = 0, start, True
            yield b"["
            while limit is None or sent < limit:
                count = READ_PAGE if limit is None else min(READ_PAGE, limit - sent)
                rows = await self.call(page, cursor, count)
                if rows:
                    yield (("" if first else ",") + ",".join(dumps(r) for r in rows)).encode("ascii")
                    first, sent, cursor = False, sent + len(rows), rows[-1]["seq"]
                if len(rows) < count:
                    break
            yield b"]"

        return StreamingResponse(pages(), media_type="application/json")

    async def head(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        branch = request.query_params.get("branch", "main")

        def load() -> int:
            try:
                for b in self.journal.list_branches(self.exact_session(session_id)):
                    if b.branch_id == branch:
                        return b.head_seq
                named = [b for b in self.journal.list_branches(session_id) if b.name == branch]
                return named[0].head_seq if len(named) == 1 else 0
            except NotFound:
                return 0  # as Lago: an unknown session or branch has nothing

        return JSONResponse({"seq": await self.call(load)})

    async def stream(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        fmt = request.query_params.get("format", "lago") or "lago"
        if fmt not in sse.FORMATS:
            raise ApiError(400, f"unknown format: {fmt}. Supported: openai, anthropic, vercel, lago")
        branch = request.query_params.get("branch", "main")
        after = _u64((request.headers.get("last-event-id") or "").strip())  # as Lago: used if it parses
        if after is not None:
            after = min(after, SEQ_MAX)
        else:
            after = _query_int(request, "after_seq", 0) or 0

        def resolve() -> str:
            branches = self.journal.list_branches(self.exact_session(session_id))
            for b in branches:
                if b.branch_id == branch:
                    return b.branch_id
            named = [b for b in branches if b.name == branch]
            if len(named) != 1:
                raise NotFound(f"branch not found: {branch}")
            return named[0].branch_id

        branch_id = await self.call(resolve)
        settings = self.state.settings
        if self.state.open_streams >= settings.max_streams:
            raise ApiError(503, f"too many open streams (the limit is {settings.max_streams})",
                           headers={"Retry-After": "5"})
        if self.state.shutting_down:
            raise ApiError(503, "the server is shutting down")
        return sse.EventStream(self.state, sse.follow(self.state, session_id, branch_id, after, fmt), fmt)

    # ------------------------------------------------------------------ branches

    @staticmethod
    def _branch_json(b: BranchInfo) -> dict[str, Any]:
        out = b.to_json()
        return {"branch_id": out.pop("branch_id"), "name": out.pop("name"),
                "fork_point_seq": out.pop("fork_point_seq"), **out}

    async def create_branch(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        body = _object(await read_json(request, self.state.settings.max_body))
        name = _field(body, "name", str, required=True)
        fork = _field(body, "fork_point_seq", int, what="a non-negative integer")
        if fork is not None and fork < 0:
            raise ApiError(422, "invalid value for `fork_point_seq`: expected a non-negative integer")
        journal = self.journal

        def create() -> dict[str, Any]:  # on the committer's thread: nothing else writes meanwhile
            detail = journal.session(self.exact_session(session_id))
            if any(b.name == name for b in detail.branches):
                raise ApiError(409, f"a branch named {name!r} already exists in session {session_id}")
            head = detail.branch("main").head_seq  # type: ignore[union-attr]
            at = head if fork is None else fork
            if at > head:
                raise InvalidSpec(f"fork_point_seq {at} is past the head of main ({head})")
            branch_id = ids.new_ulid()
            try:
                journal.append([{
                    "event_id": ids.new_ulid(), "session_id": session_id, "branch_id": "main",
                    "timestamp": time.time_ns() // 1000,
                    "payload": {"type": "BranchCreated", "new_branch_id": branch_id, "fork_point_seq": at,
                                "name": name},
                }])
            except InvalidEvent as exc:  # a name the journal refuses (blank, "main")
                raise InvalidSpec(exc.problem) from None
            return {"branch_id": branch_id, "name": name, "fork_point_seq": at, "parent_branch_id": "main"}

        made = await self.write(create, keys=lambda _: [(session_id, "main")])
        return JSONResponse(made, status_code=201)

    async def list_branches(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]

        def load() -> list[dict[str, Any]]:
            return [self._branch_json(b) for b in self.journal.list_branches(self.exact_session(session_id))]

        return JSONResponse(await self.call(load))

    async def merge_branch(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        source = request.path_params["branch"]
        body = _object(await read_json(request, self.state.settings.max_body))
        target = _field(body, "target", str, required=True)
        journal = self.journal

        def merge() -> dict[str, Any]:
            return journal.merge_branch(self.exact_session(session_id), source, target).to_json()

        merged = await self.write(merge, keys=lambda r: [(session_id, r["target_branch_id"])])
        return JSONResponse(merged)

    # ------------------------------------------------------------------ health

    async def health(self, request: Request) -> Response:
        committer = self.state.committer
        st = committer.stats if committer is not None else None
        writes = {} if st is None else {
            "writes": {"transactions": st.groups, "requests": st.requests, "events": st.events,
                       "retried_groups": st.retries, "largest_group": st.largest_group,
                       "lean_transactions": st.lean,
                       "commit_ms_avg": round(st.commit_seconds * 1000 / st.groups, 1) if st.groups else None,
                       "commit_ms_total": round(st.commit_seconds * 1000, 1),
                       "queued": committer.pending, "open_streams": self.state.open_streams},
        }
        return JSONResponse({
            "status": "ok" if self.state.ready else "starting", "service": "lago-tui", "version": __version__,
            "uptime_seconds": int(time.monotonic() - self.state.started_at),
            "subsystems": {"journal": "ok" if self.state.ready else "starting",
                           "auth": "active" if self.state.settings.token else "disabled"},
            **writes,
        })

    async def ready(self, request: Request) -> Response:
        ok = self.state.ready and not self.state.shutting_down
        if ok and self.state.journal is not None:
            try:
                await self.call(self.state.journal.exists)
            except JournalError:
                ok = False
        return JSONResponse({"ready": ok, "checks": {"journal": ok}}, status_code=200 if ok else 503)

    async def health_v1(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})


def route(path: str, **handlers: Callable[[Request], Any]) -> Route:
    """One route per path with a handler per method, so a wrong method's 405 lists every allowed one."""
    if len(handlers) == 1:
        (method, endpoint), = handlers.items()
        return Route(path, endpoint, methods=[method])

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method if request.method != "HEAD" else "GET"](request)

    return Route(path, dispatch, methods=list(handlers))


def routes(state: ServerState) -> list[BaseRoute]:
    h = LagoRoutes(state)
    s = "/v1/sessions/{session_id}"
    return [
        route("/health", GET=h.health),
        route("/health/ready", GET=h.ready),
        route("/v1/health", GET=h.health_v1),
        route("/v1/sessions", GET=h.list_sessions, POST=h.create_session),
        route(s, GET=h.get_session),
        route(f"{s}/events", GET=h.stream, POST=h.append_events),
        route(f"{s}/events/read", GET=h.read_events),
        route(f"{s}/events/head", GET=h.head),
        route(f"{s}/branches", GET=h.list_branches, POST=h.create_branch),
        route(f"{s}/branches/{{branch}}/merge", POST=h.merge_branch),
    ]


__all__ = ["routes", "session_type", "journal_error"]
