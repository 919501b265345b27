"""The extension protocol: lago-tui's own routes under ``/lago-tui/v1``, described once for both sides.

Each :class:`Op` is one :class:`~lago_tui.journal.JournalAPI` method as an HTTP route: where each argument
travels (path, query string or JSON body), and how the result is encoded. The server
(:mod:`lago_tui.server.extension`) builds its routes from :data:`OPS`; the client
(:class:`~lago_tui.remote.client.RemoteJournal`) calls through the same entries. Adding a journal operation
over HTTP is one entry here (plus a ``from_json`` on its read model).

Nothing here imports HTTP or server code: both sides import this module.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "/lago-tui/v1"
"""Every extension route starts with this; Lago's own routes (``/v1/...``, ``/health``) stay Lago's."""

API_VERSION = 1
SERVICE = "lago-tui"
MAX_IMPORT = 4 * 1024 ** 3  # bytes: the largest file the import route takes (spooled to disk, never to memory)

REQUIRED: Any = object()


# ---------------------------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class Param:
    """One argument of an operation: its JournalAPI name, its type and where it travels."""

    name: str
    type: str  # "str", "int", "bool", "strs" (a list of strings), "json" (any JSON value)
    where: str = "query"  # "path", "query" or "body"
    default: Any = REQUIRED
    wire: str | None = None  # the name on the wire when it differs (e.g. filter_text -> filter)

    @property
    def key(self) -> str:
        return self.wire or self.name


class BadArgument(ValueError):
    """A request argument that does not parse (the server answers 400 with this message)."""


def to_query(param: Param, value: Any) -> list[tuple[str, str]]:
    """``value`` as query-string pairs (None and defaults are left out)."""
    if value is None:
        return []
    if param.type == "bool":
        return [(param.key, "true" if value else "false")]
    if param.type == "strs":
        return [(param.key, str(v)) for v in value]
    if param.type == "json":
        return [(param.key, json.dumps(value))]
    return [(param.key, str(value))]


def from_query(param: Param, values: list[str]) -> Any:
    """A query argument back from its strings (absent: the default; a bad value: :class:`BadArgument`)."""
    if not values:
        if param.default is REQUIRED:
            raise BadArgument(f"missing query parameter {param.key!r}")
        return param.default
    if param.type == "strs":
        return tuple(values)
    raw = values[-1]
    if param.type == "str":
        return raw
    if param.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise BadArgument(f"query parameter {param.key!r} must be an integer, not {raw!r}") from None
    if param.type == "bool":
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise BadArgument(f"query parameter {param.key!r} must be true or false, not {raw!r}")
    try:
        return json.loads(raw)
    except ValueError:
        raise BadArgument(f"query parameter {param.key!r} must be JSON") from None


def from_body(param: Param, body: Mapping[str, Any]) -> Any:
    if param.key not in body:
        if param.default is REQUIRED:
            raise BadArgument(f"missing field {param.key!r}")
        return param.default
    value = body[param.key]
    if value is None:
        return None
    expected = {"str": str, "int": int, "bool": bool, "strs": list}.get(param.type)
    if expected is not None and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
        raise BadArgument(f"field {param.key!r} must be {param.type}")
    return value


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Codec:
    """How a result travels: ``encode`` on the server (to a JSON value), ``decode`` on the client."""

    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _view_class(name: str) -> Any:
    """A read model by name, looked up when first used (so entries may name models added later)."""
    from ..journal import views

    from importlib import import_module

    for module in (views, "analysis_views", "store", "ingest"):
        found = getattr(module if not isinstance(module, str) else import_module(f"..journal.{module}", __package__),
                        name, None)
        if found is not None:
            return found
    raise LookupError(f"no read model named {name!r}")


def _to_json(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return value


def _from_json(cls: Any, value: Any) -> Any:
    if hasattr(cls, "from_json"):
        return cls.from_json(value)
    return cls(**value)


PLAIN = Codec("json", lambda v: v, lambda v: v)


def view(name: str) -> Codec:
    """One read model (``to_json`` / ``from_json``, or a plain dataclass)."""
    return Codec(name, _to_json, lambda v: _from_json(_view_class(name), v))


def views(name: str) -> Codec:
    """A list of read models."""
    return Codec(f"[{name}]", lambda vs: [_to_json(v) for v in vs],
                 lambda vs: [_from_json(_view_class(name), v) for v in vs])


def _branch_to_json(b: Any) -> dict[str, Any]:
    return {"session_id": b.session_id, **b.to_json()}


BRANCHES = Codec("[BranchInfo]", lambda bs: [_branch_to_json(b) for b in bs],
                 lambda bs: [_view_class("BranchInfo").from_json(b, b["session_id"]) for b in bs])


# ---------------------------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Op:
    """One JournalAPI method as a route under :data:`PREFIX`."""

    name: str  # the JournalAPI method
    method: str  # GET (reads) or POST (writes)
    path: str  # below PREFIX, with {param} placeholders for "path" params
    params: tuple[Param, ...] = ()
    result: Codec = PLAIN
    doc: str = ""
    status: int = 200  # success status (201 for creations)

    @property
    def route(self) -> str:
        return PREFIX + self.path


def _op(name: str, method: str, path: str, *params: Param, result: Codec = PLAIN, doc: str = "", status: int = 200) -> Op:
    return Op(name, method, path, params, result, doc, status)


_QUERY = Param("query", "str", default=None)
_SORT = Param("sort", "str", default="last_activity")
_DESC = Param("descending", "bool", default=True)

# Names, ids and refs travel in the query string or the body, never in the path: a session may be named
# "a/b" and a server decodes %2F before routing.
OPS: tuple[Op, ...] = (
    _op("list_sessions", "GET", "/sessions", _QUERY, _SORT, _DESC,
        Param("limit", "int", default=None), Param("offset", "int", default=0), result=views("SessionSummary"),
        doc="sessions with their aggregates, filtered by `query` (the list query language; plain text: name, id, model), sorted and paged"),
    _op("count_sessions", "GET", "/session-count", _QUERY, doc="how many sessions match `query`"),
    _op("session_index", "GET", "/session-index", Param("session_id", "str", wire="session"), _QUERY, _SORT, _DESC,
        doc="the position of `session` in that list, or null"),
    _op("session", "GET", "/session", Param("ref", "str"), result=view("SessionDetail"),
        doc="one session (`ref`: id, unique id prefix or unique name) with its branches and totals"),
    _op("resolve_session", "GET", "/resolve", Param("ref", "str"),
        doc="the session id that `ref` names"),
    _op("models", "GET", "/models", doc="models used in the journal, most used first"),
    _op("get_event", "GET", "/event", Param("event_id", "str", wire="id"), result=view("TimelineEvent"),
        doc="one event by its id"),
    _op("search", "GET", "/search", Param("text", "str"), Param("session", "str", default=None),
        Param("limit", "int", default=100), result=views("SearchHit"),
        doc="case-insensitive substring search over payload text, in one session or all"),
    _op("create_session", "POST", "/sessions", Param("spec", "json", "body"), Param("now_us", "int", "body", None),
        status=201, doc="create a session (`spec`: name, model, params); answers its id"),
    _op("append", "POST", "/append", Param("events", "json", "body"), result=view("AppendResult"),
        doc="append EventEnvelopes (`events`, any sessions) in one transaction, all or nothing"),
    _op("create_branch", "POST", "/branches", Param("session", "str", "body"), Param("spec", "json", "body"),
        Param("now_us", "int", "body", None), status=201,
        doc="fork a branch (`spec`: name, parent, fork_point_seq); answers its id"),
    _op("merge_branch", "POST", "/merge", Param("session", "str", "body"), Param("source", "str", "body"),
        Param("target", "str", "body"), Param("now_us", "int", "body", None), result=view("MergeResult"),
        doc="fast-forward `target` with `source`'s own events, then a BranchMerged marker (409 if not possible)"),
    _op("list_branches", "GET", "/branches", Param("session", "str", default=None), result=BRANCHES,
        doc="the branches of one session, or of every session, main first"),
    _op("read_events", "GET", "/events", Param("session", "str"), Param("branch", "str", default="main"),
        Param("after_seq", "int", default=0), Param("limit", "int", default=None), result=views("TimelineEvent"),
        doc="a branch's own events with seq > `after_seq`, by seq"),
    _op("state_at", "GET", "/state", Param("session", "str"), Param("branch", "str", default="main"),
        Param("at_seq", "int", default=None), result=view("StateAt"),
        doc="the state of `branch` as of its own event `at_seq` (default its head): messages, tool calls, runs, "
            "files, tokens, agent state"),
    _op("compare_branches", "GET", "/compare", Param("session", "str"), Param("left", "str"), Param("right", "str"),
        result=view("Comparison"),
        doc="the events of two branches after their common fork point, aligned, with totals"),
    _op("problems", "GET", "/problems", Param("session", "str", default=None), result=views("Problem"),
        doc="integrity problems of one session (or of all), each at its offending event"),
    _op("close_session", "POST", "/close", Param("session", "str", "body"), Param("reason", "str", "body", None),
        Param("now_us", "int", "body", None), doc="append SessionClosed to the session's main branch; answers its event id"),
    _op("rename_session", "POST", "/rename", Param("session", "str", "body"), Param("name", "str", "body"),
        Param("now_us", "int", "body", None), doc="rename a session (recorded as an event); answers its event id"),
    _op("rename_branch", "POST", "/rename-branch", Param("session", "str", "body"), Param("branch", "str", "body"),
        Param("name", "str", "body"), Param("now_us", "int", "body", None),
        doc="rename a branch other than main (recorded as an event); answers its event id"),
    _op("delete_session", "POST", "/delete", Param("session", "str", "body"),
        doc="delete a session with its branches and events, in one transaction; answers what was deleted"),
    _op("match_sessions", "GET", "/match-sessions", Param("text", "str"), Param("limit", "int", default=50),
        result=views("SessionSummary"), doc="sessions whose name, model or id prefix matches `text` loosely, best first"),
    _op("sessions_named", "GET", "/sessions-named", Param("name", "str"), Param("limit", "int", default=20),
        result=views("SessionSummary"), doc="sessions with exactly this name"),
    _op("runs", "GET", "/runs", Param("session", "str"), Param("branch", "str", default="main"),
        result=views("RunFigures"), doc="per-run and per-step figures of a branch's timeline"),
)
"""The plain operations: a JournalAPI call in, its result out. Timelines, import, export and the change
feed have routes of their own (stateful or streamed); see :mod:`lago_tui.server.extension`."""

OPS_BY_NAME = {op.name: op for op in OPS}

# Routes that are not one call (the server implements them by hand; the README lists them all).
INFO = PREFIX + "/info"
CHANGES = PREFIX + "/changes"
TIMELINE = PREFIX + "/timeline"
TIMELINE_WINDOW = TIMELINE + "/window"
TIMELINE_FIND = TIMELINE + "/find"
TIMELINE_POSITION = TIMELINE + "/position"
TIMELINE_COUNT = TIMELINE + "/count"
TIMELINE_MATCHES = TIMELINE + "/matches"
TIMELINE_EXACT = TIMELINE + "/exact"
TIMELINE_PARTNER = TIMELINE + "/partner"
IMPORT = PREFIX + "/import"
EXPORT = PREFIX + "/export"


# ---------------------------------------------------------------------------------------------- errors

def _error_table() -> tuple[tuple[type, str, int], ...]:
    from ..journal import errors as e

    # Most specific first: the first class an exception is an instance of gives its code and status.
    from ..journal.query import QueryError

    return (
        (QueryError, "bad_query", 400),
        (e.InvalidEvent, "invalid_event", 400),
        (e.InvalidSpec, "invalid_spec", 400),
        *(((e.Conflict, "conflict", 409),) if hasattr(e, "Conflict") else ()),
        (e.NotFound, "not_found", 404),
        (e.JournalNotFound, "journal_not_found", 404),
        (e.JournalBusy, "journal_busy", 503),
        (e.NotAJournal, "not_a_journal", 500),
        (e.JournalCorrupt, "journal_corrupt", 500),
        (e.JournalTooNew, "journal_too_new", 500),
        (e.JournalPermission, "journal_permission", 500),
        (e.JournalError, "journal_error", 400),
    )


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) for a journal error raised by an operation on the server."""
    for cls, code, status in _error_table():
        if isinstance(exc, cls):
            body: dict[str, Any] = {"error": code, "message": str(exc)}
            if code == "invalid_event":
                body["location"] = exc.location  # type: ignore[attr-defined]
                body["problem"] = exc.problem  # type: ignore[attr-defined]
            elif code == "bad_query":
                body.update(exc.to_json())  # type: ignore[attr-defined]  # message without the column, start, end
            return status, body
    return 500, {"error": "internal_error", "message": f"{type(exc).__name__}: {exc}"}


def error_from_body(body: Mapping[str, Any]) -> BaseException | None:
    """The journal error a server's ``{error, message}`` body stands for (None: not one of ours)."""
    from ..journal.errors import InvalidEvent

    code, message = body.get("error"), body.get("message")
    if not isinstance(code, str) or not isinstance(message, str):
        return None
    if code == "invalid_event":
        location, problem = body.get("location"), body.get("problem")
        if isinstance(location, str) and isinstance(problem, str):
            return InvalidEvent(location, problem)
    if code == "bad_query":
        from ..journal.query import QueryError

        try:
            return QueryError.from_json(body)
        except (TypeError, ValueError):
            return QueryError(message)
    for cls, known, _ in _error_table():
        if code == known and cls is not InvalidEvent and code != "bad_query":
            return cls(message)
    return None
