"""The session list's rows: where they come from (:class:`SessionSource`) and how a row is drawn.

Pure helpers for :mod:`.session_list` (no screen state): the journal does the querying and sorting, these
functions turn a :class:`~lago_tui.journal.views.SessionSummary` into cells for the columns the layout
chose. Every journal string goes through :mod:`lago_tui.safe`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.content import Content

from ..journal import JournalAPI
from ..journal.views import SessionSummary
from ..safe import one_line, safe_content
from ..summary import day, number, relative
from ..widgets.virtual_list import Column

__all__ = ["SORT_ORDER", "SessionSource", "display_path", "render_cells", "session_key", "shift"]

# Sort keys in column order (keys 1-8), each with a label and its natural first direction.
SORT_ORDER: tuple[tuple[str, str, bool], ...] = (
    ("name", "name", False),
    ("id", "id", False),
    ("model", "model", False),
    ("branches", "branches", True),
    ("events", "events", True),
    ("tokens", "tokens", True),
    ("last_activity", "last activity", True),
    ("created", "created", True),
)


@dataclass(frozen=True)
class SessionSource:
    """Rows of the table: the journal's sessions, queried and sorted by the journal.

    Called only from the table's worker thread. The sessions table is small, so OFFSET is fine.
    """

    journal: JournalAPI
    filter_text: str = ""
    sort: str = "last_activity"
    descending: bool = True

    @property
    def _filter(self) -> str | None:
        return self.filter_text or None

    def count(self) -> int:
        return self.journal.count_sessions(self._filter)

    def fetch(self, start: int, count: int) -> Sequence[SessionSummary]:
        return self.journal.list_sessions(
            self._filter, sort=self.sort, descending=self.descending, limit=count, offset=start
        )

    def index_of(self, key: Any) -> int | None:
        if not isinstance(key, str):
            return None
        return self.journal.session_index(key, self._filter, sort=self.sort, descending=self.descending)


def display_path(location: str | Path) -> str:
    """The journal's location for the header: a URL as is, a path with the home directory as ``~``."""
    if isinstance(location, str) and "://" in location:
        return location
    path = Path(location)
    try:
        home = Path.home()
    except (RuntimeError, KeyError):
        return str(path)
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)


def session_key(row: SessionSummary) -> str:
    return row.session_id


def shift(content: Content, offset: int, width: int) -> Content:
    """``content`` scrolled ``offset`` cells to the left (an ``…`` marks the hidden start)."""
    if offset <= 0 or content.cell_length <= width:
        return content
    offset = min(offset, content.cell_length - width + 1)
    return Content.assemble(("…", "$text-muted"), content[offset + 1 :])


def render_cells(
    row: SessionSummary, columns: Sequence[Column], widths: Sequence[int], now_us: int, offset: int = 0
) -> list[Content]:
    """One cell per column for ``row``; names and models scrolled ``offset`` cells (h / l)."""
    closed = row.closed
    muted = "dim" if closed else ""
    cells: list[Content] = []
    for column, width in zip(columns, widths):
        key = column.key
        if key == "name":
            name = safe_content(row.name, muted, single_line=True, width=max(width, 200))
            cells.append(Content.assemble(("○ ", "dim") if closed else ("● ", "$success"), shift(name, offset, width - 2)))
        elif key == "id":
            # A prefix, not an ellipsis: a prefix is what the CLI takes for a session.
            cells.append(Content.styled(one_line(row.session_id, 80)[:width], "dim"))
        elif key == "model":
            cells.append(shift(safe_content(row.model or "-", muted, single_line=True, width=80), offset, width))
        elif key == "branches":
            cells.append(Content.styled(number(row.branch_count, width), muted))
        elif key == "events":
            cells.append(Content.styled(number(row.event_count, width), muted))
        elif key == "tokens":
            cells.append(Content.styled(number(row.tokens, width), muted))
        elif key == "last_activity":
            cells.append(Content.styled(relative(row.last_activity, now_us), muted))
        elif key == "created":
            cells.append(Content.styled(day(row.created_at), "dim"))
        else:  # pragma: no cover - every column is handled above
            cells.append(Content(""))
    return cells
