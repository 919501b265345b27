"""The journal: a Lago-compatible event store in one DuckDB file. Never imports textual."""

from .analysis_views import (
    Comparison,
    ComparisonRow,
    ComparisonSide,
    ComparisonTotals,
    FileState,
    MessageState,
    Problem,
    RunState,
    StateAt,
    ToolCallState,
)
from .api import JournalAPI, TimelineAPI
from .errors import (
    Conflict,
    InvalidEvent,
    InvalidSpec,
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalNotFound,
    JournalPermission,
    JournalTooNew,
    NotAJournal,
    NotFound,
)
from .store import ChangeToken, ImportResult, Journal
from .timeline import Timeline
from .views import AppendResult, BranchInfo, MergeResult, SearchHit, SessionDetail, SessionSummary, SessionTotals, TimelineEvent, ToolOutcome

# The pydantic models (and what needs them) are only for writing: building them costs ~100 ms at start-up,
# so readers such as the TUI's first screen don't pay for them until something writes.
_LAZY = {
    "KNOWN_KINDS": "models", "BranchSpec": "models", "EventEnvelope": "models", "SessionSpec": "models",
    "BatchingWriter": "writer",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)


__all__ = [
    "Comparison", "ComparisonRow", "ComparisonSide", "ComparisonTotals", "FileState", "MessageState", "Problem",
    "RunState", "StateAt", "ToolCallState",
    "AppendResult", "BatchingWriter", "BranchInfo", "Conflict", "MergeResult", "BranchSpec", "ChangeToken", "EventEnvelope", "ImportResult", "InvalidEvent",
    "InvalidSpec", "Journal", "JournalAPI", "JournalBusy", "JournalCorrupt", "JournalError", "JournalNotFound",
    "JournalPermission", "JournalTooNew", "KNOWN_KINDS", "NotAJournal", "NotFound", "SearchHit", "SessionDetail",
    "SessionSpec", "SessionSummary", "SessionTotals", "Timeline", "TimelineAPI", "TimelineEvent", "ToolOutcome",
]
