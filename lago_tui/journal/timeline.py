"""A branch's timeline: ancestors' events up to each fork point, then the branch's own events.

Windows are read by seq ranges per lineage segment, never by OFFSET, so any position costs the same.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from .api import TimelineAPI
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
    con: duckdb.DuckDBPyConnection, session_id: str, branch_id: str, first: int, last: int, ksql: str,
    kparams: list[Any],
) -> list[Any]:
    """A branch's events with seq in [first, last], in seq order; a range too large for the reader's memory
    limit (a run of large events) is read in halves."""
    try:
        return con.execute(
            f"SELECT {_EVENT_COLS} FROM events WHERE session_id = ? AND branch_id = ? AND seq BETWEEN ? AND ?{ksql} "
            "ORDER BY seq",
            [session_id, branch_id, first, last, *kparams],
        ).fetchall()
    except duckdb.OutOfMemoryException:
        if first >= last:
            raise
        middle = (first + last) // 2
        return (_rows_between(con, session_id, branch_id, first, middle, ksql, kparams)
                + _rows_between(con, session_id, branch_id, middle + 1, last, ksql, kparams))


def _outcome_fields(con: duckdb.DuckDBPyConnection, row: Sequence[Any]) -> tuple[Any, ...]:
    """(call_id, kind, ts, status, duration_ms, error) of a completion whose payload is too large for SQL."""
    import json

    found = con.execute("SELECT payload FROM events WHERE event_id = ?", [row[7]]).fetchone()
    try:
        payload = json.loads(found[0]) if found else {}
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    status, duration, error = payload.get("status"), payload.get("duration_ms"), payload.get("error")
    return (row[0], row[1], row[2], status if isinstance(status, str) else None,
            duration if type(duration) is int and -(2**63) <= duration < 2**63 else None,
            error if isinstance(error, str) else None)


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

    def __init__(self, journal: Journal, detail: SessionDetail, branch_id: str, kinds: tuple[str, ...] | None):
        self.journal = journal
        self.session_id = detail.summary.session_id
        self.branch_id = branch_id
        self.kinds = kinds
        chain = detail.lineage(branch_id)
        self.segments: list[Segment] = []
        for i, b in enumerate(chain):
            last = chain[i + 1].fork_point_seq if i + 1 < len(chain) else b.head_seq
            self.segments.append(Segment(b.branch_id, last))
        if kinds is not None:
            self._load_filtered(0)
        self._offsets = self._compute_offsets()

    def _kind_sql(self) -> tuple[str, list[Any]]:
        if self.kinds is None:
            return "", []
        return f" AND kind IN ({', '.join('?' * len(self.kinds))})", list(self.kinds)

    def _load_filtered(self, from_segment: int) -> None:
        ksql, kparams = self._kind_sql()
        with self.journal._read() as con:
            for seg in self.segments[from_segment:]:
                start = seg.seqs[-1] if seg.seqs else 0
                rows = [] if con is None else con.execute(
                    f"SELECT seq FROM events WHERE session_id = ? AND branch_id = ? AND seq > ? AND seq <= ?{ksql} ORDER BY seq",
                    [self.session_id, seg.branch_id, start, seg.last_seq, *kparams],
                ).fetchall()
                if seg.seqs is None:
                    seg.seqs = array("q")
                seg.seqs.extend(r[0] for r in rows)

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
            if self.kinds is not None:
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
        ksql, kparams = self._kind_sql()
        out: list[TimelineEvent] = []
        with self.journal._read() as con:
            if con is None:
                return []
            pos = start
            while pos < end:
                i, first_seq = self.locate(pos)
                seg = self.segments[i]
                seg_end = min(end, self._offsets[i] + seg.length)
                _, last_seq = self.locate(seg_end - 1)
                rows = _rows_between(con, self.session_id, seg.branch_id, first_seq, last_seq, ksql, kparams)
                inherited = seg.branch_id != self.branch_id
                for n, row in enumerate(rows):
                    out.append(_event(row, pos + n, inherited=inherited))
                pos = seg_end
            return self._pair_tools(con, out)

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
            f"CASE WHEN small THEN payload->>'$.error' END, small, event_id FROM ("
            f"SELECT *, strlen(payload) <= {_PARSE_IN_SQL_MAX} AS small FROM events WHERE session_id = ? AND ({where}) "
            f"AND kind IN ('ToolCallCompleted', 'ToolCallFailed') AND call_id IN ({', '.join('?' * len(calls))}))",
            [*params, *calls],
        ).fetchall()
        found = [row[:6] if row[6] else _outcome_fields(con, row) for row in found]
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

    def find(self, text: str, start: int, *, forward: bool = True) -> int | None:
        """The position of the next (or previous) event at or after (before) ``start`` whose text matches."""
        if not text or self._length == 0:
            return None
        if (forward and start >= self._length) or (not forward and start < 0):
            return None
        ksql, kparams = self._kind_sql()
        start = min(max(start, 0), self._length - 1)
        first_seg, first_seq = self.locate(start)
        order = range(first_seg, len(self.segments)) if forward else range(first_seg, -1, -1)
        with self.journal._read() as con:
            if con is None:
                return None
            for i in order:
                seg = self.segments[i]
                if seg.length == 0:
                    continue
                lo, hi = 1, seg.last_seq
                if i == first_seg:
                    lo, hi = (first_seq, hi) if forward else (lo, first_seq)
                agg = "min" if forward else "max"
                row = con.execute(
                    f"SELECT {agg}(seq) FROM events WHERE session_id = ? AND branch_id = ? AND seq BETWEEN ? AND ?"
                    f"{ksql} AND contains(lower(text), ?)",
                    [self.session_id, seg.branch_id, lo, hi, *kparams, text.lower()],
                ).fetchone()
                if row and row[0] is not None:
                    seq = row[0]
                    if seg.seqs is not None:
                        return self._offsets[i] + bisect_left(seg.seqs, seq)
                    return self._offsets[i] + seq - 1
        return None
