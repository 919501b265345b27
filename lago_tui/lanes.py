"""The branch tree of a session as lanes against time, like ``git log --graph`` (no Textual here).

One row per moment that shapes the tree, oldest first: the session's start, each fork (a new lane opens
beside its parent's), each merge (a line from the source lane into the target's) and each branch's head
(its last event). A lane stays open from its branch's fork to the last row that mentions it, then its
column is free for a later branch. Each lane takes two character cells: a glyph and the line to its right.
"""

from __future__ import annotations

from dataclasses import dataclass

from .journal import BranchInfo, SessionDetail
from .journal.views import Merge

__all__ = ["LaneRow", "lane_rows"]


@dataclass(frozen=True)
class LaneRow:
    """One row: ``kind`` is start, fork, merge or head; ``branch`` is the branch it is about (a merge's
    source); ``other`` the parent of a fork or the target of a merge; ``graph`` the lane drawing."""

    kind: str
    branch: BranchInfo
    other: BranchInfo | None
    merge: Merge | None
    ts: int
    graph: str
    lanes: int  # lanes open on this row (for the graph column's width)


_ORDER = {"start": 0, "fork": 1, "merge": 2, "head": 3}


def lane_rows(detail: SessionDetail, last_ts: dict[str, int], merge_ts: dict[tuple[str, str, int], int]) -> list[LaneRow]:
    """Rows of the lane graph. ``last_ts``: branch id -> time of its last own event (absent: no events);
    ``merge_ts``: (source, target, at_seq) -> time of the BranchMerged event (absent: unknown)."""
    by_id = {b.branch_id: b for b in detail.branches}
    order = {b.branch_id: i for i, b in enumerate(detail.branches)}
    moments: list[tuple[int, int, int, str, BranchInfo, BranchInfo | None, Merge | None]] = []
    for b in detail.branches:
        parent = by_id.get(b.parent_branch_id) if b.parent_branch_id else None
        moments.append((b.created_at, _ORDER["start" if parent is None else "fork"], order[b.branch_id],
                        "start" if parent is None else "fork", b, parent, None))
        head = max(last_ts.get(b.branch_id, b.created_at), b.created_at)
        moments.append((head, _ORDER["head"], order[b.branch_id], "head", b, None, None))
        for m in b.merges:
            target = by_id.get(m.target_branch_id)
            if target is None:
                continue
            when = merge_ts.get((m.source_branch_id, m.target_branch_id, m.at_seq), head)
            moments.append((max(when, b.created_at), _ORDER["merge"], order[b.branch_id], "merge", b, target, m))
    moments.sort(key=lambda m: m[:3])

    last_row: dict[str, int] = {}  # branch id -> index of the last row that mentions it
    for i, (_, _, _, _, b, other, _) in enumerate(moments):
        last_row[b.branch_id] = i
        if other is not None:
            last_row[other.branch_id] = i

    ends_at: dict[int, list[str]] = {}
    for branch_id, last in last_row.items():
        ends_at.setdefault(last, []).append(branch_id)

    columns: list[str | None] = []
    column_of: dict[str, int] = {}

    def open_lane(branch_id: str, near: int | None = None) -> int:
        free = [c for c, owner in enumerate(columns) if owner is None]
        if near is not None:
            right = [c for c in free if c > near]
            free = right or free
        col = free[0] if free else len(columns)
        if col == len(columns):
            columns.append(None)
        columns[col] = branch_id
        column_of[branch_id] = col
        return col

    rows: list[LaneRow] = []
    for i, (ts, _, _, kind, b, other, merge) in enumerate(moments):
        if b.branch_id not in column_of:
            open_lane(b.branch_id, column_of.get(other.branch_id) if other is not None else None)
        if other is not None and other.branch_id not in column_of:
            open_lane(other.branch_id)
        width = len(columns)
        glyph = ["│" if owner is not None else " " for owner in columns]
        line = [" "] * width
        col = column_of[b.branch_id]
        if kind in ("start", "head"):
            glyph[col] = "●"
        else:
            assert other is not None
            far, near = col, column_of[other.branch_id]  # fork: from the parent (near) to the new lane (far)
            lo, hi = min(near, far), max(near, far)
            for c in range(lo, hi):
                line[c] = "─"
            for c in range(lo + 1, hi):
                glyph[c] = "┼" if columns[c] is not None else "─"
            glyph[near] = "├" if far > near else "┤"
            ends = last_row[b.branch_id] == i
            if kind == "fork":
                glyph[far] = "╮" if far > near else "╭"
            elif ends:
                glyph[far] = "╯" if far > near else "╰"
            else:
                glyph[far] = "┤" if far > near else "├"
        rows.append(LaneRow(kind, b, other, merge, ts, "".join(g + h for g, h in zip(glyph, line, strict=True)).rstrip(),
                            sum(1 for owner in columns if owner is not None)))
        for branch_id in ends_at.get(i, ()):
            if branch_id in column_of:
                columns[column_of.pop(branch_id)] = None
        while columns and columns[-1] is None:
            columns.pop()
    return rows
