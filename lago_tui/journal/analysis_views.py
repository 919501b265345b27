"""Read models of the analysis operations (state at an event, branch comparison, integrity problems).

Plain frozen dataclasses like :mod:`lago_tui.journal.views`: each has ``to_json()`` and a ``from_json()``
classmethod, so a server can send them and an HTTP client rebuild them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "Comparison",
    "ComparisonRow",
    "ComparisonSide",
    "ComparisonTotals",
    "FileState",
    "MessageState",
    "Problem",
    "RunState",
    "StateAt",
    "ToolCallState",
    "TOOL_STATUSES",
    "RUN_STATUSES",
    "ROW_STATUSES",
    "PROBLEM_CODES",
]

TOOL_STATUSES = ("pending", "ok", "error", "failed")
RUN_STATUSES = ("running", "finished", "errored")
ROW_STATUSES = ("same", "changed", "left", "right")
PROBLEM_CODES: dict[str, str] = {
    "unfinished_tool_call": "a tool call was requested and never completed or failed (flagged once the session "
                            "is closed or a later run started on its branch)",
    "unfinished_run": "a run started and never finished or errored (flagged once the session is closed or a "
                      "later run started on its branch)",
    "orphan_tool_result": "a tool result or failure whose call_id no earlier request on its timeline has",
    "dangling_parent": "parent_id names no event of the session",
    "time_backwards": "a timestamp earlier than the previous event's on the same branch",
    "unknown_merge_source": "a BranchMerged whose source_branch_id is no branch of the session",
    "merge_past_head": "a BranchMerged whose merge_seq is past the head of its source branch",
    "bad_state_patch": "a StatePatched whose patch is neither a merge-patch object nor a JSON Patch array that "
                       "applies to the state before it",
}


# ---------------------------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class MessageState:
    seq: int
    branch_id: str
    role: str
    content: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "branch_id": self.branch_id, "role": self.role, "content": self.content}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MessageState:
        return cls(d["seq"], d["branch_id"], d["role"], d["content"])


@dataclass(frozen=True, slots=True)
class ToolCallState:
    call_id: str
    tool_name: str
    status: str  # one of TOOL_STATUSES
    seq: int  # the request's seq

    def to_json(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "tool_name": self.tool_name, "status": self.status, "seq": self.seq}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ToolCallState:
        return cls(d["call_id"], d["tool_name"], d["status"], d["seq"])


@dataclass(frozen=True, slots=True)
class RunState:
    run_id: str
    status: str  # one of RUN_STATUSES

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunState:
        return cls(d["run_id"], d["status"])


@dataclass(frozen=True, slots=True)
class FileState:
    blob_hash: str | None
    size_bytes: int | None

    def to_json(self) -> dict[str, Any]:
        return {"blob_hash": self.blob_hash, "size_bytes": self.size_bytes}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FileState:
        return cls(d.get("blob_hash"), d.get("size_bytes"))


@dataclass(frozen=True, slots=True)
class StateAt:
    """What a branch's agent knew and had done as of one event (inherited events included).

    ``at_seq`` is a seq of ``branch_id`` itself (0: at its fork point, before any event of its own).
    ``state`` is the agent state built from StatePatched events (``{}`` when there were none).
    """

    session_id: str
    branch_id: str
    at_seq: int
    messages: tuple[MessageState, ...]
    files: dict[str, FileState]  # path -> entry, in the order paths were first written
    tokens_in: int
    tokens_out: int
    tool_calls: tuple[ToolCallState, ...]
    runs: tuple[RunState, ...]
    state: Any

    def to_json(self) -> dict[str, Any]:
        """Exactly the keys of ``lago-tui state --json``."""
        return {
            "session_id": self.session_id,
            "branch_id": self.branch_id,
            "at_seq": self.at_seq,
            "messages": [m.to_json() for m in self.messages],
            "files": {path: f.to_json() for path, f in self.files.items()},
            "tokens": {"in": self.tokens_in, "out": self.tokens_out},
            "tool_calls": [t.to_json() for t in self.tool_calls],
            "runs": [r.to_json() for r in self.runs],
            "state": self.state,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StateAt:
        return cls(
            session_id=d["session_id"], branch_id=d["branch_id"], at_seq=d["at_seq"],
            messages=tuple(MessageState.from_json(m) for m in d["messages"]),
            files={path: FileState.from_json(f) for path, f in d["files"].items()},
            tokens_in=d["tokens"]["in"], tokens_out=d["tokens"]["out"],
            tool_calls=tuple(ToolCallState.from_json(t) for t in d["tool_calls"]),
            runs=tuple(RunState.from_json(r) for r in d["runs"]),
            state=d["state"],
        )

    def tool_counts(self) -> dict[str, int]:
        """Tool calls per status (every status present, zeros included)."""
        counts = dict.fromkeys(TOOL_STATUSES, 0)
        for call in self.tool_calls:
            counts[call.status] = counts.get(call.status, 0) + 1
        return counts


# ---------------------------------------------------------------------------------------------- compare


# Sides and rows are NamedTuples, not frozen dataclasses: a comparison of two 100k-event branches builds
# 300k of them, and a tuple is built four times faster (the comparison has a 1 s budget). Both are immutable.


class ComparisonSide(NamedTuple):
    """One event of a compared branch's timeline (``branch_id`` is the branch that wrote it)."""

    branch_id: str
    seq: int
    kind: str
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {"branch_id": self.branch_id, "seq": self.seq, "kind": self.kind, "summary": self.summary}

    def contract_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "summary": self.summary}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ComparisonSide:
        return cls(d["branch_id"], d["seq"], d["kind"], d["summary"])


class ComparisonRow(NamedTuple):
    status: str  # one of ROW_STATUSES
    left: ComparisonSide | None
    right: ComparisonSide | None

    def to_json(self) -> dict[str, Any]:
        return {
            "left": None if self.left is None else self.left.to_json(),
            "right": None if self.right is None else self.right.to_json(),
            "status": self.status,
        }

    def contract_json(self) -> dict[str, Any]:
        return {
            "left": None if self.left is None else self.left.contract_json(),
            "right": None if self.right is None else self.right.contract_json(),
            "status": self.status,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ComparisonRow:
        return cls(
            d["status"],
            None if d.get("left") is None else ComparisonSide.from_json(d["left"]),
            None if d.get("right") is None else ComparisonSide.from_json(d["right"]),
        )


@dataclass(frozen=True, slots=True)
class ComparisonTotals:
    """Figures of one side's events after the fork (tokens counted as the session totals count them)."""

    events: int
    tokens_in: int
    tokens_out: int
    tool_calls: int
    failures: int
    wall_time_us: int

    FIELDS = ("events", "tokens_in", "tokens_out", "tool_calls", "failures", "wall_time_us")

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ComparisonTotals:
        return cls(*(int(d[name]) for name in cls.FIELDS))

    def minus(self, other: ComparisonTotals) -> dict[str, int]:
        """self - other, per figure."""
        return {name: getattr(self, name) - getattr(other, name) for name in self.FIELDS}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two branches' events after their common fork point, aligned.

    ``fork_branch_id``/``fork_seq`` name the last event both timelines share (seq 0: none).
    """

    session_id: str
    left_branch_id: str
    right_branch_id: str
    fork_branch_id: str
    fork_seq: int
    rows: tuple[ComparisonRow, ...]
    left_totals: ComparisonTotals
    right_totals: ComparisonTotals

    def counts(self) -> dict[str, int]:
        """Rows per status (every status present)."""
        out = dict.fromkeys(ROW_STATUSES, 0)
        for row in self.rows:
            out[row.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "left_branch_id": self.left_branch_id,
            "right_branch_id": self.right_branch_id,
            "fork": {"branch_id": self.fork_branch_id, "seq": self.fork_seq},
            "rows": [r.to_json() for r in self.rows],
            "totals": {"left": self.left_totals.to_json(), "right": self.right_totals.to_json()},
        }

    def contract_json(self) -> dict[str, Any]:
        """Exactly the shape of ``lago-tui diff --json``."""
        return {
            "fork": {"branch_id": self.fork_branch_id, "seq": self.fork_seq},
            "rows": [r.contract_json() for r in self.rows],
            "totals": {"left": self.left_totals.to_json(), "right": self.right_totals.to_json()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Comparison:
        return cls(
            session_id=d["session_id"], left_branch_id=d["left_branch_id"], right_branch_id=d["right_branch_id"],
            fork_branch_id=d["fork"]["branch_id"], fork_seq=d["fork"]["seq"],
            rows=tuple(ComparisonRow.from_json(r) for r in d["rows"]),
            left_totals=ComparisonTotals.from_json(d["totals"]["left"]),
            right_totals=ComparisonTotals.from_json(d["totals"]["right"]),
        )


# ---------------------------------------------------------------------------------------------- integrity


@dataclass(frozen=True, slots=True)
class Problem:
    """One integrity problem, located at the offending event."""

    session_id: str
    branch_id: str
    seq: int
    event_id: str
    code: str  # a key of PROBLEM_CODES
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id, "branch_id": self.branch_id, "seq": self.seq,
            "event_id": self.event_id, "code": self.code, "message": self.message,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Problem:
        return cls(d["session_id"], d["branch_id"], d["seq"], d["event_id"], d["code"], d["message"])
