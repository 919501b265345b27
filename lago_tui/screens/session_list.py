"""The home screen: every session in the journal, queried, sortable, live.

The table is a :class:`~lago_tui.widgets.virtual_list.VirtualTable` over a :class:`SessionSource`
(the journal does the querying and sorting); a :class:`~lago_tui.widgets.session_preview.SessionPreview`
shows the highlighted session beside or below it, as :mod:`.list_layout` decides for the terminal's
size. The journal is only ever read in thread workers.
"""

from __future__ import annotations

from typing import Any, Literal

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical
from textual.content import Content
from textual.events import Key, Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

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
from ..messages import DisplayChanged, JournalChanged
from ..safe import one_line, safe_content
from ..summary import number, relative_changes_in
from ..widgets.footer import Footer
from ..widgets.session_preview import SessionPreview
from ..widgets.split import SplitHandle
from ..widgets.virtual_list import RenderContext, Sort, VirtualTable
from .list_commands import ListCommands
from .list_layout import COLUMN_ORDER, Plan, next_preview_size, plan_layout
from .list_query import QueryBar, query_error_of, without_term
from .list_rows import SORT_ORDER, SessionSource, display_path, render_cells, session_key

__all__ = ["SORT_ORDER", "SessionListScreen", "SessionSource", "display_path"]

_SORT_LABEL = {key: label for key, label, _ in SORT_ORDER}
_SORT_DESC = {key: desc for key, _, desc in SORT_ORDER}

_FILTER_DEBOUNCE = 0.03  # coalesce a burst of keys; a filter query is ~3 ms at 10k sessions
_BUSY_RETRY = 1.0
_CLOCK_CHECK = 1.0  # seconds between checks whether a relative time on screen would read differently
_FATAL = (NotAJournal, JournalCorrupt, JournalTooNew, JournalPermission)
_NAME_DEFAULT = 24  # cells wanted for names until rows have loaded
_MODEL_DEFAULT = 16
NAME_MEASURE = 80  # cells of a name measured for the column width (list_layout caps what it gets)


class SessionListScreen(ListCommands, Screen[None]):
    """All sessions: query with /, sort with s/S/1-8 or header clicks, enter opens one."""

    CSS_PATH = "session_list.tcss"
    AUTO_FOCUS = "#sl-table"
    HELP_TITLE = "Session list"

    # Footer order is importance order: the first ones stay visible on narrow terminals.
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open the highlighted session"),
        Binding("slash", "filter", "Query", key_display="/",
                tooltip="Query the list as you type: text, or terms like model:gpt-4.1 state:open since:2d"),
        Binding("escape", "clear_filter", "Clear", tooltip="Clear the query"),
        Binding("s", "cycle_sort", "Sort", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", key_display="S", show=False, tooltip="Reverse the sort order"),
        Binding("V", "views", "Views", key_display="V", tooltip="Saved views: apply one in one key"),
        Binding("ctrl+s", "save_view", "Save view", show=False, tooltip="Save the current query as a view"),
        *(
            Binding(str(number_), f"sort_by('{key}')", f"Sort by {label}", show=False,
                    tooltip=f"Sort by {label} (again: reverse)")
            for number_, (key, label, _) in enumerate(SORT_ORDER, start=1)
        ),
        Binding("y", "copy_id", "Copy id", show=False, tooltip="Copy the highlighted session's id"),
        Binding("R", "rename", "Rename", key_display="R", show=False, tooltip="Rename the highlighted session"),
        Binding("C", "close_session", "Close", key_display="C", show=False,
                tooltip="Close the highlighted session (asks first)"),
        Binding("D", "delete_session", "Delete", key_display="D", show=False,
                tooltip="Delete the highlighted session (type its name to confirm)"),
        Binding("z", "zoom", "Zoom", show=False, tooltip="Zoom the focused pane (list or preview) / back"),
        Binding("less_than_sign", "resize(-1)", "Preview bigger", key_display="<", show=False,
                tooltip="Move the list/preview divider left (or up): a bigger preview"),
        Binding("greater_than_sign", "resize(1)", "Preview smaller", key_display=">", show=False,
                tooltip="Move the list/preview divider right (or down): a smaller preview, then none"),
        Binding("ctrl+f,space", "page(1)", "Page down", show=False, tooltip="Page down (as in less)"),
        Binding("ctrl+b", "page(-1)", "Page up", show=False, tooltip="Page up"),
        Binding("ctrl+d", "half_page(1)", "Half page down", show=False, tooltip="Half a page down"),
        Binding("ctrl+u", "half_page(-1)", "Half page up", show=False, tooltip="Half a page up"),
        Binding("right,l", "scroll_cells(1)", "Scroll right", show=False,
                tooltip="Scroll names and models that do not fit to the right"),
        Binding("left,h", "scroll_cells(-1)", "Scroll left", show=False, tooltip="Scroll names and models back"),
        Binding("d", "load_demo", "Load demo", tooltip="Add the demo sessions to an empty journal"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, tooltip="Read the journal again (and retry after an error)"),
    ]

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.filter_text = ""
        self.sort_key = "last_activity"
        self.descending = True
        self.total: int | None = None
        """Sessions in the journal (unfiltered), once known."""
        self.shown: int | None = None
        """Sessions matching the query, once known."""
        self.busy = False
        self.empty = False
        self.missing = False
        self.error: str | None = None
        """A journal error the list is showing (cleared by the next good load)."""
        self.zoom: Literal["table", "preview"] | None = None
        self.plan: Plan | None = None
        self.h_offset = 0
        self._preview_pref: tuple[Literal["beside", "below", "none"], int] | None = None
        self._name_want = _NAME_DEFAULT
        self._model_want = _MODEL_DEFAULT
        self._good_filter = ""
        self._filter_timer: Timer | None = None
        self._busy_timer: Timer | None = None
        self._importing = False
        self._next_tick_us: int | None = None
        self._busy_note: str | None = None  # what a retrying journal says (a server: "unreachable")
        self._views: list[Any] = []  # saved views of the list, read in a worker (the palette lists them)

    # ------------------------------------------------------------------ compose

    def compose(self) -> ComposeResult:
        with Vertical(id="sl-top"):
            with Horizontal(id="sl-header"):
                yield Static(Content(self.app.title or "lago-tui"), id="sl-title")
                yield Static(id="sl-path")
                yield Static(id="sl-count")
            yield QueryBar(id="sl-query")
            yield Static(id="sl-status")
        with Vertical(id="sl-body"):
            yield VirtualTable[SessionSummary](
                tuple(plan_layout(80, 24, name_want=_NAME_DEFAULT).columns),
                self._render_row,
                keep_key=session_key,
                id="sl-table",
            )
            yield SplitHandle(id="sl-split")
            yield SessionPreview(id="sl-preview")
        with Vertical(id="sl-empty"):
            with Center():
                yield Static(id="sl-empty-title")
            with Center():
                yield Static(id="sl-empty-hint")
        yield Footer()

    @property
    def table(self) -> VirtualTable[SessionSummary]:
        return self.query_one("#sl-table", VirtualTable)

    @property
    def preview(self) -> SessionPreview:
        return self.query_one("#sl-preview", SessionPreview)

    @property
    def query_bar(self) -> QueryBar:
        return self.query_one("#sl-query", QueryBar)

    @property
    def filter_input(self) -> Input:
        return self.query_bar.input

    @property
    def journal(self) -> JournalAPI:
        return self.app.journal  # type: ignore[attr-defined,no-any-return]

    def on_mount(self) -> None:
        self._update_header()
        self._update_empty_text()
        self._apply_layout()
        self.table.sort = Sort(self.sort_key, self.descending)
        self.table.set_source(self._source())
        self.set_interval(_CLOCK_CHECK, self._tick, name="session-list-clock")
        self._load_views()

    def _source(self, text: str | None = None) -> SessionSource:
        return SessionSource(self.journal, self.filter_text if text is None else text, self.sort_key, self.descending)

    # ------------------------------------------------------------------ clock

    def _tick(self) -> None:
        """Repaint relative times ("3m ago") when one on screen would now read differently."""
        now = self.app.clock()  # type: ignore[attr-defined]
        due = self._next_tick_us
        if due is not None and now < due:
            return
        self._next_tick_us = None
        self.table.refresh_rows()
        self.preview.repaint(now)
        seconds = self.preview.next_change_in(now)
        self._note_change(now, seconds)

    def _note_change(self, now_us: int, seconds: float) -> None:
        if seconds == float("inf"):
            return
        due = now_us + int(seconds * 1_000_000)
        if self._next_tick_us is None or due < self._next_tick_us:
            self._next_tick_us = due

    def on_display_changed(self, _message: DisplayChanged) -> None:
        self.table.refresh_rows()
        self.preview.repaint()

    # ------------------------------------------------------------------ layout

    def on_resize(self, _event: Resize) -> None:
        self._apply_layout()

    def _apply_layout(self) -> None:
        width, height = self.app.size
        table = self.table
        pref_mode, pref_size = self._preview_pref or (None, None)
        plan = plan_layout(
            width,
            height,
            name_want=self._name_want,
            model_want=self._model_want,
            sort_key=self.sort_key,
            preview=pref_size,
            orientation=pref_mode,
            zoom=self.zoom,
            scrollbar=table.styles.scrollbar_size_vertical,
        )
        self.plan = plan
        mode = "-zoom-preview" if self.zoom == "preview" else f"-{plan.mode}"
        for cls in ("-beside", "-below", "-none", "-zoom-preview"):
            self.set_class(cls == mode, cls)
        split = self.query_one("#sl-split", SplitHandle)
        split.set_class(plan.mode == "below", "-horizontal")
        preview = self.preview
        if self.zoom == "preview" or plan.mode == "none":
            preview.styles.width, preview.styles.height = "1fr", "1fr"
        elif plan.mode == "beside":
            preview.styles.width, preview.styles.height = plan.preview - 1, "1fr"
        else:
            preview.styles.width, preview.styles.height = "1fr", plan.preview - 1
        if plan.mode == "none" and preview.has_focus:
            table.focus()
        if table.columns != plan.columns:
            table.columns = plan.columns
        self._update_header()

    def _learn_widths(self) -> None:
        """Grow the wanted name and model widths to the widest loaded (never shrinking while shown)."""
        table = self.table
        first = table.scroll_offset.y
        name_want, model_want = self._name_want, self._model_want
        for index in range(max(0, first - 50), min(table.row_count, first + 150)):
            row = table.get_row(index)
            if row is None:
                continue
            name_want = max(name_want, cell_len(one_line(row.name, NAME_MEASURE)) + 2)
            model_want = max(model_want, cell_len(one_line(row.model or "-", 40)))
        if (name_want, model_want) != (self._name_want, self._model_want):
            self._name_want, self._model_want = name_want, model_want
            self._apply_layout()

    def on_split_handle_dragged(self, message: SplitHandle.Dragged) -> None:
        plan = self.plan
        if plan is None or plan.mode == "none":
            return
        body = self.query_one("#sl-body").region
        if plan.mode == "beside":
            size = body.right - message.screen_x
            self._preview_pref = ("beside", max(0, size))
        else:
            size = body.bottom - message.screen_y
            self._preview_pref = ("below", max(0, size))
        self._apply_layout()

    def action_resize(self, direction: int) -> None:
        plan = self.plan
        if plan is None:
            return
        if self.zoom is not None:
            self.zoom = None
        width, height = self.app.size
        self._preview_pref = next_preview_size(plan, width, height, direction)
        self._apply_layout()

    def action_zoom(self) -> None:
        if self.zoom is not None:
            self.zoom = None
        elif self.preview.has_focus:
            self.zoom = "preview"
        else:
            self.zoom = "table"
        self._apply_layout()
        if self.zoom == "table" or (self.zoom is None and not self.preview.display):
            self.table.focus()

    # ------------------------------------------------------------------ rows

    def _render_row(self, row: SessionSummary, _index: int, context: RenderContext) -> list[Content]:
        now = self.app.clock()  # type: ignore[attr-defined]
        self._note_change(now, relative_changes_in(row.last_activity, now))
        return render_cells(row, self.table.columns, context.widths, now, self.h_offset)

    def action_scroll_cells(self, direction: int) -> None:
        step = 8 * direction
        limit = max(0, max(self._name_want, self._model_want))
        offset = max(0, min(self.h_offset + step, limit))
        if offset != self.h_offset:
            self.h_offset = offset
            self.table.refresh_rows()

    # ------------------------------------------------------------------ header and state

    def _update_header(self) -> None:
        right: list[str | tuple[str, str]] = []
        if self.total is not None:
            unit = "session" if self.total == 1 else "sessions"
            if self.filter_text and self.shown is not None:
                right.append((f"{number(self.shown)} of {number(self.total)} {unit}", "bold"))
            else:
                right.append((f"{number(self.total)} {unit}", "bold"))
        narrow = self.app.size.width < 60
        if not self.empty:
            arrow = "▼" if self.descending else "▲"
            label = _SORT_LABEL.get(self.sort_key, self.sort_key)
            if narrow:  # the column's own label: "by last activity" does not fit beside the count
                label = next((lbl for key, lbl, *_ in COLUMN_ORDER if key == self.sort_key), label)
            right.append((f"  {'' if narrow else 'by '}{label} {arrow}", "$text-muted"))
        if self.zoom is not None:
            right.append(("  zoomed" if narrow else "  zoomed (z)", "$text-warning"))
        count = Content.assemble(*right)
        counter = self.query_one("#sl-count", Static)
        counter.update(count)
        counter.styles.width = count.cell_length + 2  # its padding; "auto" kept the first, shorter width
        # The path keeps its end (the file name) when it must be cut; it goes first on a narrow screen.
        room = self.app.size.width - 2 - len(self.app.title or "lago-tui") - 2 - count.cell_length - 2
        path = safe_content(display_path(self.journal.location), single_line=True, width=400)
        if room < 8:
            path = Content("")
        elif path.cell_length > room:
            path = Content.assemble("…", path[path.cell_length - room + 1 :])
        self.query_one("#sl-path", Static).update(path)

    def _update_empty_text(self) -> None:
        key = "bold $text-accent"
        if self.missing:
            title = Content.assemble("No journal at ", safe_content(display_path(self.journal.location), single_line=True, width=120), " yet")
            hint = Content.assemble(
                "press ", ("d", key), " to load the demo sessions or ", ("n", key),
                " to create a session (the file is created then); ", ("q", key), " quits",
            )
        else:
            title = Content("No sessions yet")
            hint = Content.assemble(
                "press ", ("d", key), " to load the demo sessions, ", ("n", key), " to create a session",
            )
        self.query_one("#sl-empty-title", Static).update(title)
        self.query_one("#sl-empty-hint", Static).update(hint)

    def _set_empty(self, empty: bool) -> None:
        if empty != self.empty:
            self.empty = empty
            self.set_class(empty, "-empty")
            self.refresh_bindings()
            self._update_header()
            if not empty and self.focused is None:
                self.table.focus()
        if empty:
            self._check_missing()

    @work(thread=True, exclusive=True, group="session-list-exists", exit_on_error=False)
    def _check_missing(self) -> None:
        try:
            missing = not self.journal.exists()
        except Exception:  # noqa: BLE001 - only a hint: without an answer, say nothing about the file
            missing = False
        self.app.call_from_thread(self._missing_checked, missing)

    def _missing_checked(self, missing: bool) -> None:
        if missing != self.missing:
            self.missing = missing
            self._update_empty_text()

    def _show_status(self) -> None:
        status = self.query_one("#sl-status", Static)
        if self.busy:
            status.update(Content(self._busy_note or "The journal is busy (another process is writing); retrying…"))
        elif self.error:
            status.update(
                Content.assemble(safe_content(self.error, single_line=True, width=300), ("  ctrl+r retries", "dim"))
            )
        else:
            status.update(Content(""))
        self.set_class(self.busy, "-busy")
        self.set_class(bool(self.error) and not self.busy, "-error")

    def _set_busy(self, busy: bool, note: str | None = None) -> None:
        if busy == self.busy:
            return
        self.busy = busy
        self._busy_note = note
        self._show_status()
        if not busy and self._busy_timer is not None:
            self._busy_timer.stop()
            self._busy_timer = None

    def _set_error(self, message: str | None) -> None:
        if message != self.error:
            self.error = message
            self._show_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "load_demo":
            return self.empty and not self._importing
        if action in ("open", "cycle_sort", "reverse_sort", "sort_by", "copy_id", "zoom", "resize", "page",
                      "half_page", "scroll_cells", "views", "save_view"):
            return not self.empty
        if action in ("rename", "close_session", "delete_session"):
            return None if self.empty or self.table.highlighted_row is None else True
        if action == "filter":
            return not self.empty or bool(self.filter_text)
        if action == "clear_filter":
            return bool(self.filter_text) or self.filter_input.has_focus or self.zoom is not None
        return True

    # ------------------------------------------------------------------ table messages

    @on(VirtualTable.Loaded, "#sl-table")
    def _table_loaded(self, message: VirtualTable.Loaded) -> None:
        self.shown = message.count
        table = self.table
        if message.count == 0 or table.highlighted_row is not None:
            self._set_busy(False)  # this load got its rows: the journal is readable again
            self._set_error(None)
        source = table.source
        self._good_filter = source.filter_text if isinstance(source, SessionSource) else self.filter_text
        if not self.filter_text:
            self.total = message.count
            self._set_empty(message.count == 0)
        else:
            self._set_empty(False)
            self._count_total()
        if message.count == 0:
            self.preview.show_session(None)
        self._learn_widths()
        self._update_header()
        self.refresh_bindings()

    @on(VirtualTable.RowHighlighted, "#sl-table")
    def _row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        row = message.row
        if row is not None:
            self.preview.show_session(row.session_id)
        elif message.index < 0:
            self.preview.show_session(None)
        self.refresh_bindings()

    @on(VirtualTable.RowSelected, "#sl-table")
    def _row_selected(self, message: VirtualTable.RowSelected) -> None:
        message.stop()
        self._open(message.row)

    @on(VirtualTable.HeaderClicked, "#sl-table")
    def _header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        # A clicked header is on screen already: keep the columns where they are for the next click.
        key = message.column_key
        if key == self.sort_key:
            self._set_sort(key, not self.descending, relayout=False)
        else:
            self._set_sort(key, _SORT_DESC.get(key, False), relayout=False)

    @on(VirtualTable.SourceError, "#sl-table")
    def _table_error(self, message: VirtualTable.SourceError) -> None:
        self.handle_error(message.error)

    def handle_error(self, error: BaseException) -> None:
        """What any failed journal call leads to (busy: retry; a bad query: inline; broken: error screen)."""
        query_error = query_error_of(error)
        if query_error is not None:
            # Refused by the journal (no local parser, e.g. a remote one): say so where the person types and
            # show what the query finds without that term, else what the last good one found.
            self.query_bar.show_error(query_error)
            rest = without_term(self.filter_text, query_error.start)
            fallback = rest if rest is not None and rest != self.filter_text else self._good_filter
            if self.filter_text != fallback:
                self.table.set_source(self._source(fallback))
            return
        if isinstance(error, JournalBusy):
            self._set_busy(True, getattr(error, "retry_note", None))
            if self._busy_timer is None:
                self._busy_timer = self.set_timer(_BUSY_RETRY, self._retry)
        elif isinstance(error, JournalNotFound):
            self.missing = True
            self.total = self.shown = 0
            self._set_empty(True)
            self._update_empty_text()
            self._update_header()
        elif isinstance(error, _FATAL):
            self.app.show_journal_error(error)  # type: ignore[attr-defined]
        elif isinstance(error, JournalError):
            self._set_error(f"Could not read the journal: {error}")
        else:
            self._set_error(f"Unexpected error: {type(error).__name__}: {error}")

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
        self._load_views()

    def _show_location(self) -> None:
        self._update_header()  # the header shows the location; a file's server may have started or stopped

    def refresh_list(self) -> None:
        """Reload the rows, counts and preview, keeping the highlighted session and the query."""
        self._show_location()  # a file's server may have started or stopped (then it says "via URL")
        if self.table.source is None:
            self.table.set_source(self._source())
        else:
            self.table.reload(keep=True)
        self.preview.reload()

    def action_refresh(self) -> None:
        self._set_error(None)
        self.refresh_list()

    # ------------------------------------------------------------------ query (the filter box)

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
        """Keys typed right after "/" were routed to the table before the box had focus: type them."""
        box = self.filter_input
        if event.key == "slash" and self.focused is not box and self.check_action("filter", ()):
            # Open the box here, not from the binding (which runs only after this event has bubbled
            # to the app), so that the keys already queued behind "/" are typed into it.
            event.stop()
            event.prevent_default()
            self.action_filter()
        elif self.focused is box:
            # The box stops the keys it handles itself, so these were typed ahead of the focus.
            action = self.query_bar.ACT_AT_ONCE.get(event.key)
            if action is not None:
                event.stop()
                event.prevent_default()
                getattr(self, action)()
            elif event.is_printable and event.character:
                event.stop()
                event.prevent_default()
                box.insert_text_at_cursor(event.character)

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.filter_input
        had_filter = bool(self.filter_text) or bool(box.value)
        if not had_filter and not box.has_focus and self.zoom is not None:
            self.action_zoom()  # nothing to clear: escape leaves the zoom
            return
        box.value = ""  # posts Changed; applied at once below
        self.query_bar.show_error(None)
        self.remove_class("-filtering")
        self.set_focus(self.table)
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if had_filter:
            self._apply_filter("")
        self.refresh_bindings()

    @on(Input.Changed, "#sl-query Input")
    def _filter_changed(self, message: Input.Changed) -> None:
        message.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(_FILTER_DEBOUNCE, self._filter_settled)

    def _filter_settled(self) -> None:
        self._filter_timer = None
        self._apply_filter(self.filter_input.value)

    @on(Input.Submitted, "#sl-query Input")
    def _filter_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.action_submit_filter()

    def action_submit_filter(self) -> None:
        """Apply the query now and go back to the table, keeping the query."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        self._apply_filter(self.filter_input.value)
        if not self.filter_text:
            self.remove_class("-filtering")
        self.set_focus(self.table)
        self.refresh_bindings()

    def apply_query(self, text: str) -> None:
        """Show ``text`` in the query box and apply it (a saved view, the palette)."""
        box = self.filter_input
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        with box.prevent(Input.Changed):
            box.value = text
        self.set_class(bool(text.strip()), "-filtering")
        self._apply_filter(text)
        self.set_focus(self.table)
        self.refresh_bindings()

    def _apply_filter(self, text: str) -> None:
        text = text.strip()
        problem = self.query_bar.check(text)
        self.query_bar.show_error(problem)
        if problem is not None:
            # The error shows where the person types; the list shows what the query finds without the
            # term in error (typing "state:open tokns:>5k" keeps the open sessions, not an empty list).
            rest = without_term(text, problem.start)
            if rest is None or self.query_bar.check(rest) is not None:
                return  # keep what the last good query found
            text = rest
        if text == self.filter_text:
            return
        self.filter_text = text
        self.set_class(bool(text), "-filtered")
        self._reset_source()
        self.refresh_bindings()

    def _reset_source(self) -> None:
        """A new source (query or sort changed), keeping the highlighted session if it is still listed."""
        row = self.table.highlighted_row
        self.table.sort = Sort(self.sort_key, self.descending)
        self.table.set_source(self._source(), key=row.session_id if row is not None else None)
        self._update_header()

    # ------------------------------------------------------------------ sort

    def _set_sort(self, key: str, descending: bool, *, relayout: bool = True) -> None:
        if key not in _SORT_LABEL:
            return
        if (key, descending) == (self.sort_key, self.descending):
            return
        self.sort_key, self.descending = key, descending
        if relayout:
            self._apply_layout()  # the sorted column is always shown
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

    # ------------------------------------------------------------------ paging

    def _pane(self) -> Literal["table", "preview"]:
        return "preview" if self.preview.has_focus else "table"

    def action_page(self, direction: int) -> None:
        if self._pane() == "preview":
            (self.preview.scroll_page_down if direction > 0 else self.preview.scroll_page_up)()
        else:
            (self.table.action_page_down if direction > 0 else self.table.action_page_up)()

    def action_half_page(self, direction: int) -> None:
        if self._pane() == "preview":
            preview = self.preview
            preview.scroll_relative(y=direction * max(1, preview.scrollable_content_region.height // 2), animate=False)
            return
        table = self.table
        if not table.row_count:
            return
        step = max(1, (table.scrollable_content_region.height - 1) // 2) * direction
        table.scroll_to(y=table.scroll_offset.y + step, animate=False)
        table.move_cursor(table.cursor + step)
