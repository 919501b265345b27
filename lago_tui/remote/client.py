"""The journal interface over HTTP: :class:`RemoteJournal` and :class:`RemoteTimeline`.

A ``lago-tui serve`` server answers the extension routes (:mod:`lago_tui.remote.protocol`), one per
journal operation; every plain operation in :data:`~lago_tui.remote.protocol.OPS` becomes a method here by
itself (see :func:`_wire_ops`). A plain Lago server (Lago's routes only) is detected on first contact and
served by :class:`~lago_tui.remote.plain.PlainLago` with what those routes give.

Nothing here blocks the caller longer than its timeouts, and :meth:`RemoteJournal.change_token` reads
memory only (a feed thread follows the server's change stream).
"""

from __future__ import annotations

import inspect
import json
import os
import stat
import tempfile
import threading
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..journal.api import JournalAPI, TimelineAPI
from ..journal.errors import InvalidEvent, JournalError
from ..journal.views import TimelineEvent
from . import protocol as P
from .errors import NeedsLagoTuiServe, NotALagoServer, RemoteError
from .transport import ENV_TOKEN, Transport

PLAIN_LAGO_NOTE = (
    "plain Lago server: search, kind filters, event counts, tokens, import and live timeline updates "
    "need `lago-tui serve`"
)


class RemoteJournal(JournalAPI):
    """A journal served by ``lago-tui serve`` (or, with fewer features, by any Lago server)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        live: bool = True,
    ) -> None:
        if token is None:
            token = os.environ.get(ENV_TOKEN) or None
        kwargs: dict[str, float] = {}
        if connect_timeout is not None:
            kwargs["connect_timeout"] = connect_timeout
        if read_timeout is not None:
            kwargs["read_timeout"] = read_timeout
        self.transport = Transport(url, token, **kwargs)
        self.info: dict[str, Any] | None = None
        self.plain: Any = None  # a PlainLago when the server has only Lago's routes
        self.served_file: str | None = None  # the local file this server serves, when reached through it
        self._probe_lock = threading.Lock()
        self._feed: Any = None
        self._feed_lock = threading.Lock()
        self._live = live

    def __repr__(self) -> str:
        return f"RemoteJournal({self.location!r})"

    @property
    def location(self) -> str:
        return self.transport.url

    # ------------------------------------------------------------------ first contact

    def probe(self) -> dict[str, Any] | None:
        """Ask the server what it is (once): lago-tui's info, or None for a plain Lago server."""
        if self.info is not None or self.plain is not None:
            return self.info
        with self._probe_lock:
            if self.info is not None or self.plain is not None:
                return self.info
            response = self.transport.request("GET", P.INFO, check=False)
            if response.status == 200 and response.content_type == "application/json":
                try:
                    info = response.json()
                except ValueError:
                    info = None
                if isinstance(info, dict) and info.get("service") == P.SERVICE:
                    self.info = info
                    return info
            if response.status not in (200, 404):
                raise self.transport.http_error(response)
            self.plain = self._plain_lago()
            return None

    def _plain_lago(self) -> Any:
        """Check that the URL is a Lago server at all (``GET /v1/sessions`` answers a JSON list)."""
        from .plain import PlainLago

        response = self.transport.request("GET", "/v1/sessions", check=False)
        if response.status == 401:
            raise self.transport.http_error(response)
        ok = response.status == 200 and response.content_type == "application/json"
        if ok:
            try:
                ok = isinstance(response.json(), list)
            except ValueError:
                ok = False
        if not ok:
            raise NotALagoServer(
                f"{self.location} is not a Lago server (GET /v1/sessions answered HTTP {response.status}, "
                f"{response.content_type or 'no content type'})"
            )
        return PlainLago(self)

    @property
    def is_plain_lago(self) -> bool:
        self.probe()
        return self.plain is not None

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.stop()
        self.transport.close()

    def exists(self) -> bool:
        self.probe()
        return True

    def check(self) -> None:
        self.probe()

    def local_files(self) -> list[tuple[str, str]]:
        """The served file's own files when this server was reached through that file (its sidecar): a
        command run on the file must not overwrite it because a server holds it. None for a URL."""
        if self.served_file is None:
            return []
        from ..journal.store import journal_files

        return journal_files(Path(self.served_file))

    def change_token(self) -> Hashable:
        """The feed's latest token (memory only); the first call starts the feed thread."""
        feed = self._feed
        if feed is None:
            with self._feed_lock:
                feed = self._feed
                if feed is None:
                    from .feed import ChangeFeed

                    feed = self._feed = ChangeFeed(self)
                    if self._live:
                        feed.start()
        return feed.token

    def status(self) -> str | None:
        """What the TUI shows about the connection: None when all is well (memory only)."""
        feed = self._feed
        return feed.note if feed is not None else None

    def limitations(self) -> str | None:
        return PLAIN_LAGO_NOTE if self.plain is not None else None

    # ------------------------------------------------------------------ calls

    def call(self, name: str, arguments: dict[str, Any]) -> Any:
        """One operation of :data:`~lago_tui.remote.protocol.OPS` with bound arguments."""
        self.probe()
        if self.plain is not None:
            method = getattr(self.plain, name, None)
            if method is None:
                default = getattr(JournalAPI, name, None)
                if default is not None and not getattr(default, "__isabstractmethod__", False):
                    return default(self, **arguments)  # built on operations a plain server has
                from .plain import _needs

                raise _needs(name.replace("_", " "))
            return method(**arguments)
        op = P.OPS_BY_NAME[name]
        unknown = set(arguments) - {p.name for p in op.params}
        if unknown:  # JournalAPI gained an argument the protocol entry does not carry yet
            raise NeedsLagoTuiServe(f"{name}: {', '.join(sorted(unknown))} cannot be sent to a server yet")
        query: list[tuple[str, str]] = []
        body: dict[str, Any] = {}
        for param in op.params:
            value = arguments.get(param.name, param.default)
            if param.where == "body":
                body[param.key] = _jsonable(value)
            elif value is not None and value != param.default:
                query.extend(P.to_query(param, value))
        response = self.transport.request(op.method, op.route, query=query, json_body=body if op.method != "GET" else None)
        return op.result.decode(response.json())

    def _get(self, route: str, query: list[tuple[str, str]], *, timeout: float | None = None) -> Any:
        return self.transport.request("GET", route, query=query, timeout=timeout).json()

    # ------------------------------------------------------------------ timelines

    def timeline(
        self, session: str, branch: str = "main", kinds: Iterable[str] | None = None,
        *, query: str | None = None, detail: Any = None,
    ) -> TimelineAPI:
        self.probe()
        if self.plain is not None:
            return self.plain.timeline(session, branch, kinds, query=query, detail=detail)
        if query is not None and not isinstance(query, str):
            query = query.text  # a parsed Query
        kinds_t = tuple(sorted(set(kinds))) if kinds else None
        session_id = detail.summary.session_id if detail is not None and session == detail.summary.session_id else session
        params = [("session", session_id), ("branch", branch), *[("kind", k) for k in kinds_t or ()]]
        if query:
            params.append(("hide", query))
        return RemoteTimeline(self, self._get(P.TIMELINE, params))

    # ------------------------------------------------------------------ import / export

    def import_file(self, path: Any) -> Any:
        """Send a JSON array or JSON Lines file to the server, which imports it all or nothing."""
        from ..journal.store import ImportResult

        self.probe()
        if self.plain is not None:
            return self.plain.import_file(path)
        from ..journal.importer import open_input

        path = Path(path)
        fh = os.fdopen(open_input(path), "rb")  # the local import's checks and one-line errors
        try:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                fh = self._spooled(path, fh)
            size = os.fstat(fh.fileno()).st_size
            conn, raw = self.transport.stream(
                "POST", P.IMPORT, query=[("name", str(path))], body=fh,
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                timeout=max(self.transport.read_timeout, 600.0),
            )
            try:
                data = json.loads(raw.read())
            except (OSError, ValueError) as exc:
                raise self.transport.failure(exc, reading=True) from None
            finally:
                conn.close()
        finally:
            fh.close()
        return ImportResult(**data)

    @staticmethod
    def _spooled(path: Path, fh: Any) -> Any:
        """A pipe or device (``import <(gunzip -c x.gz)``) has no size to announce: copied to a temporary file
        first, up to the server's import limit."""
        spool = tempfile.TemporaryFile()
        try:
            with fh:
                while block := fh.read(1024 * 1024):
                    spool.write(block)
                    if spool.tell() > P.MAX_IMPORT:
                        raise JournalError(f"{path}: an import through a server is limited to {P.MAX_IMPORT:,} bytes")
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def export(
        self, session: str, *, branch: str | None = None, from_seq: int | None = None, to_seq: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every event of a session (or one branch's timeline, optionally a seq range), as the server streams
        them (JSON Lines)."""
        self.probe()
        if self.plain is not None:
            if branch is not None or from_seq is not None or to_seq is not None:
                raise NeedsLagoTuiServe("exporting one branch needs lago-tui serve")
            yield from self.plain.export(session)
            return
        query = [("session", session)]
        query += [(k, str(v)) for k, v in (("branch", branch), ("from_seq", from_seq), ("to_seq", to_seq)) if v is not None]
        conn, raw = self.transport.stream("GET", P.EXPORT, query=query)
        try:
            for line in self.transport.lines(raw):
                if line.strip():
                    item = json.loads(line)
                    if "event_id" not in item and isinstance(item.get("error"), str):  # failed mid-way
                        raise P.error_from_body(item) or RemoteError(str(item.get("message")))
                    yield item
        finally:
            conn.close()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_wire"):  # an EventEnvelope
        return value.to_wire()
    if hasattr(value, "model_dump"):  # a pydantic spec
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return value


def _wire_ops(cls: type) -> type:
    """Give ``cls`` a method for every plain operation it does not define itself, with JournalAPI's
    signature, and one that says so plainly for any JournalAPI method no route serves yet."""
    for op in P.OPS:
        if op.name in cls.__dict__ or not hasattr(JournalAPI, op.name):  # defined here, or not on main yet
            continue
        signature = inspect.signature(getattr(JournalAPI, op.name))

        def method(self: RemoteJournal, *args: Any, __op: str = op.name, __sig: Any = signature, **kwargs: Any) -> Any:
            bound = __sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop("self", None)
            return self.call(__op, arguments)

        method.__name__ = op.name
        method.__qualname__ = f"{cls.__name__}.{op.name}"
        method.__doc__ = op.doc
        setattr(cls, op.name, method)
    for name in getattr(JournalAPI, "__abstractmethods__", ()):
        if name not in cls.__dict__:

            def missing(self: RemoteJournal, *args: Any, __name: str = name, **kwargs: Any) -> Any:
                raise NeedsLagoTuiServe(f"{__name.replace('_', ' ')} is not available over a server yet")

            missing.not_served = True  # type: ignore[attr-defined]
            setattr(cls, name, missing)
    cls.__abstractmethods__ = frozenset()  # type: ignore[attr-defined]
    return cls


_wire_ops(RemoteJournal)


def wired_operations() -> tuple[list[str], list[str]]:
    """(JournalAPI methods a server answers, those that still say "not available over a server")."""
    public = sorted(n for n in vars(JournalAPI) if not n.startswith("_"))
    missing = {n for n in public if getattr(getattr(RemoteJournal, n, None), "not_served", False)}
    return [n for n in public if n not in missing], sorted(missing)


class RemoteTimeline(TimelineAPI):
    """A branch's timeline kept by the server; this side holds its shape and fetches windows."""

    def __init__(self, journal: RemoteJournal, meta: dict[str, Any]) -> None:
        from ..journal.query import parse_timeline

        self.journal = journal
        self.session_id = meta["session_id"]
        self.branch_id = meta["branch_id"]
        # as the server resolved them (families and roles become kinds), so later calls name the same timeline
        self.kinds = tuple(meta["kinds"]) if meta.get("kinds") is not None else None
        self._hide = meta.get("query") or None
        self.query = parse_timeline(self._hide)  # an empty query when nothing is hidden, as locally
        self._fork_positions = list(meta["fork_positions"])
        self._update(meta)

    def _update(self, meta: dict[str, Any]) -> None:
        self._length = int(meta["length"])
        self._bounds = [(b, int(seq)) for b, seq in meta["segment_bounds"]]

    def _query(self, *extra: tuple[str, str]) -> list[tuple[str, str]]:
        return [
            ("session", self.session_id), ("branch", self.branch_id), *[("kind", k) for k in self.kinds or ()],
            *([("hide", self._hide)] if self._hide else []), ("length", str(self._length)), *extra,
        ]

    @property
    def length(self) -> int:
        return self._length

    @property
    def fork_positions(self) -> list[int]:
        return list(self._fork_positions)

    @property
    def segment_bounds(self) -> list[tuple[str, int]]:
        return list(self._bounds)

    def refresh(self) -> int:
        meta = self.journal._get(P.TIMELINE, [q for q in self._query() if q[0] != "length"])
        if meta["length"] >= self._length:
            self._update(meta)
        return self._length

    def position_of(self, branch_id: str, seq: int) -> int | None:
        if self.kinds is not None or self._hide:
            found = self.journal._get(P.TIMELINE_POSITION, self._query(("of_branch", branch_id), ("seq", str(seq))))
            return None if found is None else int(found)
        offset = 0
        for seg_branch, last in self._bounds:
            if seg_branch == branch_id:
                if last == 0:
                    return None
                return offset + max(0, min(seq, last) - 1)
            offset += last
        return None

    def window(self, start: int, count: int) -> list[TimelineEvent]:
        end = min(self._length, start + count)
        start = max(0, start)
        if start >= end:
            return []
        rows = self.journal._get(P.TIMELINE_WINDOW, self._query(("start", str(start)), ("count", str(end - start))))
        return [TimelineEvent.from_json(r) for r in rows]

    def count_matches(self, query: str) -> int:
        if not query or not query.strip() or self._length == 0:
            return 0
        return int(self.journal._get(P.TIMELINE_COUNT, self._query(("text", query)),
                                     timeout=max(self.journal.transport.read_timeout, 120.0)))

    def match_positions(self, query: str, start: int = 0, count: int | None = None) -> list[int]:
        if not query or not query.strip() or self._length == 0:
            return []
        extra = [("text", query), ("start", str(max(0, start)))]
        if count is not None:
            extra.append(("count", str(max(0, count))))
        found = self.journal._get(P.TIMELINE_MATCHES, self._query(*extra),
                                  timeout=max(self.journal.transport.read_timeout, 120.0))
        return [int(p) for p in found]

    def find(self, text: str, start: int, *, forward: bool = True) -> int | None:
        if not text or not text.strip() or self._length == 0:
            return None
        if (forward and start >= self._length) or (not forward and start < 0):
            return None
        found = self.journal._get(
            P.TIMELINE_FIND,
            self._query(("text", text), ("start", str(start)), ("forward", "true" if forward else "false")),
            timeout=max(self.journal.transport.read_timeout, 120.0),
        )
        if found is not None and int(found) >= self._length:  # past what this side knows: appended meanwhile
            self.refresh()
        return None if found is None else int(found)


    def exact_position(self, branch_id: str, seq: int) -> int | None:
        if self.kinds is not None:
            found = self.journal._get(P.TIMELINE_EXACT, self._query(("of_branch", branch_id), ("seq", str(seq))))
            return None if found is None else int(found)
        offset = 0
        for seg_branch, last in self._bounds:
            if seg_branch == branch_id:
                return offset + seq - 1 if 1 <= seq <= last else None
            offset += last
        return None

    def partner(self, position: int) -> int | None:
        if not 0 <= position < self._length:
            return None
        found = self.journal._get(P.TIMELINE_PARTNER, self._query(("position", str(position))))
        return None if found is None else int(found)


__all__ = ["InvalidEvent", "RemoteJournal", "RemoteTimeline", "wired_operations"]
