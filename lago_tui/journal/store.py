"""The journal API: the one small surface that the CLI and the TUI both use.

Every method blocks on DuckDB; the TUI calls them from thread workers only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ids
from .api import JournalAPI
from .connection import Connector, check_file
from .errors import InvalidEvent, InvalidSpec, JournalError, NotFound
if TYPE_CHECKING:  # the write path (pydantic models, ingest SQL) is imported on first write
    from .ingest import IngestResult
    from .models import BranchSpec, EventEnvelope, SessionSpec
from .views import (
    BranchInfo,
    Merge,
    SearchHit,
    SessionDetail,
    SessionSummary,
    SessionTotals,
    TimelineEvent,
)
from .timeline import _EVENT_COLS, Timeline, _event

SORT_COLUMNS = {
    "name": "lower(name)",
    "id": "session_id",
    "model": "lower(model)",
    "branches": "branch_count",
    "events": "event_count",
    "tokens": "tokens_in + tokens_out",
    "last_activity": "coalesce(last_ts, created_at)",
    "created": "created_at",
}
_SESSION_COLS = (
    "session_id, name, model, params, created_at, event_count, branch_count, tokens_in, tokens_out, "
    "first_ts, last_ts, closed"
)
_TOTALS_COLS = "tool_calls, failures"  # kept by every write, so opening a session scans no events

def like_pattern(text: str) -> str:
    """An ILIKE pattern matching ``text`` as a literal substring (``%``, ``_`` and ``\\`` escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _session(row: Sequence[Any]) -> SessionSummary:
    try:
        params = json.loads(row[3]) if row[3] else {}
    except ValueError:
        params = {}
    return SessionSummary(
        session_id=row[0], name=row[1], model=row[2],
        params={str(k): v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        if isinstance(params, dict) else {},
        created_at=row[4], event_count=row[5], branch_count=row[6], tokens_in=row[7], tokens_out=row[8],
        first_ts=row[9], last_ts=row[10], closed=bool(row[11]),
    )


@dataclass(frozen=True)
class ChangeToken:
    """(mtime_ns, size) of the journal file and its WAL; equal tokens mean nothing was written."""

    db: tuple[int, int] | None
    wal: tuple[int, int] | None


@dataclass(frozen=True)
class ImportResult:
    path: str
    sessions: int
    events: int
    skipped: int
    branches: int


class Journal(JournalAPI):
    """A Lago-compatible event journal in one DuckDB file (the local implementation of JournalAPI)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0, idle_release: float = 1.0):
        self.path = Path(path).expanduser()
        self._conn = Connector(self.path, busy_timeout=busy_timeout, idle_release=idle_release)

    @property
    def location(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Release any connection now (readers are also released by themselves after an idle second)."""
        self._conn.release()

    @property
    def holds_connection(self) -> bool:
        return self._conn.holds_connection

    @property
    def idle_release(self) -> float:
        """Seconds a read-only connection is kept after its last query (then the file is released)."""
        return self._conn.idle_release

    @idle_release.setter
    def idle_release(self, seconds: float) -> None:
        self._conn.idle_release = seconds

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exists(self) -> bool:
        return check_file(self.path, must_exist=False)

    def check(self) -> None:
        """Validate the file for a read-only command: raises if missing, not a journal, corrupt..."""
        check_file(self.path, must_exist=True)
        with self._conn.reader():
            pass

    def change_token(self) -> ChangeToken:
        """A cheap 'has the journal changed' check: stats the file and its WAL, opens nothing."""

        def stat(p: str) -> tuple[int, int] | None:
            try:
                st = os.stat(p)
            except OSError:
                return None
            return (st.st_mtime_ns, st.st_size)

        return ChangeToken(stat(str(self.path)), stat(str(self.path) + ".wal"))

    # ------------------------------------------------------------------ writing

    def append(self, events: Sequence[EventEnvelope | dict[str, Any]]) -> IngestResult:
        """Append a batch atomically. Incoming seq values are ignored; the journal assigns them.

        Events of an unknown session are refused unless the batch creates it with SessionCreated first.
        """
        from pydantic import ValidationError

        from .ingest import IngestResult, ingest, stage_rows
        from .models import EventEnvelope
        rows: list[tuple[int, str]] = []
        for i, event in enumerate(events):
            if isinstance(event, dict):
                try:
                    event = EventEnvelope.model_validate(event)
                except ValidationError as exc:
                    err = exc.errors(include_url=False)[0]
                    loc = ".".join(str(p) for p in err["loc"])
                    raise InvalidEvent(f"event {i + 1}", f"{loc}: {err['msg']}") from None
            rows.append((i, json.dumps(event.to_wire(), ensure_ascii=False)))
        if not rows:
            return IngestResult(0, 0, 0, 0)
        with self._conn.writer() as con:
            stage_rows(con, rows)
            return ingest(con, lambda idx: f"event {idx + 1}", implicit_sessions=False)

    def create_session(self, spec: SessionSpec | dict[str, Any], *, now_us: int | None = None) -> str:
        """Write a session, its main branch and its SessionCreated event (seq 1) in one transaction."""
        from .models import EventEnvelope, SessionConfig, SessionCreated, SessionSpec
        spec = self._spec(SessionSpec, spec)
        now = now_us if now_us is not None else time.time_ns() // 1000
        session_id = ids.new_ulid()
        config = SessionConfig(model=spec.model, params=spec.params) if spec.model else SessionConfig(params=spec.params)
        payload = SessionCreated(name=spec.name, config=config)
        event = EventEnvelope(
            event_id=ids.new_ulid(), session_id=session_id, branch_id="main", timestamp=now, payload=payload,
        )
        self.append([event])
        return session_id

    def create_branch(
        self, session: str, spec: BranchSpec | dict[str, Any], *, now_us: int | None = None
    ) -> str:
        """Fork ``spec.parent`` at ``spec.fork_point_seq`` (default: its head) with a BranchCreated event."""
        from .models import BranchCreated, BranchSpec, EventEnvelope
        spec = self._spec(BranchSpec, spec)
        detail = self.session(session)
        parent = detail.branch(spec.parent)
        if parent is None:
            raise NotFound(f"no branch {spec.parent!r} in session {detail.summary.name}")
        if detail.branch(spec.name) is not None or spec.name == "main":
            raise InvalidSpec(f"a branch named {spec.name!r} already exists in this session")
        fork = parent.head_seq if spec.fork_point_seq is None else spec.fork_point_seq
        if not 0 <= fork <= parent.head_seq:
            raise InvalidSpec(f"fork point {fork} is outside branch {parent.name} (0..{parent.head_seq})")
        branch_id = ids.new_ulid()
        event = EventEnvelope(
            event_id=ids.new_ulid(),
            session_id=detail.summary.session_id,
            branch_id=parent.branch_id,
            timestamp=now_us if now_us is not None else time.time_ns() // 1000,
            payload=BranchCreated(new_branch_id=branch_id, fork_point_seq=fork, name=spec.name),
        )
        try:
            self.append([event])
        except InvalidEvent as exc:  # lost a race with another writer: same rule, clearer words
            raise InvalidSpec(exc.problem) from None
        return branch_id

    @staticmethod
    def _spec(cls: Any, spec: Any) -> Any:
        from pydantic import ValidationError

        if isinstance(spec, cls):
            return spec
        try:
            return cls.model_validate(spec)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise InvalidSpec(msg if not field or msg.startswith(field.split(".")[0]) else f"{field}: {msg}") from None

    # ------------------------------------------------------------------ import / export

    def import_file(self, path: str | os.PathLike[str]) -> ImportResult:
        """Import a JSON array or JSON Lines file of EventEnvelopes in one transaction (all or nothing)."""
        from .ingest import ingest, stage_json_array, stage_rows
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise JournalError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise JournalError(f"{path}: is a directory") from None
        except PermissionError:
            raise JournalError(f"{path}: permission denied") from None
        except OSError as exc:
            raise JournalError(f"{path}: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InvalidEvent(f"{path}:{line}", "not valid UTF-8") from None
        text = text.removeprefix("\ufeff")
        stripped = text.lstrip()
        if stripped.startswith("["):
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidEvent(f"{path}:{exc.lineno}", f"not valid JSON ({exc.msg})") from None
            lines = _array_element_lines(text)
            with self._conn.writer() as con:
                stage_json_array(con, text)
                result = ingest(con, lambda i: f"{path}:{lines(i)}", implicit_sessions=True)
        else:
            rows = [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
            if not rows:
                raise InvalidEvent(f"{path}:1", "no events (expected a JSON array or JSON Lines)")
            with self._conn.writer() as con:
                stage_rows(con, rows)
                result = ingest(con, lambda i: f"{path}:{i}", implicit_sessions=True)
        return ImportResult(str(path), result.sessions_created, result.events_added, result.events_skipped,
                            result.branches_created)

    def export(self, session: str) -> Iterator[dict[str, Any]]:
        """Every event of a session (all branches) as wire objects, in write order, with assigned seqs."""
        session_id = self.resolve_session(session)
        last = 0
        while True:
            with self._conn.reader() as con:
                assert con is not None
                rows = con.execute(
                    f"SELECT {_EVENT_COLS}, ord FROM events WHERE session_id = ? AND ord > ? ORDER BY ord LIMIT 5000",
                    [session_id, last],
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _event(row, 0, inherited=False).to_wire()
            last = rows[-1][-1]

    # ------------------------------------------------------------------ sessions

    def _filter_sql(self, text: str | None) -> tuple[str, list[Any]]:
        if not text:
            return "", []
        pat = like_pattern(text)
        return " WHERE (name ILIKE ? ESCAPE '\\' OR session_id ILIKE ? ESCAPE '\\' OR model ILIKE ? ESCAPE '\\')", [pat, pat, pat]

    def count_sessions(self, filter_text: str | None = None) -> int:
        where, params = self._filter_sql(filter_text)
        with self._conn.reader() as con:
            if con is None:
                return 0
            return con.execute(f"SELECT count(*) FROM sessions{where}", params).fetchone()[0]

    def list_sessions(
        self,
        filter_text: str | None = None,
        *,
        sort: str = "last_activity",
        descending: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SessionSummary]:
        """Sessions with their aggregates, filtered (name, id, model; case-insensitive) and sorted."""
        if sort not in SORT_COLUMNS:
            raise JournalError(f"cannot sort by {sort!r}; choose one of {', '.join(SORT_COLUMNS)}")
        where, params = self._filter_sql(filter_text)
        direction = "DESC" if descending else "ASC"
        sql = f"SELECT {_SESSION_COLS} FROM sessions{where} ORDER BY {SORT_COLUMNS[sort]} {direction}, session_id {direction}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        with self._conn.reader() as con:
            if con is None:
                return []
            return [_session(r) for r in con.execute(sql, params).fetchall()]

    def session_index(
        self, session_id: str, filter_text: str | None = None, *, sort: str = "last_activity", descending: bool = True
    ) -> int | None:
        """Position of a session in the filtered, sorted list (to keep a highlight across reloads)."""
        if sort not in SORT_COLUMNS:
            raise JournalError(f"cannot sort by {sort!r}; choose one of {', '.join(SORT_COLUMNS)}")
        where, params = self._filter_sql(filter_text)
        direction = "DESC" if descending else "ASC"
        sql = (
            f"SELECT pos FROM (SELECT session_id, row_number() OVER (ORDER BY {SORT_COLUMNS[sort]} {direction}, "
            f"session_id {direction}) - 1 AS pos FROM sessions{where}) WHERE session_id = ?"
        )
        with self._conn.reader() as con:
            if con is None:
                return None
            row = con.execute(sql, params + [session_id]).fetchone()
        return None if row is None else row[0]

    def match_sessions(self, text: str, *, limit: int = 50) -> list[SessionSummary]:
        """Sessions whose name, id or model hold the characters of ``text`` in order (see JournalAPI)."""
        chars = [c for c in text if not c.isspace()]
        if not chars:
            return self.list_sessions(limit=limit)
        fuzzy = "%" + "%".join(like_pattern(c)[1:-1] for c in chars) + "%"  # the characters in order
        typed = like_pattern(text.strip())  # the text as typed, anywhere in the name
        id_prefix = typed[1:]  # an id starting with it
        sql = (
            f"SELECT {_SESSION_COLS} FROM sessions "
            "WHERE name ILIKE ? ESCAPE '\\' OR model ILIKE ? ESCAPE '\\' OR session_id ILIKE ? ESCAPE '\\' "
            "ORDER BY (name ILIKE ? ESCAPE '\\') DESC, (session_id ILIKE ? ESCAPE '\\') DESC, "
            f"{SORT_COLUMNS['last_activity']} DESC, session_id DESC LIMIT ?"
        )
        params = [fuzzy, fuzzy, id_prefix, typed, id_prefix, limit]
        with self._conn.reader() as con:
            if con is None:
                return []
            return [_session(r) for r in con.execute(sql, params).fetchall()]

    def sessions_named(self, name: str, *, limit: int = 20) -> list[SessionSummary]:
        """Sessions whose name is exactly ``name``, oldest first."""
        with self._conn.reader() as con:
            if con is None:
                return []
            rows = con.execute(
                f"SELECT {_SESSION_COLS} FROM sessions WHERE name = ? ORDER BY created_at, session_id LIMIT ?",
                [name, limit],
            ).fetchall()
        return [_session(r) for r in rows]

    def models(self) -> list[str]:
        """Models already used in the journal, most used first (suggestions for the create form)."""
        with self._conn.reader() as con:
            if con is None:
                return []
            rows = con.execute(
                "SELECT model FROM sessions WHERE model <> '' GROUP BY model ORDER BY count(*) DESC, model LIMIT 50"
            ).fetchall()
        return [r[0] for r in rows]

    def resolve_session(self, ref: str) -> str:
        """A session id from an id, a unique id prefix or a unique name."""
        with self._conn.reader() as con:
            if con is None:
                raise NotFound(f"no session {ref!r} (the journal is empty)")
            row = con.execute("SELECT session_id FROM sessions WHERE session_id = ?", [ref]).fetchone()
            if row:
                return row[0]
            rows = con.execute(
                "SELECT session_id FROM sessions WHERE starts_with(session_id, ?) LIMIT 2", [ref]
            ).fetchall()
            if len(rows) == 1:
                return rows[0][0]
            if len(rows) > 1:
                raise NotFound(f"session id prefix {ref!r} is ambiguous")
            rows = con.execute("SELECT session_id FROM sessions WHERE name = ? LIMIT 2", [ref]).fetchall()
        if len(rows) == 1:
            return rows[0][0]
        if len(rows) > 1:
            raise NotFound(f"session name {ref!r} is ambiguous; use its id")
        raise NotFound(f"no session {ref!r}")

    def session(self, ref: str) -> SessionDetail:
        """One session with its branches (parent, fork point, head, events, merges) and totals."""
        session_id = self.resolve_session(ref)
        with self._conn.reader() as con:
            assert con is not None
            row = con.execute(
                f"SELECT {_SESSION_COLS}, {_TOTALS_COLS} FROM sessions WHERE session_id = ?", [session_id]
            ).fetchone()
            if row is None:
                raise NotFound(f"no session {ref!r}")
            branch_rows = con.execute(
                "SELECT branch_id, name, parent_branch_id, fork_point_seq, created_at, head_seq FROM branches "
                "WHERE session_id = ? ORDER BY (branch_id <> 'main'), created_at, branch_id",
                [session_id],
            ).fetchall()
            merge_rows = con.execute(
                "SELECT branch_id, seq, payload->>'$.source_branch_id', TRY_CAST(payload->>'$.merge_seq' AS BIGINT) "
                "FROM events WHERE session_id = ? AND kind = 'BranchMerged' ORDER BY ord",
                [session_id],
            ).fetchall()
            merges: dict[str, list[Merge]] = {}
            for target, seq, source, merge_seq in merge_rows:
                if source:
                    merges.setdefault(source, []).append(Merge(source, target, seq, merge_seq or 0))
        summary = _session(row)
        branches = tuple(
            BranchInfo(session_id, b[0], b[1], b[2], b[3], b[4], b[5], tuple(merges.get(b[0], ())))
            for b in branch_rows
        )
        return SessionDetail(
            summary, branches,
            SessionTotals(
                summary.event_count, summary.tokens_in, summary.tokens_out, row[12], row[13],
                (summary.last_ts or 0) - (summary.first_ts or 0),
            ),
        )

    def get_event(self, event_id: str) -> TimelineEvent:
        with self._conn.reader() as con:
            row = None if con is None else con.execute(
                f"SELECT {_EVENT_COLS} FROM events WHERE event_id = ?", [event_id]
            ).fetchone()
        if row is None:
            raise NotFound(f"no event {event_id!r}")
        return _event(row, 0, inherited=False)

    # ------------------------------------------------------------------ timelines and search

    def timeline(
        self, session: str, branch: str = "main", kinds: Iterable[str] | None = None,
        *, detail: SessionDetail | None = None,
    ) -> Timeline:
        """A branch's timeline; pass the session's ``detail`` if you already have it (saves a query)."""
        detail = detail if detail is not None and session in (detail.summary.session_id,) else self.session(session)
        info = detail.branch(branch)
        if info is None:
            raise NotFound(f"no branch {branch!r} in session {detail.summary.name}")
        return Timeline(self, detail, info.branch_id, tuple(sorted(set(kinds))) if kinds else None)

    def search(self, text: str, *, session: str | None = None, limit: int = 100) -> list[SearchHit]:
        """Case-insensitive literal substring search over payload text, in one session or all."""
        params: list[Any] = [text.lower()]
        where = "contains(lower(text), ?)"  # a literal substring: % _ \\ mean themselves
        if session is not None:
            where += " AND session_id = ?"
            params.append(self.resolve_session(session))
        with self._conn.reader() as con:
            if con is None:
                return []
            rows = con.execute(
                f"SELECT e.session_id, s.name, e.branch_id, e.seq, e.event_id, e.kind, left(e.text, 300) "
                f"FROM (SELECT * FROM events WHERE {where} ORDER BY ord LIMIT ?) e JOIN sessions s USING (session_id) "
                f"ORDER BY e.ord",
                params + [limit],
            ).fetchall()
        return [SearchHit(*r) for r in rows]

    # used by Timeline
    def _read(self) -> Any:
        return self._conn.reader()


def _array_element_lines(text: str):  # noqa: ANN202 - returns a small closure
    """idx -> line number of the idx-th element of a JSON array document, computed only when asked."""

    def line_of(idx: int) -> int:
        decoder = json.JSONDecoder()
        pos = text.index("[") + 1
        for k in range(idx + 1):
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if k == idx:
                return text.count("\n", 0, pos) + 1
            _, pos = decoder.raw_decode(text, pos)
        return text.count("\n", 0, pos) + 1

    return line_of
