"""Pydantic models of Lago's wire format: the event envelope and its payload kinds.

Field names and JSON shapes follow Lago (`lago-core` EventEnvelope / EventPayload). Payloads are tagged by
``"type"``. Known kinds get typed models that still keep any extra fields (``extra="allow"``), and kinds
nobody knows yet become :class:`UnknownPayload`, which keeps every field verbatim. Either way a payload
dumps back to the JSON object it came from.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

# --------------------------------------------------------------------------------------------- payloads


class _Payload(BaseModel):
    """Base of every payload: extra fields are kept so nothing written by an agent is lost."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def to_json_obj(self) -> dict[str, Any]:
        # exclude_unset keeps the object exactly as it came; "type" is always written, and first.
        body = self.model_dump(mode="json", exclude_unset=True, by_alias=True)
        body.pop("type", None)
        return {"type": self.type, **body}


class TokenUsage(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class SessionConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    model: str | None = None
    params: dict[str, str] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _stringify_params(cls, v: Any) -> Any:
        # Lago's params are str -> str; other producers write numbers and booleans. Keep them as text.
        if isinstance(v, dict):
            return {str(k): val if isinstance(val, str) else _json_scalar(val) for k, val in v.items()}
        return v


def _json_scalar(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


class SessionCreated(_Payload):
    type: Literal["SessionCreated"] = "SessionCreated"
    name: str = ""
    config: SessionConfig = Field(default_factory=SessionConfig)


class SessionResumed(_Payload):
    type: Literal["SessionResumed"] = "SessionResumed"


class SessionClosed(_Payload):
    type: Literal["SessionClosed"] = "SessionClosed"
    reason: str | None = None


class BranchCreated(_Payload):
    type: Literal["BranchCreated"] = "BranchCreated"
    new_branch_id: str
    fork_point_seq: int = Field(ge=0)
    name: str


class BranchMerged(_Payload):
    type: Literal["BranchMerged"] = "BranchMerged"
    source_branch_id: str
    merge_seq: int = Field(ge=0)


class RunStarted(_Payload):
    type: Literal["RunStarted"] = "RunStarted"
    provider: str | None = None
    max_iterations: int | None = None


class RunFinished(_Payload):
    type: Literal["RunFinished"] = "RunFinished"
    reason: str | None = None
    total_iterations: int | None = None
    final_answer: str | None = None
    usage: TokenUsage | None = None


class RunErrored(_Payload):
    type: Literal["RunErrored"] = "RunErrored"
    error: str = ""


class StepStarted(_Payload):
    type: Literal["StepStarted"] = "StepStarted"
    index: int = 0


class StepFinished(_Payload):
    type: Literal["StepFinished"] = "StepFinished"
    index: int = 0
    stop_reason: str | None = None
    directive_count: int | None = None


class TextDelta(_Payload):
    type: Literal["TextDelta"] = "TextDelta"
    delta: str = ""
    index: int | None = None


class Message(_Payload):
    type: Literal["Message"] = "Message"
    role: str
    content: str
    model: str | None = None
    token_usage: TokenUsage | None = None


class ToolCallRequested(_Payload):
    type: Literal["ToolCallRequested"] = "ToolCallRequested"
    call_id: str
    tool_name: str
    arguments: Any = None
    category: str | None = None


class ToolCallStarted(_Payload):
    type: Literal["ToolCallStarted"] = "ToolCallStarted"
    tool_run_id: str | None = None
    tool_name: str


class ToolCallCompleted(_Payload):
    type: Literal["ToolCallCompleted"] = "ToolCallCompleted"
    tool_run_id: str | None = None
    call_id: str | None = None
    tool_name: str
    result: Any = None
    duration_ms: int = Field(ge=0)
    status: str


class ToolCallFailed(_Payload):
    type: Literal["ToolCallFailed"] = "ToolCallFailed"
    call_id: str
    tool_name: str
    error: str


class FileWrite(_Payload):
    type: Literal["FileWrite"] = "FileWrite"
    path: str
    blob_hash: str | None = None
    size_bytes: int | None = None
    content_type: str | None = None


class FileDelete(_Payload):
    type: Literal["FileDelete"] = "FileDelete"
    path: str


class FileRename(_Payload):
    type: Literal["FileRename"] = "FileRename"
    old_path: str
    new_path: str


class StatePatched(_Payload):
    type: Literal["StatePatched"] = "StatePatched"
    index: int | None = None
    patch: Any = None
    revision: int | None = None


class ContextCompacted(_Payload):
    type: Literal["ContextCompacted"] = "ContextCompacted"
    dropped_count: int | None = None
    tokens_before: int | None = None
    tokens_after: int | None = None


class PolicyEvaluated(_Payload):
    type: Literal["PolicyEvaluated"] = "PolicyEvaluated"
    tool_name: str
    decision: str
    rule_matches: list[Any] = Field(default_factory=list)
    explanation: str | None = None


class ApprovalRequested(_Payload):
    type: Literal["ApprovalRequested"] = "ApprovalRequested"
    approval_id: str
    call_id: str | None = None
    tool_name: str
    arguments: Any = None
    risk: str | None = None


class ApprovalResolved(_Payload):
    type: Literal["ApprovalResolved"] = "ApprovalResolved"
    approval_id: str
    decision: str
    reason: str | None = None


class SnapshotCreated(_Payload):
    type: Literal["SnapshotCreated"] = "SnapshotCreated"
    snapshot_id: str
    snapshot_type: str | None = None
    covers_through_seq: int | None = None
    data_hash: str | None = None
    size_bytes: int | None = None


class ErrorRaised(_Payload):
    type: Literal["ErrorRaised"] = "ErrorRaised"
    message: str


class Custom(_Payload):
    type: Literal["Custom"] = "Custom"
    event_type: str
    data: Any = None


class UnknownPayload(_Payload):
    """A payload kind this version does not know: every field is kept exactly as it came."""

    type: str


KNOWN_PAYLOADS: dict[str, type[_Payload]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        SessionCreated, SessionResumed, SessionClosed, BranchCreated, BranchMerged, RunStarted,
        RunFinished, RunErrored, StepStarted, StepFinished, TextDelta, Message, ToolCallRequested,
        ToolCallStarted, ToolCallCompleted, ToolCallFailed, FileWrite, FileDelete, FileRename,
        StatePatched, ContextCompacted, PolicyEvaluated, ApprovalRequested, ApprovalResolved,
        SnapshotCreated, ErrorRaised, Custom,
    )
}
KNOWN_KINDS: tuple[str, ...] = tuple(KNOWN_PAYLOADS)


def _payload_tag(v: Any) -> str:
    kind = v.get("type") if isinstance(v, dict) else getattr(v, "type", None)
    return kind if kind in KNOWN_PAYLOADS else "__unknown__"


Payload = Annotated[
    Union[
        tuple(Annotated[cls, Tag(kind)] for kind, cls in KNOWN_PAYLOADS.items())  # type: ignore[misc]
        + (Annotated[UnknownPayload, Tag("__unknown__")],)
    ],
    Discriminator(_payload_tag),
]


# --------------------------------------------------------------------------------------------- envelope


class EventEnvelope(BaseModel):
    """One journal event, exactly as Lago serialises it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    event_id: str = Field(min_length=1)
    session_id: str = Field(min_length=1)
    branch_id: str = Field(default="main", min_length=1)
    run_id: str | None = None
    seq: int = 0
    timestamp: int = Field(description="microseconds since the Unix epoch")
    parent_id: str | None = None
    # Lago writes "payload"; the aiOS variant of the same envelope writes "kind".
    payload: Payload = Field(validation_alias=AliasChoices("payload", "kind"))
    metadata: dict[str, str] = Field(default_factory=dict)
    schema_version: int = 1

    @property
    def kind(self) -> str:
        return self.payload.type

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Lago writes (key order as Lago's serde output)."""
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "session_id": self.session_id,
            "branch_id": self.branch_id,
        }
        if self.run_id is not None:
            out["run_id"] = self.run_id
        out["seq"] = self.seq
        out["timestamp"] = self.timestamp
        if self.parent_id is not None:
            out["parent_id"] = self.parent_id
        out["payload"] = self.payload.to_json_obj()
        out["metadata"] = dict(self.metadata)
        out["schema_version"] = self.schema_version
        return out


# --------------------------------------------------------------------------------------------- entities

NAME_MAX = 120
PARAM_KEY_MAX = 64
PARAM_VALUE_MAX = 2000
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def check_clean_text(value: str, what: str, *, allow_newlines: bool = False) -> str:
    """Reject control and invisible characters (the rule for names, keys and values people type)."""
    for i, ch in enumerate(value):
        if allow_newlines and ch in "\n\t":
            continue
        if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
            raise ValueError(f"{what} contains a control or invisible character (U+{ord(ch):04X} at {i + 1})")
    return value


class SessionSpec(BaseModel):
    """What a person gives to create a session: the single source of the form's and CLI's rules."""

    model_config = ConfigDict(str_strip_whitespace=False)

    name: str
    model: str = ""
    params: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("name is required")
        if v != v.strip():
            raise ValueError("name must not start or end with spaces")
        if len(v) > NAME_MAX:
            raise ValueError(f"name is too long ({len(v)} > {NAME_MAX} characters)")
        return check_clean_text(v, "name")

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        if len(v) > NAME_MAX:
            raise ValueError(f"model is too long ({len(v)} > {NAME_MAX} characters)")
        return check_clean_text(v.strip(), "model")

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            validate_param_key(key)
            validate_param_value(key, value)
        return v


def validate_param_key(key: str) -> str:
    if not key.strip():
        raise ValueError("param key must not be empty")
    if len(key) > PARAM_KEY_MAX:
        raise ValueError(f"param key is too long ({len(key)} > {PARAM_KEY_MAX})")
    if key != key.strip():
        raise ValueError("param key must not start or end with spaces")
    return check_clean_text(key, f"param key {key!r}")


def validate_param_value(key: str, value: str) -> str:
    if len(value) > PARAM_VALUE_MAX:
        raise ValueError(f"value of {key!r} is too long ({len(value)} > {PARAM_VALUE_MAX})")
    return check_clean_text(value, f"value of {key!r}")


def params_from_pairs(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Build params from key/value rows, rejecting empty and duplicate keys (used by form and CLI)."""
    out: dict[str, str] = {}
    for index, (key, value) in enumerate(pairs, 1):
        if not key.strip():
            raise ValueError(f"param {index}: key must not be empty")
        if key in out:
            raise ValueError(f"param {index}: duplicate key {key!r}")
        out[key] = value
    return out


_BRANCH_NAME_RE = re.compile(r"\S")


class BranchSpec(BaseModel):
    name: str
    parent: str = "main"
    fork_point_seq: int | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _BRANCH_NAME_RE.search(v):
            raise ValueError("branch name is required")
        if v != v.strip():
            raise ValueError("branch name must not start or end with spaces")
        if len(v) > NAME_MAX:
            raise ValueError(f"branch name is too long ({len(v)} > {NAME_MAX} characters)")
        return check_clean_text(v, "branch name")

    @field_validator("fork_point_seq")
    @classmethod
    def _fp(cls, v: int | None) -> int | None:
        if v is not None and v < 0:
            raise ValueError("fork point must be 0 or more")
        return v


class Session(BaseModel):
    model_config = ConfigDict(frozen=True)
    session_id: str
    name: str
    model: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    created_at: int = 0


class Branch(BaseModel):
    model_config = ConfigDict(frozen=True)
    session_id: str
    branch_id: str
    name: str
    parent_branch_id: str | None = None
    fork_point_seq: int = 0
    created_at: int = 0
