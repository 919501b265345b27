"""The "new branch" form: name, parent branch, fork point (defaults to the parent's head).

The name follows :class:`~lago_tui.journal.models.BranchSpec`; the name must be new in the session
and the fork point must lie in the parent's range ``0..head``. The journal checks all of this again
when writing (and a race with another writer comes back as an inline error).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from ..journal import BranchInfo, InvalidSpec, JournalBusy, JournalError
from ..journal.models import NAME_MAX, BranchSpec
from ..safe import one_line, safe_text
from .create_session import FORMS_CSS, CleanInput, FieldError, busy_message, plain_words
from .form_base import FormScreen


def branch_name_error(name: str, branches: Sequence[BranchInfo]) -> str | None:
    """What is wrong with ``name`` for a new branch (BranchSpec's rules, then uniqueness)."""
    try:
        BranchSpec.model_validate({"name": name})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return str(errors[0]["msg"]).removeprefix("Value error, ") if errors else "invalid branch name"
    if name == "main" or any(b.name == name or b.branch_id == name for b in branches):
        return f"a branch named {name!r} already exists in this session"
    return None


def fork_point_error(text: str, head: int) -> tuple[int | None, str | None]:
    """The fork point typed as ``text``, or why it is not one within ``0..head``."""
    stripped = text.strip()
    if not stripped:
        return None, f"fork point is required (0..{head})"
    try:
        value = int(stripped, 10)
    except ValueError:
        return None, f"fork point must be a whole number (0..{head})"
    try:
        BranchSpec.model_validate({"name": "x", "fork_point_seq": value})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return None, plain_words(str(errors[0]["msg"]).removeprefix("Value error, ")) if errors else "invalid fork point"
    if value > head:
        return None, f"fork point {value} is past the parent's head (0..{head})"
    return value, None


def branch_label(branch: BranchInfo) -> Text:
    """A Select label: the (agent-written) name made safe, then its head in our own words."""
    label = safe_text(branch.name or branch.branch_id, single_line=True, width=40)
    label.append(f"  head {branch.head_seq}", "dim")
    return label


class CreateBranchScreen(FormScreen):
    """Fork a branch; dismisses with the new branch's id, or None if cancelled."""

    CSS_PATH = FORMS_CSS
    AUTO_FOCUS = "#branch-name"
    def __init__(
        self,
        session_id: str,
        branches: Sequence[BranchInfo],
        parent_branch_id: str = "main",
        fork_point_seq: int | None = None,
    ) -> None:
        super().__init__()
        self.session_id = session_id
        self.branches = tuple(branches)
        by_id = {b.branch_id: b for b in self.branches}
        if parent_branch_id not in by_id and self.branches:
            parent_branch_id = self.branches[0].branch_id
        self._parent_id = parent_branch_id
        head = by_id[parent_branch_id].head_seq if parent_branch_id in by_id else 0
        self._initial_fork = head if fork_point_seq is None else fork_point_seq
        self._fork_touched = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="form") as form:
            form.border_title = "New branch"
            form.border_subtitle = "ctrl+s create · esc cancel"
            with VerticalScroll(id="form-body", classes="form-body"):
                with Horizontal(classes="field"):
                    yield Label("Name", classes="field-label")
                    yield CleanInput(placeholder=f"required, up to {NAME_MAX} characters", id="branch-name")
                yield FieldError(id="branch-name-error", classes="-empty")
                with Horizontal(classes="field"):
                    yield Label("Parent", classes="field-label")
                    yield Select(
                        [(branch_label(b), b.branch_id) for b in self.branches],
                        value=self._parent_id if self.branches else Select.NULL,
                        allow_blank=not self.branches,
                        id="parent",
                    )
                with Horizontal(classes="field"):
                    yield Label("Fork at", classes="field-label")
                    yield CleanInput(str(self._initial_fork), placeholder="event seq", id="fork-point")
                yield Static(self._range_hint(), id="fork-range", classes="field-hint")
                yield FieldError(id="fork-point-error", classes="-empty")
            yield from self.form_end()

    def on_mount(self) -> None:
        parent = self.parent_branch
        if parent is not None and self._initial_fork != parent.head_seq:
            self._fork_touched = True  # a fork point was given (e.g. the highlighted event): keep it
        self._validate(show_all=False)

    # ------------------------------------------------------------------ state

    @property
    def parent_branch(self) -> BranchInfo | None:
        for b in self.branches:
            if b.branch_id == self._parent_id:
                return b
        return None

    @property
    def head(self) -> int:
        parent = self.parent_branch
        return parent.head_seq if parent is not None else 0

    def _range_hint(self) -> Text:
        parent = self.parent_branch
        if parent is None:
            return Text("no parent branch", "dim")
        hint = Text(f"valid range 0..{parent.head_seq} of ", "dim")
        hint.append_text(safe_text(parent.name, single_line=True, width=40))
        hint.append(" (its head is the default)", "dim")
        return hint

    # ------------------------------------------------------------------ validation

    def _problems(self) -> tuple[str | None, str | None, int | None]:
        name_error = branch_name_error(self.query_one("#branch-name", Input).value, self.branches)
        fork, fork_error = fork_point_error(self.query_one("#fork-point", Input).value, self.head)
        if self.parent_branch is None:
            fork_error = "choose a parent branch"
        return name_error, fork_error, fork

    def _validate(self, *, show_all: bool) -> tuple[str | None, str | None, int | None]:
        if show_all:
            self._touched |= {"branch-name", "fork-point"}
        name_error, fork_error, fork = self._problems()
        for field, message in (("branch-name", name_error), ("fork-point", fork_error)):
            shown = message if field in self._touched else None
            self.query_one(f"#{field}-error", FieldError).show(shown)
            self.query_one(f"#{field}", Input).set_class(bool(shown), "error")
        if not (name_error or fork_error):
            self.query_one("#form-error", FieldError).show(None)
        return name_error, fork_error, fork

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self._touched.add(event.input.id)
        if event.input.id == "fork-point" and event.input.has_focus:
            self._fork_touched = True
        self._validate(show_all=False)

    @on(Select.Changed, "#parent")
    def _parent_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self._parent_id:
            return
        self._parent_id = str(event.value)
        self.query_one("#fork-range", Static).update(self._range_hint())
        fork_input = self.query_one("#fork-point", Input)
        if not self._fork_touched:
            fork_input.value = str(self.head)
        self._touched.add("fork-point")
        self._validate(show_all=False)

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "fork-point":
            await self.action_create()
        else:
            self.focus_next()

    # ------------------------------------------------------------------ actions

    async def action_create(self) -> None:
        if self._busy:
            return
        name_error, fork_error, fork = self._validate(show_all=True)
        if name_error or fork_error or fork is None or self.parent_branch is None:
            self.query_one("#form-error", FieldError).show("Fix the marked fields; nothing was written.")
            self.query_one("#branch-name" if name_error else "#fork-point", Input).focus()
            return
        spec = {
            "name": self.query_one("#branch-name", Input).value,
            "parent": self._parent_id,
            "fork_point_seq": fork,
        }
        self._set_busy(True)
        self._write(spec)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        create = self.query_one("#create", Button)
        create.disabled = busy
        create.label = "Creating…" if busy else "Create"

    @work(thread=True, exit_on_error=False, group="write")
    def _write(self, spec: dict[str, object]) -> tuple[str, str, int] | None:
        app = self.app
        try:
            branch_id = app.journal.create_branch(self.session_id, spec, now_us=app.clock())  # type: ignore[attr-defined]
        except InvalidSpec as exc:
            app.call_from_thread(self._failed, plain_words(str(exc)))
        except JournalBusy as exc:
            app.call_from_thread(self._failed, busy_message("the branch", exc))
        except JournalError as exc:
            app.call_from_thread(self._failed, f"Could not create the branch: {plain_words(str(exc))}")
        except Exception as exc:  # noqa: BLE001 - the form stays open and says what happened
            app.call_from_thread(self._failed, f"Could not create the branch: {type(exc).__name__}: {exc}")
        else:
            return branch_id, str(spec["name"]), int(spec["fork_point_seq"])  # type: ignore[call-overload]
        return None

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.query_one("#form-error", FieldError).show(message, wrap=True)

    def _created(self, branch_id: str, name: str, fork: int) -> None:
        self._busy = False
        note = getattr(self.app, "note_own_write", None)
        if note is not None:
            note()
        self.app.notify(f"Created branch {one_line(name, 60)} at seq {fork}", title="New branch", markup=False)
        self.dismiss(branch_id)
