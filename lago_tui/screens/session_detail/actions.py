"""What the detail screen's keys do (its bindings are on the screen, their actions here).

The state these act on (follow, search, jumps, zoom, the split) lives in the screen and its
controllers; each action is short and says what a user sees happen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Input, Static

from ...clipboard import copy_for_user
from ...safe import one_line, safe_text
from ...widgets.branch_tree import BranchTree
from ...widgets.inspector import FullTextScreen, Inspector, full_text_of
from ...widgets.timeline import TimelineView
from .copying import COPY_FORMATS
from .jumps import BACK
from ...widgets.state_panel import StatePanel
from ..analysis_actions import AnalysisActions
from ..copy_export import Choice
from .modals import KeyPrompt, KindFilterScreen
from .runs import RunsScreen

if TYPE_CHECKING:
    from .screen import SessionDetailScreen

    _Base = SessionDetailScreen
else:
    _Base = object

__all__ = ["SPLIT_RANGE", "SPLIT_STEP", "VIEW_SCOPE", "ZOOMABLE", "DetailActions"]

VIEW_SCOPE = "timeline"  # the saved views this screen lists and saves

COPY_PREFIX = "event:"  # the copy menu's values for our own choices
SEQ_HINT = "jump to a seq: 120, or branch@120 (enter jumps, esc cancels)"
SEARCH_HINT = "search: words, or kind:tool status:error seq:100..200 -word … (enter finds, esc closes)"
FILTER_HINT = "filter: show only what matches, e.g. kind:tool -status:ok (enter filters, esc closes)"

ZOOMABLE = {"sd-tree": "tree", "sd-timeline": "timeline", "sd-inspector": "inspector", "sd-state": "inspector"}
SPLIT_STEP = 5  # percent (of the timeline and inspector's pane) per < or >
SPLIT_RANGE = (15, 80)  # the inspector's share stays within this
TREE_STEP = 4  # columns per < or > when the tree has the focus


class DetailActions(_Base):
    """The key actions of :class:`~lago_tui.screens.session_detail.screen.SessionDetailScreen`."""

    # ------------------------------------------------------------------ leaving, refreshing

    def action_back(self) -> None:
        """escape: close the search box, else clear the search, else unzoom, else go back to the list."""
        search = self.query_one("#sd-search", Input)
        if search.display:
            self._close_search()
            return
        if self.query_one("#seq-input").display:
            self._close_seq()
            return
        if self.end_selection():
            return
        if self.search.active:
            self.search.clear()
            return
        if self.zoomed is not None:
            self.action_zoom()
            return
        self.app.pop_screen()

    def action_leave(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.problem = ""
        if self.detail is None:
            self._load()
        else:
            row = self.highlighted()
            self._load(key=(row.ev.branch_id, row.ev.seq) if row is not None else None)

    # ------------------------------------------------------------------ search

    def action_search(self, filtering: bool | None = None) -> None:
        """/: the search box (with the current query); enter highlights the matches (or, in filter
        mode, shows only them)."""
        self._search_filtering = filtering
        search = self.query_one("#sd-search", Input)
        search.value = self.search.query
        search.placeholder = FILTER_HINT if (filtering or (filtering is None and self.search.filtering)) \
            else SEARCH_HINT
        search.display = True
        search.focus()

    def action_toggle_filter(self) -> None:
        """&: hide what does not match the search (again: show everything, the matches marked); with no
        search yet, the search box in filter mode."""
        if self.search.active:
            self.search.toggle_mode(self.cursor)
            self._update_status()
        else:
            self.action_search(filtering=True)

    def _close_search(self) -> None:
        search = self.query_one("#sd-search", Input)
        search.display = False
        self.query_one("#sd-search-problem").display = False
        self.query_one(TimelineView).focus()

    def action_next_match(self) -> None:
        if not self.search.active:
            # `n` means "new session" everywhere; here it is "next match" only once there is a search.
            self.app.action_new_session()  # type: ignore[attr-defined]
            return
        self.search.step(self.cursor, forward=True)

    def action_previous_match(self) -> None:
        if not self.search.active:
            self.notify("No search yet: press / to search", severity="warning")
            return
        self.search.step(self.cursor, forward=False)

    # ------------------------------------------------------------------ jumps

    def action_jump_to_seq(self) -> None:
        """:, then a seq (or branch@seq), typed on a line at the bottom; enter jumps."""
        if self.timeline is None:
            return
        hint = self.query_one("#seq-hint", Static)
        hint.update(SEQ_HINT)
        hint.remove_class("-error")
        box = self.query_one("#seq-input", Input)
        box.value = ""
        hint.display = box.display = True
        box.focus()

    def action_partner(self) -> None:
        self.jumps.partner()

    def action_next_error(self) -> None:
        self.jumps.step("error", forward=True)

    def action_previous_error(self) -> None:
        self.jumps.step("error", forward=False)

    def action_next_run(self) -> None:
        self.jumps.step("run", forward=True)

    def action_previous_run(self) -> None:
        self.jumps.step("run", forward=False)

    def action_set_mark(self) -> None:
        if self.highlighted() is None:
            return

        def chosen(letter: str | None) -> None:
            if letter:
                self.jumps.set_mark(letter)

        self.app.push_screen(KeyPrompt("set a mark: press a letter (esc cancels)"), chosen)

    def action_go_to_mark(self) -> None:
        marks = self.jumps.marks()
        letters = " ".join(sorted(k for k in marks if k != BACK))
        prompt = "go to mark: " + (letters if letters else "(none yet: m + a letter sets one)")
        if BACK in marks:
            prompt += "  · ' back to before the last jump"

        def chosen(letter: str | None) -> None:
            if letter:
                self.jumps.go_to_mark(letter)

        self.app.push_screen(KeyPrompt(prompt + " (esc cancels)", extra=BACK), chosen)

    def action_runs(self) -> None:
        """u: the runs of the branch shown, per run and per step; enter goes to one's start."""
        if self.detail is None or self.branch_id is None:
            self.notify("The session is still loading", severity="warning")
            return
        self.app.push_screen(RunsScreen(self.detail, self.branch_id), self.analysis_jump)

    # ------------------------------------------------------------------ saved views

    def action_views(self) -> None:
        """V: the saved timeline views; one applies its query here (as a search, or as the filter)."""
        from ..views_menu import ViewsMenuScreen, view_store

        store = view_store(self.app)
        if store is None:
            self.notify("Saved views are not available in this build", severity="warning")
            return
        self.app.push_screen(ViewsMenuScreen(store, VIEW_SCOPE, self.search.query), self._view_chosen)

    def _view_chosen(self, query: str | None) -> None:
        if query is None:
            return
        problem = self.search.submit(query, self.cursor)
        if problem is not None:
            self.notify(f"That view's query cannot be read here: {one_line(problem.message, 200)}", severity="error",
                        markup=False)

    def action_save_view(self) -> None:
        """ctrl+s: name the current search (or filter) so that V or the palette applies it again."""
        from ..views_menu import SaveViewScreen, view_store

        store = view_store(self.app)
        if store is None:
            self.notify("Saved views are not available in this build", severity="warning")
            return
        query = self.search.query or self.query_one("#sd-search", Input).value.strip()
        if not query:
            self.notify("Nothing to save: search first (/ or &)", severity="warning")
            return
        self.app.push_screen(SaveViewScreen(store, VIEW_SCOPE, query), lambda name: self._load_views())

    # ------------------------------------------------------------------ the session (and its branches)

    def action_rename(self) -> None:
        """R: rename the session, or the branch under the tree's cursor when the tree has the focus."""
        if self.detail is None:
            self.notify("The session is still loading", severity="warning")
            return
        tree = self.query_one(BranchTree)
        if tree.has_focus and tree.cursor_node is not None and tree.cursor_node.data is not None:
            branch = self.detail.branch(tree.cursor_node.data)
            if branch is not None:
                if branch.parent_branch_id is None:
                    self.notify("The main branch keeps its name; rename the session with R in the timeline",
                                severity="warning")
                    return
                from .branch_rename import RenameBranchScreen

                self.app.push_screen(RenameBranchScreen(self.detail.summary, branch, self.detail.branches),
                                     self._managed)
                return
        from ..manage import RenameSessionScreen

        self.app.push_screen(RenameSessionScreen(self.detail.summary), self._managed)

    def action_close_session(self) -> None:
        """C: close the session (it appends SessionClosed, after a confirmation)."""
        if self.detail is None:
            return
        from ..manage import CloseSessionScreen

        self.app.push_screen(CloseSessionScreen(self.detail.summary), self._managed)

    def action_delete_session(self) -> None:
        """D: delete the session (after typing its name); back to the list when it is gone."""
        if self.detail is None:
            return
        from ..manage import DeleteSessionScreen

        self.app.push_screen(DeleteSessionScreen(self.detail.summary), self._deleted)

    def _managed(self, changed: object) -> None:
        if changed:
            self.action_refresh()

    def _deleted(self, deleted: object) -> None:
        if deleted and self.alive:
            self.app.pop_screen()

    # ------------------------------------------------------------------ panes

    def action_zoom(self) -> None:
        """z: the focused pane gets the whole screen; z (or escape) again gives the others back."""
        if self.zoomed is None:
            focused = self.focused
            pane = ZOOMABLE.get(focused.id or "") if focused is not None else None
            self.zoomed = pane or "timeline"
        else:
            self.zoomed = None
        for pane in ZOOMABLE.values():
            self.set_class(self.zoomed == pane, f"-zoom-{pane}")
        if self.zoomed == "inspector" and not self.query_one("#sd-state").display:
            inspector = self.query_one(Inspector)
            inspector.display = True
            inspector.focus()
        self._layout(self.app.size.width)
        self._update_status()

    def action_split(self, direction: int) -> None:
        """``<`` (-1) / ``>`` (+1): the tree narrower / wider when it has the focus, else the timeline
        smaller / larger (the inspector takes or gives the difference)."""
        if self.zoomed is not None:
            return
        if self.query_one(BranchTree).has_focus:
            self.tree_extra += direction * TREE_STEP
        else:
            low, high = SPLIT_RANGE
            share = self.inspector_share if self.inspector_share is not None else self.default_inspector_share()
            self.inspector_share = max(low, min(high, share - direction * SPLIT_STEP))
        self._layout(self.app.size.width)

    def action_toggle_inspector(self) -> None:
        inspector = self.query_one(Inspector)
        inspector.display = not inspector.display
        if not inspector.display and inspector.has_focus:
            self.query_one(TimelineView).focus()
        self._sync_side()

    def action_toggle_state(self) -> None:
        """s: the state at the highlighted event, under the inspector (the analysis view's panel)."""
        AnalysisActions.action_toggle_state(self)
        self._sync_side()

    def _sync_side(self) -> None:
        """The side pane shows while the inspector or the state panel does; else the timeline takes it."""
        side = self.query_one("#sd-side")
        side.display = self.query_one(Inspector).display or self.query_one(StatePanel).display

    # ------------------------------------------------------------------ filters and modes

    def action_kind_filter(self) -> None:
        self.app.push_screen(KindFilterScreen(self.kinds), self._kinds_chosen)

    def _kinds_chosen(self, kinds: tuple[str, ...] | None) -> None:
        if kinds is None:
            return
        self.kinds = kinds or None
        if self.detail is not None and self.branch_id is not None:
            row = self.highlighted()
            self._open_branch(self.branch_id, (row.ev.branch_id, row.ev.seq) if row is not None else None)
        self._update_status()

    def action_toggle_follow(self) -> None:
        state = self.follow.toggle()
        view = self.query_one(TimelineView)
        if self.follow.tracking:
            self.notify("Following new events (move away to pause, G or f to resume)", timeout=2)
            if view.row_count:
                view.move_cursor(view.row_count - 1)
            if view.source is not None:
                view.reload(keep=False)
        elif state.value == "off":
            self.notify("Follow off", timeout=2)
        self._update_status()

    # ------------------------------------------------------------------ the event

    def action_show_full(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        ev = row.ev
        title = Text(f"seq {ev.seq} ")
        title.append_text(safe_text(ev.kind, "bold", single_line=True, width=40))
        title.append("  (esc/q to close)", "dim")
        self.app.push_screen(FullTextScreen(title, full_text_of(ev)))

    def action_copy_menu(self) -> None:
        """y: the event's payload, text or whole envelope (ours), then the event, selection or branch as
        context (the analysis formats)."""
        self.open_copy_menu(self.copy_choices())

    def copy_choices(self) -> list[Choice]:
        """The copy menu's choices about the highlighted event (those it has something for)."""
        if self.selection() is not None:
            return []  # a selection copies as context
        return [Choice(fmt.key, fmt.label, f"{COPY_PREFIX}{fmt.key}", "the event")
                for fmt in COPY_FORMATS if fmt.render(self) is not None]

    def copy_choice(self, value: str) -> None:
        """A choice of :meth:`copy_choices` was picked."""
        key = value.removeprefix(COPY_PREFIX)
        fmt = next((f for f in COPY_FORMATS if f.key == key), None)
        found = fmt.render(self) if fmt is not None else None
        if found is None:
            return
        text, what = found
        copy_for_user(self, text, f"{what} ({len(text):,} characters)")

    def action_new_branch(self) -> None:
        if self.detail is None or self.branch_id is None:
            self.notify("The session is still loading", severity="warning")
            return
        from ..create_branch import CreateBranchScreen

        row = self.highlighted()
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
        self._load()
        note: Any = getattr(self.app, "note_own_write", None)
        if callable(note):
            note()
