"""The one write path: append validated events in chunks, all inside the caller's one transaction.

API appends and file imports both land here, as JSON texts that :mod:`.validate` has already checked (shape,
types, numbers, keys, depth), so nothing here can meet a value it does not expect. A chunk of rows arrives in
DuckDB as three long strings (see :func:`extract_rows`), and every step after that is set-based SQL:

1. extract the typed columns of every envelope and payload (one typed ``from_json`` each; the search text
   comes with the row, made by :func:`search_text` while the event was checked);
2. events whose event_id is already in the journal: identical content is skipped (importing a file twice adds
   nothing), different content or another session's event is a conflict naming both places;
3. resolve sessions and branches: ``SessionCreated`` creates a session, ``BranchCreated`` a branch;
4. assign ``seq`` per (session, branch) after the current head, and check fork points against them;
5. insert, move the branch heads; once every chunk is in, recompute the aggregates of the sessions touched.

Chunks see each other's work (sessions, branches, heads, events), so a file split into chunks imports exactly
as it would in one piece, in bounded memory. Any failure raises :class:`InvalidEvent` naming the first offending
row; the caller's transaction is rolled back, so nothing of the import is written.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import duckdb

from . import renames
from .errors import InvalidEvent
from .models import KNOWN_PAYLOADS
from .schema import failure_sql
from .validate import I64_MAX, orjson
from .views import AppendResult

Locate = Callable[[int], str]

# Text the search looks at, per kind: the human-readable fields (JSON-valued ones as their JSON text).
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "SessionCreated": ("name",),
    "SessionClosed": ("reason",),
    "BranchCreated": ("name",),
    "RunFinished": ("reason", "final_answer"),
    "RunErrored": ("error",),
    "StepFinished": ("stop_reason",),
    "TextDelta": ("delta",),
    "Message": ("role", "content", "model"),
    "ToolCallRequested": ("tool_name", "arguments"),
    "ToolCallStarted": ("tool_name",),
    "ToolCallCompleted": ("tool_name", "status", "result"),
    "ToolCallFailed": ("tool_name", "error"),
    "FileWrite": ("path",),
    "FileDelete": ("path",),
    "FileRename": ("old_path", "new_path"),
    "StatePatched": ("patch",),
    "PolicyEvaluated": ("tool_name", "decision", "explanation"),
    "ApprovalRequested": ("tool_name", "arguments", "risk"),
    "ApprovalResolved": ("decision", "reason"),
    "ErrorRaised": ("message",),
    "Custom": ("event_type", "data"),
}

_KNOWN = frozenset(KNOWN_PAYLOADS)
_orjson_dumps = orjson.dumps if orjson is not None else None


def search_text(event: dict[str, Any]) -> str:
    """The text search looks at for a checked event: its kind's human-readable fields (JSON-valued ones as
    compact JSON), or the whole payload of a kind nobody knows. Computed while the event is parsed anyway."""
    payload = event.get("payload")
    if payload is None:
        payload = event["kind"]
    kind = payload["type"]
    names = TEXT_FIELDS.get(kind)
    if names is None:
        return "" if kind in _KNOWN else _json_text(payload)
    parts = []
    for name in names:
        value = payload.get(name)
        if value is not None:
            parts.append(value if value.__class__ is str else _json_text(value))
    return " ".join(parts)


_FLOAT_IN = re.compile(rb"\d[.eE]").search


def _json_text(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, made by orjson (5 times faster) when
    that gives the same text: always, but for how floats are written (``1e-05`` or ``0.00001``)."""
    if _orjson_dumps is not None:
        try:
            out = _orjson_dumps(value)
        except TypeError:
            pass
        else:
            if not _FLOAT_IN(out):
                return out.decode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Typed extraction of what the columns need. A VARCHAR target gives a JSON string's text and any other value's
# JSON text; mismatched values (only possible in kinds nobody validated) become NULL, never an error.
_TOKENS = '{"prompt_tokens": "BIGINT", "completion_tokens": "BIGINT"}'
_PAYLOAD_STRUCT = (
    '{"type": "VARCHAR", "new_branch_id": "VARCHAR", "name": "VARCHAR", "call_id": "VARCHAR", "status": "VARCHAR",'
    ' "fork_point_seq": "BIGINT", "config": {"model": "VARCHAR", "params": "JSON"},'
    f' "token_usage": {_TOKENS}, "usage": {_TOKENS}}}'
)
_ENV_STRUCT = (
    '{"event_id": "VARCHAR", "session_id": "VARCHAR", "branch_id": "VARCHAR", "run_id": "VARCHAR",'
    ' "timestamp": "BIGINT", "parent_id": "VARCHAR", "schema_version": "INTEGER", "payload": "JSON",'
    ' "kind": "JSON", "metadata": "JSON"}'
)

_EXTRACT_SQL = f"""
CREATE OR REPLACE TEMP TABLE _ev AS
WITH e AS (
    SELECT idx, text, unnest(from_json(raw, '{_ENV_STRUCT}'))
    FROM _stage
), p AS (
    SELECT *, coalesce(e.payload, e.kind) AS p FROM e
), f AS (
    SELECT *, from_json(p, '{_PAYLOAD_STRUCT}') AS pf FROM p
)
SELECT idx, pf.type AS kind, event_id, session_id, coalesce(branch_id, 'main') AS branch_id, run_id,
    timestamp AS ts, parent_id, coalesce(schema_version, 1) AS schema_version,
    p::VARCHAR AS payload, coalesce(metadata::VARCHAR, '{{}}') AS metadata,
    pf.new_branch_id, pf.fork_point_seq, pf.name AS pname, pf.call_id,
    {failure_sql("pf.type", "pf.status")} AS failure,
    pf.config.model AS cfg_model, pf.config.params AS cfg_params,
    CASE pf.type WHEN 'Message' THEN pf.token_usage.prompt_tokens
                 WHEN 'RunFinished' THEN pf.usage.prompt_tokens END AS tokens_in,
    CASE pf.type WHEN 'Message' THEN pf.token_usage.completion_tokens
                 WHEN 'RunFinished' THEN pf.usage.completion_tokens END AS tokens_out,
    text
FROM f
"""


@dataclass(frozen=True)
class Pending:
    """A checked chunk waiting for its insert (see :meth:`Ingest.check_extracted`)."""

    added: int
    forks: bool
    customs: int
    first_rowid: int
    sessions: list[str]


@dataclass(frozen=True)
class IngestResult:
    sessions_created: int
    events_added: int
    events_skipped: int
    branches_created: int


Row = tuple[int, str, str]  # (idx, the event's JSON text, its search text)


def stage_rows(con: duckdb.DuckDBPyConnection, rows: Iterable[Row]) -> None:
    """Load rows into the temp stage table ``_stage(idx, raw, text)`` with the Appender."""
    con.execute("CREATE OR REPLACE TEMP TABLE _stage (idx BIGINT, raw VARCHAR, text VARCHAR)")
    appender = con.appender("_stage")
    appender.append_rows(rows)
    appender.flush()


# The rows as three long strings, the rows' values joined by NUL (which no checked JSON text holds), split by
# DuckDB straight into the extraction: Python only joins them, and DuckDB does the rest without the GIL, so an
# import's reading thread keeps checking the next chunk meanwhile (the Appender converted every value holding
# the GIL, and the stage table was one more copy: 15% less work per chunk).
_SPLIT_STAGE = ("(SELECT unnest(string_split(?, ',')::BIGINT[]) AS idx, unnest(string_split(?, chr(0))) AS raw, "
                "unnest(string_split(?, chr(0))) AS text)")
_EXTRACT_JOINED_SQL = _EXTRACT_SQL.replace("FROM _stage", f"FROM {_SPLIT_STAGE}")
# The same for a chunk's search texts alone, when DuckDB read its JSON itself (Ingest.insert_texts).
_TEXTS = ("(SELECT unnest(string_split($idx, ',')::BIGINT[]) AS idx, "
          "unnest(string_split($texts, chr(0))) AS text)")
assert _EXTRACT_JOINED_SQL != _EXTRACT_SQL


# A chunk's events into the table: ``seq`` and ``text`` are SQL for the row's seq and search text, ``source`` the
# relation (``n``: rows of _new; $first_ord: see Ingest.begin_insert) they come from.
_INSERT_EVENTS = """
INSERT INTO events (event_id, session_id, branch_id, seq, run_id, ts, parent_id, kind, payload, metadata,
                    schema_version, text, tokens_in, tokens_out, call_id, failure, ord)
SELECT n.event_id, n.session_id, n.branch_id, {seq}, n.run_id, n.ts, n.parent_id, n.kind, n.payload, n.metadata,
       n.schema_version, {text}, n.tokens_in, n.tokens_out, n.call_id, n.failure, $first_ord + n.rowid + 1
FROM {source}
"""


def nul_joined(values: list[str]) -> str | None:
    """``values`` joined by NUL for DuckDB to split, or None when one of them holds a NUL (a search text can:
    rare) and they must go row by row."""
    joined = "\0".join(values)
    return joined if joined.count("\0") == len(values) - 1 else None


def extract_rows(con: duckdb.DuckDBPyConnection, rows: list[Row]) -> None:
    """Make the temp table ``_ev`` (the typed columns of every row) from rows."""
    raws = nul_joined([raw for _, raw, _ in rows])
    texts = nul_joined([text for _, _, text in rows])
    if raws is None or texts is None:
        stage_rows(con, rows)
        con.execute(_EXTRACT_SQL)
        return
    con.execute(_EXTRACT_JOINED_SQL, [",".join([str(idx) for idx, _, _ in rows]), raws, texts])


def _same_json(a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    try:
        return a is not None and b is not None and json.loads(a) == json.loads(b)
    except ValueError:
        return False


class Ingest:
    """Appends chunks of validated events inside the caller's transaction; :meth:`finish` completes them.

    ``locate`` turns a row's idx into what people see (``FILE:LINE``, ``event N``). ``implicit_sessions``:
    events of a session nobody created make it (imports), or are refused (API appends).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, locate: Locate, *, implicit_sessions: bool,
                 track_seqs: bool = False) -> None:
        self.con = con
        self.locate = locate
        self.implicit_sessions = implicit_sessions
        self.total = self.added = self.sessions_created = self.branches_created = 0
        self.base_ord = con.execute("SELECT coalesce(max(ord), 0) FROM events").fetchone()[0]
        self._inserted_idx = array("q")  # idx of each event this ingest inserted, in ord order
        self._implicit = 0  # sessions created implicitly so far (they may still meet their SessionCreated)
        self._touched: set[str] = set()  # sessions that got events: their aggregates are recomputed at the end
        self._skipped: set[int] = set()  # idx of the current chunk's rows that were already in the journal
        self._first_ord = 0  # ord of the current chunk's events: this plus their rowid in _new plus 1
        self._refreshed = False  # the sessions' aggregates are computed already (refresh_ahead)
        self.seqs: dict[int, int] | None = {} if track_seqs else None  # idx -> assigned (or stored) seq
        con.execute("CREATE OR REPLACE TEMP TABLE _implicit (session_id VARCHAR)")

    def _fail(self, sql: str, params: list[Any] | None = None) -> None:
        """Run a query returning (idx, problem) of the first bad row, if any, and raise for it."""
        row = self.con.execute(sql, params or []).fetchone()
        if row is not None and row[0] is not None:
            raise InvalidEvent(self.locate(row[0]), row[1], index=row[0])

    def _where_stored(self, ord_: int, session: str, branch: str, seq: int) -> str:
        if ord_ > self.base_ord:
            return self.locate(self._inserted_idx[ord_ - self.base_ord - 1])
        return f"session {session}, branch {branch}, seq {seq}"

    # ------------------------------------------------------------------ one chunk

    def add(self, rows: list[Row]) -> None:
        """Append one chunk of (idx, JSON text, search text) rows: idx ascending and above every earlier chunk's, event_ids
        unique within the chunk (the callers check that as they read; across chunks it is checked here)."""
        if not rows:
            return
        extract_rows(self.con, rows)
        pending = self.check_extracted(len(rows))
        if pending is not None:
            self.insert_extracted(pending, [idx for idx, _, _ in rows])

    def check_extracted(self, count: int) -> Pending | None:
        """Every check of the chunk in ``_ev`` (``count`` rows) that can fail, and the sessions and branches it
        creates; None when all of its events are already in the journal. :meth:`insert_extracted` completes it."""
        con = self.con
        self.total += count
        self._skip_known()
        # What the chunk holds decides which statements it needs (each costs 1-6 ms, whatever the chunk).
        added, forks, off_main, customs, first_rowid, sessions = con.execute(
            "SELECT count(*), coalesce(bool_or(kind = 'BranchCreated'), false), "
            "coalesce(bool_or(branch_id <> 'main'), false), count(*) FILTER (WHERE kind = 'Custom'), min(rowid), "
            "list(DISTINCT session_id) FROM _new"
        ).fetchone()
        if added == 0:
            return None
        self._sessions()
        if forks or off_main:
            self._branches(forks, off_main)
        # Renames (Custom events, see renames.py): well-formed, and branch names unique at every point.
        if customs or forks:
            renames.check(con, self._fail, new_branches=forks)
        if forks:
            self._fork_points()
        return Pending(added, forks, customs, first_rowid, sessions)

    def insert_extracted(self, pending: Pending, idxs: Iterable[int]) -> None:
        """Insert the chunk :meth:`check_extracted` passed, its search texts in ``_ev``; ``idxs``: its rows' idx."""
        self.begin_insert(pending)
        self.insert_rows()
        self.end_insert(pending, idxs)

    def begin_insert(self, pending: Pending, *, in_order: bool = False) -> None:
        """The branches the chunk creates, and the seq of each of its events (``in_order``: ``_seq_of`` sorted
        by idx, for :meth:`insert_in_order`)."""
        con = self.con
        if pending.forks:
            self.branches_created += con.execute(
                "INSERT INTO branches (session_id, branch_id, name, parent_branch_id, fork_point_seq, created_at) "
                "SELECT session_id, branch_id, name, parent_branch_id, fork_point_seq, created_at FROM _new_branches"
            ).fetchone()[0]
        # seq: after the branch's head, in input order; ord: the global write order, in input order (the rows
        # of _new were written in idx order, so their rowid minus the first one is their rank; a temp table
        # made inside a transaction numbers its rows from 2^55, never from 0). The window that numbers the rows
        # of each branch sees only (idx, session, branch): sorting the wide rows cost as much again.
        self._first_ord = self.base_ord + len(self._inserted_idx) - pending.first_rowid
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _seq_of AS
            SELECT n.idx, coalesce(b.head_seq, 0) + row_number() OVER (PARTITION BY n.session_id, n.branch_id ORDER BY n.idx) AS seq
            FROM _new n LEFT JOIN branches b ON b.session_id = n.session_id AND b.branch_id = n.branch_id
            """ + (" ORDER BY n.idx" if in_order else "")
        )

    def insert_texts(self, idxs: array, texts: list[str]) -> bool:
        """Insert the chunk's events of ``idxs`` (ascending, consecutive events of the chunk) with their search
        texts, when ``_ev`` holds none (see wholefile.py); whether each of them that is not already in the
        journal found its row. With none already in it, rows and texts are matched by position
        (:meth:`insert_in_order`: half the cost of a join); otherwise, or when a text holds a NUL, by idx."""
        lo, hi = idxs[0], idxs[-1]
        joined = nul_joined(texts)
        if joined is not None and not self._skipped:
            return self.insert_in_order(joined, lo, hi) == len(idxs)
        if joined is not None:
            inserted = self.insert_rows(_TEXTS, {"idx": ",".join(map(str, idxs)), "texts": joined}, between=(lo, hi))
        else:
            self.con.execute("CREATE OR REPLACE TEMP TABLE _txt (idx BIGINT, text VARCHAR)")
            appender = self.con.appender("_txt")
            appender.append_rows(zip(idxs, texts))
            appender.flush()
            inserted = self.insert_rows("_txt", between=(lo, hi))
        return inserted == len(idxs) - len(self._skipped.intersection(idxs))

    def insert_in_order(self, texts: str, lo: int, hi: int) -> int:
        """Insert the chunk's events whose idx is in ``lo``..``hi``, given their search texts in idx order joined
        by NUL; the number inserted. Rows are matched by position (no join: half the cost), so the chunk must
        have no events already in the journal (see :meth:`insert_texts`) and ``_seq_of`` be in order (see
        :meth:`begin_insert`); a row whose seq is not its own stops the insert."""
        return self.con.execute(
            _INSERT_EVENTS.format(
                seq="CASE WHEN n.idx = s.idx THEN s.seq ELSE error('import: rows out of step') END", text="t.text",
                source="(SELECT * FROM _new WHERE idx BETWEEN $lo AND $hi) n "
                       "POSITIONAL JOIN (SELECT idx, seq FROM _seq_of WHERE idx BETWEEN $lo AND $hi) s "
                       "POSITIONAL JOIN (SELECT unnest(string_split($texts, chr(0))) AS text) t"),
            {"texts": texts, "lo": lo, "hi": hi, "first_ord": self._first_ord},
        ).fetchone()[0]

    def insert_rows(self, texts: str | None = None, params: dict[str, Any] | None = None, *,
                    between: tuple[int, int] | None = None) -> int:
        """Insert the chunk's events; with ``texts``, a relation of (idx, text) (named ``params`` for its SQL),
        only its rows, with its texts, all of them ``between`` two idx (a range scanned, not the whole chunk).
        The number inserted."""
        source = f"{texts} t JOIN _new n USING (idx)" if texts else "_new n"
        where = " WHERE n.idx BETWEEN $lo AND $hi AND s.idx BETWEEN $lo AND $hi" if between else ""
        return self.con.execute(
            _INSERT_EVENTS.format(seq="s.seq", text=f"coalesce({'t' if texts else 'n'}.text, '')",
                                  source=f"{source} JOIN _seq_of s USING (idx){where}"),
            {**(params or {}), "first_ord": self._first_ord, **({"lo": between[0], "hi": between[1]} if between else {})},
        ).fetchone()[0]

    def end_insert(self, pending: Pending, idxs: Iterable[int]) -> None:
        """The branches' heads moved, renames applied: the chunk is in (or will be, once its rows are: nothing
        here reads them). ``idxs``: its rows' idx, which later chunks' messages name; the last may pass none."""
        con = self.con
        self.added += pending.added
        con.execute(
            """
            UPDATE branches AS b SET head_seq = b.head_seq + h.n
            FROM (SELECT session_id, branch_id, count(*) AS n FROM _new GROUP BY ALL) h
            WHERE b.session_id = h.session_id AND b.branch_id = h.branch_id
            """
        )
        if pending.customs:
            renames.apply(con)
        if self._skipped:
            self._inserted_idx.extend(idx for idx in idxs if idx not in self._skipped)
        else:
            self._inserted_idx.extend(idxs)
        self._touched.update(pending.sessions)
        if self.seqs is not None:
            self.seqs.update(con.execute("SELECT idx, seq FROM _seq_of").fetchall())

    def _skip_known(self) -> None:
        """Events whose id is known: identical ones are skipped, anything else is a conflict."""
        con = self.con
        self._skipped = set()
        known = con.execute("SELECT count(*) FROM events x JOIN _ev USING (event_id)").fetchone()[0]
        if not known:
            con.execute("CREATE OR REPLACE TEMP VIEW _new AS SELECT *, rowid FROM _ev")
            return
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _known AS
            SELECT n.idx, n.event_id, x.ord AS x_ord, x.session_id AS x_session, x.branch_id AS x_branch, x.seq AS x_seq,
                   n.session_id = x.session_id AND n.branch_id = x.branch_id AND n.ts = x.ts
                   AND n.run_id IS NOT DISTINCT FROM x.run_id AND n.parent_id IS NOT DISTINCT FROM x.parent_id
                   AND n.schema_version = x.schema_version AS same_envelope,
                   n.payload = x.payload AND n.metadata = x.metadata AS same_text
            FROM _ev n JOIN events x USING (event_id)
            """
        )
        # The first row (in input order) that is not plainly the same event again.
        suspects = con.execute(
            f"""
            SELECT k.idx, k.event_id, k.x_ord, k.x_session, k.x_branch, k.x_seq, k.same_envelope, n.session_id,
                   n.payload, x.payload, n.metadata, x.metadata
            FROM _known k JOIN _ev n USING (idx) JOIN events x ON x.ord = k.x_ord
            WHERE k.x_ord > {self.base_ord} OR NOT (k.same_envelope AND k.same_text)
            ORDER BY k.idx
            """
        ).fetchall()
        for idx, event_id, x_ord, x_session, x_branch, x_seq, same_envelope, session, n_p, x_p, n_m, x_m in suspects:
            where = self._where_stored(x_ord, x_session, x_branch, x_seq)
            if x_ord > self.base_ord:
                raise InvalidEvent(self.locate(idx), f"duplicate event_id {event_id} (also at {where})", index=idx)
            if session != x_session:
                raise InvalidEvent(self.locate(idx), f"event_id {event_id} is already used by another session "
                                   f"({where})", index=idx)
            if not (same_envelope and _same_json(n_p, x_p) and _same_json(n_m, x_m)):
                raise InvalidEvent(self.locate(idx), f"event_id {event_id} is already in the journal with different "
                                   f"content ({where})", index=idx)
        stored = con.execute("SELECT idx, x_seq FROM _known").fetchall()
        self._skipped = {idx for idx, _ in stored}
        if self.seqs is not None:
            self.seqs.update(stored)  # an event already in the journal answers its stored seq
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _new_rows AS SELECT * FROM _ev WHERE idx NOT IN (SELECT idx FROM _known) ORDER BY idx"
        )
        con.execute("CREATE OR REPLACE TEMP VIEW _new AS SELECT *, rowid FROM _new_rows")

    def _sessions(self) -> None:
        con = self.con
        new_sessions = con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _new_sessions AS
            SELECT session_id,
                   coalesce(arg_min(pname, idx) FILTER (WHERE kind = 'SessionCreated'), session_id) AS name,
                   coalesce(arg_min(cfg_model, idx) FILTER (WHERE kind = 'SessionCreated'), '') AS model,
                   arg_min(cfg_params, idx) FILTER (WHERE kind = 'SessionCreated') AS params,
                   coalesce(arg_min(ts, idx) FILTER (WHERE kind = 'SessionCreated'), min(ts)) AS created_at,
                   bool_or(kind = 'SessionCreated') AS has_created,
                   arg_min(kind, idx) AS first_kind,
                   min(idx) AS first_idx
            FROM _new WHERE session_id NOT IN (SELECT session_id FROM sessions)
            GROUP BY session_id
            """
        ).fetchone()[0]
        if new_sessions and not self.implicit_sessions:
            self._fail(
                """SELECT first_idx, 'unknown session ' || session_id || ' (create it first)' FROM _new_sessions
                   WHERE first_kind <> 'SessionCreated' ORDER BY first_idx LIMIT 1"""
            )
        if self._implicit:
            # Sessions an earlier chunk created without a SessionCreated take it from this chunk, as they would
            # have with the whole file in one piece; until then their start is their earliest event.
            con.execute(
                """
                UPDATE sessions AS s SET name = c.name, model = c.model, params = c.params, created_at = c.created_at
                FROM (SELECT session_id,
                             coalesce(arg_min(pname, idx), session_id) AS name,
                             coalesce(arg_min(cfg_model, idx), '') AS model,
                             coalesce(arg_min(cfg_params, idx)::VARCHAR, '{}') AS params,
                             arg_min(ts, idx) AS created_at
                      FROM _new WHERE kind = 'SessionCreated' AND session_id IN (SELECT session_id FROM _implicit)
                      GROUP BY session_id) c
                WHERE s.session_id = c.session_id
                """
            )
            con.execute(
                """
                UPDATE sessions AS s SET created_at = least(s.created_at, c.first_ts)
                FROM (SELECT session_id, min(ts) AS first_ts FROM _new
                      WHERE session_id IN (SELECT session_id FROM _implicit) GROUP BY session_id) c
                WHERE s.session_id = c.session_id
                  AND s.session_id NOT IN (SELECT session_id FROM _new WHERE kind = 'SessionCreated')
                """
            )
            con.execute("DELETE FROM _implicit WHERE session_id IN (SELECT session_id FROM _new WHERE kind = 'SessionCreated')")
        if not new_sessions:
            return
        created = con.execute(
            """
            INSERT INTO sessions (session_id, name, model, params, created_at)
            SELECT session_id, name, model, coalesce(params::VARCHAR, '{}'), created_at FROM _new_sessions
            """
        ).fetchone()[0]
        self.sessions_created += created
        if created:
            con.execute(
                "INSERT INTO branches (session_id, branch_id, name, parent_branch_id, fork_point_seq, created_at) "
                "SELECT session_id, 'main', 'main', NULL, 0, created_at FROM _new_sessions"
            )
            if self.implicit_sessions:
                self._implicit += con.execute(
                    "INSERT INTO _implicit SELECT session_id FROM _new_sessions WHERE NOT has_created"
                ).fetchone()[0]

    def _branches(self, forks: bool, off_main: bool) -> None:
        con = self.con
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _new_branches AS
            SELECT session_id, new_branch_id AS branch_id, pname AS name, branch_id AS parent_branch_id,
                   fork_point_seq, ts AS created_at, idx AS created_idx
            FROM _new WHERE kind = 'BranchCreated'
            """
        )
        if forks:
            self._branch_problems()
        if off_main:
            self._unknown_branches()

    def _branch_problems(self) -> None:
        self._fail(
            """
            SELECT created_idx, problem FROM (
                SELECT nb.created_idx,
                    CASE
                        WHEN nb.branch_id IS NULL OR nb.branch_id = '' THEN 'BranchCreated needs a new_branch_id'
                        WHEN nb.name IS NULL OR trim(nb.name) = '' THEN 'BranchCreated needs a name'
                        WHEN nb.branch_id = 'main' OR nb.name = 'main' THEN 'main is the session''s first branch; it cannot be created again'
                        WHEN b.branch_id IS NOT NULL THEN 'branch id ' || nb.branch_id || ' already exists in session ' || nb.session_id
                        WHEN count(*) OVER (PARTITION BY nb.session_id, nb.branch_id) > 1
                            AND nb.created_idx > min(nb.created_idx) OVER (PARTITION BY nb.session_id, nb.branch_id)
                            THEN 'branch id ' || nb.branch_id || ' is created twice'
                    END AS problem
                FROM _new_branches nb
                LEFT JOIN branches b ON b.session_id = nb.session_id AND b.branch_id = nb.branch_id
            ) WHERE problem IS NOT NULL ORDER BY created_idx LIMIT 1
            """
        )

    def _unknown_branches(self) -> None:
        """Every event must be on a branch that exists (in the journal, or created earlier in this batch)."""
        self._fail(
            """
            SELECT n.idx,
                CASE WHEN n.session_id IN (SELECT session_id FROM _new_sessions)
                          AND n.session_id NOT IN (SELECT session_id FROM _new_branches WHERE branch_id = n.branch_id)
                     THEN 'unknown session ' || n.session_id || ' for an event on branch ' || n.branch_id
                     WHEN nb.created_idx IS NOT NULL THEN 'event on branch ' || n.branch_id || ' comes before the BranchCreated that creates it'
                     ELSE 'unknown branch ' || n.branch_id || ' in session ' || n.session_id END
            FROM _new n
            LEFT JOIN branches b ON b.session_id = n.session_id AND b.branch_id = n.branch_id
            LEFT JOIN _new_branches nb ON nb.session_id = n.session_id AND nb.branch_id = n.branch_id
            WHERE n.branch_id <> 'main' AND b.branch_id IS NULL AND (nb.created_idx IS NULL OR nb.created_idx > n.idx)
            ORDER BY n.idx LIMIT 1
            """
        )

    def _fork_points(self) -> None:
        """A fork point must be at or before the head of the parent when the BranchCreated is appended: the
        parent's head before this chunk plus the chunk's events on it up to that one."""
        self._fail(
            """
            SELECT nb.created_idx, 'fork_point_seq ' || nb.fork_point_seq || ' is past the head of branch '
                   || nb.parent_branch_id || ' (' || h.head || ')'
            FROM _new_branches nb
            JOIN (SELECT nb2.created_idx,
                         coalesce(any_value(b.head_seq), 0) + count(n.idx) FILTER (WHERE n.idx < nb2.created_idx) AS head
                  FROM _new_branches nb2
                  LEFT JOIN branches b ON b.session_id = nb2.session_id AND b.branch_id = nb2.parent_branch_id
                  LEFT JOIN _new n ON n.session_id = nb2.session_id AND n.branch_id = nb2.parent_branch_id
                  GROUP BY nb2.created_idx) h USING (created_idx)
            WHERE nb.fork_point_seq > h.head ORDER BY nb.created_idx LIMIT 1
            """
        )

    # ------------------------------------------------------------------ the end

    def refresh_ahead(self, pending: Pending) -> None:
        """The sessions' aggregates as they will be once the chunk :meth:`check_extracted` passed is inserted (its
        events counted from ``_new``), computed while its events wait for their search texts; :meth:`finish` then
        has nothing left to do. Only for the last chunk of an ingest."""
        self._write_touched(self._touched.union(pending.sessions))
        _refresh_aggregates(self.con, {"first_ord": self._first_ord})
        self._refreshed = True

    def _write_touched(self, sessions: set[str]) -> None:
        self.con.execute("CREATE OR REPLACE TEMP TABLE _touched AS SELECT unnest(?::VARCHAR[]) AS session_id",
                         [sorted(sessions)])

    def finish(self) -> IngestResult:
        if self.added and not self._refreshed:
            self._write_touched(self._touched)
            _refresh_aggregates(self.con)
        return IngestResult(self.sessions_created, self.added, self.total - self.added, self.branches_created)


# The columns of stored events the aggregates read, and the same of the current chunk's events before their insert.
_AGGREGATED = "session_id, run_id, kind, ts, failure, tokens_in, tokens_out"
_STORED_EVENTS = f"SELECT {_AGGREGATED}, ord FROM events WHERE session_id IN (SELECT session_id FROM _touched)"
_PENDING_EVENTS = f"SELECT {_AGGREGATED}, $first_ord + rowid + 1 AS ord FROM _new"


def _refresh_aggregates(con: duckdb.DuckDBPyConnection, pending: dict[str, int] | None = None) -> None:
    """Recompute the aggregates of the sessions the ingest touched (no drift, no double counting).

    Tokens: an assistant Message's token_usage counts; a RunFinished's usage counts only for runs whose
    messages reported none (both usually describe the same tokens). First/last activity (and so wall time
    and the list's "last activity") leave out the structural annotations BranchCreated and BranchMerged.
    """
    # Token counts are u32 per event (see validate), so totals fit; journals written before that rule are
    # summed in 128 bits and capped rather than failing every later append of the session.
    con.execute(
        f"""
        UPDATE sessions AS s SET
            event_count = a.n, first_ts = a.first_ts, last_ts = a.last_ts,
            tokens_in = a.tin, tokens_out = a.tout, closed = a.closed, branch_count = a.branches,
            tool_calls = a.tool_calls, failures = a.failures
        FROM (
            SELECT ev.session_id, sum(r.n) AS n, min(r.first_ts) AS first_ts, max(r.last_ts) AS last_ts,
                   least(sum(CASE WHEN r.msg_in + r.msg_out > 0 THEN r.msg_in ELSE r.fin_in END), {I64_MAX}) AS tin,
                   least(sum(CASE WHEN r.msg_in + r.msg_out > 0 THEN r.msg_out ELSE r.fin_out END), {I64_MAX}) AS tout,
                   coalesce(arg_max(r.life, r.life_ts) FILTER (WHERE r.life IS NOT NULL) = 'SessionClosed', false) AS closed,
                   (SELECT count(*) FROM branches bb WHERE bb.session_id = ev.session_id) AS branches,
                   sum(r.tool_calls) AS tool_calls, sum(r.failures) AS failures
            FROM _touched ev
            JOIN (
                SELECT session_id, run_id, count(*) AS n,
                       -- activity and wall time are the agent's: a fork or merge made later by a person
                       -- (BranchCreated/BranchMerged, stamped when made) does not count
                       min(ts) FILTER (WHERE kind NOT IN ('BranchCreated', 'BranchMerged')) AS first_ts,
                       max(ts) FILTER (WHERE kind NOT IN ('BranchCreated', 'BranchMerged')) AS last_ts,
                       count(*) FILTER (WHERE kind = 'ToolCallRequested') AS tool_calls,
                       count(*) FILTER (WHERE failure) AS failures,
                       coalesce(sum(tokens_in::HUGEINT) FILTER (WHERE kind = 'Message'), 0) AS msg_in,
                       coalesce(sum(tokens_out::HUGEINT) FILTER (WHERE kind = 'Message'), 0) AS msg_out,
                       coalesce(sum(tokens_in::HUGEINT) FILTER (WHERE kind = 'RunFinished'), 0) AS fin_in,
                       coalesce(sum(tokens_out::HUGEINT) FILTER (WHERE kind = 'RunFinished'), 0) AS fin_out,
                       arg_max(kind, ord) FILTER (WHERE kind IN ('SessionClosed', 'SessionResumed')) AS life,
                       max(ord) FILTER (WHERE kind IN ('SessionClosed', 'SessionResumed')) AS life_ts
                FROM ({_STORED_EVENTS}{f" UNION ALL {_PENDING_EVENTS}" if pending else ""})
                GROUP BY session_id, run_id
            ) r ON r.session_id = ev.session_id
            GROUP BY ev.session_id
        ) a
        WHERE s.session_id = a.session_id
        """,
        *([pending] if pending else []),
    )


def append_rows(con: duckdb.DuckDBPyConnection, rows: Iterable[tuple[int, str]], locate: Locate) -> AppendResult:
    """The API append inside the caller's transaction: check (idx, raw JSON) rows as an import checks its lines
    (see :mod:`.validate`), ingest them as one chunk (a new session must start with its SessionCreated) and
    say which seq each row got (an event already in the journal answers its stored seq)."""
    from .validate import EventProblem, check_event

    checked: list[Row] = []
    seen: dict[str, int] = {}
    for idx, raw in rows:
        try:
            event = check_event(raw)
        except EventProblem as exc:
            raise InvalidEvent(locate(idx), str(exc), index=idx) from None
        first = seen.setdefault(event["event_id"], idx)
        if first != idx:
            raise InvalidEvent(locate(idx), f"duplicate event_id {event['event_id']} (also at {locate(first)})",
                               index=idx)
        checked.append((idx, raw, search_text(event)))
    if not checked:
        return AppendResult((), 0, 0, 0, 0)
    job = Ingest(con, locate, implicit_sessions=False, track_seqs=True)
    job.add(checked)
    result = job.finish()
    assert job.seqs is not None
    return AppendResult(tuple(job.seqs[idx] for idx, _, _ in checked), result.events_added, result.events_skipped,
                        result.sessions_created, result.branches_created)
