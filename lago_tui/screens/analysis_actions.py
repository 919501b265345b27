"""The analysis keys of the session detail screen (issue 10), as a mixin the screen inherits.

``s`` state panel at the highlighted event · ``d`` compare with another branch · ``L`` lane graph ·
``!`` integrity problems · ``v`` select a range · ``y`` copy menu (with the screen's own copy choices) ·
``W`` save to a file. The screen provides what the mixin reads and calls:

* ``detail``, ``timeline``, ``branch_id``: the session, the timeline shown and its branch;
* ``_highlighted()``: the highlighted :class:`~lago_tui.widgets.timeline.TimelineRow` (or None);
* ``_open_branch(branch_id, key)``: show a branch's timeline with the cursor on ``key`` (branch, seq);
* ``jump_to(position)``: move the timeline's cursor (a jump);
* ``_render_header()``: redraw the header (it shows :meth:`problem_badge`);
* ``copy_choices()`` (optional): the screen's own copy choices, handled by ``copy_choice(value)``.

and calls back :meth:`analysis_row_shown` when the highlighted row changes, :meth:`refresh_problem_count`
when the session (re)loads. Every journal read runs in a thread worker.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ..exporting import Part
from ..journal import JournalBusy, JournalError
from ..safe import safe_text
from ..widgets.state_panel import StatePanel
from ..widgets.timeline import TimelineView
from .compare import CompareScreen, JumpTo, default_other_branch
from .copy_export import (
    Choice,
    ChoiceMenuScreen,
    SaveOffer,
    SaveScreen,
    context_choices,
    copy_part,
    parse_context_choice,
)
from .lane_graph import LaneGraphScreen
from .problems import ProblemsScreen

__all__ = ["ANALYSIS_BINDINGS", "AnalysisActions"]

# (key, action, description, shown in the footer)
ANALYSIS_BINDINGS = (
    ("s", "toggle_state", "State", True),
    ("d", "compare", "Compare", True),
    ("L", "lane_graph", "Lanes", False),
    ("exclamation_mark", "problems", "Problems", False),
    ("v", "select_range", "Select range", False),
    ("W", "save_to_file", "Save to file", False),
)


class AnalysisActions:
    """Mixin for the session detail screen; see the module docstring."""

    selection_anchor: int | None = None  # timeline position where ``v`` started a selection
    problem_count: int | None = None  # of the session, once checked
    _problems_checked_for: str | None = None

    # ------------------------------------------------------------------ state panel

    def _state_panel(self) -> StatePanel:
        return self.query_one(StatePanel)  # type: ignore[attr-defined]

    def action_toggle_state(self) -> None:
        panel = self._state_panel()
        panel.display = not panel.display
        if panel.display:
            row = self._highlighted()  # type: ignore[attr-defined]
            if row is not None:
                self.analysis_row_shown(row)
            else:
                panel.show_placeholder("No event highlighted.")
        elif panel.has_focus:
            self.query_one(TimelineView).focus()  # type: ignore[attr-defined]

    def analysis_row_shown(self, row: Any) -> None:
        """The highlighted row changed: the state panel follows it, the selection grows with it."""
        panel = self._state_panel()
        if panel.display:
            detail = self.detail  # type: ignore[attr-defined]
            info = detail.branch(row.ev.branch_id) if detail is not None else None
            panel.show_at(row.ev.session_id, row.ev.branch_id, row.ev.seq,
                          branch_name=info.name if info else row.ev.branch_id)
        if self.selection_anchor is not None:
            self._show_selection()

    # ------------------------------------------------------------------ compare, lanes, problems

    def action_compare(self) -> None:
        detail, branch_id = self.detail, self.branch_id  # type: ignore[attr-defined]
        if detail is None or branch_id is None:
            self.notify("The session is still loading", severity="warning")  # type: ignore[attr-defined]
            return
        if default_other_branch(detail, branch_id) is None:
            self.notify("This session has only one branch: nothing to compare", severity="warning")  # type: ignore[attr-defined]
            return
        self.app.push_screen(CompareScreen(detail, branch_id), self.analysis_jump)  # type: ignore[attr-defined]

    def action_lane_graph(self) -> None:
        detail = self.detail  # type: ignore[attr-defined]
        if detail is None:
            self.notify("The session is still loading", severity="warning")  # type: ignore[attr-defined]
            return
        self.app.push_screen(LaneGraphScreen(detail, self.branch_id), self.analysis_jump)  # type: ignore[attr-defined]

    def action_problems(self) -> None:
        detail = self.detail  # type: ignore[attr-defined]
        if detail is None:
            self.notify("The session is still loading", severity="warning")  # type: ignore[attr-defined]
            return
        self.app.push_screen(ProblemsScreen(detail), self.analysis_jump)  # type: ignore[attr-defined]

    def analysis_jump(self, jump: JumpTo | None) -> None:
        """Go where a compare, lane graph or problems screen sent us."""
        if jump is None or self.detail is None:  # type: ignore[attr-defined]
            return
        key = (jump.branch_id, jump.seq)
        self.end_selection()
        timeline = self.timeline  # type: ignore[attr-defined]
        if jump.timeline_branch_id == self.branch_id and timeline is not None:  # type: ignore[attr-defined]
            position = timeline.position_of(*key)
            if position is not None:
                self.jump_to(position)  # type: ignore[attr-defined]
                return
        self.branch_id = jump.timeline_branch_id  # type: ignore[attr-defined]
        from ..widgets.branch_tree import BranchTree

        self.query_one(BranchTree).select_branch(jump.timeline_branch_id)  # type: ignore[attr-defined]
        self._open_branch(jump.timeline_branch_id, key)  # type: ignore[attr-defined]
        self.query_one(TimelineView).focus()  # type: ignore[attr-defined]

    def refresh_problem_count(self) -> None:
        """Count the session's problems in a worker; the header shows the count when it arrives."""
        detail = self.detail  # type: ignore[attr-defined]
        if detail is None:
            return
        session_id = detail.summary.session_id
        journal = self.app.journal  # type: ignore[attr-defined]

        def work() -> None:
            try:
                count = len(journal.problems(session_id))
            except (JournalBusy, JournalError):
                return  # the header simply shows no count; the next load tries again
            self.app.call_from_thread(self._problems_counted, session_id, count)  # type: ignore[attr-defined]

        self.run_worker(work, thread=True, group="sd-problems", exclusive=True, exit_on_error=False)  # type: ignore[attr-defined]

    def _problems_counted(self, session_id: str, count: int) -> None:
        detail = self.detail  # type: ignore[attr-defined]
        if detail is None or detail.summary.session_id != session_id:
            return
        changed = count != self.problem_count
        self.problem_count = count
        if changed:
            self._render_header()  # type: ignore[attr-defined]

    def problem_badge(self) -> Text:
        """"  problems N (!)" for the header, or nothing before the check has run."""
        if self.problem_count is None:
            return Text("")
        if self.problem_count == 0:
            return Text("  no problems", "dim")
        text = Text("  ")
        text.append(f"problems {self.problem_count:,}", "bold reverse")
        text.append(" (!)", "dim")
        return text

    # ------------------------------------------------------------------ selection

    def action_select_range(self) -> None:
        view = self.query_one(TimelineView)  # type: ignore[attr-defined]
        if self.selection_anchor is not None:
            self.end_selection()
            return
        if not view.row_count:
            return
        self.selection_anchor = view.cursor
        self._show_selection()
        self.notify("Selecting: move to extend, y copies, W saves, v or esc ends", timeout=3)  # type: ignore[attr-defined]

    def selection(self) -> tuple[int, int] | None:
        """(first, last) timeline positions selected, or None."""
        if self.selection_anchor is None:
            return None
        cursor = self.query_one(TimelineView).cursor  # type: ignore[attr-defined]
        return min(self.selection_anchor, cursor), max(self.selection_anchor, cursor)

    def end_selection(self) -> bool:
        """End the selection; True if there was one (escape clears it before going back). Not named
        clear_selection: that is Textual's Screen method for text selections, called on every escape."""
        if self.selection_anchor is None:
            return False
        self.selection_anchor = None
        self._show_selection()
        return True

    def _show_selection(self) -> None:
        view = self.query_one(TimelineView)  # type: ignore[attr-defined]
        setter = getattr(view, "set_selection", None)
        if callable(setter):
            setter(self.selection())

    # ------------------------------------------------------------------ copy and save

    def _parts(self) -> tuple[Part | None, Part | None, str]:
        """(the selection or highlighted event, the branch, a label for the first)."""
        detail, timeline, branch_id = self.detail, self.timeline, self.branch_id  # type: ignore[attr-defined]
        if detail is None or branch_id is None:
            return None, None, ""
        info = detail.branch(branch_id)
        title = f"{detail.summary.name} · {info.name if info else branch_id}"
        session_id = detail.summary.session_id
        branch = Part("branch", session_id, branch_id, title=title)
        chosen = self.selection()
        if chosen is not None:
            first, last = chosen
            n = last - first + 1
            return Part("range", session_id, branch_id, first, last, title), branch, \
                f"selection ({n:,} event{'s' if n != 1 else ''})"
        if timeline is not None and self._highlighted() is not None:  # type: ignore[attr-defined]
            cursor = self.query_one(TimelineView).cursor  # type: ignore[attr-defined]
            return Part("event", session_id, branch_id, cursor, cursor, title), branch, "event"
        return None, branch, ""

    def analysis_copy_choices(self) -> list[Choice]:
        part, branch, label = self._parts()
        if part is None and branch is None:
            return []
        return context_choices(label, has_branch=branch is not None) if part is not None else \
            [c for c in context_choices("event") if c.value.startswith("branch:")]

    def open_copy_menu(self, own: list[Choice] | None = None) -> None:
        """The ``y`` menu: the screen's own choices (``own``) then the context ones."""
        choices = list(own or []) + self.analysis_copy_choices()
        if not choices:
            self.notify("Nothing to copy yet", severity="warning")  # type: ignore[attr-defined]
            return
        self.app.push_screen(ChoiceMenuScreen("Copy", choices), self._copy_chosen)  # type: ignore[attr-defined]

    def _copy_chosen(self, value: str | None) -> None:
        if value is None:
            return
        parsed = parse_context_choice(value)
        if parsed is None:
            handler = getattr(self, "copy_choice", None)
            if callable(handler):
                handler(value)
            return
        scope, fmt = parsed
        part, branch, _ = self._parts()
        chosen = part if scope == "part" else branch
        if chosen is None:
            return
        names = {b.branch_id: b.name for b in self.detail.branches}  # type: ignore[attr-defined]
        copy_part(self, self.timeline, chosen, fmt, names)  # type: ignore[arg-type, attr-defined]

    def action_save_to_file(self) -> None:
        detail, branch_id = self.detail, self.branch_id  # type: ignore[attr-defined]
        part, branch, label = self._parts()
        if detail is None or branch_id is None or branch is None:
            self.notify("The session is still loading", severity="warning")  # type: ignore[attr-defined]
            return
        info = detail.branch(branch_id)
        name = info.name if info else branch_id
        offers = ([SaveOffer(part, label)] if part is not None else []) + [
            SaveOffer(branch, Text("branch ") + safe_text(name, single_line=True, width=30)),
            SaveOffer(Part("session", detail.summary.session_id, branch_id), "session (every branch)"),
        ]
        names = {b.branch_id: b.name for b in detail.branches}
        self.app.push_screen(SaveScreen(offers, self.timeline, session_name=detail.summary.name,  # type: ignore[attr-defined]
                                        branch_name=name, branch_names=names))
