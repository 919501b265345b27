"""A branch's timeline: ancestors' events up to each fork point, then the branch's own events.

Windows are read by seq ranges per lineage segment, never by OFFSET, so any position costs the same.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from .api import TimelineAPI
from .query import Query, TimelineContext, kinds_predicate, parse_timeline, timeline_predicate
from .shown import outcome_calls_sql
from .views import SessionDetail, TimelineEvent, ToolOutcome

if TYPE_CHECKING:
    from .store import Journal

_EVENT_COLS = (
    "event_id, session_id, branch_id, seq, ts, kind, run_id, parent_id, payload, metadata, schema_version"
)

# How far past a ToolCallRequested (in seqs of its branch) its completion is looked for.
_PAIRING_LOOKAHEAD = 2000
# Payloads up to this size (characters) are parsed by DuckDB; larger ones in Python (see _pair_tools).
_PARSE_IN_SQL_MAX = 64 * 1024


def _rows_between(
    con: duckdb.DuckDBPyConnection, session_id: str, branch_id: str, first: int, last: int, wanted: list[int],
) -> list[Any]:
    """A branch's events with seq in [first, last] (only those in ``wanted`` when it is not empty), in seq
    order; a range too large for the reader's memory limit (a run of large events) is read in halves."""
    only = f" AND seq IN ({', '.join('?' * len(wanted))})" if wanted else ""
    try:
        return con.execute(
            f"SELECT {_EVENT_COLS} FROM events WHERE session_id = ? AND branch_id = ? AND seq BETWEEN ? AND ?{only} "
            "ORDER BY seq",
            [session_id, branch_id, first, last, *wanted],
        ).fetchall()
    except duckdb.OutOfMemoryException:
        if first >= last:
            raise
        middle = (first + last) // 2
        return (_rows_between(con, session_id, branch_id, first, middle, [s for s in wanted if s <= middle])
                + _rows_between(con, session_id, branch_id, middle + 1, last, [s for s in wanted if s > middle]))


def execute_roomy(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> _Fetched:
    """``con.execute(sql, params)``, fetched; a statement that needs more than the connection's buffer pool
    (a scan over events of megabytes) runs again with the larger one, and the pool is put back as it was
    (a reader's 48 MB, the server's 160 MB; one that is large already, Connector.roomy(), stays)."""
    try:
        return _Fetched(con.execute(sql, params).fetchall())
    except duckdb.OutOfMemoryException:
        from . import connection

        before = _limit_mb(con)
        raise_it = before < int(connection.ROOMY_MEMORY_LIMIT.removesuffix("MB"))
        if raise_it:
            con.execute(f"SET memory_limit = '{connection.ROOMY_MEMORY_LIMIT}'")
        try:
            return _Fetched(con.execute(sql, params).fetchall())
        finally:
            if raise_it:
                con.execute(f"SET memory_limit = '{before}MB'")


def _limit_mb(con: duckdb.DuckDBPyConnection) -> int:
    """The connection's memory limit in the megabytes (10^6 bytes) it was set in: DuckDB shows 160MB as
    '152.5 MiB', rounded down, so the whole megabytes above are the setting."""
    text = str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
    value, _, unit = text.partition(" ")
    scale = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}.get(unit, 2**20)
    return math.ceil(float(value) * scale / 1e6)


class _Fetched:
    """Rows already fetched, with the cursor methods the callers use."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def fetchall(self) -> list[Any]:
        return self._rows

    def fetchone(self) -> Any:  # noqa: ANN401
        return self._rows[0] if self._rows else None


def _outcome_fields(con: duckdb.DuckDBPyConnection, session_id: str, row: Sequence[Any]) -> tuple[Any, ...]:
    """(call_id, kind, ts, status, duration_ms, error) of a completion whose payload is too large for SQL.

    ``row[7]`` is the event's ``ord``: read by it, the zone maps skip all but its row group (events has no
    index on event_id, so looking it up by that would scan the table once per large result).
    """
    import json

    found = con.execute("SELECT payload FROM events WHERE session_id = ? AND ord = ?", [session_id, row[7]]).fetchone()
    try:
        payload = json.loads(found[0]) if found else {}
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    status, duration, error = payload.get("status"), payload.get("duration_ms"), payload.get("error")
    # validate.I64_MIN..I64_MAX, written out: importing validate would load pydantic on the read path.
    return (row[0], row[1], row[2], status if isinstance(status, str) else None,
            duration if type(duration) is int and -(2**63) <= duration < 2**63 else None,
            error if isinstance(error, str) else None)


# find() reads seq chunks, first small then growing, so a near match is found without reading the whole
# timeline and a far one costs a few statements more than one read.
_FIND_FIRST_CHUNK = 8192
_FIND_GROWTH = 4


def _take(left: list[tuple[int, int, int]], count: int, forward: bool) -> tuple[list, list]:
    """Split ``count`` seqs off the front of ``left`` (regions in reading order: forward from each region's
    first seq, backward from its last)."""
    take: list[tuple[int, int, int]] = []
    rest = list(left)
    while rest and count > 0:
        i, lo, hi = rest.pop(0)
        if hi - lo + 1 <= count:
            take.append((i, lo, hi))
            count -= hi - lo + 1
        elif forward:
            take.append((i, lo, lo + count - 1))
            rest.insert(0, (i, lo + count, hi))
            count = 0
        else:
            take.append((i, hi - count + 1, hi))
            rest.insert(0, (i, lo, hi - count))
            count = 0
    return take, rest


def _event(row: Sequence[Any], position: int, *, inherited: bool, outcome: ToolOutcome | None = None) -> TimelineEvent:
    return TimelineEvent(
        position=position, event_id=row[0], session_id=row[1], branch_id=row[2], seq=row[3], ts=row[4],
        kind=row[5], run_id=row[6], parent_id=row[7], payload_json=row[8], metadata_json=row[9],
        schema_version=row[10], inherited=inherited, outcome=outcome,
    )


@dataclass
class Segment:
    branch_id: str
    last_seq: int  # this branch's events 1..last_seq belong to the timeline
    seqs: array | None = None  # with a kind filter: the matching seqs, ascending

    @property
    def length(self) -> int:
        return len(self.seqs) if self.seqs is not None else self.last_seq


class Timeline(TimelineAPI):
    """A branch's timeline: ancestors' events up to each fork point, then the branch's own events.

    Windows are read by seq ranges per segment, never by OFFSET, so any position costs the same.
    With a kind filter the matching seqs of each segment are kept (8 bytes each) to map positions.
    """

    def __init__(
        self, journal: Journal, detail: SessionDetail, branch_id: str, kinds: tuple[str, ...] | None,
        query: str | Query | None = None,
    ):
        self.journal = journal
        self.session_id = detail.summary.session_id
        self.branch_id = branch_id
        self.kinds = kinds
        chain = detail.lineage(branch_id)
        self.segments: list[Segment] = []
        for i, b in enumerate(chain):
            last = chain[i + 1].fork_point_seq if i + 1 < len(chain) else b.head_seq
            self.segments.append(Segment(b.branch_id, last))
        self._outcomes: dict[tuple[Any, ...], list[str]] = {}
        refs = {b.name: b.branch_id for b in detail.branches}
        refs.update({b.branch_id: b.branch_id for b in detail.branches})
        self.context = TimelineContext(
            self.session_id, refs, lambda kind: journal._kind_exists(self.session_id, kind), self._outcome_calls,
        )
        self.query = parse_timeline(query) if not isinstance(query, Query) else query
        self._filter = self._compile_filter()
        if self._filter[0]:
            self._load_filtered(0)
        self._offsets = self._compute_offsets()

    def _compile_filter(self) -> tuple[str, list[Any]]:
        """The hiding filter (kinds, then the query) as an SQL suffix ``AND ...`` and its parameters."""
        sql, params = "", []
        if self.kinds is not None:
            sql = f" AND ({kinds_predicate(self.kinds, self.context.kind_exists, params)})"
        compiled = timeline_predicate(self.query, self.context)
        if compiled is not None:
            sql += f" AND ({compiled[0]})"
            params += compiled[1]
        return sql, params

    def _outcome_calls(self, cond: str, params: list[Any]) -> list[str]:
        """Call ids of the session's tool requests whose outcome meets ``cond`` (see query.TimelineContext).

        Kept per timeline until :meth:`refresh` sees new events: ``n``/``N`` and highlighting ask again."""
        key = (cond, tuple(params))
        cached = self._outcomes.get(key)
        if cached is not None:
            return cached
        # Only requests this timeline can show: on its lineage's branches.
        sql, sql_params = outcome_calls_sql(cond, params, self.session_id, [seg.branch_id for seg in self.segments])
        with self.journal._read() as con:
            rows = [] if con is None else execute_roomy(con, sql, sql_params).fetchall()
        if len(self._outcomes) >= 32:
            self._outcomes.pop(next(iter(self._outcomes)))
        self._outcomes[key] = calls = [r[0] for r in rows]
        return calls

    def _kind_sql(self) -> tuple[str, list[Any]]:
        return self._filter[0], list(self._filter[1])

    def _match_sql(self, query: str | Query | None) -> tuple[str, list[Any]] | None:
        """The hiding filter and ``query`` (a search) as one ``AND ...`` suffix; None for an empty search."""
        q = query if isinstance(query, Query) else parse_timeline(query)
        compiled = timeline_predicate(q, self.context)
        if compiled is None:
            return None
        sql, params = self._kind_sql()
        return f"{sql} AND ({compiled[0]})", params + compiled[1]

    def _load_filtered(self, from_segment: int) -> None:
        ksql, kparams = self._kind_sql()
        regions = []
        for i in range(from_segment, len(self.segments)):
            seg = self.segments[i]
            if seg.seqs is None:
                seg.seqs = array("q")
            start = seg.seqs[-1] + 1 if seg.seqs else 1
            if start <= seg.last_seq:
                regions.append((i, start, seg.last_seq))
        if not regions:
            return
        where, wparams = self._regions_sql(regions)
        with self.journal._read() as con:
            rows = [] if con is None else execute_roomy(con, 
                f"SELECT branch_id, seq FROM events WHERE session_id = ? AND {where}{ksql} ORDER BY branch_id, seq",
                [self.session_id, *wparams, *kparams],
            ).fetchall()
        index = {self.segments[i].branch_id: i for i, _, _ in regions}
        for branch_id, seq in rows:
            self.segments[index[branch_id]].seqs.extend((seq,))  # type: ignore[union-attr]

    def _regions_sql(self, regions: Sequence[tuple[int, int, int]]) -> tuple[str, list[Any]]:
        """SQL for seq ranges of segments, (segment index, first seq, last seq) each, read in one statement
        (a statement's fixed cost is what a search pays most for)."""
        params: list[Any] = []
        for i, lo, hi in regions:
            params += [self.segments[i].branch_id, lo, hi]
        return "(" + " OR ".join("(branch_id = ? AND seq BETWEEN ? AND ?)" for _ in regions) + ")", params

    def _compute_offsets(self) -> list[int]:
        offsets, total = [], 0
        for seg in self.segments:
            offsets.append(total)
            total += seg.length
        self._length = total
        return offsets

    @property
    def length(self) -> int:
        return self._length

    @property
    def segment_bounds(self) -> list[tuple[str, int]]:
        return [(seg.branch_id, seg.last_seq) for seg in self.segments]

    @property
    def fork_positions(self) -> list[int]:
        """Positions where an inherited segment ends and the next begins (for fork markers)."""
        return self._offsets[1:]

    def refresh(self) -> int:
        """Pick up events appended to the branch since; returns the new length."""
        with self.journal._read() as con:
            row = None if con is None else con.execute(
                "SELECT head_seq FROM branches WHERE session_id = ? AND branch_id = ?", [self.session_id, self.branch_id]
            ).fetchone()
        if row is not None and row[0] != self.segments[-1].last_seq:
            self.segments[-1].last_seq = row[0]
            self._outcomes.clear()
            if self._filter[0]:
                self._filter = self._compile_filter()  # outcomes of new tool calls may now match
                self._load_filtered(len(self.segments) - 1)
            self._offsets = self._compute_offsets()
        return self._length

    def locate(self, position: int) -> tuple[int, int]:
        """(segment index, seq) of a position."""
        i = bisect_right(self._offsets, position) - 1
        seg = self.segments[i]
        k = position - self._offsets[i]
        return i, (seg.seqs[k] if seg.seqs is not None else k + 1)

    def position_of(self, branch_id: str, seq: int) -> int | None:
        """The position of (branch, seq) in this timeline, or of the nearest event before it."""
        for i, seg in enumerate(self.segments):
            if seg.branch_id != branch_id:
                continue
            if seg.seqs is not None:
                k = bisect_right(seg.seqs, min(seq, seg.last_seq)) - 1
                return self._offsets[i] + max(k, 0) if seg.length else None
            if seg.last_seq == 0:
                return None
            return self._offsets[i] + max(0, min(seq, seg.last_seq) - 1)
        return None

    def window(self, start: int, count: int) -> list[TimelineEvent]:
        """Events at positions [start, start + count) (fewer at the end)."""
        end = min(self._length, start + count)  # before clamping start: [-2, -1) holds no position
        start = max(0, start)
        if start >= end:
            return []
        out: list[TimelineEvent] = []
        with self.journal._read() as con:
            if con is None:
                return []
            for i, seg, pos, seg_end, first_seq, last_seq in self._spans(start, end):
                # Filtered: the positions' seqs are known, so the filter is not evaluated again.
                wanted = [] if seg.seqs is None else list(seg.seqs[pos - self._offsets[i]:seg_end - self._offsets[i]])
                rows = _rows_between(con, self.session_id, seg.branch_id, first_seq, last_seq, wanted)
                inherited = seg.branch_id != self.branch_id
                for n, row in enumerate(rows):
                    out.append(_event(row, pos + n, inherited=inherited))
            return self._pair_tools(con, out)

    def _spans(self, start: int, end: int) -> Iterator[tuple[int, Segment, int, int, int, int]]:
        """Positions [start, end) cut at segment bounds: (segment index, segment, first position, end
        position, first seq, last seq) per piece."""
        pos = start
        while pos < end:
            i, first_seq = self.locate(pos)
            seg = self.segments[i]
            seg_end = min(end, self._offsets[i] + seg.length)
            _, last_seq = self.locate(seg_end - 1)
            yield i, seg, pos, seg_end, first_seq, last_seq
            pos = seg_end

    def _pair_tools(self, con: duckdb.DuckDBPyConnection, rows: list[TimelineEvent]) -> list[TimelineEvent]:
        """Attach each ToolCallRequested's completion or failure (by call_id) so its duration shows."""
        calls = {}
        for ev in rows:
            if ev.kind == "ToolCallRequested":
                call_id = ev.payload.get("call_id")
                if isinstance(call_id, str):
                    calls[call_id] = ev
        if not calls:
            return rows
        # Completions follow their request on the same branch: look only a little past each request, so
        # the query reads a few seq ranges instead of scanning the session (15 ms -> 4 ms at 200k events).
        ranges: dict[str, tuple[int, int]] = {}
        for ev in calls.values():
            lo, hi = ranges.get(ev.branch_id, (ev.seq, ev.seq))
            ranges[ev.branch_id] = (min(lo, ev.seq), max(hi, ev.seq))
        where = " OR ".join("(branch_id = ? AND seq BETWEEN ? AND ?)" for _ in ranges)
        params: list[Any] = [self.session_id]
        for branch_id, (lo, hi) in ranges.items():
            params += [branch_id, lo, hi + _PAIRING_LOOKAHEAD]
        # Large payloads are not parsed by DuckDB (its JSON parser needs many times a document's size, beyond a
        # reader's memory limit for a few large tool results): their fields are read in Python, one at a time.
        found = con.execute(
            f"SELECT call_id, kind, ts, CASE WHEN small THEN payload->>'$.status' END, "
            f"CASE WHEN small THEN TRY_CAST(payload->>'$.duration_ms' AS BIGINT) END, "
            f"CASE WHEN small THEN payload->>'$.error' END, small, ord FROM ("
            f"SELECT *, strlen(payload) <= {_PARSE_IN_SQL_MAX} AS small FROM events WHERE session_id = ? AND ({where}) "
            f"AND kind IN ('ToolCallCompleted', 'ToolCallFailed') AND call_id IN ({', '.join('?' * len(calls))}))",
            [*params, *calls],
        ).fetchall()
        found = [row[:6] if row[6] else _outcome_fields(con, self.session_id, row) for row in found]
        outcomes: dict[str, ToolOutcome] = {}
        for call_id, kind, ts, status, duration, error in found:
            req = calls[call_id]
            if duration is None:
                duration = max(0, (ts - req.ts) // 1000)
            outcomes.setdefault(
                call_id,
                ToolOutcome(kind, status or ("failed" if kind == "ToolCallFailed" else "?"), duration, ts, error),
            )
        result = []
        for ev in rows:
            outcome = outcomes.get(ev.payload.get("call_id")) if ev.kind == "ToolCallRequested" else None
            if outcome is not None:
                ev = TimelineEvent(**{f: getattr(ev, f) for f in TimelineEvent.__dataclass_fields__ if f != "outcome"},
                                   outcome=outcome)
            result.append(ev)
        return result

    def find(self, query: str | Query, start: int, *, forward: bool = True) -> int | None:
        """The position of the next (or previous) event at or after (before) ``start`` matching ``query``.

        ``query`` is plain text or a query in the timeline language (see :mod:`.query`); free text matches
        the payload's text and what the row shows. Raises QueryError for a query that cannot be read.
        The timeline is read in chunks of seqs (across segments) that grow, so a near match costs a small
        read and a far one a few statements.
        """
        match = self._match_sql(query)
        if match is None or self._length == 0 or (forward and start >= self._length) or (not forward and start < 0):
            return None
        msql, mparams = match
        start = min(max(start, 0), self._length - 1)
        first_seg, first_seq = self.locate(start)
        # What is left to read, in reading order: (segment index, first seq, last seq).
        left: list[tuple[int, int, int]] = []
        for i in (range(first_seg, len(self.segments)) if forward else range(first_seg, -1, -1)):
            lo, hi = 1, self.segments[i].last_seq
            if i == first_seg:
                lo, hi = (first_seq, hi) if forward else (lo, first_seq)
            if self.segments[i].length and lo <= hi:
                left.append((i, lo, hi))
        agg = "min" if forward else "max"
        chunk = _FIND_FIRST_CHUNK
        with self.journal._read() as con:
            if con is None:
                return None
            while left:
                take, left = _take(left, chunk, forward)
                where, wparams = self._regions_sql(take)
                rows = execute_roomy(con, 
                    f"SELECT branch_id, {agg}(seq) FROM events WHERE session_id = ? AND {where}{msql} GROUP BY branch_id",
                    [self.session_id, *wparams, *mparams],
                ).fetchall()
                if rows:
                    found = dict(rows)
                    i = next(i for i, _, _ in take if self.segments[i].branch_id in found)
                    seg, seq = self.segments[i], found[self.segments[i].branch_id]
                    return self._offsets[i] + (bisect_left(seg.seqs, seq) if seg.seqs is not None else seq - 1)
                chunk *= _FIND_GROWTH
        return None

    def count_matches(self, query: str | Query) -> int:
        """How many positions of this timeline match ``query``."""
        match = self._match_sql(query)
        if match is None:
            return 0
        msql, mparams = match
        regions = [(i, 1, seg.last_seq) for i, seg in enumerate(self.segments) if seg.length]
        if not regions:
            return 0
        where, wparams = self._regions_sql(regions)
        with self.journal._read() as con:
            if con is None:
                return 0
            return execute_roomy(con, 
                f"SELECT count(*) FROM events WHERE session_id = ? AND {where}{msql}", [self.session_id, *wparams, *mparams]
            ).fetchone()[0]

    def match_positions(self, query: str | Query, start: int = 0, count: int | None = None) -> list[int]:
        """The positions in [start, start + count) (to the end without a count) that match ``query``."""
        end = self._length if count is None else min(self._length, start + count)
        start = max(0, start)
        if start >= end:
            return []
        match = self._match_sql(query)
        if match is None:
            return []
        msql, mparams = match
        regions = [(i, first_seq, last_seq) for i, _, _, _, first_seq, last_seq in self._spans(start, end)]
        where, wparams = self._regions_sql(regions)
        with self.journal._read() as con:
            rows = [] if con is None else execute_roomy(con, 
                f"SELECT branch_id, seq FROM events WHERE session_id = ? AND {where}{msql}",
                [self.session_id, *wparams, *mparams],
            ).fetchall()
        index = {self.segments[i].branch_id: i for i, _, _ in regions}
        out = []
        for branch_id, seq in rows:
            i = index[branch_id]
            seg = self.segments[i]
            out.append(self._offsets[i] + (bisect_left(seg.seqs, seq) if seg.seqs is not None else seq - 1))
        return sorted(out)

    def exact_position(self, branch_id: str, seq: int) -> int | None:
        """The position of event (``branch_id``, ``seq``) if it is in this timeline, else None."""
        for i, seg in enumerate(self.segments):
            if seg.branch_id != branch_id:
                continue
            if seg.seqs is not None:
                k = bisect_left(seg.seqs, seq)
                return self._offsets[i] + k if k < len(seg.seqs) and seg.seqs[k] == seq else None
            return self._offsets[i] + seq - 1 if 1 <= seq <= seg.last_seq else None
        return None

    def partner(self, position: int) -> int | None:
        """The event paired with the one at ``position``: a tool call's request <-> its outcome (the
        completion or failure with the same call_id), or None if it has none in this timeline."""
        if not 0 <= position < self._length:
            return None
        i, seq = self.locate(position)
        branch_id = self.segments[i].branch_id
        with self.journal._read() as con:
            if con is None:
                return None
            row = con.execute(
                "SELECT kind, call_id FROM events WHERE session_id = ? AND branch_id = ? AND seq = ?",
                [self.session_id, branch_id, seq],
            ).fetchone()
            if row is None or row[1] is None:
                return None
            kind, call_id = row
            if kind == "ToolCallRequested":
                wanted, forward = ("ToolCallCompleted", "ToolCallFailed"), True
            elif kind in ("ToolCallStarted", "ToolCallCompleted", "ToolCallFailed"):
                wanted, forward = ("ToolCallRequested",), False
            else:
                return None
            branches = [seg.branch_id for seg in self.segments]
            found = con.execute(
                f"SELECT branch_id, seq FROM events WHERE session_id = ? AND call_id = ? "
                f"AND kind IN ({', '.join('?' * len(wanted))}) AND branch_id IN ({', '.join('?' * len(branches))})",
                [self.session_id, call_id, *wanted, *branches],
            ).fetchall()
        positions = [p for p in (self.exact_position(b, s) for b, s in found) if p is not None]
        if forward:
            after = [p for p in positions if p > position]
            return min(after) if after else None
        before = [p for p in positions if p < position]
        return max(before) if before else None
