"""One session: header, branch tree, the selected branch's timeline and an event inspector.

Every journal call runs in a thread worker; the timeline only ever fetches windows (see
:class:`~lago_tui.widgets.virtual_list.VirtualTable`), so a million-event branch opens as fast as
a ten-event one. Opening a session (or another branch, or a kind filter) is one worker that brings
the detail, the timeline and the rows to show first (:mod:`.loading`). Journal strings reach widgets
only through :mod:`lago_tui.safe`.

The parts with state of their own live beside this module: follow mode (:mod:`.follow`), search
(:mod:`.search`), the header and status line (:mod:`.bars`), how the width is shared (:mod:`.layout`)
and the dialogs (:mod:`.modals`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ...journal import (
    JournalBusy,
    JournalCorrupt,
    JournalError,
    JournalPermission,
    JournalTooNew,
    NotAJournal,
    NotFound,
    SessionDetail,
    TimelineAPI,
)
from ...journal.query import QueryError
from ...messages import JournalChanged
from ...safe import one_line, safe_text
from ...widgets.branch_tree import BranchTree
from ...widgets.footer import Footer  # Help docked right: never cut
from ...widgets.inspector import Inspector
from ...widgets.state_panel import StatePanel
from ..analysis_actions import ANALYSIS_BINDINGS, AnalysisActions
from ..analysis_commands import AnalysisCommands
from ...widgets.timeline import TimelineRow, TimelineView
from ...widgets.virtual_list import VirtualTable
from .actions import SEARCH_HINT, SEQ_HINT, SPLIT_RANGE, DetailActions
from .bars import Status, header_text, query_problem_text, state_header, status_text
from .follow import Follow, FollowState
from .jumps import JumpController
from .layout import apply_layout, default_share
from .palette import DetailPalette
from .loading import Opened, choose_branch, nearest_key, open_session, open_timeline
from .search import SearchController, check_query

__all__ = ["SessionDetailScreen"]

BUSY_RETRY = 1.0  # seconds between attempts while another process holds the journal
BUSY_NOTE = "journal busy (another process is writing), retrying every second…"
SLOW_LOAD = 0.4  # seconds before a load that has not answered says it is waiting for the journal
PROBLEMS_DELAY = 2.0  # seconds after a session opens before its problems are counted (for the header)
INSPECTOR_LOADING_DELAY = 0.3  # seconds the inspector keeps the last event while the highlighted row loads
PROBLEMS_AUTO_EVENTS = 20_000  # sessions bigger than this are checked when asked (!), not on opening
_FATAL = (NotAJournal, JournalCorrupt, JournalTooNew, JournalPermission)


class SessionDetailScreen(DetailActions, DetailPalette, AnalysisActions, Screen[None]):
    COMMANDS = {AnalysisCommands}  # the analysis views in the palette (with the app's commands)

    """A session's branches, timeline and events (the key actions are in :mod:`.actions`; the analysis
    views' in :mod:`lago_tui.screens.analysis_actions`)."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        # shown in the footer, most used first (the footer must keep "? Help" at 80 columns)
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("ampersand", "toggle_filter", "Filter: hide what does not match (again: highlight)", show=False,
                key_display="&"),
        Binding("t", "kind_filter", "Kinds"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("y", "copy_menu", "Copy"),
        Binding("b", "new_branch", "Branch"),
        # in the help screen
        Binding("q", "leave", "Back to the list", show=False),
        Binding("n", "next_match", "Next match (new session when there is no search)", show=False),
        Binding("N", "previous_match", "Previous match", show=False),
        Binding("colon", "jump_to_seq", "Jump to a seq (or branch@seq)", show=False, key_display=":"),
        Binding("percent_sign", "partner", "Tool request <-> its result", show=False, key_display="%"),
        Binding("e", "next_error", "Next error or failure", show=False),
        Binding("E", "previous_error", "Previous error or failure", show=False),
        Binding("right_square_bracket", "next_run", "Next run start", show=False, key_display="]"),
        Binding("left_square_bracket", "previous_run", "Previous run start", show=False, key_display="["),
        Binding("m", "set_mark", "Set a mark (then a letter)", show=False),
        Binding("apostrophe", "go_to_mark", "Go to a mark (then a letter; ' goes back)", show=False,
                key_display="'"),
        Binding("u", "runs", "Runs: per-run and per-step figures", show=False),
        Binding("V", "views", "Saved views: apply one in one key", show=False),
        Binding("ctrl+s", "save_view", "Save the search as a view", show=False),
        Binding("R", "rename", "Rename the session (the branch, from the tree)", show=False),
        Binding("C", "close_session", "Close the session (confirm)", show=False),
        Binding("D", "delete_session", "Delete the session (type its name)", show=False),
        Binding("z", "zoom", "Zoom the focused pane (again: back)", show=False),
        Binding("less_than_sign", "split(-1)", "Smaller timeline (tree: narrower)", show=False, key_display="<"),
        Binding("greater_than_sign", "split(1)", "Larger timeline (tree: wider)", show=False, key_display=">"),
        Binding("o", "show_full", "Full text", show=False),
        Binding("i", "toggle_inspector", "Inspector", show=False),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
        # the analysis views (state, compare, lanes, problems, ranges, save)
        *(Binding(key, action, description, show=False) for key, action, description, _shown in ANALYSIS_BINDINGS),
    ]

    def __init__(self, session_id: str, *, branch_id: str | None = None) -> None:
        super().__init__()
        self.session_id = session_id
        self.branch_id: str | None = branch_id
        self.detail: SessionDetail | None = None
        self.timeline: TimelineAPI | None = None
        self.kinds: tuple[str, ...] | None = None
        self.follow = Follow()
        self.search = SearchController(self)
        self.jumps = JumpController(self)
        self.zoomed: str | None = None  # the pane shown alone (z): "tree", "timeline" or "inspector"
        self.inspector_share: int | None = None  # percent of the screen for the inspector (< >), else the default
        self.tree_extra = 0  # columns added to (or taken from) the tree's width (< > with the tree focused)
        self._dragging = False  # the split is being dragged with the mouse
        self._search_filtering: bool | None = None  # the mode the search box submits in (None: as it is)
        self.busy = False
        self.busy_note = BUSY_NOTE  # what the retrying says (a server says "unreachable" instead)
        self.problem = ""  # why the session is not shown (not found, an error), with what to do
        self._loading = False
        self._slow_timer: Timer | None = None
        self._retry_timer: Timer | None = None
        self._placeholder_timer: Timer | None = None
        self._timeline_epoch = 0
        self._inspect_pending = False
        self._rows_seen = 0  # rows of the timeline when its search matches were last counted
        self._ready = False  # the widgets are mounted
        self._early: Callable[[], None] | None = None  # a load result that came before that

    # ------------------------------------------------------------------ compatibility views of the state

    @property
    def following(self) -> bool:
        """Follow mode is on (tracking the end, or paused)."""
        return self.follow.state is not FollowState.OFF

    @property
    def searching(self) -> bool:
        """A search is counting its matches."""
        return self.search.searching

    @property
    def search_text(self) -> str:
        return self.search.query

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # The journal work starts now, in a thread of its own, while the widgets are built and mounted (a
        # worker would start only once the mounting is done: 20-40 ms later); see _opened.
        self._load(at_once=True)
        yield Static(Text("Loading session…", "dim"), id="sd-header")
        with Horizontal(id="sd-body"):
            tree = BranchTree(id="sd-tree")
            tree.border_title = "branches"
            yield tree
            with Container(id="sd-main"):
                timeline = TimelineView(id="sd-timeline")
                timeline.border_title = "timeline"
                yield timeline
                with Vertical(id="sd-side"):
                    inspector = Inspector(id="sd-inspector")
                    inspector.border_title = "event"
                    yield inspector
                    state = StatePanel(id="sd-state")
                    state.border_title = "state"
                    yield state
        search = Input(placeholder=SEARCH_HINT, id="sd-search")  # (actions set it for the filter)
        search.display = False
        yield search
        problem = Static("", id="sd-search-problem")
        problem.display = False
        yield problem
        seq_hint = Static(SEQ_HINT, id="seq-hint")  # ':' jumps to a seq: typed here, mistakes said here
        seq_hint.display = False
        yield seq_hint
        seq = Input(placeholder="seq, or branch@seq", id="seq-input")
        seq.display = False
        yield seq
        yield Static("", id="sd-status")
        yield Footer()

    def on_mount(self) -> None:
        self._layout(self.app.size.width)
        self.query_one(TimelineView).focus()
        self.query_one(Inspector).show_placeholder("loading…")
        self._render_header()
        self._ready = True
        self._load_views()
        if self._early is not None:  # the load finished before the widgets were mounted
            early, self._early = self._early, None
            early()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)
        self._render_header()

    def _layout(self, width: int) -> None:
        branches = len(self.detail.branches) if self.detail else 1
        apply_layout(self, self.query_one(BranchTree), self.query_one("#sd-side"), width, branches,
                     zoom=self.zoomed, inspector_share=self.inspector_share, tree_extra=self.tree_extra)

    def default_inspector_share(self) -> int:
        return default_share(self.app.size.width)

    # ------------------------------------------------------------------ the split, with the mouse

    def _on_split_border(self, event: events.MouseEvent) -> bool:
        """The mouse is on the inspector's edge toward the timeline (its top, or its left when side by side)."""
        inspector = self.query_one(Inspector)
        if event.widget is not inspector or self.zoomed is not None:
            return False
        x, y = event.screen_x - inspector.region.x, event.screen_y - inspector.region.y
        return x == 0 if self.has_class("-wide") else y == 0

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if self._on_split_border(event):
            event.stop()
            self._dragging = True
            self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if not self._dragging:
            return
        body = self.query_one("#sd-main").region  # the inspector's share is of the timeline's pane and its own
        if self.has_class("-wide"):
            share = (body.right - event.screen_x) * 100 // max(1, body.width)
        else:
            share = (body.bottom - event.screen_y) * 100 // max(1, body.height)
        low, high = SPLIT_RANGE
        share = max(low, min(high, share))
        if share != self.inspector_share:
            self.inspector_share = share
            self._layout(self.app.size.width)

    def on_mouse_up(self, _event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()

    # ------------------------------------------------------------------ loading

    def _visible_rows(self) -> int:
        """Rows the timeline can show (the terminal's height bounds it before the first layout)."""
        return self.app.size.height

    def _load(self, *, key: Hashable | None = None, at_once: bool = False) -> None:
        """Open the session (detail, timeline of the chosen branch, first rows) in one worker."""
        ref, branch, kinds, query = self.session_id, self.branch_id, self.kinds, self.search.hiding_query
        at_end = self.follow.tracking
        visible = self._visible_rows()
        page_size = TimelineView.PAGE_SIZE
        self._timeline_epoch += 1
        epoch = self._timeline_epoch

        def work() -> Opened:
            return open_session(self.app.journal, ref, branch=branch, kinds=kinds, key=key, at_end=at_end,
                                visible=visible, page_size=page_size, query=query)

        self._start(work, epoch, retry=lambda: self._load(key=key), at_once=at_once)

    def _open_branch(self, branch_id: str, key: Hashable | None) -> None:
        """Show another branch (or the same one with other kinds), the cursor on ``key`` or nearest."""
        detail, kinds, query = self.detail, self.kinds, self.search.hiding_query
        assert detail is not None
        at_end = self.follow.tracking
        visible = self._visible_rows()
        page_size = TimelineView.PAGE_SIZE
        self._timeline_epoch += 1
        epoch = self._timeline_epoch
        view = self.query_one(TimelineView)
        view.border_title = Text("timeline · ") + self._branch_name_text(branch_id)

        def work() -> Opened:
            return open_timeline(self.app.journal, detail, branch_id, kinds, key=key, at_end=at_end,
                                 visible=visible, page_size=page_size, query=query)

        self._start(work, epoch, retry=lambda: self._open_branch(branch_id, key))

    def _start(self, work: Callable[[], Opened], epoch: int, *, retry: Callable[[], None],
               at_once: bool = False) -> None:
        """Run ``work`` in a thread worker (``at_once``: in a thread started now), its answer to _opened
        unless another load was asked for meanwhile (the epoch)."""
        self._loading = True
        if self._slow_timer is not None:
            self._slow_timer.stop()
        self._slow_timer = self.set_timer(SLOW_LOAD, self._slow)
        self._early = None

        def run() -> None:
            worker = None if at_once else get_current_worker()
            try:
                opened = work()
            except JournalBusy as err:
                self.deliver(self._busy, epoch, retry, err)
                return
            except JournalError as err:
                self.deliver(self._failed, epoch, err)
                return
            if worker is None or not worker.is_cancelled:
                self.deliver(self._opened, epoch, opened)

        if at_once:
            threading.Thread(target=run, name="lago-detail-open", daemon=True).start()
        else:
            self.run_worker(run, thread=True, group="sd-load", exclusive=True, exit_on_error=False)

    def _done_loading(self) -> None:
        self._loading = False
        if self._slow_timer is not None:
            self._slow_timer.stop()
            self._slow_timer = None

    def _slow(self) -> None:
        self._slow_timer = None
        if self._loading and not self.busy and self._ready:
            self._render_header(waiting=True)
            self._update_status()

    @property
    def alive(self) -> bool:
        """Still on the app's screen stack (a worker's answer may come after the screen was closed)."""
        try:
            return self in self.app.screen_stack
        except Exception:  # noqa: BLE001 - no app any more
            return False

    def deliver(self, callback: Callable[..., object], *args: object) -> None:
        """From a thread worker: run ``callback(*args)`` on the UI thread, if the screen is still open."""

        def run() -> None:
            if self.alive:
                callback(*args)

        try:
            self.app.call_from_thread(run)
        except RuntimeError:  # the app has stopped
            pass

    def _when_ready(self, callback: Callable[[], None]) -> bool:
        """Run ``callback`` now if the widgets are mounted, else once they are (returns False then)."""
        if self._ready:
            return True
        self._early = callback
        return False

    def _busy(self, epoch: int, retry: Callable[[], None], err: BaseException | None = None) -> None:
        if epoch != self._timeline_epoch or not self._when_ready(lambda: self._busy(epoch, retry, err)):
            return
        self.busy_note = getattr(err, "retry_note", None) or BUSY_NOTE
        self._done_loading()
        self.busy = True
        self._render_header()
        self._update_status()
        if self._retry_timer is not None:
            self._retry_timer.stop()
        self._retry_timer = self.set_timer(BUSY_RETRY, retry)

    def _failed(self, epoch: int, err: JournalError) -> None:
        if epoch != self._timeline_epoch or not self._when_ready(lambda: self._failed(epoch, err)):
            return
        self._done_loading()
        self.busy = False
        if isinstance(err, _FATAL):
            self.app.show_journal_error(err)  # type: ignore[attr-defined]
            return
        if isinstance(err, NotFound):
            self.problem = f"{err} · esc goes back"
        else:
            self.problem = f"{err} · ctrl+r tries again"
        if self.detail is None:
            self.query_one(Inspector).show_placeholder("Nothing to show.")
            self.query_one(BranchTree).root.set_label(Text("—", "dim"))
        self._render_header()
        self._update_status()
        self.notify(one_line(str(err), 300), severity="error", markup=False)

    def _opened(self, epoch: int, opened: Opened) -> None:
        if epoch != self._timeline_epoch:
            return  # another branch or filter was asked for meanwhile
        if not self._when_ready(lambda: self._opened(epoch, opened)):
            return
        self._done_loading()
        self.busy = False
        self.problem = ""
        first = self.detail is None or self.detail.summary.session_id != opened.detail.summary.session_id
        self._set_detail(opened.detail, opened.branch_id)
        if first and opened.detail.totals.events <= PROBLEMS_AUTO_EVENTS:
            # The integrity check reads the whole session: not while the first pages and keys are being
            # answered, and not by itself on a big session (~1 s and ~90 MB for 200k events; ! runs it).
            self.set_timer(PROBLEMS_DELAY, self.refresh_problem_count)
        view = self.query_one(TimelineView)
        if opened.timeline is None or opened.source is None:
            self.timeline = None
            view.set_source(None)
            self.query_one(Inspector).show_placeholder("This session has no branches.")
            self._update_status()
            return
        self.timeline = opened.timeline
        view.describe_timeline(opened.timeline)
        self._rows_seen = opened.preloaded.count if opened.preloaded is not None else 0
        self.jumps.forget()
        view.set_source(opened.source, key=opened.key, preloaded=opened.preloaded)
        self.search.timeline_changed()
        self._update_status()

    def _set_detail(self, detail: SessionDetail, branch_id: str | None) -> None:
        self.detail = detail
        self.session_id = detail.summary.session_id
        self.branch_id = branch_id
        names = {b.branch_id: b.name for b in detail.branches}
        self.query_one(TimelineView).branch_names = names
        self.query_one(Inspector).branch_names = names
        self.query_one(BranchTree).set_branches(detail.branches, branch_id)
        if branch_id is not None:
            self.query_one(TimelineView).border_title = Text("timeline · ") + self._branch_name_text(branch_id)
        self._layout(self.app.size.width)
        self._render_header()

    def _refresh(self) -> None:
        """Live update: the detail again (counts, new branches) and the rows the timeline gained."""
        ref = self.session_id
        epoch = self._timeline_epoch

        def run() -> None:
            try:
                detail = self.app.journal.session(ref)
            except JournalBusy as err:
                self.deliver(self._busy, epoch, self._refresh, err)
                return
            except JournalError as err:
                self.deliver(self._failed, epoch, err)
                return
            self.deliver(self._refreshed, epoch, detail)

        self.run_worker(run, thread=True, group="sd-refresh", exclusive=True, exit_on_error=False)

    def _refreshed(self, epoch: int, detail: SessionDetail) -> None:
        if epoch != self._timeline_epoch:
            return
        self.busy = False
        self.problem = ""
        branch = choose_branch(detail, self.branch_id)
        if branch != self.branch_id or self.timeline is None:  # the branch went away (or there was none)
            self.detail = detail
            self.branch_id = branch
            self._load()
            return
        self._set_detail(detail, branch)
        view = self.query_one(TimelineView)
        if view.source is not None:
            view.reload(keep=not self.follow.tracking)
        self._update_status()

    def _render_header(self, *, waiting: bool = False) -> None:
        if not self._ready or not self.alive:
            return
        header = self.query_one("#sd-header", Static)
        width = self.size.width or self.app.size.width
        if self.detail is not None:
            header.update(header_text(self.detail, width, badge=self.problem_badge()), layout=False)
            return
        title = Text("Loading session ", "dim")
        title.append_text(safe_text(self.session_id, "dim", single_line=True, width=60))
        title.append("…", "dim")
        if self.problem:
            title = Text("Could not open ", "bold")
            title.append_text(safe_text(self.session_id, "bold", single_line=True, width=60))
            message = safe_text(self.problem, "bold", single_line=True, width=300)
        elif self.busy:
            message = Text(self.busy_note[:1].upper() + self.busy_note[1:], "bold")
        elif waiting:
            message = Text("Waiting for the journal (another process may be writing)…", "italic")
        else:
            message = Text("")
        header.update(state_header(title, message, width), layout=False)

    # ------------------------------------------------------------------ timeline events

    def _branch_name_text(self, branch_id: str) -> Text:
        detail = self.detail
        info = detail.branch(branch_id) if detail else None
        return safe_text(info.name if info else branch_id, single_line=True, width=40)

    @on(Input.Submitted, "#seq-input")
    def _seq_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self.jumps.to_seq(event.value)
        if problem is None:
            self._close_seq()
            return
        hint = self.query_one("#seq-hint", Static)
        hint.update(Text(problem, "bold"))
        hint.add_class("-error")

    def _close_seq(self) -> None:
        for widget in (self.query_one("#seq-input"), self.query_one("#seq-hint")):
            widget.display = False
        if self.focused is None or self.focused.id == "seq-input":
            self.query_one(TimelineView).focus()

    @on(Input.Changed, "#sd-search")
    def _search_changed(self, event: Input.Changed) -> None:
        """A query that cannot be read says so as it is typed (the offending part marked)."""
        self._show_query_problem(check_query(event.value.strip()) if event.value.strip() else None)

    @on(Input.Submitted, "#sd-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self.search.submit(event.value, self.cursor, filtering=self._search_filtering)
        if problem is not None:
            self._show_query_problem(problem)
            return
        self._close_search()

    def _show_query_problem(self, problem: QueryError | None) -> None:
        line = self.query_one("#sd-search-problem", Static)
        line.display = problem is not None
        if problem is not None:
            line.update(query_problem_text(self.query_one("#sd-search", Input).value, problem))

    def filter_changed(self) -> None:
        """Filter mode started, ended or changed its query: the timeline again, the cursor on its event."""
        if self.detail is None or self.branch_id is None:
            return
        row = self.highlighted()
        self._open_branch(self.branch_id, (row.ev.branch_id, row.ev.seq) if row is not None else None)
        self._update_status()

    def step_rows(self, delta: int) -> None:
        view = self.query_one(TimelineView)
        if view.row_count:
            self.jump_to(max(0, min(view.row_count - 1, view.cursor + delta)), context=3)

    @on(VirtualTable.Loaded, "#sd-timeline")
    def _timeline_loaded(self, event: VirtualTable.Loaded) -> None:
        view = self.query_one(TimelineView)
        if self.follow.tracking and event.count:
            view.move_cursor(event.count - 1)
        if event.count != self._rows_seen:  # events arrived: count the search's matches again
            self._rows_seen = event.count
            self.search.timeline_changed()
        row = view.highlighted_row
        if row is not None:  # a new source may put an equal key at the same index: no RowHighlighted then
            self._inspect_later()
        if event.count == 0:
            if self.search.filtering:
                self.query_one(Inspector).show_placeholder("No event matches the filter (& shows them all again).")
            else:
                self.query_one(Inspector).show_placeholder("No events" + (" of these kinds." if self.kinds else "."))
        self._update_status()

    @on(VirtualTable.SourceError, "#sd-timeline")
    def _timeline_error(self, event: VirtualTable.SourceError) -> None:
        err = event.error
        if isinstance(err, JournalBusy):
            self._busy(self._timeline_epoch, self._reload_timeline, err)
        elif isinstance(err, _FATAL):
            self.app.show_journal_error(err)  # type: ignore[attr-defined]
        else:
            self.notify(one_line(f"{type(err).__name__}: {err}", 300), severity="error", title="timeline",
                        markup=False)

    def _reload_timeline(self) -> None:
        self.busy = False
        view = self.query_one(TimelineView)
        if view.source is not None:
            view.reload(keep=not self.follow.tracking)
        self._update_status()

    @on(VirtualTable.RowHighlighted, "#sd-timeline")
    def _row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        if event.row is None and event.index >= 0:
            # A jump to rows still being fetched: the inspector keeps the last event a moment rather than
            # flashing "loading…" (each change of its text lays the whole screen out again: two layouts
            # per jump, in the way of the rows' own paint); it says so if the row is slow to come.
            if self._placeholder_timer is not None:
                self._placeholder_timer.stop()
            self._placeholder_timer = self.set_timer(INSPECTOR_LOADING_DELAY, self._inspector_waiting)
        self._inspect_later()

    def _inspector_waiting(self) -> None:
        self._placeholder_timer = None
        if self.query_one(TimelineView).highlighted_row is None and self.cursor >= 0:
            self.query_one(Inspector).show_placeholder("loading…")

    @on(TimelineView.CellsScrolled, "#sd-timeline")
    def _cells_scrolled(self, _event: TimelineView.CellsScrolled) -> None:
        self._update_status()

    @on(VirtualTable.Navigated, "#sd-timeline")
    def _navigated(self, event: VirtualTable.Navigated) -> None:
        if self.follow.navigated(event.index, event.count):
            self._update_status()

    def _inspect_later(self) -> None:
        """Show the highlighted row in the inspector after the table has repainted (once per burst of
        moves: holding a key down costs one inspector update per frame, not one per row)."""
        if not self._inspect_pending:
            self._inspect_pending = True
            self.call_after_refresh(self._inspect_now)

    def _inspect_now(self) -> None:
        self._inspect_pending = False
        row = self.query_one(TimelineView).highlighted_row
        if row is not None:
            self._show_row(row)
            self.analysis_row_shown(row)
        self._update_status()

    def _show_row(self, row: TimelineRow) -> None:
        inspector = self.query_one(Inspector)
        if inspector.event is not None and inspector.event == row.ev:
            return
        view = self.query_one(TimelineView)
        note = None
        if row.ev.inherited:
            note = "inherited from " + view.branch_names.get(row.ev.branch_id, row.ev.branch_id)
        fork = view.fork_description(row, self.timeline)
        if fork:
            note = (note + " · " if note else "") + fork
        # notes contain branch names (journal text): show_event passes them through safe_text
        inspector.show_event(row.ev, note)

    @on(VirtualTable.RowSelected, "#sd-timeline")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.action_show_full()

    @on(BranchTree.BranchChosen)
    def _branch_chosen(self, event: BranchTree.BranchChosen) -> None:
        self.select_branch(event.branch_id)
        self.query_one(TimelineView).focus()  # the next key is for the timeline

    def select_branch(self, branch_id: str) -> None:
        """Show ``branch_id``'s timeline, the cursor on the same event (or the nearest) as before."""
        if self.detail is None:
            return
        row = self.highlighted()
        key = nearest_key(self.detail, row.ev.branch_id, row.ev.seq, branch_id) if row is not None else None
        self.open_branch_at(branch_id, key)

    def highlighted(self) -> TimelineRow | None:
        """The row under the timeline's cursor (if loaded)."""
        return self.query_one(TimelineView).highlighted_row

    _highlighted = highlighted  # (the analysis mixin's name for it)

    @property
    def cursor(self) -> int:
        return self.query_one(TimelineView).cursor

    def branch_name(self, branch_id: str) -> str:
        info = self.detail.branch(branch_id) if self.detail else None
        return info.name if info else branch_id

    def open_branch_at(self, branch_id: str, key: Hashable | None) -> None:
        """Show ``branch_id`` with the cursor on ``key`` (an event's (branch, seq)) or the nearest."""
        if self.detail is None:
            return
        self.branch_id = branch_id
        self.query_one(BranchTree).select_branch(branch_id)
        self._open_branch(branch_id, key)
        self._update_status()

    def jump_to(self, position: int, *, context: int = 3) -> None:
        """Move the cursor to ``position`` with rows of context around it (a jump, not a step)."""
        view = self.query_one(TimelineView)
        view.move_cursor(position, context=context)
        view.focus()
        if self.follow.navigated(view.cursor, view.row_count):
            self._update_status()

    # ------------------------------------------------------------------ status

    def _update_status(self) -> None:
        view = self.query_one(TimelineView)
        branch = None
        if self.branch_id is not None:
            info = self.detail.branch(self.branch_id) if self.detail else None
            branch = info.name if info else self.branch_id
        status = Status(
            branch=branch, cursor=view.cursor, rows=view.row_count, kinds=self.kinds,
            follow=self.follow.state.value, query=self.search.query, filtering=self.search.filtering,
            searching=self.search.searching,
            match=self.search.ordinal(view.cursor), busy=self.busy_note if self.busy else "", problem=self.problem,
            offset=view.cell_offset, wrap=view.row_height > 1, zoom=self.zoomed,
        )
        self.query_one("#sd-status", Static).update(status_text(status), layout=False)

    def search_changed(self) -> None:
        """The search's query, matches or progress changed (called by the search controller)."""
        self.query_one(TimelineView).set_search(self.search.marks())
        self._update_status()

    # ------------------------------------------------------------------ journal changes

    def on_journal_changed(self, _message: JournalChanged) -> None:
        if self.detail is None or self._loading:
            if not self._loading:
                self._load()
            return
        self._refresh()
