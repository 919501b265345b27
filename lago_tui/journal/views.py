"""Read models the journal returns: plain frozen dataclasses (cheap to build by the thousand)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: str
    name: str
    model: str
    params: dict[str, str]
    created_at: int
    event_count: int
    branch_count: int
    tokens_in: int
    tokens_out: int
    first_ts: int | None
    last_ts: int | None
    closed: bool

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def last_activity(self) -> int:
        return self.last_ts if self.last_ts is not None else self.created_at

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "name": self.name,
            "model": self.model,
            "params": self.params,
            "created_at": self.created_at,
            "event_count": self.event_count,
            "branch_count": self.branch_count,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "closed": self.closed,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SessionSummary:
        return cls(
            d["session_id"], d["name"], d["model"], dict(d["params"]), d["created_at"], d["event_count"],
            d["branch_count"], d["tokens_in"], d["tokens_out"], d["first_ts"], d["last_ts"], bool(d["closed"]),
        )


@dataclass(frozen=True, slots=True)
class Merge:
    """A BranchMerged event: ``source_branch_id`` merged into ``target_branch_id`` at ``at_seq``."""

    source_branch_id: str
    target_branch_id: str
    at_seq: int
    merge_seq: int


@dataclass(frozen=True, slots=True)
class BranchInfo:
    session_id: str
    branch_id: str
    name: str
    parent_branch_id: str | None
    fork_point_seq: int
    created_at: int
    head_seq: int
    merges: tuple[Merge, ...] = ()  # where this branch was merged into others

    @property
    def event_count(self) -> int:
        return self.head_seq  # seqs are contiguous from 1

    def to_json(self) -> dict[str, Any]:
        return {
            "branch_id": self.branch_id,
            "name": self.name,
            "parent_branch_id": self.parent_branch_id,
            "fork_point_seq": self.fork_point_seq,
            "head_seq": self.head_seq,
            "event_count": self.event_count,
            "created_at": self.created_at,
            "merged_into": [
                {"branch_id": m.target_branch_id, "at_seq": m.at_seq, "merge_seq": m.merge_seq} for m in self.merges
            ],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], session_id: str) -> BranchInfo:
        merges = tuple(Merge(d["branch_id"], m["branch_id"], m["at_seq"], m["merge_seq"]) for m in d["merged_into"])
        return cls(
            session_id, d["branch_id"], d["name"], d["parent_branch_id"], d["fork_point_seq"], d["created_at"],
            d["head_seq"], merges,
        )


@dataclass(frozen=True, slots=True)
class SessionTotals:
    events: int
    tokens_in: int
    tokens_out: int
    tool_calls: int
    failures: int
    wall_time_us: int


@dataclass(frozen=True, slots=True)
class SessionDetail:
    summary: SessionSummary
    branches: tuple[BranchInfo, ...]
    totals: SessionTotals

    def branch(self, ref: str) -> BranchInfo | None:
        for b in self.branches:
            if b.branch_id == ref:
                return b
        matches = [b for b in self.branches if b.name == ref]
        return matches[0] if len(matches) == 1 else None

    def lineage(self, branch_id: str) -> list[BranchInfo]:
        """Root first: [main, ..., branch]."""
        by_id = {b.branch_id: b for b in self.branches}
        chain: list[BranchInfo] = []
        current = by_id.get(branch_id)
        while current is not None and len(chain) <= len(by_id):
            chain.append(current)
            current = by_id.get(current.parent_branch_id) if current.parent_branch_id else None
        return chain[::-1]

    def to_json(self) -> dict[str, Any]:
        out = self.summary.to_json()
        out["branches"] = [b.to_json() for b in self.branches]
        t = self.totals
        out["totals"] = {
            "events": t.events,
            "tokens_in": t.tokens_in,
            "tokens_out": t.tokens_out,
            "tool_calls": t.tool_calls,
            "failures": t.failures,
            "wall_time_us": t.wall_time_us,
        }
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SessionDetail:
        summary = SessionSummary.from_json(d)
        t = d["totals"]
        return cls(
            summary,
            tuple(BranchInfo.from_json(b, summary.session_id) for b in d["branches"]),
            SessionTotals(t["events"], t["tokens_in"], t["tokens_out"], t["tool_calls"], t["failures"], t["wall_time_us"]),
        )


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What became of a ToolCallRequested: the matching completion or failure (paired by call_id)."""

    kind: str  # ToolCallCompleted | ToolCallFailed
    status: str
    duration_ms: int | None
    ended_ts: int
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status, "duration_ms": self.duration_ms, "ended_ts": self.ended_ts,
                "error": self.error}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ToolOutcome:
        return cls(d["kind"], d["status"], d["duration_ms"], d["ended_ts"], d.get("error"))


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One row of a branch's timeline. ``inherited`` rows belong to an ancestor branch (before a fork)."""

    position: int
    event_id: str
    session_id: str
    branch_id: str
    seq: int
    ts: int
    kind: str
    run_id: str | None
    parent_id: str | None
    payload_json: str
    metadata_json: str
    schema_version: int
    inherited: bool
    outcome: ToolOutcome | None = None
    _payload: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def payload(self) -> dict[str, Any]:
        if self._payload is None:
            try:
                value = json.loads(self.payload_json)
            except ValueError:
                value = {"type": self.kind}
            object.__setattr__(self, "_payload", value if isinstance(value, dict) else {"type": self.kind})
        return self._payload  # type: ignore[return-value]

    @property
    def metadata(self) -> dict[str, Any]:
        try:
            value = json.loads(self.metadata_json)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @classmethod
    def from_wire(cls, wire: dict[str, Any], position: int = 0, *, inherited: bool = False) -> TimelineEvent:
        """Rebuild an event from :meth:`to_wire` output (for clients of a server)."""
        payload = wire.get("payload") if isinstance(wire.get("payload"), dict) else {}
        return cls(
            position=position, event_id=wire["event_id"], session_id=wire["session_id"],
            branch_id=wire.get("branch_id", "main"), seq=wire.get("seq", 0), ts=wire.get("timestamp", 0),
            kind=str(payload.get("type", "")), run_id=wire.get("run_id"), parent_id=wire.get("parent_id"),
            payload_json=json.dumps(payload, ensure_ascii=False), metadata_json=json.dumps(wire.get("metadata") or {}),
            schema_version=wire.get("schema_version", 1), inherited=inherited,
        )

    def to_wire(self) -> dict[str, Any]:
        """The event as Lago's EventEnvelope JSON object, with its assigned seq."""
        out: dict[str, Any] = {"event_id": self.event_id, "session_id": self.session_id, "branch_id": self.branch_id}
        if self.run_id is not None:
            out["run_id"] = self.run_id
        out["seq"] = self.seq
        out["timestamp"] = self.ts
        if self.parent_id is not None:
            out["parent_id"] = self.parent_id
        out["payload"] = self.payload
        out["metadata"] = self.metadata
        out["schema_version"] = self.schema_version
        return out

    def to_json(self) -> dict[str, Any]:
        """Every field, payload and metadata as the stored JSON text (exact, never re-encoded)."""
        return {
            "position": self.position, "event_id": self.event_id, "session_id": self.session_id,
            "branch_id": self.branch_id, "seq": self.seq, "ts": self.ts, "kind": self.kind, "run_id": self.run_id,
            "parent_id": self.parent_id, "payload_json": self.payload_json, "metadata_json": self.metadata_json,
            "schema_version": self.schema_version, "inherited": self.inherited,
            "outcome": None if self.outcome is None else self.outcome.to_json(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TimelineEvent:
        outcome = d.get("outcome")
        return cls(
            d["position"], d["event_id"], d["session_id"], d["branch_id"], d["seq"], d["ts"], d["kind"], d["run_id"],
            d["parent_id"], d["payload_json"], d["metadata_json"], d["schema_version"], d["inherited"],
            None if outcome is None else ToolOutcome.from_json(outcome),
        )


@dataclass(frozen=True, slots=True)
class SearchHit:
    session_id: str
    session_name: str
    branch_id: str
    seq: int
    event_id: str
    kind: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "session_name": self.session_name, "branch_id": self.branch_id,
                "seq": self.seq, "event_id": self.event_id, "kind": self.kind, "text": self.text}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SearchHit:
        return cls(d["session_id"], d["session_name"], d["branch_id"], d["seq"], d["event_id"], d["kind"], d["text"])


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: the seq of every event given, in input order (an event already in the journal
    answers its stored seq), and how many events, sessions and branches it added."""

    seqs: tuple[int, ...]
    events_added: int
    events_skipped: int
    sessions_created: int
    branches_created: int

    def to_json(self) -> dict[str, Any]:
        return {
            "seqs": list(self.seqs),
            "events_added": self.events_added,
            "events_skipped": self.events_skipped,
            "sessions_created": self.sessions_created,
            "branches_created": self.branches_created,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppendResult:
        return cls(tuple(data["seqs"]), data["events_added"], data["events_skipped"], data["sessions_created"],
                   data["branches_created"])


@dataclass(frozen=True, slots=True)
class MergeResult:
    """A fast-forward merge: ``events_merged`` events of the source copied onto the target, then the
    ``BranchMerged`` marker at ``marker_seq`` on the target (its ``merge_seq`` is the source's head)."""

    session_id: str
    source_branch_id: str
    target_branch_id: str
    events_merged: int
    merge_seq: int
    marker_seq: int
    strategy: str = "fast-forward"

    def to_json(self) -> dict[str, Any]:
        return {
            "merged": True,
            "strategy": self.strategy,
            "events_merged": self.events_merged,
            "session_id": self.session_id,
            "source_branch_id": self.source_branch_id,
            "target_branch_id": self.target_branch_id,
            "merge_seq": self.merge_seq,
            "marker_seq": self.marker_seq,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MergeResult:
        return cls(data["session_id"], data["source_branch_id"], data["target_branch_id"], data["events_merged"],
                   data["merge_seq"], data["marker_seq"], data.get("strategy", "fast-forward"))


@dataclass(frozen=True, slots=True)
class Figures:
    """What a run or a step cost and did; ``branch_id``/``seq``: where it starts (for position_of)."""

    branch_id: str
    seq: int
    started_ts: int
    ended_ts: int
    events: int
    tokens_in: int
    tokens_out: int
    tool_calls: int
    failures: int

    @property
    def wall_time_us(self) -> int:
        return self.ended_ts - self.started_ts

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = [v.to_json() for v in value] if f.name == "steps" else value
            if f.name == "ended_ts":
                out["wall_time_us"] = self.wall_time_us
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Any:
        values = {f.name: data.get(f.name) for f in fields(cls)}
        if "steps" in values:
            values["steps"] = tuple(StepFigures.from_json(s) for s in data.get("steps") or ())
        return cls(**values)


@dataclass(frozen=True, slots=True)
class StepFigures(Figures):
    """One step of a run (StepStarted .. StepFinished)."""

    index: int = 0
    finished: bool = False  # a StepFinished was seen
    stop_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunFigures(Figures):
    """One run of a branch's timeline (events sharing a run_id): tokens, tool calls, failures, wall time.

    Tokens follow the session totals' rule: the run's messages' token usage, or its RunFinished usage when
    its messages reported none. ``status`` is finished, errored or open (no RunFinished/RunErrored yet).
    """

    run_id: str = ""
    status: str = "open"
    reason: str | None = None
    steps: tuple[StepFigures, ...] = ()
