"""Event kinds, the families the UI groups them in, and message roles.

One vocabulary for the TUI (colours, glyphs, the kind filter), the CLI (``log --kind``) and the query
language (``kind:``): a name people see anywhere works as a kind everywhere. A *kind* is a payload type
(``ToolCallFailed``), a *family* a group of kinds (``tool``), a *role* a message author (``assistant``).
"""

from __future__ import annotations

from typing import Any

# Families drive colour and glyph in the TUI and the kind filter's groups.
FAMILIES: dict[str, tuple[str, ...]] = {
    "session": ("SessionCreated", "SessionResumed", "SessionClosed", "SnapshotCreated", "StatePatched", "ContextCompacted"),
    "message": ("Message", "TextDelta"),
    "tool": ("ToolCallRequested", "ToolCallStarted", "ToolCallCompleted", "ToolCallFailed"),
    "run": ("RunStarted", "RunFinished", "StepStarted", "StepFinished"),
    "branch": ("BranchCreated", "BranchMerged"),
    "file": ("FileWrite", "FileDelete", "FileRename"),
    "policy": ("PolicyEvaluated", "ApprovalRequested", "ApprovalResolved"),
    "error": ("RunErrored", "ErrorRaised"),
    "custom": ("Custom",),
}
_FAMILY_OF = {kind: family for family, kinds in FAMILIES.items() for kind in kinds}

# Every payload kind this version knows (the same set as the pydantic models' KNOWN_KINDS, without
# importing pydantic).
KNOWN_KINDS: tuple[str, ...] = tuple(kind for kinds in FAMILIES.values() for kind in kinds)

# Kinds whose payload names a tool (``tool_name``); the query language's ``tool:`` looks at these.
TOOL_KINDS: tuple[str, ...] = (
    "ToolCallRequested", "ToolCallStarted", "ToolCallCompleted", "ToolCallFailed", "PolicyEvaluated", "ApprovalRequested",
)

# Message roles the timeline shows as the row's kind label. "tool" is also a family; as a kind name it
# means the family (use ``role:tool`` for tool messages).
ROLES: tuple[str, ...] = ("user", "assistant", "system", "tool")

# What counts as a failure (the journal's ``failure`` column): an event of one of FAILURE_KINDS, or a
# ToolCallCompleted whose status is not one of OK_STATUSES. The UI shows them in the error family. The write
# paths (:mod:`.append_path` in Python, :func:`.schema.failure_sql` in SQL) read the rule from here.
FAILURE_KINDS: tuple[str, ...] = ("ToolCallFailed", "RunErrored", "ErrorRaised")
OK_STATUSES: tuple[str, ...] = ("ok", "success")


def family(kind: str, payload: dict[str, Any] | None = None) -> str:
    """The event's family; tool failures and non-ok completions count as errors; unknown kinds 'unknown'."""
    if kind == "ToolCallFailed":
        return "error"
    if kind == "ToolCallCompleted" and payload and str(payload.get("status", "ok")).lower() not in OK_STATUSES:
        return "error"
    return _FAMILY_OF.get(kind, "unknown")


def canonical_kind(name: str) -> str | None:
    """A known kind spelled in any case (``toolcallfailed`` -> ``ToolCallFailed``), else None."""
    return _KIND_BY_LOWER.get(name.lower())


_KIND_BY_LOWER = {kind.lower(): kind for kind in KNOWN_KINDS}


def describe_valid_kinds() -> str:
    """One line naming every accepted kind name: families, roles and known kinds (a kind nobody knows is
    accepted where the journal has it)."""
    return (
        f"families: {', '.join(FAMILIES)}; roles: {', '.join(r for r in ROLES if r not in FAMILIES)}; "
        f"kinds: {', '.join(KNOWN_KINDS)}"
    )
