"""A plain Lago server (Lago's routes only, as ``lagod`` has): what the TUI and the CLI can still do.

Sessions are listed (name, model, created, branches), sessions show their branches with heads, and
branch timelines page through ``/events/read`` (inherited events included, as locally: Lago forks from
main). Sessions and branches can be created. What Lago's routes cannot give says so plainly
(:class:`~lago_tui.remote.errors.NeedsLagoTuiServe`): event counts and tokens in the list, search, kind
filters, finding in a timeline, import, and branches of branches.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..journal.api import TimelineAPI
from ..journal.errors import InvalidSpec, JournalError, NotFound
from ..journal.views import BranchInfo, SessionDetail, SessionSummary, SessionTotals, TimelineEvent
from .errors import NeedsLagoTuiServe

if TYPE_CHECKING:
    from .client import RemoteJournal

LIST_TTL = 1.0  # seconds a fetched session list answers count/list/index (one screen reload asks all three)
_SORTS = {
    "name": lambda s: s.name.lower(), "id": lambda s: s.session_id, "model": lambda s: s.model.lower(),
    "branches": lambda s: s.branch_count, "events": lambda s: s.event_count, "tokens": lambda s: s.tokens,
    "last_activity": lambda s: s.last_activity, "created": lambda s: s.created_at,
}


def _needs(what: str) -> NeedsLagoTuiServe:
    return NeedsLagoTuiServe(f"{what} needs `lago-tui serve` (this is a plain Lago server)")


def _sid(session_id: str) -> str:
    return quote(session_id, safe="")


class PlainLago:
    """The journal operations, with Lago's routes (``/v1/sessions...``) only."""

    def __init__(self, journal: RemoteJournal) -> None:
        self.journal = journal
        self.transport = journal.transport
        self._cache: tuple[float, list[SessionSummary]] | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ sessions

    def _sessions(self) -> list[SessionSummary]:
        with self._lock:
            if self._cache is not None and time.monotonic() - self._cache[0] < LIST_TTL:
                return self._cache[1]
        rows = self.transport.request("GET", "/v1/sessions").json()
        out = [self._summary(r) for r in rows if isinstance(r, dict) and isinstance(r.get("session_id"), str)]
        with self._lock:
            self._cache = (time.monotonic(), out)
        return out

    @staticmethod
    def _summary(r: dict[str, Any]) -> SessionSummary:
        created = r.get("created_at") if isinstance(r.get("created_at"), int) else 0
        branches = r.get("branches") if isinstance(r.get("branches"), list) else ["main"]
        return SessionSummary(
            r["session_id"], str(r.get("name", "")), str(r.get("model") or ""), {}, created, 0, len(branches),
            0, 0, None, None, False,
        )

    def _filtered(self, query: str | None, sort: str, descending: bool) -> list[SessionSummary]:
        from ..journal.query import parse_list, session_matches

        if sort not in _SORTS:
            raise JournalError(f"cannot sort by {sort!r}; choose one of {', '.join(_SORTS)}")
        rows = self._sessions()
        if query:
            parsed = parse_list(query)  # the same language as a lago-tui server's, evaluated here
            rows = [s for s in rows if session_matches(parsed, s)]
        key = _SORTS[sort]
        return sorted(rows, key=lambda s: (key(s), s.session_id), reverse=descending)

    def count_sessions(self, query: str | None = None) -> int:
        return len(self._filtered(query, "created", True))

    def list_sessions(self, query: str | None = None, *, sort: str = "last_activity", descending: bool = True,
                      limit: int | None = None, offset: int = 0) -> list[SessionSummary]:
        rows = self._filtered(query, sort, descending)
        return rows[offset:] if limit is None else rows[offset:offset + limit]

    def session_index(self, session_id: str, query: str | None = None, *, sort: str = "last_activity",
                      descending: bool = True) -> int | None:
        for i, s in enumerate(self._filtered(query, sort, descending)):
            if s.session_id == session_id:
                return i
        return None

    def models(self) -> list[str]:
        counts: dict[str, int] = {}
        for s in self._sessions():
            if s.model:
                counts[s.model] = counts.get(s.model, 0) + 1
        return sorted(counts, key=lambda m: (-counts[m], m))[:50]

    def resolve_session(self, ref: str) -> str:
        rows = self._sessions()
        for s in rows:
            if s.session_id == ref:
                return ref
        prefixed = [s for s in rows if s.session_id.startswith(ref)]
        if len(prefixed) == 1:
            return prefixed[0].session_id
        if len(prefixed) > 1:
            raise NotFound(f"session id prefix {ref!r} is ambiguous")
        named = [s for s in rows if s.name == ref]
        if len(named) == 1:
            return named[0].session_id
        if len(named) > 1:
            raise NotFound(f"session name {ref!r} is ambiguous; use its id")
        if not rows:
            raise NotFound(f"no session {ref!r} (the journal is empty)")
        raise NotFound(f"no session {ref!r}")

    def session(self, ref: str) -> SessionDetail:
        session_id = self.resolve_session(ref)
        response = self.transport.request("GET", f"/v1/sessions/{_sid(session_id)}", check=False)
        if response.status == 404:
            raise NotFound(f"no session {ref!r}")
        if response.status >= 400:
            raise self.transport.http_error(response)
        summary = self._summary(response.json())
        branches = self.transport.request("GET", f"/v1/sessions/{_sid(session_id)}/branches").json()
        infos = []
        for b in branches:
            branch_id = b["branch_id"]
            head = self.transport.request(
                "GET", f"/v1/sessions/{_sid(session_id)}/events/head", query=[("branch", branch_id)]
            ).json()["seq"]
            parent = None if branch_id == "main" else "main"  # Lago forks from main
            infos.append(BranchInfo(session_id, branch_id, str(b.get("name", branch_id)), parent,
                                    int(b.get("fork_point_seq") or 0), summary.created_at, int(head)))
        events = sum(b.head_seq for b in infos)
        summary = SessionSummary(summary.session_id, summary.name, summary.model, {}, summary.created_at, events,
                                 len(infos), 0, 0, None, None, False)
        return SessionDetail(summary, tuple(infos), SessionTotals(events, 0, 0, 0, 0, 0))

    def get_event(self, event_id: str) -> TimelineEvent:
        raise _needs("looking an event up by id")

    def search(self, text: str, *, session: str | None = None, limit: int = 100) -> list:
        raise _needs("search")

    # ------------------------------------------------------------------ writing

    def create_session(self, spec: Any, *, now_us: int | None = None) -> str:
        from ..journal.models import SessionSpec
        from ..journal.store import Journal

        spec = Journal._spec(SessionSpec, spec)  # the same checks and messages as a local journal
        body = {"name": spec.name, "model": spec.model or None, "params": spec.params}
        self._cache = None
        return self.transport.request("POST", "/v1/sessions", json_body=body).json()["session_id"]

    def create_branch(self, session: str, spec: Any, *, now_us: int | None = None) -> str:
        from ..journal.models import BranchSpec
        from ..journal.store import Journal

        spec = Journal._spec(BranchSpec, spec)
        detail = self.session(session)
        parent = detail.branch(spec.parent)
        if parent is None:
            raise NotFound(f"no branch {spec.parent!r} in session {detail.summary.name}")
        if parent.branch_id != "main":
            raise _needs("forking a branch other than main")
        if detail.branch(spec.name) is not None or spec.name == "main":
            raise InvalidSpec(f"a branch named {spec.name!r} already exists in this session")
        body: dict[str, Any] = {"name": spec.name}
        if spec.fork_point_seq is not None:
            body["fork_point_seq"] = spec.fork_point_seq
        self._cache = None
        return self.transport.request(
            "POST", f"/v1/sessions/{_sid(detail.summary.session_id)}/branches", json_body=body
        ).json()["branch_id"]

    def append(self, events: Any) -> Any:
        raise _needs("appending through the journal interface")

    def import_file(self, path: Any) -> Any:
        raise _needs("import")

    def export(self, session: str) -> Iterator[dict[str, Any]]:
        detail = self.session(session)
        for b in detail.branches:
            for ev in self.read(detail.summary.session_id, b.branch_id, 1, b.head_seq):
                yield ev.to_wire()

    # ------------------------------------------------------------------ timelines

    def read(self, session_id: str, branch_id: str, first: int, last: int) -> list[TimelineEvent]:
        """A branch's own events with seq in [first, last] (``after_seq`` is inclusive in Lago)."""
        if last < first:
            return []
        rows = self.transport.request(
            "GET", f"/v1/sessions/{_sid(session_id)}/events/read",
            query=[("branch", branch_id), ("after_seq", str(first)), ("limit", str(last - first + 1))],
        ).json()
        out = []
        for r in rows:
            if isinstance(r, dict) and isinstance(r.get("seq"), int) and first <= r["seq"] <= last:
                out.append(r)
        return [_from_wire(r) for r in out]

    def timeline(self, session: str, branch: str = "main", kinds: Iterable[str] | None = None,
                 *, query: str | None = None, detail: SessionDetail | None = None) -> TimelineAPI:
        if kinds:
            raise _needs("the kind filter")
        if query:
            raise _needs("timeline queries")
        if detail is None or detail.summary.session_id != session:
            detail = self.session(session)
        info = detail.branch(branch)
        if info is None:
            raise NotFound(f"no branch {branch!r} in session {detail.summary.name}")
        return PlainTimeline(self, detail, info.branch_id)


def _from_wire(r: dict[str, Any]) -> TimelineEvent:
    payload = r.get("payload") if isinstance(r.get("payload"), dict) else {}
    metadata = r.get("metadata") if isinstance(r.get("metadata"), dict) else {}
    return TimelineEvent(
        0, str(r.get("event_id", "")), str(r.get("session_id", "")), str(r.get("branch_id", "main")), r["seq"],
        r.get("timestamp") if isinstance(r.get("timestamp"), int) else 0, str(payload.get("type", "")),
        r.get("run_id"), r.get("parent_id"), json.dumps(payload, ensure_ascii=False),
        json.dumps(metadata, ensure_ascii=False), r.get("schema_version") or 1, False,
    )


class PlainTimeline(TimelineAPI):
    """Main's events up to the fork point, then the branch's own, paged with ``/events/read``."""

    def __init__(self, lago: PlainLago, detail: SessionDetail, branch_id: str) -> None:
        self.lago = lago
        self.session_id = detail.summary.session_id
        self.branch_id = branch_id
        self.kinds = None
        self.query = None
        chain = detail.lineage(branch_id)
        self._segments = [
            [b.branch_id, chain[i + 1].fork_point_seq if i + 1 < len(chain) else b.head_seq]
            for i, b in enumerate(chain)
        ]

    @property
    def length(self) -> int:
        return sum(last for _, last in self._segments)

    @property
    def segment_bounds(self) -> list[tuple[str, int]]:
        return [(b, last) for b, last in self._segments]

    @property
    def fork_positions(self) -> list[int]:
        out, total = [], 0
        for _, last in self._segments[:-1]:
            total += last
            out.append(total)
        return out

    def refresh(self) -> int:
        head = self.lago.transport.request(
            "GET", f"/v1/sessions/{_sid(self.session_id)}/events/head", query=[("branch", self.branch_id)]
        ).json()["seq"]
        self._segments[-1][1] = max(self._segments[-1][1], int(head))
        return self.length

    def position_of(self, branch_id: str, seq: int) -> int | None:
        offset = 0
        for b, last in self._segments:
            if b == branch_id:
                return None if last == 0 else offset + max(0, min(seq, last) - 1)
            offset += last
        return None

    def window(self, start: int, count: int) -> list[TimelineEvent]:
        end = min(self.length, start + count)
        start = max(0, start)
        out: list[TimelineEvent] = []
        offset = 0
        for b, last in self._segments:
            lo, hi = max(start, offset), min(end, offset + last)
            if lo < hi:
                for ev in self.lago.read(self.session_id, b, lo - offset + 1, hi - offset):
                    position = offset + ev.seq - 1
                    out.append(TimelineEvent(
                        position, ev.event_id, ev.session_id, ev.branch_id, ev.seq, ev.ts, ev.kind, ev.run_id,
                        ev.parent_id, ev.payload_json, ev.metadata_json, ev.schema_version, b != self.branch_id,
                    ))
            offset += last
        return out

    def find(self, text: str, start: int, *, forward: bool = True) -> int | None:
        raise _needs("search")

    def count_matches(self, query: str) -> int:
        raise _needs("search")

    def match_positions(self, query: str, start: int = 0, count: int | None = None) -> list[int]:
        raise _needs("search")

    def exact_position(self, branch_id: str, seq: int) -> int | None:
        offset = 0
        for b, last in self._segments:
            if b == branch_id:
                return offset + seq - 1 if 1 <= seq <= last else None
            offset += last
        return None

    def partner(self, position: int) -> int | None:
        raise _needs("pairing a tool call with its result")
