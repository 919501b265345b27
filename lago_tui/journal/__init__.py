"""The journal: a Lago-compatible event store in one DuckDB file. Never imports textual."""

from .errors import (
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
from .models import KNOWN_KINDS, BranchSpec, EventEnvelope, SessionSpec
from .store import ChangeToken, ImportResult, Journal, Timeline
from .views import BranchInfo, SearchHit, SessionDetail, SessionSummary, SessionTotals, TimelineEvent, ToolOutcome
from .writer import BatchingWriter

__all__ = [
    "BatchingWriter", "BranchInfo", "BranchSpec", "ChangeToken", "EventEnvelope", "ImportResult", "InvalidEvent",
    "InvalidSpec", "Journal", "JournalBusy", "JournalCorrupt", "JournalError", "JournalNotFound",
    "JournalPermission", "JournalTooNew", "KNOWN_KINDS", "NotAJournal", "NotFound", "SearchHit", "SessionDetail",
    "SessionSpec", "SessionSummary", "SessionTotals", "Timeline", "TimelineEvent", "ToolOutcome",
]
