"""Renaming a branch (``R`` with the branch tree focused): the session dialogs' form, for one branch.

Names follow the branch form's rules (a clean line, unique in the session, not "main"); the journal
checks them again (another process may have taken the name meanwhile) and its refusal is shown in the
dialog, with nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Label

from ...journal import BranchInfo, SessionSummary
from ...safe import one_line, safe_content
from .. import create_session
from ..create_session import FORMS_CSS, CleanInput, FieldError
from ..manage import ManageScreen

__all__ = ["RenameBranchScreen", "branch_name_problem"]

NAME_MAX = 100


def branch_name_problem(name: str, branch: BranchInfo, others: tuple[BranchInfo, ...]) -> str | None:
    """Why ``name`` cannot be ``branch``'s new name, or None."""
    if not name.strip():
        return "a branch needs a name"
    if name != name.strip():
        return "a name must not start or end with spaces"
    if len(name) > NAME_MAX:
        return f"too long ({len(name)} > {NAME_MAX} characters)"
    if name == branch.name:
        return "That is its name already."
    if name == "main" or any(b.name == name for b in others if b.branch_id != branch.branch_id):
        return f"a branch named {one_line(name, 40)} already exists in this session"
    return None


class RenameBranchScreen(ManageScreen):
    """A new name for one branch of a session."""

    CSS_PATH = str(Path(create_session.__file__).with_name(FORMS_CSS))  # (a relative path would be ours)
    TITLE_TEXT = "Rename branch"
    ACTION_LABEL = "Rename"
    AUTO_FOCUS = "#rename-branch-name"

    def __init__(self, session: SessionSummary, branch: BranchInfo, branches: tuple[BranchInfo, ...]) -> None:
        super().__init__(session)
        self.branch = branch
        self.branches = branches

    def explanation(self) -> Content:
        return Content.assemble(
            "Rename branch ", safe_content(self.branch.name, "bold", single_line=True, width=60),
            " of ", self.name_content(),
        )

    def fields(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("Name", classes="field-label")
            yield CleanInput(self.branch.name, id="rename-branch-name", select_on_focus=True)
        yield FieldError(id="rename-branch-name-error", classes="-empty")

    @property
    def new_name(self) -> str:
        return self.query_one("#rename-branch-name", Input).value

    def problem(self) -> str | None:
        return branch_name_problem(self.new_name, self.branch, self.branches)

    @on(Input.Changed, "#rename-branch-name")
    def _name_changed(self) -> None:
        problem = self.problem() if self.new_name != self.branch.name else None
        self.query_one("#rename-branch-name-error", FieldError).show(problem)
        self.query_one("#rename-branch-name", Input).set_class(bool(problem), "error")
        self.query_one("#form-error", FieldError).show(None)

    def operation(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return ("rename_branch", (self.session.session_id, self.branch.branch_id, self.new_name),
                {"now_us": self.app.clock()})  # type: ignore[attr-defined]

    def done_message(self) -> str:
        return f"Renamed branch {one_line(self.branch.name, 40)} to {one_line(self.new_name, 40)}"
