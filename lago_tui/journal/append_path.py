"""The server's lean append path: a group of ordinary events appended in four statements.

The general write path (:mod:`.ingest`) is built for imports: set-based SQL over a staged chunk, about 27
statements, and aggregates recomputed by rescanning the touched sessions' events. That costs 50-200 ms per
transaction whatever its size, which caps a server that commits a group every few milliseconds. Nearly
everything an agent appends through the server is plain: events of a known kind, on a session and branch
that exist, with a fresh event_id. For such a group this path

- checks every event exactly as the general path does (:func:`.validate.check_event`, the same gate);
- assigns seqs from branch heads and ``ord`` from the last write order it cached;
- stages the rows with DuckDB's Appender and inserts them with one ``INSERT ... SELECT`` (the payload and
  metadata texts are made by DuckDB's JSON reader, exactly as the general path stores them);
- moves the branch heads and updates each session's aggregates *incrementally* from the batch (counts,
  first/last activity without BranchCreated/BranchMerged, closed, tool calls, failures, and tokens from
  per-run sums it caches), so no statement reads the session's events again.

Anything else (a new session, a fork, a rename, a kind nobody knows, an event_id a client chose that may be
known already, any event the gate refuses) is not handled here: :meth:`LeanAppender.append` answers None
before writing anything and the caller runs the general path in the same transaction, which keeps every
rule and every error message in one place.

The caches (heads, write order, per-run token sums) describe the file only while this process holds it
and nobody else wrote through it: the caller passes a generation number that moves on every write
transaction and every reopening, and a gap means "forget everything".
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from .ingest import search_text
from .kinds import FAILURE_KINDS, OK_STATUSES
from .models import KNOWN_PAYLOADS
from .renames import BRANCH_RENAMED, SESSION_RENAMED
from .validate import EventProblem, check_dumped
from .views import AppendResult

_RENAMES = frozenset((SESSION_RENAMED, BRANCH_RENAMED))
_NOT_ACTIVITY = frozenset(("BranchCreated", "BranchMerged"))  # not the agent's activity (see ingest)
_LIFECYCLE = frozenset(("SessionClosed", "SessionResumed"))
# Kinds the general path treats specially (new sessions, branches): always left to it.
_SPECIAL = frozenset(("SessionCreated", "BranchCreated"))
# Payload fields the general path reads with typed JSON extraction. A kind that does not declare one of them
# (so its value was not type-checked) and carries it anyway goes the general way.
_EXTRACTED = frozenset(("new_branch_id", "name", "call_id", "status", "fork_point_seq", "config", "token_usage",
                        "usage"))
_UNCHECKED: dict[str, frozenset[str]] = {
    kind: _EXTRACTED - frozenset(cls.model_fields) for kind, cls in KNOWN_PAYLOADS.items()
}

_COLUMNS = (
    ("raw", "VARCHAR"), ("event_id", "VARCHAR"), ("session_id", "VARCHAR"), ("branch_id", "VARCHAR"),
    ("seq", "BIGINT"), ("run_id", "VARCHAR"), ("ts", "BIGINT"), ("parent_id", "VARCHAR"), ("kind", "VARCHAR"),
    ("schema_version", "INTEGER"), ("text", "VARCHAR"), ("tokens_in", "BIGINT"), ("tokens_out", "BIGINT"),
    ("call_id", "VARCHAR"), ("failure", "BOOLEAN"), ("ord", "BIGINT"),
)
_STAGE = f"CREATE OR REPLACE TEMP TABLE _lean ({', '.join(f'{n} {t}' for n, t in _COLUMNS)})"
_INSERT = """
INSERT INTO events (event_id, session_id, branch_id, seq, run_id, ts, parent_id, kind, payload, metadata,
                    schema_version, text, tokens_in, tokens_out, call_id, failure, ord)
SELECT event_id, session_id, branch_id, seq, run_id, ts, parent_id, kind, j.payload::VARCHAR,
       coalesce(j.metadata::VARCHAR, '{{}}'), schema_version, text, tokens_in, tokens_out, call_id, failure, ord
FROM (SELECT *, from_json(raw, '{{"payload": "JSON", "metadata": "JSON"}}') AS j FROM {source})
"""
# A small group goes in as list parameters (one statement); a large one through the Appender and a temp
# table, which is faster per row (measured: 32 rows 2.4 vs 3.3 ms, 500 rows even, 2,000 rows 14 vs 10 ms).
_INSERT_STAGED = _INSERT.format(source="_lean")
_INSERT_LISTS = _INSERT.format(source="(SELECT " + ", ".join(f"unnest(?::{t}[]) AS {n}" for n, t in _COLUMNS) + ")")
STAGE_ABOVE = 300  # rows
_HEADS = """
UPDATE branches AS b SET head_seq = u.head
FROM (SELECT unnest(?::VARCHAR[]) AS s, unnest(?::VARCHAR[]) AS br, unnest(?::BIGINT[]) AS head) u
WHERE b.session_id = u.s AND b.branch_id = u.br
"""
# Each aggregate the batch changes: (column, its new value from the old one x and the batch's u.v, type of v).
# Only the columns a batch changes are set (each costs: 3 columns 1.6 ms, all 8 2.2 ms).
_AGGREGATES = {
    "event_count": ("x.event_count + u.v", "BIGINT"),
    "first_ts": ("least(x.first_ts, u.v)", "BIGINT"),
    "last_ts": ("greatest(x.last_ts, u.v)", "BIGINT"),
    "tokens_in": ("x.tokens_in + u.v", "BIGINT"),
    "tokens_out": ("x.tokens_out + u.v", "BIGINT"),
    "closed": ("coalesce(u.v, x.closed)", "BOOLEAN"),
    "tool_calls": ("x.tool_calls + u.v", "BIGINT"),
    "failures": ("x.failures + u.v", "BIGINT"),
}
_ADDED = frozenset(("event_count", "tokens_in", "tokens_out", "tool_calls", "failures"))  # 0: no change


def _sessions_sql(columns: Sequence[str]) -> str:
    sets = ", ".join(f"{c} = " + _AGGREGATES[c][0].replace("u.v", f"u.{c}") for c in columns)
    lists = ", ".join(f"unnest(?::{_AGGREGATES[c][1]}[]) AS {c}" for c in columns)
    return f"UPDATE sessions AS x SET {sets} FROM (SELECT unnest(?::VARCHAR[]) AS s, {lists}) u WHERE x.session_id = u.s"

# A session whose stored totals are near the 64-bit cap (only journals written before the u32 rule per event)
# goes the general way, which sums in 128 bits and caps: no batch (u32 per event) adds 2^62.
_NEAR_CAP = 2**62
_LOAD_HEADS = f"""
SELECT b.session_id, b.branch_id, b.head_seq, s.tokens_in >= {_NEAR_CAP} OR s.tokens_out >= {_NEAR_CAP}
FROM branches b JOIN sessions s USING (session_id)
WHERE b.session_id IN (SELECT unnest(?::VARCHAR[]))
"""
# Per run, what the session's token totals are made of (see ingest._refresh_aggregates).
_LOAD_RUNS = """
SELECT session_id, run_id,
       coalesce(sum(tokens_in) FILTER (WHERE kind = 'Message'), 0),
       coalesce(sum(tokens_out) FILTER (WHERE kind = 'Message'), 0),
       coalesce(sum(tokens_in) FILTER (WHERE kind = 'RunFinished'), 0),
       coalesce(sum(tokens_out) FILTER (WHERE kind = 'RunFinished'), 0)
FROM events
WHERE session_id IN (SELECT unnest(?::VARCHAR[])) AND kind IN ('Message', 'RunFinished')
  AND (tokens_in IS NOT NULL OR tokens_out IS NOT NULL)
GROUP BY session_id, run_id
"""




def _contribution(run: Sequence[int]) -> tuple[int, int]:
    """A run's share of its session's tokens: its messages' counts, or else its RunFinished usage."""
    m_in, m_out, f_in, f_out = run
    return (m_in, m_out) if m_in + m_out > 0 else (f_in, f_out)


@dataclass
class _SessionDelta:
    n: int = 0
    first: int | None = None
    last: int | None = None
    closed: bool | None = None
    tool_calls: int = 0
    failures: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    runs: dict[str | None, list[int]] = field(default_factory=dict)  # run -> token sums of this batch


class LeanAppender:
    """The lean path's state; one per writer (the server's group committer), used from its thread only."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget what the caches say about the file."""
        self._heads: dict[tuple[str, str], int] = {}
        self._loaded: set[str] = set()  # sessions whose branches are in _heads
        self._capped: set[str] = set()  # sessions whose stored token totals are near the 64-bit cap
        self._runs: dict[str, dict[str | None, list[int]]] = {}  # session -> run -> token sums
        self._ord: int | None = None
        self._pending: tuple[Any, ...] | None = None
        self.generation = -1  # the owner's write generation the caches describe

    # ------------------------------------------------------------------ one group

    def append(self, con: duckdb.DuckDBPyConnection, generation: int, rows: Sequence[str],
               minted: Collection[str] = (), parsed: Sequence[Any | None] | None = None) -> list[int] | None:
        """Append ``rows`` (event JSON texts, in order) inside the caller's open transaction: their seqs,
        or None when this path does not handle them (nothing has been written then).

        ``generation`` is the owner's write generation of this transaction; ``minted`` the event_ids this
        process made itself (fresh ULIDs: no lookup needed); ``parsed``, where known, each row's event as
        plain JSON values (what ``json.loads`` makes; None where not known), which spares parsing it again
        when its text is one the gate would read back to the same values (see :func:`.validate.check_dumped`).
        Call :meth:`committed` once the COMMIT returned, :meth:`reset` when it did not or when another path
        wrote.
        """
        if generation != self.generation + 1:
            self.reset()
        self._pending = None
        plain = self._check(rows, minted, parsed)
        if plain is None:
            return None
        events, client_ids = plain
        if client_ids and con.execute(
            "SELECT 1 FROM events WHERE event_id IN (SELECT unnest(?::VARCHAR[])) LIMIT 1", [client_ids]
        ).fetchone() is not None:
            return None  # a repeat (skipped or refused): the general path's rules
        sessions = {e[2] for e in events}
        missing = [s for s in sessions if s not in self._loaded]
        if missing:
            for s, b, head, capped in con.execute(_LOAD_HEADS, [missing]).fetchall():
                self._heads[(s, b)] = head
                if capped:
                    self._capped.add(s)
            self._loaded.update(missing)
        if not sessions.isdisjoint(self._capped):
            return None
        heads = self._heads
        if any((e[2], e[3]) not in heads for e in events):
            return None  # an unknown session or branch: the general path says which
        if any(e[11] is not None or e[12] is not None for e in events):
            need = [s for s in {e[2] for e in events if e[11] is not None or e[12] is not None}
                    if s not in self._runs]
            if need:
                for s in need:
                    self._runs[s] = {}
                for s, run, m_in, m_out, f_in, f_out in con.execute(_LOAD_RUNS, [need]).fetchall():
                    self._runs[s][run] = [int(m_in), int(m_out), int(f_in), int(f_out)]
        if self._ord is None:
            self._ord = con.execute("SELECT coalesce(max(ord), 0) FROM events").fetchone()[0]

        new_heads: dict[tuple[str, str], int] = {}
        deltas: dict[str, _SessionDelta] = {}
        ord_ = self._ord
        staged = []
        seqs = []
        for raw, e in zip(rows, events):
            (event_id, kind, session, branch, run_id, ts, parent_id, schema_version, text, call_id, failure,
             tokens_in, tokens_out) = e
            key = (session, branch)
            seq = new_heads.get(key, heads[key]) + 1
            new_heads[key] = seq
            ord_ += 1
            seqs.append(seq)
            staged.append((raw, event_id, session, branch, seq, run_id, ts, parent_id, kind, schema_version, text,
                           tokens_in, tokens_out, call_id, failure, ord_))
            d = deltas.get(session)
            if d is None:
                d = deltas[session] = _SessionDelta()
            d.n += 1
            if kind not in _NOT_ACTIVITY:
                d.first = ts if d.first is None else min(d.first, ts)
                d.last = ts if d.last is None else max(d.last, ts)
            if kind in _LIFECYCLE:
                d.closed = kind == "SessionClosed"
            if kind == "ToolCallRequested":
                d.tool_calls += 1
            if failure:
                d.failures += 1
            if tokens_in is not None or tokens_out is not None:
                run = d.runs.setdefault(run_id, [0, 0, 0, 0])
                at = 0 if kind == "Message" else 2
                run[at] += tokens_in or 0
                run[at + 1] += tokens_out or 0

        new_runs: dict[tuple[str, str | None], list[int]] = {}
        for session, d in deltas.items():
            for run_id, add in d.runs.items():
                before = self._runs[session].get(run_id, [0, 0, 0, 0])
                after = [a + b for a, b in zip(before, add)]
                old_in, old_out = _contribution(before)
                new_in, new_out = _contribution(after)
                d.tokens_in += new_in - old_in
                d.tokens_out += new_out - old_out
                new_runs[(session, run_id)] = after

        if len(staged) > STAGE_ABOVE:
            con.execute(_STAGE)
            appender = con.appender("_lean")
            appender.append_rows(staged)
            appender.flush()
            con.execute(_INSERT_STAGED)
        else:
            con.execute(_INSERT_LISTS, [list(column) for column in zip(*staged)])
        con.execute(_HEADS, [[k[0] for k in new_heads], [k[1] for k in new_heads], list(new_heads.values())])
        names = list(deltas)
        ds = [deltas[s] for s in names]
        values = {
            "event_count": [d.n for d in ds], "first_ts": [d.first for d in ds], "last_ts": [d.last for d in ds],
            "tokens_in": [d.tokens_in for d in ds], "tokens_out": [d.tokens_out for d in ds],
            "closed": [d.closed for d in ds], "tool_calls": [d.tool_calls for d in ds],
            "failures": [d.failures for d in ds],
        }
        changed = [c for c, v in values.items()
                   if (any(v) if c in _ADDED else any(x is not None for x in v))]
        con.execute(_sessions_sql(changed), [names, *(values[c] for c in changed)])
        self._pending = (generation, new_heads, new_runs, ord_)
        return seqs

    def committed(self) -> None:
        """The transaction of the last :meth:`append` committed: the caches move on with it."""
        if self._pending is None:
            return
        generation, new_heads, new_runs, ord_ = self._pending
        self._pending = None
        self._heads.update(new_heads)
        for (session, run_id), sums in new_runs.items():
            self._runs[session][run_id] = sums
        self._ord = ord_
        self.generation = generation

    # ------------------------------------------------------------------ the checks

    def _check(self, rows: Sequence[str], minted: Collection[str], parsed: Sequence[Any | None] | None
               ) -> tuple[list[tuple[Any, ...]], list[str]] | None:
        """Each row checked and reduced to its columns, and the event_ids to look up; None when any row is not
        plain (the general path then decides, with its messages)."""
        events: list[tuple[Any, ...]] = []
        ids: set[str] = set()
        client_ids: list[str] = []
        for i, raw in enumerate(rows):
            obj = None if parsed is None else parsed[i]
            try:
                event = check_dumped(raw, obj)
            except EventProblem:
                return None
            payload = event.get("payload")
            if payload is None:  # the aiOS spelling ("kind"): rare, left to the general path
                return None
            kind = payload["type"]
            unchecked = _UNCHECKED.get(kind)
            if unchecked is None or kind in _SPECIAL or not unchecked.isdisjoint(payload):
                return None
            if kind == "Custom" and payload.get("event_type") in _RENAMES:
                return None
            event_id = event["event_id"]
            if event_id in ids:
                return None
            ids.add(event_id)
            if event_id not in minted:
                client_ids.append(event_id)
            tokens_in = tokens_out = None
            if kind == "Message" or kind == "RunFinished":
                usage = payload.get("token_usage" if kind == "Message" else "usage")
                if usage is not None:
                    tokens_in, tokens_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
            if kind in FAILURE_KINDS:
                failure = True
            elif kind == "ToolCallCompleted":
                failure = payload["status"] not in OK_STATUSES
            else:
                failure = False
            schema_version = event.get("schema_version")
            events.append((
                event_id, kind, event["session_id"], event.get("branch_id") or "main", event.get("run_id"),
                event["timestamp"], event.get("parent_id"), 1 if schema_version is None else schema_version,
                search_text(event), payload.get("call_id"), failure, tokens_in, tokens_out,
            ))
        return events, client_ids


def append_plain(con: duckdb.DuckDBPyConnection, rows: Sequence[str]) -> AppendResult | None:
    """:meth:`Journal.append <lago_tui.journal.store.Journal.append>`'s lean path: ``rows`` (event JSON texts,
    in order) appended inside the caller's open transaction, or None when they are not plain (nothing has
    been written then; the caller runs the general path in the same transaction).

    A process that opens the file per transaction cannot know what others wrote in between, so nothing is
    cached across calls: heads, write order and token sums are read afresh inside this transaction, which
    holds the file's write lock, so they are exact.
    """
    seqs = LeanAppender().append(con, 0, rows)
    return None if seqs is None else AppendResult(tuple(seqs), len(seqs), 0, 0, 0)
