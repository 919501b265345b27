"""One session: header, branch tree, the selected branch's timeline and an event inspector.

Every journal call runs in a thread worker; the timeline only ever fetches windows (see
:class:`~lago_tui.widgets.virtual_list.VirtualTable`), so a million-event branch opens as fast as
a ten-event one. Journal strings reach widgets only through :mod:`lago_tui.safe`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from ...journal import JournalBusy, JournalError, NotFound, SessionDetail, TimelineAPI
from ...messages import JournalChanged
from ...safe import one_line, safe_text
from ...summary import FAMILIES, duration, timestamp, tokens
from ...widgets.branch_tree import BranchTree
from ...widgets.inspector import FullTextScreen, Inspector, full_text_of
from ...widgets.timeline import TimelineRow, TimelineSource, TimelineView
from ...widgets.virtual_list import VirtualTable

from .modals import KindFilterScreen

__all__ = ["SessionDetailScreen"]

NARROW = 120  # below this width: stacked layout (tree, timeline, inspector)
WIDE = 160  # from this width: tree | timeline | inspector; between: tree | (timeline over inspector)
BUSY_RETRY = 1.0  # seconds


class SessionDetailScreen(Screen[None]):
    """A session's branches, timeline and events."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "next_match", "Next match / new session", show=False),
        Binding("N", "previous_match", "Prev", show=False),
        Binding("t", "kind_filter", "Kinds"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("o", "show_full", "Full text"),
        Binding("y", "copy_event", "Copy JSON"),
        Binding("b", "new_branch", "Branch"),
        Binding("i", "toggle_inspector", "Inspector"),
    ]

    def __init__(self, session_id: str, *, branch_id: str | None = None) -> None:
        super().__init__()
        self.session_id = session_id
        self.branch_id: str | None = branch_id
        self.detail: SessionDetail | None = None
        self.timeline: TimelineAPI | None = None
        self.kinds: tuple[str, ...] | None = None
        self.following = False
        self.search_text = ""
        self.searching = False
        self.busy = False
        self._pending_cursor: tuple[str, int] | None = None
        self._timeline_epoch = 0

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(Text("Loading session…", "dim"), id="sd-header")
        with Horizontal(id="sd-body"):
            tree = BranchTree(id="sd-tree")
            tree.border_title = "branches"
            yield tree
            with Container(id="sd-main"):
                timeline = TimelineView(id="sd-timeline")
                timeline.border_title = "timeline"
                yield timeline
                inspector = Inspector(id="sd-inspector")
                inspector.border_title = "event"
                yield inspector
        search = Input(placeholder="search this branch (enter: find, esc: close)", id="sd-search")
        search.display = False
        yield search
        yield Static("", id="sd-status")
        yield Footer()

    def on_mount(self) -> None:
        self._apply_layout(self.app.size.width)
        self.query_one(TimelineView).focus()
        self._load(select=self.branch_id, initial=True)

    def on_resize(self, event: Resize) -> None:
        self._apply_layout(event.size.width)
        self._render_header()

    def _apply_layout(self, width: int) -> None:
        self.set_class(width < NARROW, "-narrow")
        self.set_class(width >= WIDE, "-wide")

    # ------------------------------------------------------------------ loading

    def _load(self, *, select: str | None = None, initial: bool = False) -> None:
        self.run_worker(
            lambda: self._load_worker(select, initial),
            thread=True, group="sd-load", exclusive=True, exit_on_error=False,
        )

    def _load_worker(self, select: str | None, initial: bool) -> None:
        worker = get_current_worker()
        try:
            detail = self.app.journal.session(self.session_id)
        except JournalBusy:
            self.app.call_from_thread(self._busy, lambda: self._load(select=select, initial=initial))
            return
        except NotFound as err:
            self.app.call_from_thread(self._not_found, err)
            return
        except JournalError as err:
            self.app.call_from_thread(self.app.show_journal_error, err)
            return
        if worker.is_cancelled:
            return
        self.app.call_from_thread(self._detail_loaded, detail, select, initial)

    def _busy(self, retry: Any) -> None:
        self.busy = True
        self._update_status()
        self.set_timer(BUSY_RETRY, retry)

    def _not_found(self, err: JournalError) -> None:
        self.query_one("#sd-header", Static).update(safe_text(str(err)))
        self.notify(one_line(str(err), 300), severity="error", markup=False)

    def _detail_loaded(self, detail: SessionDetail, select: str | None, initial: bool) -> None:
        self.busy = False
        self.detail = detail
        self.session_id = detail.summary.session_id
        ids = {b.branch_id for b in detail.branches}
        wanted = select or self.branch_id
        if wanted is not None and wanted not in ids:
            found = detail.branch(wanted)
            wanted = found.branch_id if found else None
        if wanted is None:
            wanted = "main" if "main" in ids else (detail.branches[0].branch_id if detail.branches else None)
        shown = self.timeline
        changed = shown is None or shown.branch_id != wanted or shown.kinds != (
            tuple(sorted(set(self.kinds))) if self.kinds else None)
        self.branch_id = wanted
        self._render_header()
        tree = self.query_one(BranchTree)
        tree.set_branches(detail.branches, wanted)
        self.query_one(TimelineView).branch_names = {b.branch_id: b.name for b in detail.branches}
        if wanted is None:
            self._update_status()
            return
        if changed:
            self._open_timeline()
        else:
            self._reload_timeline()
        self._update_status()

    def _render_header(self) -> None:
        detail = self.detail
        if detail is None:
            return
        s, t = detail.summary, detail.totals
        head = Text()
        head.append_text(safe_text(s.name, "bold", single_line=True, width=60))
        head.append("  ")
        head.append_text(safe_text(s.session_id, "dim", single_line=True, width=40))
        if s.model:
            head.append("  ")
            head.append_text(safe_text(s.model, "italic", single_line=True, width=40))
        if s.params:
            params = " ".join(f"{k}={v}" for k, v in s.params.items())
            head.append("  ")
            head.append_text(safe_text(params, "dim", single_line=True, width=120))
        line2 = Text()
        line2.append(f"created {timestamp(s.created_at)}  ")
        line2.append("closed" if s.closed else "open", "bold" if not s.closed else "dim")
        line2.append(
            f"  events {t.events:,}  tokens {tokens(t.tokens_in)} in / {tokens(t.tokens_out)} out"
            f"  tools {t.tool_calls}  "
        )
        line2.append(f"failures {t.failures}", "bold" if t.failures else "")
        line2.append(f"  wall {duration(t.wall_time_us / 1000)}  branches {len(detail.branches)}")
        for part in (head, line2):
            part.truncate(max(20, self.size.width - 2), overflow="ellipsis")
        both = Text("\n").join([head, line2])
        both.no_wrap = True
        both.overflow = "ellipsis"
        self.query_one("#sd-header", Static).update(both)

    # ------------------------------------------------------------------ timeline

    def _open_timeline(self, key: tuple[str, int] | None = None) -> None:
        """Build a new Timeline (branch or kind filter changed) in a worker, then show it."""
        assert self.detail is not None and self.branch_id is not None
        detail, branch_id, kinds = self.detail, self.branch_id, self.kinds
        self._timeline_epoch += 1
        epoch = self._timeline_epoch
        view = self.query_one(TimelineView)
        view.border_title = Text("timeline · ") + self._branch_name_text(branch_id)

        def build() -> None:
            try:
                timeline = self.app.journal.timeline(detail.summary.session_id, branch_id, kinds, detail=detail)
            except JournalBusy:
                self.app.call_from_thread(self._busy, lambda: self._open_timeline(key))
                return
            except JournalError as err:
                self.app.call_from_thread(self.app.show_journal_error, err)
                return
            self.app.call_from_thread(self._timeline_built, epoch, timeline, key)

        self.run_worker(build, thread=True, group="sd-timeline", exclusive=True, exit_on_error=False)

    def _timeline_built(self, epoch: int, timeline: TimelineAPI, key: tuple[str, int] | None) -> None:
        if epoch != self._timeline_epoch:
            return
        self.busy = False
        self.timeline = timeline
        view = self.query_one(TimelineView)
        view.set_source(TimelineSource(timeline), key=key)
        self._update_status()

    def _reload_timeline(self) -> None:
        view = self.query_one(TimelineView)
        if view.source is not None:
            view.reload(keep=not self.following)

    def _branch_name_text(self, branch_id: str) -> Text:
        detail = self.detail
        info = detail.branch(branch_id) if detail else None
        return safe_text(info.name if info else branch_id, single_line=True, width=40)

    @on(VirtualTable.Loaded, "#sd-timeline")
    def _timeline_loaded(self, event: VirtualTable.Loaded) -> None:
        view = self.query_one(TimelineView)
        if self.following and event.count:
            view.move_cursor(event.count - 1)
        row = view.highlighted_row
        if row is not None:  # a new source may put an equal key at the same index: no RowHighlighted then
            self._show_row(row)
        if event.count == 0:
            self.query_one(Inspector).show_placeholder("No events" + (" of these kinds." if self.kinds else "."))
        self._update_status()

    @on(VirtualTable.SourceError, "#sd-timeline")
    def _timeline_error(self, event: VirtualTable.SourceError) -> None:
        err = event.error
        if isinstance(err, JournalBusy):
            self._busy(self._reload_timeline)
        elif isinstance(err, JournalError):
            self.app.show_journal_error(err)
        else:
            self.notify(one_line(f"{type(err).__name__}: {err}", 300), severity="error", title="timeline", markup=False)

    @on(VirtualTable.RowHighlighted, "#sd-timeline")
    def _row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        inspector = self.query_one(Inspector)
        row: TimelineRow | None = event.row
        if row is None:
            if event.index >= 0:
                inspector.show_placeholder("loading…")
            return
        self._show_row(row)

    def _show_row(self, row: TimelineRow) -> None:
        inspector = self.query_one(Inspector)
        note = None
        view = self.query_one(TimelineView)
        if row.ev.inherited:
            note = "inherited from " + view.branch_names.get(row.ev.branch_id, row.ev.branch_id)
        fork = view.fork_description(row, self.timeline)
        if fork:
            note = (note + " · " if note else "") + fork
        # notes contain branch names (journal text): show_event passes them through safe_text
        inspector.show_event(row.ev, note)
        self._update_status()

    @on(VirtualTable.RowSelected, "#sd-timeline")
    def _row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.action_show_full()

    @on(BranchTree.BranchChosen)
    def _branch_chosen(self, event: BranchTree.BranchChosen) -> None:
        self.select_branch(event.branch_id)

    def select_branch(self, branch_id: str) -> None:
        if self.detail is None:
            return
        self.branch_id = branch_id
        self.query_one(BranchTree).select_branch(branch_id)
        self._open_timeline()
        self._update_status()

    # ------------------------------------------------------------------ status

    def _update_status(self) -> None:
        view = self.query_one(TimelineView)
        status = Text()
        if self.branch_id is not None:
            status.append("branch ")
            status.append_text(self._branch_name_text(self.branch_id))
        if view.row_count:
            status.append(f"  {view.cursor + 1:,}/{view.row_count:,}")
        status.append("  kinds: ", "dim")
        status.append("all" if not self.kinds else ", ".join(self._families_of(self.kinds)))
        if self.following:
            status.append("  FOLLOW", "bold reverse")
        if self.searching:
            status.append("  searching…", "italic")
        elif self.search_text:
            status.append("  /", "dim")
            status.append_text(safe_text(self.search_text, single_line=True, width=30))
        if self.busy:
            status.append("  journal busy, retrying…", "bold")
        status.no_wrap = True
        status.overflow = "ellipsis"
        self.query_one("#sd-status", Static).update(status)

    @staticmethod
    def _families_of(kinds: tuple[str, ...]) -> list[str]:
        chosen = set(kinds)
        fams = [fam for fam, members in FAMILIES.items() if set(members) <= chosen]
        covered = {k for fam in fams for k in FAMILIES[fam]}
        return fams + sorted(chosen - covered)

    # ------------------------------------------------------------------ journal changes

    def on_journal_changed(self, _message: JournalChanged) -> None:
        if self.detail is None:
            self._load(select=self.branch_id)
            return
        self._load()

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        search = self.query_one("#sd-search", Input)
        if search.display:
            self._close_search()
            return
        self.app.pop_screen()

    def action_search(self) -> None:
        search = self.query_one("#sd-search", Input)
        search.display = True
        search.focus()

    def _close_search(self) -> None:
        search = self.query_one("#sd-search", Input)
        search.display = False
        self.query_one(TimelineView).focus()

    @on(Input.Submitted, "#sd-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_text = event.value
        self._close_search()
        if self.search_text:
            view = self.query_one(TimelineView)
            self._find(max(0, view.cursor), forward=True)

    def action_next_match(self) -> None:
        view = self.query_one(TimelineView)
        if not self.search_text:
            # `n` means "new session" everywhere; here it is "next match" only once there is a search.
            self.app.action_new_session()  # type: ignore[attr-defined]
            return
        self._find(view.cursor + 1, forward=True)

    def action_previous_match(self) -> None:
        view = self.query_one(TimelineView)
        if not self.search_text:
            self.notify("No search yet: press / to search", severity="warning")
            return
        self._find(view.cursor - 1, forward=False)

    def _find(self, start: int, *, forward: bool) -> None:
        timeline, text = self.timeline, self.search_text
        if timeline is None:
            return
        self.searching = True
        self._update_status()

        def run() -> None:
            worker = get_current_worker()
            wrapped = False
            try:
                length = timeline.length
                pos = None
                if (forward and start < length) or (not forward and start >= 0):
                    pos = timeline.find(text, start, forward=forward)
                if pos is None and length:
                    wrapped = True
                    pos = timeline.find(text, 0 if forward else length - 1, forward=forward)
            except JournalBusy:
                self.app.call_from_thread(self._search_done, None, False, "journal busy, try again")
                return
            except JournalError as err:
                self.app.call_from_thread(self._search_done, None, False, str(err))
                return
            if not worker.is_cancelled:
                self.app.call_from_thread(self._search_done, pos, wrapped, None)

        self.run_worker(run, thread=True, group="sd-search", exclusive=True, exit_on_error=False)

    def _search_done(self, pos: int | None, wrapped: bool, error: str | None) -> None:
        self.searching = False
        self._update_status()
        if error is not None:
            self.notify(one_line(error, 300), severity="error", title="search", markup=False)
            return
        if pos is None:
            self.notify("No match for " + one_line(self.search_text, 60), severity="warning", markup=False)
            return
        view = self.query_one(TimelineView)
        if wrapped:
            self.notify("Search wrapped around", timeout=2)
        view.move_cursor(pos)
        view.focus()

    def action_kind_filter(self) -> None:
        self.app.push_screen(KindFilterScreen(self.kinds), self._kinds_chosen)

    def _kinds_chosen(self, kinds: tuple[str, ...] | None) -> None:
        if kinds is None:
            return
        self.kinds = kinds or None
        if self.detail is not None and self.branch_id is not None:
            self._open_timeline()
        self._update_status()

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        view = self.query_one(TimelineView)
        if self.following:
            self.notify("Following new events", timeout=2)
            if view.source is not None:
                view.reload(keep=False)
        self._update_status()

    def action_toggle_inspector(self) -> None:
        inspector = self.query_one(Inspector)
        inspector.display = not inspector.display
        if not inspector.display and inspector.has_focus:
            self.query_one(TimelineView).focus()

    def _highlighted(self) -> TimelineRow | None:
        return self.query_one(TimelineView).highlighted_row

    def action_show_full(self) -> None:
        row = self._highlighted()
        if row is None:
            return
        ev = row.ev
        title = Text(f"seq {ev.seq} ")
        title.append_text(safe_text(ev.kind, "bold", single_line=True, width=40))
        title.append("  (esc/q to close)", "dim")
        self.app.push_screen(FullTextScreen(title, full_text_of(ev)))

    def action_copy_event(self) -> None:
        row = self._highlighted()
        if row is None:
            self.notify("No event to copy", severity="warning")
            return
        self.app.copy_to_clipboard(json.dumps(row.ev.to_wire(), ensure_ascii=False))
        self.notify(f"Copied event seq {row.ev.seq} as JSON", timeout=2)

    def action_new_branch(self) -> None:
        if self.detail is None or self.branch_id is None:
            self.notify("The session is still loading", severity="warning")
            return
        try:
            from ..create_branch import CreateBranchScreen
        except ImportError:
            self.notify("Creating branches is not available in this build", severity="error")
            return
        row = self._highlighted()
        if row is not None:
            parent, fork = row.ev.branch_id, row.ev.seq
        else:
            info = self.detail.branch(self.branch_id)
            parent, fork = self.branch_id, (info.head_seq if info else 0)
        self.app.push_screen(
            CreateBranchScreen(
                session_id=self.session_id, branches=self.detail.branches,
                parent_branch_id=parent, fork_point_seq=fork,
            ),
            self._branch_created,
        )

    def _branch_created(self, branch_id: str | None) -> None:
        if not branch_id:
            return
        self.branch_id = branch_id
        self._load(select=branch_id)
        note = getattr(self.app, "note_own_write", None)
        if callable(note):
            note()
