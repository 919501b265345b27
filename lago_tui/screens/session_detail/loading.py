"""Opening a session in one go: its detail, the chosen branch's timeline and the rows to show first.

One worker does all three (each worker <-> UI hop costs a frame or more), and the rows come back ready
for the table (`Preloaded`), so the first paint needs no fetch of its own. Also: which branch to show,
and where an event lands on another branch.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from ...journal import JournalAPI, SessionDetail, TimelineAPI
from ...widgets.timeline import TimelineRow, TimelineSource
from ...widgets.virtual_list import Preloaded

__all__ = ["Opened", "choose_branch", "nearest_key", "open_timeline", "open_session"]


@dataclass(frozen=True)
class Opened:
    """What a load produced: the detail, the branch shown and (when there is one) its timeline."""

    detail: SessionDetail
    branch_id: str | None
    timeline: TimelineAPI | None = None
    source: TimelineSource | None = None
    preloaded: Preloaded[TimelineRow] | None = None
    key: Hashable | None = None  # the row asked for (preloaded.key_index is where it is)


def choose_branch(detail: SessionDetail, wanted: str | None) -> str | None:
    """The branch to show: ``wanted`` (an id or a unique name) if it exists, else main, else the first."""
    ids = {b.branch_id for b in detail.branches}
    if wanted is not None and wanted not in ids:
        found = detail.branch(wanted)
        wanted = found.branch_id if found else None
    if wanted is None:
        wanted = "main" if "main" in ids else (detail.branches[0].branch_id if detail.branches else None)
    return wanted


def nearest_key(detail: SessionDetail, branch_id: str, seq: int, target: str) -> tuple[str, int]:
    """Where event (``branch_id``, ``seq``) lands on branch ``target``'s timeline.

    If its branch is in the target's lineage, the event itself (or the nearest before it, when the
    target forked earlier); otherwise the point where the event's lineage meets the target's: the
    fork from the nearest common ancestor.
    """
    wanted = {b.branch_id for b in detail.lineage(target)}
    chain = detail.lineage(branch_id)
    for info in reversed(chain):
        if info.branch_id in wanted:
            return info.branch_id, seq
        if info.parent_branch_id is None:
            break
        seq = info.fork_point_seq
    return branch_id, seq


def open_timeline(
    journal: JournalAPI, detail: SessionDetail, branch_id: str, kinds: tuple[str, ...] | None, *,
    key: Hashable | None, at_end: bool, visible: int, page_size: int, query: str | None = None,
) -> Opened:
    """The branch's timeline (only ``kinds``, only events matching ``query``) with the rows around where the
    cursor will be (blocking)."""
    timeline = journal.timeline(detail.summary.session_id, branch_id, kinds, query=query, detail=detail)
    source = TimelineSource(timeline)
    count = source.count()
    key_index = source.index_of(key) if key is not None else None
    if key_index is not None and not 0 <= key_index < count:
        key_index = None
    if key_index is not None:
        first, last = key_index - visible, key_index + visible
    elif at_end:
        first, last = count - visible, count
    else:
        first, last = 0, visible
    start = max(0, first) // page_size * page_size
    last = min(count, max(last, start + 1))
    rows = source.fetch(start, last - start) if count else []
    preloaded = Preloaded(count=count, start=start, rows=rows, key_index=key_index)
    return Opened(detail, branch_id, timeline, source, preloaded, key)


def open_session(
    journal: JournalAPI, ref: str, *, branch: str | None, kinds: tuple[str, ...] | None,
    key: Hashable | None, at_end: bool, visible: int, page_size: int, query: str | None = None,
) -> Opened:
    """The session ``ref``, its branch ``branch`` (or main) and its first rows (blocking)."""
    detail = journal.session(ref)
    branch_id = choose_branch(detail, branch)
    if branch_id is None:
        return Opened(detail, None)
    return open_timeline(journal, detail, branch_id, kinds, key=key, at_end=at_end, visible=visible,
                         page_size=page_size, query=query)
