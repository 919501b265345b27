"""State of a branch as of any event: conversation, tool calls, runs, files, tokens and agent state.

The state at (branch, seq) is a fold over the branch's timeline (its ancestors' events up to each fork
point, then its own) up to that event. Only the kinds that change the state are read, with the few payload
fields they need pulled out by SQL, into a :class:`TimelineIndex` kept per lineage:

* lists that only grow (messages, tool calls, runs, token-bearing events) are stored once; the state at a
  point takes a prefix of each (a tool call's status is its outcome if the outcome is inside the prefix);
* files and the agent state are checkpointed every :data:`CHECKPOINT_EVERY` file/state events; the state at
  a point starts from the checkpoint before it and applies the few events in between.

An index is built as far as it was asked for and extended on demand (appends included), and it serves every
branch whose timeline is a prefix of its own, so moving a cursor through a 200k-event timeline costs a few
milliseconds per event after the first. The rules (the same as the session totals' for tokens):

* messages: every Message, in timeline order;
* tool calls: every ToolCallRequested; its status is that of the first ToolCallCompleted (``ok`` for status
  ok/success, else ``error``) or ToolCallFailed (``failed``) with its call_id after it, else ``pending``;
* runs: every run id of a RunStarted/RunFinished/RunErrored, in order of appearance; the last of these
  decides its status (``running``, ``finished``, ``errored``);
* tokens: per run id, the token_usage of its Messages, or the usage of its RunFinished when its messages
  reported none (the two usually count the same tokens; they are never added together);
* files: FileWrite sets path -> (blob_hash, size_bytes), FileDelete removes it, FileRename moves an entry
  that exists (and is a no-op otherwise);
* agent state: StatePatched's ``patch`` merged (RFC 7386) when it is an object, applied as a JSON Patch
  (RFC 6902, all or nothing) when it is an array; a patch that does not apply leaves the state as it was.
"""

from __future__ import annotations

import json
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from .analysis_views import FileState, MessageState, RunState, StateAt, ToolCallState
from .errors import InvalidSpec, NotFound
from .patch import PatchError, apply_state_patch
from .views import SessionDetail

__all__ = ["CHECKPOINT_EVERY", "ReplayCache", "TimelineIndex", "lineage_bounds", "tool_status"]

CHECKPOINT_EVERY = 256
"""File/state events between two checkpoints of the files and the agent state."""
EXTEND_MIN = 4096
"""At least this many seqs of a segment are indexed per extension (fewer queries when stepping forward)."""
CACHED_INDEXES = 4

_SEG_SHIFT = 40  # position key: segment index << 40 | seq

FOLD_KINDS = (
    "Message", "ToolCallRequested", "ToolCallCompleted", "ToolCallFailed", "RunStarted", "RunFinished",
    "RunErrored", "FileWrite", "FileDelete", "FileRename", "StatePatched",
)
_FOLD_SQL = f"""
SELECT seq, kind, run_id, call_id, coalesce(tokens_in, 0), coalesce(tokens_out, 0),
    CASE kind WHEN 'Message' THEN payload->>'$.role'
              WHEN 'ToolCallRequested' THEN payload->>'$.tool_name'
              WHEN 'ToolCallCompleted' THEN payload->>'$.status'
              WHEN 'FileWrite' THEN payload->>'$.path'
              WHEN 'FileDelete' THEN payload->>'$.path'
              WHEN 'FileRename' THEN payload->>'$.old_path' END AS a,
    CASE kind WHEN 'Message' THEN payload->>'$.content'
              WHEN 'FileWrite' THEN payload->>'$.blob_hash'
              WHEN 'FileRename' THEN payload->>'$.new_path'
              WHEN 'StatePatched' THEN (payload->'$.patch')::VARCHAR END AS b,
    CASE kind WHEN 'FileWrite' THEN TRY_CAST(payload->>'$.size_bytes' AS BIGINT) END AS c
FROM events
WHERE session_id = ? AND branch_id = ? AND seq > ? AND seq <= ?
  AND kind IN ({", ".join(f"'{k}'" for k in FOLD_KINDS)})
ORDER BY seq
"""

Reader = Callable[[], AbstractContextManager[Any]]


def tool_status(kind: str, status: str | None) -> str:
    """The state's status of a tool call from its outcome event."""
    if kind == "ToolCallFailed":
        return "failed"
    return "ok" if status in ("ok", "success") else "error"


def lineage_bounds(detail: SessionDetail, branch_id: str) -> list[tuple[str, int]]:
    """(branch_id, last seq in the timeline) per lineage segment, root first (the last one is the head)."""
    chain = detail.lineage(branch_id)
    return [
        (b.branch_id, chain[i + 1].fork_point_seq if i + 1 < len(chain) else b.head_seq)
        for i, b in enumerate(chain)
    ]


@dataclass(slots=True)
class _Call:
    k: int  # ordinal of the request among the index's events
    call_id: str
    tool_name: str
    seq: int
    out_k: int = 1 << 62  # ordinal of its outcome (never, until one arrives)
    status: str = "pending"


@dataclass(slots=True)
class _Checkpoint:
    fold_pos: int  # files and state after this many entries of ``fold``
    files: dict[str, FileState]
    state: Any


@dataclass
class TimelineIndex:
    """What the state needs from one lineage's timeline, indexed up to ``done``."""

    session_id: str
    bounds: list[tuple[str, int]]  # lineage segments; the tail's bound grows with appends
    done_seg: int = 0
    done_seq: int = 0
    last_event: tuple[str, int, str] | None = None  # (branch, seq, event id) of the last indexed event
    keys: array = field(default_factory=lambda: array("q"))  # per ordinal: seg << 40 | seq
    messages: list[MessageState] = field(default_factory=list)
    message_k: array = field(default_factory=lambda: array("q"))
    calls: list[_Call] = field(default_factory=list)
    call_k: array = field(default_factory=lambda: array("q"))
    pending: dict[str, deque[_Call]] = field(default_factory=dict)
    runs: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # run id -> (k, status) in order
    tokens: list[tuple[int, str | None, int, int, int, int]] = field(default_factory=list)
    token_k: array = field(default_factory=lambda: array("q"))
    fold: list[tuple[int, str, Any, Any, Any]] = field(default_factory=list)  # files/state events
    fold_k: array = field(default_factory=lambda: array("q"))
    checkpoints: list[_Checkpoint] = field(default_factory=list)
    files: dict[str, FileState] = field(default_factory=dict)  # at the end of the indexed part
    state: Any = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.checkpoints.append(_Checkpoint(0, {}, {}))

    # ------------------------------------------------------------------ matching

    def covers(self, bounds: Sequence[tuple[str, int]], at_seq: int) -> bool:
        """Whether the timeline of ``bounds`` up to ``at_seq`` of its last segment is a prefix of ours."""
        last = len(bounds) - 1
        if last >= len(self.bounds):
            return False
        if any(bounds[i] != self.bounds[i] for i in range(last)):
            return False
        branch, _ = bounds[last]
        own_branch, own_bound = self.bounds[last]
        if branch != own_branch:
            return False
        return last == len(self.bounds) - 1 or at_seq <= own_bound

    # ------------------------------------------------------------------ building

    def extend(self, con: Any, seg: int, seq: int) -> None:
        """Index everything up to (segment ``seg``, ``seq``), and a little more of that segment."""
        if (seg, seq) <= (self.done_seg, self.done_seq):
            return
        for s in range(self.done_seg, seg + 1):
            branch_id, bound = self.bounds[s]
            lo = self.done_seq if s == self.done_seg else 0
            hi = bound if s < seg else min(bound, max(seq, lo + EXTEND_MIN))
            if hi > lo:
                rows = con.execute(_FOLD_SQL, [self.session_id, branch_id, lo, hi]).fetchall()
                self._add(s, branch_id, rows)
                last = con.execute(
                    "SELECT seq, event_id FROM events WHERE session_id = ? AND branch_id = ? AND seq <= ? "
                    "ORDER BY seq DESC LIMIT 1", [self.session_id, branch_id, hi],
                ).fetchone()
                if last is not None:
                    self.last_event = (branch_id, last[0], last[1])
            self.done_seg, self.done_seq = s, hi
            if s < seg:
                self.done_seg, self.done_seq = s + 1, 0

    def _add(self, seg: int, branch_id: str, rows: list[tuple[Any, ...]]) -> None:
        base = seg << _SEG_SHIFT
        keys, add_key = self.keys, self.keys.append
        messages, message_k = self.messages.append, self.message_k.append
        tokens, token_k = self.tokens.append, self.token_k.append
        calls, call_k, pending = self.calls.append, self.call_k.append, self.pending
        for seq, kind, run_id, call_id, t_in, t_out, a, b, c in rows:
            k = len(keys)
            add_key(base | seq)
            if kind == "Message":
                messages(MessageState(seq, branch_id, a if a is not None else "", b if b is not None else ""))
                message_k(k)
                if t_in or t_out:
                    tokens((k, run_id, t_in, t_out, 0, 0))
                    token_k(k)
            elif kind == "ToolCallRequested":
                call = _Call(k, call_id or "", a if a is not None else "", seq)
                calls(call)
                call_k(k)
                if call_id is not None:
                    waiting = pending.get(call_id)
                    if waiting is None:
                        pending[call_id] = deque((call,))
                    else:
                        waiting.append(call)
            elif kind == "ToolCallCompleted" or kind == "ToolCallFailed":
                waiting = pending.get(call_id) if call_id is not None else None
                if waiting:
                    call = waiting.popleft()
                    call.out_k, call.status = k, tool_status(kind, a)
                    if not waiting:
                        del pending[call_id]
            elif kind == "RunStarted" or kind == "RunFinished" or kind == "RunErrored":
                if run_id is not None:
                    status = "running" if kind == "RunStarted" else "finished" if kind == "RunFinished" else "errored"
                    self.runs.setdefault(run_id, []).append((k, status))
                if kind == "RunFinished" and (t_in or t_out):
                    tokens((k, run_id, 0, 0, t_in, t_out))
                    token_k(k)
            else:
                self._fold_one(k, kind, a, b, c)

    def _fold_one(self, k: int, kind: str, a: Any, b: Any, c: Any) -> None:
        if kind == "StatePatched":
            try:
                b = json.loads(b) if b is not None else None
            except ValueError:
                b = None
        self.fold.append((k, kind, a, b, c))
        self.fold_k.append(k)
        self.state = _apply(self.files, self.state, kind, a, b, c)
        if len(self.fold) % CHECKPOINT_EVERY == 0:
            self.checkpoints.append(_Checkpoint(len(self.fold), dict(self.files), self.state))

    # ------------------------------------------------------------------ reading

    def state_at(self, seg: int, seq: int, branch_id: str) -> StateAt:
        """The state after every event up to (segment ``seg``, ``seq``); it must be indexed."""
        n = bisect_right(self.keys, (seg << _SEG_SHIFT) | seq)  # events included: ordinals < n
        messages = tuple(self.messages[: bisect_left(self.message_k, n)])
        calls = tuple(
            ToolCallState(c.call_id, c.tool_name, c.status if c.out_k < n else "pending", c.seq)
            for c in self.calls[: bisect_left(self.call_k, n)]
        )
        first_seen = []
        for run_id, changes in self.runs.items():
            if changes[0][0] < n:
                status = changes[bisect_left(changes, (n, "")) - 1][1]
                first_seen.append((changes[0][0], run_id, status))
        first_seen.sort()
        runs = tuple(RunState(run_id, status) for _, run_id, status in first_seen)
        tokens_in, tokens_out = self._tokens(n)
        files, state = self._files_and_state(n)
        return StateAt(
            session_id=self.session_id, branch_id=branch_id, at_seq=seq, messages=messages,
            files={path: files[path] for path in sorted(files)}, tokens_in=tokens_in, tokens_out=tokens_out,
            tool_calls=calls, runs=runs, state=state,
        )

    def _tokens(self, n: int) -> tuple[int, int]:
        per_run: dict[str | None, list[int]] = {}
        for _, run_id, m_in, m_out, f_in, f_out in self.tokens[: bisect_left(self.token_k, n)]:
            acc = per_run.get(run_id)
            if acc is None:
                acc = per_run[run_id] = [0, 0, 0, 0]
            acc[0] += m_in
            acc[1] += m_out
            acc[2] += f_in
            acc[3] += f_out
        total_in = total_out = 0
        for m_in, m_out, f_in, f_out in per_run.values():
            if m_in + m_out > 0:
                total_in, total_out = total_in + m_in, total_out + m_out
            else:
                total_in, total_out = total_in + f_in, total_out + f_out
        return total_in, total_out

    def _files_and_state(self, n: int) -> tuple[dict[str, FileState], Any]:
        upto = bisect_left(self.fold_k, n)
        if upto == len(self.fold):
            return dict(self.files), self.state
        cp = self.checkpoints[upto // CHECKPOINT_EVERY]
        files, state = dict(cp.files), cp.state
        for _, kind, a, b, c in self.fold[cp.fold_pos: upto]:
            state = _apply(files, state, kind, a, b, c)
        return files, state


def _apply(files: dict[str, FileState], state: Any, kind: str, a: Any, b: Any, c: Any) -> Any:
    """One file or state event applied (``files`` in place); returns the new agent state."""
    if kind == "FileWrite":
        if a is not None:
            files.pop(a, None)
            files[a] = FileState(b, c)
    elif kind == "FileDelete":
        if a is not None:
            files.pop(a, None)
    elif kind == "FileRename":
        if a is not None and b is not None and a in files and a != b:
            entry = files.pop(a)
            files.pop(b, None)
            files[b] = entry
    elif kind == "StatePatched":
        try:
            return apply_state_patch(state, b)
        except PatchError:
            return state
    return state


class ReplayCache:
    """Timeline indexes of the lineages asked about recently (a few, least recently used dropped)."""

    def __init__(self, size: int = CACHED_INDEXES) -> None:
        self.size = size
        self._indexes: OrderedDict[int, TimelineIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._next = 0

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()

    def state_at(self, read: Reader, detail: SessionDetail, branch: str, at_seq: int | None) -> StateAt:
        info = detail.branch(branch)
        if info is None:
            raise NotFound(f"no branch {branch!r} in session {detail.summary.name}")
        seq = info.head_seq if at_seq is None else at_seq
        if not 0 <= seq <= info.head_seq:
            raise InvalidSpec(f"seq {seq} is outside branch {info.name} (0..{info.head_seq})")
        bounds = lineage_bounds(detail, info.branch_id)
        seg = len(bounds) - 1
        session_id = detail.summary.session_id
        with self._lock, read() as con:
            if con is None:
                raise NotFound(f"no session {session_id!r} (the journal is empty)")
            index = self._find(con, session_id, bounds, seq)
            index.extend(con, seg, seq)
            return index.state_at(seg, seq, info.branch_id)

    def _find(self, con: Any, session_id: str, bounds: list[tuple[str, int]], seq: int) -> TimelineIndex:
        for key, index in reversed(self._indexes.items()):
            if index.session_id != session_id or not index.covers(bounds, seq):
                continue
            if not self._still_valid(con, index):
                del self._indexes[key]
                break
            self._indexes.move_to_end(key)
            tail = len(bounds) - 1
            if tail == len(index.bounds) - 1 and bounds[tail][1] > index.bounds[tail][1]:
                index.bounds[tail] = bounds[tail]  # the branch grew since
            return index
        index = TimelineIndex(session_id, list(bounds))
        self._next += 1
        self._indexes[self._next] = index
        while len(self._indexes) > self.size:
            self._indexes.popitem(last=False)
        return index

    @staticmethod
    def _still_valid(con: Any, index: TimelineIndex) -> bool:
        """The last indexed event is still there (a session deleted and written again is re-read)."""
        if index.last_event is None:
            return True
        branch_id, seq, event_id = index.last_event
        row = con.execute(
            "SELECT event_id FROM events WHERE session_id = ? AND branch_id = ? AND seq = ?",
            [index.session_id, branch_id, seq],
        ).fetchone()
        return row is not None and row[0] == event_id


def export_ranges(
    detail: SessionDetail, branch: str, from_seq: int | None, to_seq: int | None
) -> list[tuple[str, str, int, int]]:
    """(session, branch, after seq, last seq) ranges of a branch's timeline, cut to its own seqs
    ``from_seq``..``to_seq`` (no ``from_seq``: inherited events included)."""
    info = detail.branch(branch)
    if info is None:
        raise NotFound(f"no branch {branch!r} in session {detail.summary.name}")
    head = info.head_seq
    if from_seq is not None and not 1 <= from_seq <= head:
        raise InvalidSpec(f"from seq {from_seq} is outside branch {info.name} (1..{head})")
    if to_seq is not None and not 0 <= to_seq <= head:
        raise InvalidSpec(f"to seq {to_seq} is outside branch {info.name} (0..{head})")
    if from_seq is not None and to_seq is not None and from_seq > to_seq:
        raise InvalidSpec(f"from seq {from_seq} is after to seq {to_seq}")
    session_id = detail.summary.session_id
    bounds = lineage_bounds(detail, info.branch_id)
    ranges = [] if from_seq is not None else [(session_id, b, 0, last) for b, last in bounds[:-1]]
    ranges.append((session_id, info.branch_id, (from_seq or 1) - 1, head if to_seq is None else to_seq))
    return [r for r in ranges if r[3] > r[2]]
