"""The home screen: every session in the journal, filterable, sortable, live.

The table is a :class:`~lago_tui.widgets.virtual_list.VirtualTable` over a :class:`SessionSource`
(the journal does the filtering and sorting); a :class:`~lago_tui.widgets.session_preview.SessionPreview`
shows the highlighted session beside or below it. The journal is only ever read in thread workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical
from textual.content import Content
from textual.events import Key, Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from ..journal import JournalAPI, JournalError
from ..journal.errors import (
    JournalBusy,
    JournalCorrupt,
    JournalNotFound,
    JournalPermission,
    JournalTooNew,
    NotAJournal,
)
from ..journal.views import SessionSummary
from ..messages import JournalChanged
from ..safe import one_line, safe_content
from ..summary import relative, timestamp, tokens
from ..widgets.session_preview import SessionPreview
from ..widgets.virtual_list import Column, RenderContext, Sort, VirtualTable

__all__ = ["SORT_ORDER", "SessionListScreen", "SessionSource"]

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
_SORT_LABEL = {key: label for key, label, _ in SORT_ORDER}
_SORT_DESC = {key: desc for key, _, desc in SORT_ORDER}

WIDE = 120
"""Terminal width from which the preview sits beside the table."""
TALL = 30
"""Terminal height from which (when narrower than WIDE) the preview sits below the table."""
PREVIEW_WIDTH = 56
"""Width of the preview beside the table (keep in step with session_list.tcss)."""
FULL_COLUMNS = 96
"""Table width from which the id and created columns are shown."""

_FILTER_DEBOUNCE = 0.03  # coalesce a burst of keys; a filter query is ~3 ms at 10k sessions
_BUSY_RETRY = 1.0
_CLOCK_TICK = 30.0  # seconds between repaints of the relative times
_FATAL = (NotAJournal, JournalCorrupt, JournalTooNew, JournalPermission)

_COLUMNS_FULL = (
    Column("name", "name", None, min_width=12),
    Column("id", "id", 10),
    Column("model", "model", 16),
    Column("branches", "br", 4, align="right"),
    Column("events", "events", 7, align="right"),
    Column("tokens", "tokens", 8, align="right"),
    Column("last_activity", "active", 9, align="right"),
    Column("created", "created", 10),
)
_COLUMNS_COMPACT = tuple(column for column in _COLUMNS_FULL if column.key not in ("id", "created"))


@dataclass(frozen=True)
class SessionSource:
    """Rows of the table: the journal's sessions, filtered and sorted by the journal.

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


_FILTER_KEYS = {"escape": "action_clear_filter", "enter": "action_submit_filter", "down": "action_submit_filter"}
"""Keys of the filter box that act at once (see FilterInput)."""


class FilterInput(Input):
    """The filter box: escape clears it, enter (or down) goes back to the table.

    Those keys act at once rather than through bindings (which run only after the key has bubbled
    up to the app), and keys that were routed here before the focus moved away are passed on to the
    widget that has the focus now: typing ``/inc<enter>j`` quickly filters and then moves down.
    """

    BINDINGS = [
        Binding("escape", "screen.clear_filter", "Clear filter"),
        Binding("enter", "screen.submit_filter", "To the list", show=False),
    ]

    async def _on_key(self, event: Key) -> None:
        screen = self.screen
        focused = screen.focused
        if focused is not None and focused is not self:
            event.stop()
            event.prevent_default()
            focused.post_message(Key(event.key, event.character))
            return
        action = _FILTER_KEYS.get(event.key)
        if action is not None and isinstance(screen, SessionListScreen):
            event.stop()
            event.prevent_default()
            getattr(screen, action)()
            return
        await super()._on_key(event)


class SessionListScreen(Screen[None]):
    """All sessions: filter with /, sort with s/S/1-8 or header clicks, enter opens one."""

    CSS_PATH = "session_list.tcss"
    AUTO_FOCUS = "#sl-table"

    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", key_display="S"),
        *(
            Binding(str(number), f"sort_by('{key}')", f"Sort by {label}", show=False)
            for number, (key, label, _) in enumerate(SORT_ORDER, start=1)
        ),
        Binding("d", "load_demo", "Load demo"),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
    ]

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.filter_text = ""
        self.sort_key = "last_activity"
        self.descending = True
        self.total: int | None = None
        """Sessions in the journal (unfiltered), once known."""
        self.shown: int | None = None
        """Sessions matching the filter, once known."""
        self.busy = False
        self.empty = False
        self.missing = False
        self._filter_timer: Timer | None = None
        self._busy_timer: Timer | None = None
        self._importing = False
        self._layout = ""

    # ------------------------------------------------------------------ compose

    def compose(self) -> ComposeResult:
        with Horizontal(id="sl-header"):
            yield Static(Content(self.app.title or "lago-tui"), id="sl-title")
            yield Static(id="sl-path")
            yield Static(id="sl-count")
        with Horizontal(id="sl-filter-bar"):
            yield Static(Content("filter"), id="sl-filter-label")
            yield FilterInput(placeholder="name, id or model…", id="sl-filter", select_on_focus=False)
        yield Static(id="sl-status")
        with Horizontal(id="sl-body"):
            yield VirtualTable[SessionSummary](
                _COLUMNS_FULL,
                self._render_row,
                keep_key=session_key,
                id="sl-table",
            )
            yield SessionPreview(id="sl-preview")
        with Vertical(id="sl-empty"):
            with Center():
                yield Static(Content("No sessions yet"), id="sl-empty-title")
            with Center():
                yield Static(
                    Content.assemble(
                        "press ", ("d", "bold $text-accent"), " to load the demo sessions, ",
                        ("n", "bold $text-accent"), " to create a session",
                    ),
                    id="sl-empty-hint",
                )
        yield Footer()

    @property
    def table(self) -> VirtualTable[SessionSummary]:
        return self.query_one("#sl-table", VirtualTable)

    @property
    def preview(self) -> SessionPreview:
        return self.query_one("#sl-preview", SessionPreview)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#sl-filter", FilterInput)

    @property
    def journal(self) -> JournalAPI:
        return self.app.journal  # type: ignore[attr-defined,no-any-return]

    def on_mount(self) -> None:
        self._show_location()
        self._apply_layout(self.app.size.width, self.app.size.height)
        self.table.sort = Sort(self.sort_key, self.descending)
        self.table.set_source(self._source())
        self._update_header()
        self.set_interval(_CLOCK_TICK, self._tick, name="session-list-clock")

    def _source(self) -> SessionSource:
        return SessionSource(self.journal, self.filter_text, self.sort_key, self.descending)

    def _tick(self) -> None:
        self.table.refresh_rows()

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: Resize) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int) -> None:
        if width >= WIDE:
            layout, table_width = "-wide", width - PREVIEW_WIDTH
        elif height >= TALL:
            layout, table_width = "-stacked", width
        else:
            layout, table_width = "-nopreview", width
        if layout != self._layout:
            self.remove_class("-wide", "-stacked", "-nopreview")
            self.add_class(layout)
            self._layout = layout
        columns = _COLUMNS_FULL if table_width >= FULL_COLUMNS else _COLUMNS_COMPACT
        if self.table.columns != columns:
            self.table.columns = columns

    # ------------------------------------------------------------------ rows

    def _render_row(self, row: SessionSummary, _index: int, context: RenderContext) -> list[Content]:
        now = self.app.clock()  # type: ignore[attr-defined]
        closed = row.closed
        muted = "dim" if closed else ""
        name_width = max(1, context.widths[0] - 2) if context.widths else 60
        cells: dict[str, Content] = {
            "name": Content.assemble(
                ("○ ", "dim") if closed else ("● ", "$success"),
                safe_content(row.name, muted, single_line=True, width=name_width),
            ),
            "id": Content.styled(one_line(row.session_id[:10], 10), "dim"),
            "model": safe_content(row.model or "-", muted, single_line=True, width=40),
            "branches": Content.styled(str(row.branch_count), muted),
            "events": Content.styled(str(row.event_count), muted),
            "tokens": Content.styled(tokens(row.tokens), muted),
            "last_activity": Content.styled(relative(row.last_activity, now), muted),
            "created": Content.styled(timestamp(row.created_at)[:10], "dim"),
        }
        return [cells[column.key] for column in self.table.columns]

    # ------------------------------------------------------------------ header and state

    def _update_header(self) -> None:
        parts: list[str | tuple[str, str]] = []
        if self.total is not None:
            unit = "session" if self.total == 1 else "sessions"
            if self.filter_text and self.shown is not None:
                parts.append((f"{self.shown} of {self.total} {unit}", "bold"))
            else:
                parts.append((f"{self.total} {unit}", "bold"))
        arrow = "▼" if self.descending else "▲"
        if not self.empty:
            parts.append((f"  by {_SORT_LABEL.get(self.sort_key, self.sort_key)} {arrow}", "$text-muted"))
        self.query_one("#sl-count", Static).update(Content.assemble(*parts))

    def _set_empty(self, empty: bool) -> None:
        if empty != self.empty:
            self.empty = empty
            self.set_class(empty, "-empty")
            self.refresh_bindings()
            self._update_header()
            if not empty and self.focused is None:
                self.table.focus()

    def _set_busy(self, busy: bool, note: str | None = None) -> None:
        if busy == self.busy:
            return
        self.busy = busy
        status = self.query_one("#sl-status", Static)
        status.update(Content(note or "journal busy (another process is writing), retrying…") if busy else Content(""))
        self.set_class(busy, "-busy")
        if not busy and self._busy_timer is not None:
            self._busy_timer.stop()
            self._busy_timer = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "load_demo":
            return self.empty and not self._importing
        if action in ("open", "cycle_sort", "reverse_sort", "sort_by"):
            return not self.empty
        if action == "filter":
            return not self.empty or bool(self.filter_text)
        if action == "clear_filter":
            return bool(self.filter_text) or self.filter_input.has_focus
        return True

    # ------------------------------------------------------------------ table messages

    @on(VirtualTable.Loaded, "#sl-table")
    def _table_loaded(self, message: VirtualTable.Loaded) -> None:
        self.shown = message.count
        table = self.table
        if message.count == 0 or table.highlighted_row is not None:
            self._set_busy(False)  # this load got its rows: the journal is readable again
        self.missing = False
        if not self.filter_text:
            self.total = message.count
            self._set_empty(message.count == 0)
        else:
            self._set_empty(False)
            self._count_total()
        if message.count == 0:
            self.preview.show_session(None)
        self._update_header()

    @on(VirtualTable.RowHighlighted, "#sl-table")
    def _row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        row = message.row
        if row is not None:
            self.preview.show_session(row.session_id)
        elif message.index < 0:
            self.preview.show_session(None)

    @on(VirtualTable.RowSelected, "#sl-table")
    def _row_selected(self, message: VirtualTable.RowSelected) -> None:
        message.stop()
        self._open(message.row)

    @on(VirtualTable.HeaderClicked, "#sl-table")
    def _header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        key = message.column_key
        if key == self.sort_key:
            self._set_sort(key, not self.descending)
        else:
            self._set_sort(key, _SORT_DESC.get(key, False))

    @on(VirtualTable.SourceError, "#sl-table")
    def _table_error(self, message: VirtualTable.SourceError) -> None:
        self.handle_error(message.error)

    def handle_error(self, error: BaseException) -> None:
        """What any failed journal call leads to (busy: retry; missing: empty; broken: error screen)."""
        if isinstance(error, JournalBusy):
            self._set_busy(True, getattr(error, "retry_note", None))
            if self._busy_timer is None:
                self._busy_timer = self.set_timer(_BUSY_RETRY, self._retry)
        elif isinstance(error, JournalNotFound):
            self.missing = True
            self.total = self.shown = 0
            self._set_empty(True)
            self._update_header()
        elif isinstance(error, _FATAL):
            self.app.show_journal_error(error)  # type: ignore[attr-defined]
        elif isinstance(error, JournalError):
            self.notify(one_line(str(error), 300), title="Journal", severity="error", markup=False)
        else:
            self.notify(
                one_line(f"{type(error).__name__}: {error}", 300), title="Unexpected error", severity="error",
                markup=False,
            )

    def _retry(self) -> None:
        self._busy_timer = None
        if self.busy:
            self.table.reload(keep=True)
            self.preview.reload()

    @work(thread=True, exclusive=True, group="session-list-total", exit_on_error=False)
    def _count_total(self) -> None:
        try:
            total: int | BaseException = self.journal.count_sessions(None)
        except Exception as error:
            total = error
        self.app.call_from_thread(self._total_counted, total)

    def _total_counted(self, total: int | BaseException) -> None:
        if isinstance(total, BaseException):
            self.handle_error(total)
            return
        self.total = total
        self._update_header()

    # ------------------------------------------------------------------ live updates

    def on_journal_changed(self, _message: JournalChanged) -> None:
        self.refresh_list()

    def on_screen_resume(self) -> None:
        # Changes made while another screen was on top were not posted here.
        if self.table.source is not None:
            self.refresh_list()

    def _show_location(self) -> None:
        self.query_one("#sl-path", Static).update(safe_content(display_path(self.journal.location), single_line=True, width=200))

    def refresh_list(self) -> None:
        """Reload the rows, counts and preview, keeping the highlighted session and the filter."""
        self._show_location()  # a file's server may have started or stopped (then it says "via URL")
        if self.table.source is None:
            self.table.set_source(self._source())
        else:
            self.table.reload(keep=True)
        self.preview.reload()

    def action_refresh(self) -> None:
        self.refresh_list()

    # ------------------------------------------------------------------ filter

    def action_filter(self) -> None:
        if self.empty and not self.filter_text:
            return
        box = self.filter_input
        self.add_class("-filtering")
        # Focus now, not at the next idle: keys typed right after "/" are already queued.
        self.set_focus(box)
        if self.focused is not box:
            box.focus()
        self.refresh_bindings()

    def on_key(self, event: Key) -> None:
        """Keys typed right after "/" were routed to the table before the filter had focus: type them."""
        box = self.filter_input
        if event.key == "slash" and self.focused is not box and self.check_action("filter", ()):
            # Open the filter here, not from the binding (which runs only after this event has bubbled
            # to the app), so that the keys already queued behind "/" are typed into it.
            event.stop()
            event.prevent_default()
            self.action_filter()
        elif self.focused is box:
            # The filter box stops the keys it handles itself, so these were typed ahead of the focus.
            if event.key in _FILTER_KEYS:
                event.stop()
                event.prevent_default()
                getattr(self, _FILTER_KEYS[event.key])()
            elif event.is_printable and event.character:
                event.stop()
                event.prevent_default()
                box.insert_text_at_cursor(event.character)

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.filter_input
        had_filter = bool(self.filter_text) or bool(box.value)
        box.value = ""  # posts Changed; applied at once below
        self.remove_class("-filtering")
        self.set_focus(self.table)
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if had_filter:
            self._apply_filter("")
        self.refresh_bindings()

    @on(Input.Changed, "#sl-filter")
    def _filter_changed(self, message: Input.Changed) -> None:
        message.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(_FILTER_DEBOUNCE, self._filter_settled)

    def _filter_settled(self) -> None:
        self._filter_timer = None
        self._apply_filter(self.filter_input.value)

    @on(Input.Submitted, "#sl-filter")
    def _filter_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.action_submit_filter()

    def action_submit_filter(self) -> None:
        """Apply the filter now and go back to the table, keeping the filter."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        self._apply_filter(self.filter_input.value)
        if not self.filter_text:
            self.remove_class("-filtering")
        self.set_focus(self.table)
        self.refresh_bindings()

    def _apply_filter(self, text: str) -> None:
        text = text.strip()
        if text == self.filter_text:
            return
        self.filter_text = text
        self.set_class(bool(text), "-filtered")
        self._reset_source()
        self.refresh_bindings()

    def _reset_source(self) -> None:
        """A new source (filter or sort changed), keeping the highlighted session if it is still listed."""
        row = self.table.highlighted_row
        self.table.sort = Sort(self.sort_key, self.descending)
        self.table.set_source(self._source(), key=row.session_id if row is not None else None)
        self._update_header()

    # ------------------------------------------------------------------ sort

    def _set_sort(self, key: str, descending: bool) -> None:
        if key not in _SORT_LABEL:
            return
        if (key, descending) == (self.sort_key, self.descending):
            return
        self.sort_key, self.descending = key, descending
        self._reset_source()

    def action_cycle_sort(self) -> None:
        keys = [key for key, _, _ in SORT_ORDER]
        position = keys.index(self.sort_key) if self.sort_key in keys else -1
        key = keys[(position + 1) % len(keys)]
        self._set_sort(key, _SORT_DESC[key])

    def action_reverse_sort(self) -> None:
        self._set_sort(self.sort_key, not self.descending)

    def action_sort_by(self, key: str) -> None:
        if key == self.sort_key:
            self._set_sort(key, not self.descending)
        else:
            self._set_sort(key, _SORT_DESC.get(key, False))

    # ------------------------------------------------------------------ open

    def action_open(self) -> None:
        row = self.table.highlighted_row
        if row is not None:
            self._open(row)

    def _open(self, row: SessionSummary | None) -> None:
        if row is not None:
            self.app.open_session(row.session_id)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ demo

    def action_load_demo(self) -> None:
        if not self.empty or self._importing:
            return
        self._importing = True
        self.refresh_bindings()
        self.notify("Loading the demo sessions…", markup=False, timeout=2)
        self._import_demo()

    @work(thread=True, exclusive=True, group="session-list-demo", exit_on_error=False)
    def _import_demo(self) -> None:
        from ..paths import demo_source

        try:
            result: Any = self.journal.import_file(demo_source())
        except Exception as error:
            result = error
        self.app.call_from_thread(self._demo_imported, result)

    def _demo_imported(self, result: Any) -> None:
        self._importing = False
        self.refresh_bindings()
        if isinstance(result, BaseException):
            self.handle_error(result)
            return
        self.notify(
            f"Loaded {result.sessions} demo sessions ({result.events} events)", title="Demo", markup=False
        )
        self.refresh_list()
        note = getattr(self.app, "note_own_write", None)
        if callable(note):
            note()
