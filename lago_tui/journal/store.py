"""The journal API: the one small surface that the CLI and the TUI both use.

Every method blocks on DuckDB; the TUI calls them from thread workers only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ids
from .api import JournalAPI
from .connection import Connector, check_file
from .errors import Conflict, InvalidEvent, InvalidSpec, JournalError, NotFound
from .query import Query, list_predicate

if TYPE_CHECKING:  # the write path (pydantic models, ingest SQL) is imported on first write
    from .analysis_views import Comparison, Problem, StateAt
    from .models import BranchSpec, EventEnvelope, SessionSpec
    from .ingest import IngestResult
    from .replay import ReplayCache
from .timeline import _EVENT_COLS, Timeline, _event, _rows_between, execute_roomy
from .views import (
    AppendResult,
    BranchInfo,
    Merge,
    MergeResult,
    RunFigures,
    SearchHit,
    SessionDetail,
    SessionSummary,
    SessionTotals,
    TimelineEvent,
)

SORT_COLUMNS = {
    "name": "lower(name)",
    "id": "session_id",
    "model": "lower(model)",
    "branches": "branch_count",
    "events": "event_count",
    "tokens": "tokens_in::HUGEINT + tokens_out",  # 128-bit: journals written before the u32 rule may hold 2^63
    "last_activity": "coalesce(last_ts, created_at)",
    "created": "created_at",
}
_SESSION_COLS = (
    "session_id, name, model, params, created_at, event_count, branch_count, tokens_in, tokens_out, "
    "first_ts, last_ts, closed"
)
_TOTALS_COLS = "tool_calls, failures"  # kept by every write, so opening a session scans no events
EXPORT_PAGE_BYTES = 4 * 1024 * 1024  # of payload and metadata text per page of an export


def _import_result(path: str | os.PathLike[str], result: IngestResult) -> ImportResult:
    return ImportResult(str(path), result.sessions_created, result.events_added, result.events_skipped,
                        result.branches_created)


def _candidates(rows: Sequence[Sequence[Any]]) -> str:
    """'ID (NAME, created 2026-11-20 10:34), ...' for an ambiguity error (rows: id, name, created, total)."""
    from datetime import UTC, datetime

    shown = []
    for session_id, name, created, _ in rows[:5]:
        try:
            when = datetime.fromtimestamp(created / 1_000_000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        except (OverflowError, OSError, ValueError):
            when = str(created)
        shown.append(f"{session_id} ({name}, created {when})")
    more = rows[0][3] - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


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

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0, idle_release: float = 1.0,
        connector: Any = None, create_parents: bool = False,
    ):
        """``connector``: what opens the file (default a :class:`Connector`; the server passes its
        :class:`~lago_tui.journal.owner.FileOwner`, which keeps one read-write connection for everything).
        ``create_parents``: create missing directories on the first write (the default journal's data
        directory); otherwise a path in a directory that does not exist is an error, not a surprise."""
        self.path = Path(path).expanduser()
        self.create_parents = create_parents
        try:
            str(self.path).encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 (DuckDB takes paths as UTF-8 only)
            raise JournalError(f"journal path {self.path} is not valid UTF-8; rename it, or link to it "
                               "from a UTF-8 name") from None
        self._conn = connector if connector is not None else Connector(
            self.path, busy_timeout=busy_timeout, idle_release=idle_release, create_parents=create_parents
        )
        self._replay: ReplayCache | None = None  # timeline indexes of state_at, built on first use
        self._analysis_lock = threading.Lock()

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

    def local_files(self) -> list[tuple[str, str]]:
        return journal_files(self.path)

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

    def append(self, events: Sequence[EventEnvelope | dict[str, Any]]) -> AppendResult:
        """Append a batch atomically. Incoming seq values are ignored; the journal assigns them and the
        result lists them (``.seqs``, input order; an event already in the journal answers its stored seq).

        Events of an unknown session are refused unless the batch creates it with SessionCreated first. An
        event whose event_id is already stored with the same content is skipped (appends are idempotent);
        with other content, or in another session, it is refused.
        """
        from pydantic import ValidationError

        from .append_path import append_plain
        from .ingest import append_rows
        from .models import EventEnvelope

        rows: list[tuple[int, str]] = []
        for i, event in enumerate(events):
            try:
                if isinstance(event, dict):
                    event = EventEnvelope.model_validate(event)
                rows.append((i, json.dumps(event.to_wire(), ensure_ascii=False)))
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise InvalidEvent(f"event {i + 1}", f"{loc}: {err['msg']}", index=i) from None
            except (RecursionError, ValueError) as exc:  # nesting too deep for the models, NaN in a model...
                problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise InvalidEvent(f"event {i + 1}", problem, index=i) from None
        if not rows:
            return AppendResult((), 0, 0, 0, 0)
        with self._conn.writer() as con:
            # Plain events (known kinds, existing session and branch, new ids) take the lean path; anything
            # else, and every refusal, the general one, which checks each event as an import checks its lines.
            result = append_plain(con, [raw for _, raw in rows])
            if result is not None:
                return result
            return append_rows(con, rows, lambda idx: f"event {idx + 1}")

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
        """Import a JSON array or JSON Lines file of EventEnvelopes in one transaction (all or nothing).

        A regular JSON Lines file of a size DuckDB can hold is read whole by DuckDB while Python checks it
        (:mod:`.wholefile`); any other input, and any file that path declines, is streamed (memory stays
        bounded whatever its size; :mod:`.importer`). Both accept and refuse the same files, the same way.
        """
        from .importer import ImportSource, import_into
        from .wholefile import Declined, import_whole, suits

        readable = suits(Path(path)) if getattr(self._conn, "reads_files", False) else None
        if readable is not None:
            try:
                with self._conn.writer(readable=readable) as con:
                    return _import_result(path, import_whole(con, readable))
            except Declined:
                pass  # rolled back: the streamed import below says what is wrong, or imports what this could not
        source = ImportSource(Path(path))
        chunks = source.chunks()
        try:
            first = next(chunks)  # a file that is missing, empty or not text fails here, before the journal is opened
            with self._conn.writer() as con:
                result = import_into(con, source, first, chunks)
        finally:
            chunks.close()
        return _import_result(path, result)

    def export(
        self, session: str, *, branch: str | None = None, from_seq: int | None = None, to_seq: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every event of a session (all branches) as wire objects, in write order, with assigned seqs.

        With a ``branch``: its timeline in order (inherited events included), optionally cut to the range
        ``from_seq``..``to_seq`` of the branch's own seqs (no ``from_seq``: from the first inherited event).
        """
        if branch is not None:
            return self._export_branch(session, branch, from_seq, to_seq)
        if from_seq is not None or to_seq is not None:
            raise InvalidSpec("a seq range needs a branch")
        return self._export_all(session)

    def _export_branch(
        self, session: str, branch: str, from_seq: int | None, to_seq: int | None
    ) -> Iterator[dict[str, Any]]:
        from .replay import export_ranges

        ranges = export_ranges(self.session(session), branch, from_seq, to_seq)  # raises before any output
        return self._export_ranges(ranges)

    def _export_ranges(self, ranges: list[tuple[str, str, int, int]]) -> Iterator[dict[str, Any]]:
        count = 256
        for session_id, branch_id, after, last in ranges:
            while after < last:
                top = min(last, after + count)  # seqs of a branch are contiguous: a page is a seq range
                with self._conn.reader() as con:
                    assert con is not None
                    rows = _rows_between(con, session_id, branch_id, after + 1, top, [])  # halves on OOM
                if not rows:
                    break
                for row in rows:
                    yield _event(row, 0, inherited=False).to_wire()
                after = rows[-1][3]
                count = _next_page(count, rows)

    def _export_all(self, session: str) -> Iterator[dict[str, Any]]:
        """Streamed in pages of about :data:`EXPORT_PAGE_BYTES` (fewer rows when events are large), so any
        session that imported can be exported within the reader's memory limit."""
        session_id = self.resolve_session(session)
        last, count = 0, 256
        while True:

            def page(count: int, last: int = last) -> list[tuple[Any, ...]]:
                with self._conn.reader() as con:
                    assert con is not None
                    # The page's last ord first (a narrow query), then its rows by ord range: fetching wide rows
                    # through ORDER BY ... LIMIT would read every later payload of the session to choose them.
                    top, n = con.execute(
                        "SELECT max(ord), count(*) FROM (SELECT ord FROM events WHERE session_id = ? AND ord > ? "
                        "ORDER BY ord LIMIT ?)", [session_id, last, count],
                    ).fetchone()
                    if not n:
                        return []
                    return con.execute(
                        f"SELECT {_EVENT_COLS}, ord FROM events WHERE session_id = ? AND ord > ? AND ord <= ? ORDER BY ord",
                        [session_id, last, top],
                    ).fetchall()

            rows, count = _fetch_shrinking(page, count)
            if not rows:
                return
            for row in rows:
                yield _event(row, 0, inherited=False).to_wire()
            last = rows[-1][-1]
            count = _next_page(count, rows)

    # ------------------------------------------------------------------ sessions

    def _filter_sql(self, query: str | Query | None) -> tuple[str, list[Any]]:
        compiled = list_predicate(query)
        return ("", []) if compiled is None else (f" WHERE {compiled[0]}", compiled[1])

    def count_sessions(self, query: str | Query | None = None) -> int:
        """How many sessions match ``query`` (the list's query language; plain text matches name, id, model)."""
        where, params = self._filter_sql(query)
        with self._conn.reader() as con:
            if con is None:
                return 0
            return con.execute(f"SELECT count(*) FROM sessions{where}", params).fetchone()[0]

    def list_sessions(
        self,
        query: str | Query | None = None,
        *,
        sort: str = "last_activity",
        descending: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SessionSummary]:
        """Sessions with their aggregates, filtered by ``query`` (see :mod:`.query`) and sorted."""
        if sort not in SORT_COLUMNS:
            raise JournalError(f"cannot sort by {sort!r}; choose one of {', '.join(SORT_COLUMNS)}")
        where, params = self._filter_sql(query)
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
        self, session_id: str, query: str | Query | None = None, *, sort: str = "last_activity", descending: bool = True
    ) -> int | None:
        """Position of a session in the filtered, sorted list (to keep a highlight across reloads)."""
        if sort not in SORT_COLUMNS:
            raise JournalError(f"cannot sort by {sort!r}; choose one of {', '.join(SORT_COLUMNS)}")
        where, params = self._filter_sql(query)
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

        def literal(part: str) -> str:  # for ILIKE ... ESCAPE '\\': %, _ and \\ match themselves
            return part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

        fuzzy = "%" + "%".join(literal(c) for c in chars) + "%"  # the characters in order
        typed = "%" + literal(text.strip()) + "%"  # the text as typed, anywhere in the name
        id_prefix = literal(text.strip()) + "%"  # an id starting with it
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
        """A session id from an id, a unique id prefix, a unique name or a unique name prefix.

        An ambiguous reference raises NotFound naming the candidates (id, name, created) on one line."""
        with self._conn.reader() as con:
            if con is None:
                raise NotFound(f"no session {ref!r} (the journal is empty)")
            row = con.execute("SELECT session_id FROM sessions WHERE session_id = ?", [ref]).fetchone()
            if row:
                return row[0]
            cols = "session_id, name, created_at"
            for what, where in (
                ("session id prefix", "starts_with(session_id, ?)"),
                ("session name", "name = ?"),
                ("session name prefix", "starts_with(name, ?)"),
            ):
                rows = con.execute(
                    f"SELECT {cols}, count(*) OVER () FROM sessions WHERE {where} ORDER BY created_at, session_id LIMIT 6",
                    [ref],
                ).fetchall()
                if len(rows) == 1:
                    return rows[0][0]
                if rows:
                    raise NotFound(f"{what} {ref!r} is ambiguous: {_candidates(rows)}; use an id")
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
            merges = _merges(con, session_id)
        summary = _session(row)
        branches = tuple(
            BranchInfo(session_id, b[0], b[1], b[2], b[3], b[4], b[5], tuple(merges.get((session_id, b[0]), ())))
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
        *, query: str | Query | None = None, detail: SessionDetail | None = None,
    ) -> Timeline:
        """A branch's timeline; pass the session's ``detail`` if you already have it (saves a query).

        ``kinds`` (kinds, families or roles) and ``query`` (the timeline query language) hide what does not
        match. An unknown kind or a bad query raises QueryError.
        """
        detail = detail if detail is not None and session in (detail.summary.session_id,) else self.session(session)
        info = detail.branch(branch)
        if info is None:
            raise NotFound(f"no branch {branch!r} in session {detail.summary.name}")
        return Timeline(self, detail, info.branch_id, tuple(sorted(set(kinds))) if kinds else None, query)

    def _kind_exists(self, session_id: str, kind: str) -> bool:
        """Whether an event of ``kind`` occurs in the session (for kinds the vocabulary does not know)."""
        with self._conn.reader() as con:
            return con is not None and con.execute(
                "SELECT 1 FROM events WHERE session_id = ? AND kind = ? LIMIT 1", [session_id, kind]
            ).fetchone() is not None

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
            rows = execute_roomy(  # (a scan over events of megabytes may need more than a reader's pool)
                con,
                f"SELECT e.session_id, s.name, e.branch_id, e.seq, e.event_id, e.kind, left(e.text, 300) "
                f"FROM (SELECT * FROM events WHERE {where} ORDER BY ord LIMIT ?) e JOIN sessions s USING (session_id) "
                f"ORDER BY e.ord",
                params + [limit],
            ).fetchall()
        return [SearchHit(*r) for r in rows]

    # ------------------------------------------------------------------ analysis: state, compare, check

    def state_at(self, session: str, branch: str = "main", at_seq: int | None = None) -> StateAt:
        """The state of ``branch`` as of its event ``at_seq`` (default: its head; 0: at its fork point)."""
        detail = self.session(session)
        with self._analysis_lock:
            if self._replay is None:
                from .replay import ReplayCache

                self._replay = ReplayCache()
        with self._conn.roomy():
            return self._replay.state_at(self._read, detail, branch, at_seq)

    def compare_branches(self, session: str, left: str, right: str) -> Comparison:
        """The two branches' events after their common fork point, aligned (see ``journal.compare``)."""
        from .compare import compare_branches

        with self._conn.roomy():
            return compare_branches(self._read, self.session(session), left, right)

    def problems(self, session: str | None = None) -> list[Problem]:
        """Integrity problems of one session, or of every session (see ``journal.integrity``)."""
        from .integrity import find_problems

        with self._conn.roomy():
            return find_problems(self._read, None if session is None else self.resolve_session(session))

    def list_branches(self, session: str | None = None) -> list[BranchInfo]:
        """The branches of one session, or of every session (grouped by session id), main first."""
        where, params = "", []
        if session is not None:
            where, params = " WHERE session_id = ?", [self.resolve_session(session)]
        with self._conn.reader() as con:
            if con is None:
                return []
            rows = con.execute(
                "SELECT session_id, branch_id, name, parent_branch_id, fork_point_seq, created_at, head_seq "
                f"FROM branches{where} ORDER BY session_id, (branch_id <> 'main'), created_at, branch_id",
                params,
            ).fetchall()
            merges = _merges(con, params[0] if params else None)
        return [BranchInfo(*r, tuple(merges.get((r[0], r[1]), ()))) for r in rows]

    # ------------------------------------------------------------------ events by seq, merging

    def _branch_ref(self, con: Any, session_id: str, branch: str) -> tuple[str, str, str | None, int, int]:
        """(branch_id, name, parent_branch_id, fork_point_seq, head_seq) of a branch id or unique name."""
        rows = con.execute(
            "SELECT branch_id, name, parent_branch_id, fork_point_seq, head_seq FROM branches "
            "WHERE session_id = ? AND (branch_id = ? OR name = ?) ORDER BY (branch_id <> ?) LIMIT 2",
            [session_id, branch, branch, branch],
        ).fetchall()
        if not rows or (len(rows) > 1 and rows[0][0] != branch):
            what = "is ambiguous" if rows else "does not exist"
            raise NotFound(f"branch {branch!r} {what} in session {session_id}")
        return rows[0]

    def read_events(
        self, session: str, branch: str = "main", after_seq: int = 0, limit: int | None = None
    ) -> list[TimelineEvent]:
        """A branch's own events (none inherited from its parent) with seq > ``after_seq``, by seq; at most
        ``limit``. ``position`` is seq - 1. Raises NotFound for an unknown session or branch."""
        session_id = self.resolve_session(session)
        sql = f"SELECT {_EVENT_COLS} FROM events WHERE session_id = ? AND branch_id = ? AND seq > ? ORDER BY seq"
        with self._conn.reader() as con:
            assert con is not None
            branch_id = self._branch_ref(con, session_id, branch)[0]
            params: list[Any] = [session_id, branch_id, max(0, after_seq)]
            if limit is not None:
                sql += " LIMIT ?"
                params.append(max(0, limit))
            rows = con.execute(sql, params).fetchall()
        return [_event(row, row[3] - 1, inherited=False) for row in rows]

    def merge_branch(self, session: str, source: str, target: str, *, now_us: int | None = None) -> MergeResult:
        """Fast-forward ``target`` with ``source``'s own events, in one transaction.

        Possible only when ``target`` is the branch ``source`` was forked from and has nothing but
        BranchCreated events after the fork point; otherwise (and so for a second merge) :class:`Conflict`.
        The source's events are copied onto the target with new event ids and seqs, keeping their
        timestamps (BranchCreated events, which fork the source itself, stay where they are), then a
        ``BranchMerged {source_branch_id, merge_seq: the source's head}`` marker closes the merge.
        """
        from .ingest import append_rows

        session_id = self.resolve_session(session)
        now = now_us if now_us is not None else time.time_ns() // 1000
        with self._conn.writer() as con:
            src = self._branch_ref(con, session_id, source)
            dst = self._branch_ref(con, session_id, target)
            if src[0] == dst[0]:
                raise Conflict(f"cannot merge branch {src[1]} into itself")
            if src[2] != dst[0]:
                raise Conflict(f"fast-forward not possible: branch {src[1]} was not forked from {dst[1]}")
            diverged = con.execute(
                "SELECT count(*) FROM events WHERE session_id = ? AND branch_id = ? AND seq > ? "
                "AND kind <> 'BranchCreated'",
                [session_id, dst[0], src[3]],
            ).fetchone()[0]
            if diverged:
                raise Conflict(
                    f"fast-forward not possible: branch {src[1]} forked at seq {src[3]} but {dst[1]} has "
                    f"{diverged} event{'s' if diverged != 1 else ''} after it (head at seq {dst[4]})"
                )
            copies = con.execute(
                "SELECT run_id, ts, parent_id, payload, metadata, schema_version FROM events "
                "WHERE session_id = ? AND branch_id = ? AND kind <> 'BranchCreated' ORDER BY seq",
                [session_id, src[0]],
            ).fetchall()
            head = {"session_id": session_id, "branch_id": dst[0]}
            rows: list[tuple[int, str]] = []
            for i, (run_id, ts, parent_id, payload, metadata, version) in enumerate(copies):
                fields = {**head, "event_id": ids.new_ulid(), "run_id": run_id, "timestamp": ts,
                          "parent_id": parent_id, "schema_version": version}
                body = json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False)
                rows.append((i, f'{body[:-1]}, "payload": {payload}, "metadata": {metadata}}}'))
            marker = {**head, "event_id": ids.new_ulid(), "timestamp": now,
                      "payload": {"type": "BranchMerged", "source_branch_id": src[0], "merge_seq": src[4]}}
            rows.append((len(rows), json.dumps(marker, ensure_ascii=False)))
            result = append_rows(con, rows, lambda idx: f"merged event {idx + 1}")
        return MergeResult(session_id, src[0], dst[0], len(copies), src[4], result.seqs[-1])

    # ------------------------------------------------------------------ session management (manage.py)

    def close_session(self, session: str, reason: str | None = None, *, now_us: int | None = None) -> str:
        """Append SessionClosed on main; returns its event id. A closed session cannot be closed again."""
        from . import manage

        return manage.close_session(self, session, reason, now_us)

    def rename_session(self, session: str, name: str, *, now_us: int | None = None) -> str:
        """Rename a session (recorded as an event, see renames.py); returns the event id."""
        from . import manage

        return manage.rename_session(self, session, name, now_us)

    def rename_branch(self, session: str, branch: str, name: str, *, now_us: int | None = None) -> str:
        """Rename a branch other than main (recorded as an event on it); returns the event id."""
        from . import manage

        return manage.rename_branch(self, session, branch, name, now_us)

    def delete_session(self, session: str) -> dict[str, Any]:
        """Delete a session with all its branches and events, in one transaction."""
        from . import manage

        return manage.delete_session(self, session)

    def runs(self, session: str, branch: str = "main") -> list[RunFigures]:
        """Per-run and per-step figures of a branch's timeline, runs in order of their first event."""
        from . import manage

        with self._conn.roomy():
            return manage.runs(self, session, branch)

    # used by Timeline
    def _read(self) -> Any:
        return self._conn.reader()


def _merges(con: Any, session_id: str | None) -> dict[tuple[str, str], list[Merge]]:
    """BranchMerged events of one session (or all), keyed by (session id, source branch id), in write order."""
    where, params = ("session_id = ? AND ", [session_id]) if session_id is not None else ("", [])
    rows = con.execute(
        "SELECT session_id, branch_id, seq, payload->>'$.source_branch_id', "
        f"TRY_CAST(payload->>'$.merge_seq' AS BIGINT) FROM events WHERE {where}kind = 'BranchMerged' ORDER BY ord",
        params,
    ).fetchall()
    merges: dict[tuple[str, str], list[Merge]] = {}
    for sid, target, seq, source, merge_seq in rows:
        if source:
            merges.setdefault((sid, source), []).append(Merge(source, target, seq, merge_seq or 0))
    return merges


def journal_files(path: Path) -> list[tuple[str, str]]:
    """(path, what it is) of every file DuckDB keeps for the journal at ``path``: what no command may
    overwrite, whoever holds the journal (this process, or a server serving it)."""
    from .intent import lock_path

    base = str(path)
    return [(base, "the journal"), (base + ".wal", "the journal's write-ahead log"),
            (str(lock_path(path)), "the journal's lock file"), (base + ".tmp", "the journal's temp files")]


def _fetch_shrinking(page: Callable[[int], list[tuple[Any, ...]]], count: int) -> tuple[list[tuple[Any, ...]], int]:
    """``page(count)``'s rows and the count that fetched them: a page DuckDB has no memory for is fetched
    again with a quarter of the rows (a single row it cannot hold is the error it is)."""
    import duckdb

    while True:
        try:
            return page(count), count
        except duckdb.OutOfMemoryException:
            if count == 1:
                raise
            count = max(1, count // 4)


def _next_page(count: int, rows: Sequence[Sequence[Any]]) -> int:
    """Rows for the next export page: about EXPORT_PAGE_BYTES of payload and metadata, 1..5000."""
    size = sum(len(r[8]) + len(r[9]) for r in rows)
    return max(1, min(5000, count * EXPORT_PAGE_BYTES // max(size, 1)))
