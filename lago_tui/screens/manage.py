"""Session management dialogs: rename, close (confirm), delete (type the name to confirm).

Each is a small form over one journal operation (:meth:`~lago_tui.journal.JournalAPI.rename_session`,
``close_session``, ``delete_session``), run in a thread worker; it says what will happen before it
happens, refuses what would fail, and reports a refusal (busy journal, a race with another writer)
inside the dialog. The session list and the detail screen both open them; they dismiss with True
when something was written.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Static

from ..journal import InvalidSpec, JournalBusy, JournalError
from ..journal.views import SessionSummary
from ..safe import one_line, safe_content
from ..summary import plural
from .create_session import FORMS_CSS, CleanInput, FieldError, spec_field_errors
from .form_base import FormScreen

__all__ = ["CloseSessionScreen", "DeleteSessionScreen", "ManageScreen", "RenameSessionScreen", "duplicate_warning"]

_CHECK_DELAY = 0.15  # seconds of typing pause before the journal is asked about duplicate names


def duplicate_warning(name: str, others: list[SessionSummary]) -> str | None:
    """A warning naming the sessions already called ``name`` (None when there are none)."""
    if not others:
        return None
    ids = ", ".join(s.session_id for s in others[:3]) + (" …" if len(others) > 3 else "")
    return f"{plural(len(others), 'session')} already named {name!r} ({ids}): allowed; ids tell them apart"


class ManageScreen(FormScreen):
    """One confirmation dialog over one journal operation (subclasses fill in the words and the call)."""

    CSS_PATH = FORMS_CSS
    TITLE_TEXT = ""
    ACTION_LABEL = "OK"
    DANGER = False

    def __init__(self, session: SessionSummary) -> None:
        super().__init__()
        self.session = session

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="form -manage" + (" -danger" if self.DANGER else "")) as form:
            form.border_title = self.TITLE_TEXT
            form.border_subtitle = "ctrl+s confirm · esc cancel"
            yield Static(self.explanation(), id="manage-text", classes="manage-text")
            yield from self.fields()
            yield from self.form_end(self.ACTION_LABEL, "error" if self.DANGER else "primary")

    def explanation(self) -> Content:  # pragma: no cover - every dialog overrides it
        raise NotImplementedError

    def fields(self) -> ComposeResult:
        yield from ()

    def name_content(self) -> Content:
        return safe_content(self.session.name or "(unnamed)", "bold", single_line=True, width=80)

    # ------------------------------------------------------------------ writing

    def problem(self) -> str | None:
        """Why the operation cannot run as the form stands (shown, nothing written)."""
        return None

    def operation(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:  # pragma: no cover
        """(journal method name, args, kwargs) of the write."""
        raise NotImplementedError

    def done_message(self) -> str:  # pragma: no cover - every dialog overrides it
        raise NotImplementedError

    async def action_create(self) -> None:
        if self._busy:
            return
        problem = self.problem()
        if problem is not None:
            self.query_one("#form-error", FieldError).show(problem, wrap=True)
            return
        method, args, kwargs = self.operation()
        self._set_busy(True)
        self._write(method, args, kwargs)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        button = self.query_one("#create", Button)
        button.disabled = busy
        button.label = "Working…" if busy else self.ACTION_LABEL

    @work(thread=True, exit_on_error=False, group="write")
    def _write(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str] | None:
        app = self.app
        call = getattr(app.journal, method, None)  # type: ignore[attr-defined]
        if call is None:
            app.call_from_thread(self._failed, f"This journal cannot do that yet ({method} is missing in this build).")
            return None
        try:
            call(*args, **kwargs)
        except NotImplementedError:
            app.call_from_thread(self._failed, f"This journal cannot do that ({method} is not supported).")
        except JournalBusy as exc:
            app.call_from_thread(self._failed, f"The journal is busy ({exc}); nothing was changed. ctrl+s tries again.")
        except (InvalidSpec, JournalError) as exc:
            app.call_from_thread(self._failed, f"Nothing was changed: {exc}")
        except Exception as exc:  # noqa: BLE001 - the dialog stays open and says what happened
            app.call_from_thread(self._failed, f"Nothing was changed: {type(exc).__name__}: {exc}")
        else:
            return (self.done_message(),)
        return None

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.query_one("#form-error", FieldError).show(message, wrap=True)

    def _created(self, message: str) -> None:
        self._busy = False
        note = getattr(self.app, "note_own_write", None)
        if callable(note):
            note()
        self.app.notify(message, markup=False)
        self.dismiss(True)  # type: ignore[arg-type]

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_create()


class RenameSessionScreen(ManageScreen):
    """A new name for a session (the same rules as a new session's name; duplicates are warned about)."""

    TITLE_TEXT = "Rename session"
    ACTION_LABEL = "Rename"
    AUTO_FOCUS = "#rename-name"

    def __init__(self, session: SessionSummary) -> None:
        super().__init__(session)
        self._check_timer: Timer | None = None

    def explanation(self) -> Content:
        return Content.assemble("Rename ", self.name_content(), (f"  {self.session.session_id}", "$text-muted"))

    def fields(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("Name", classes="field-label")
            yield CleanInput(self.session.name, id="rename-name", select_on_focus=True)
        yield FieldError(id="rename-name-error", classes="-empty")
        yield FieldError(id="rename-name-warning", classes="-empty -warning")

    @property
    def new_name(self) -> str:
        return self.query_one("#rename-name", Input).value

    def problem(self) -> str | None:
        name = self.new_name
        error = spec_field_errors(name, "").get("name")
        if error:
            return error
        if name == self.session.name:
            return "That is its name already."
        return None

    @on(Input.Changed, "#rename-name")
    def _name_changed(self) -> None:
        name = self.new_name
        error = spec_field_errors(name, "").get("name")
        self.query_one("#rename-name-error", FieldError).show(error)
        self.query_one("#rename-name", Input).set_class(bool(error), "error")
        self.query_one("#form-error", FieldError).show(None)
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(_CHECK_DELAY, self._check_duplicates)

    def _check_duplicates(self) -> None:
        self._check_timer = None
        name = self.new_name
        if name and name != self.session.name:
            self._look_up(name)
        else:
            self.query_one("#rename-name-warning", FieldError).show(None)

    def _look_up(self, name: str) -> None:
        journal, own = self.app.journal, self.session.session_id  # type: ignore[attr-defined]
        self.look_up(
            "duplicates",
            lambda: [s for s in journal.sessions_named(name) if s.session_id != own],
            lambda others: self._looked_up(name, others),
        )

    def _looked_up(self, name: str, others: list[SessionSummary]) -> None:
        if name == self.new_name:
            self.query_one("#rename-name-warning", FieldError).show(duplicate_warning(name, others), wrap=True)

    def operation(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return "rename_session", (self.session.session_id, self.new_name), {"now_us": self.app.clock()}  # type: ignore[attr-defined]

    def done_message(self) -> str:
        return f"Renamed {one_line(self.session.name, 40)} to {one_line(self.new_name, 40)}"


class CloseSessionScreen(ManageScreen):
    """Close a session: it appends SessionClosed (with an optional reason); its events stay."""

    TITLE_TEXT = "Close session"
    ACTION_LABEL = "Close session"
    AUTO_FOCUS = "#close-reason"

    def explanation(self) -> Content:
        if self.session.closed:
            return Content.assemble(self.name_content(), " is already closed.")
        return Content.assemble(
            "Close ", self.name_content(), "? This appends a SessionClosed event: the session shows as closed; ",
            "its branches and events stay.",
        )

    def fields(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("Reason", classes="field-label")
            yield CleanInput(placeholder="optional", id="close-reason")

    def problem(self) -> str | None:
        return "It is already closed; nothing to do." if self.session.closed else None

    def operation(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        reason = self.query_one("#close-reason", Input).value.strip() or None
        return "close_session", (self.session.session_id, reason), {"now_us": self.app.clock()}  # type: ignore[attr-defined]

    def done_message(self) -> str:
        return f"Closed {one_line(self.session.name, 60)}"


class DeleteSessionScreen(ManageScreen):
    """Delete a session, its branches and events, in one transaction, after typing its name."""

    TITLE_TEXT = "Delete session"
    ACTION_LABEL = "Delete for good"
    DANGER = True
    AUTO_FOCUS = "#delete-confirm"

    def explanation(self) -> Content:
        s = self.session
        return Content.assemble(
            "Delete ", self.name_content(), (f"  {s.session_id}", "$text-muted"), "\n",
            f"{plural(s.branch_count, 'branch', 'branches')} and {plural(s.event_count, 'event')} go, in one "
            "transaction. This cannot be undone (export it first to keep a copy).\n",
            "Type the session's name (or its id) to confirm:",
        )

    def fields(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("Name", classes="field-label")
            yield CleanInput(placeholder="the session's name or id, exactly", id="delete-confirm")

    def _confirmed(self, typed: str) -> bool:
        return bool(typed) and typed in (self.session.name, self.session.session_id)

    def on_mount(self) -> None:
        self.query_one("#create", Button).disabled = True

    @on(Input.Changed, "#delete-confirm")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#create", Button).disabled = not self._confirmed(event.value)
        self.query_one("#form-error", FieldError).show(None)

    def problem(self) -> str | None:
        if not self._confirmed(self.query_one("#delete-confirm", Input).value):
            return "Type the session's name (or its id) exactly to delete it; nothing was deleted."
        return None

    def operation(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return "delete_session", (self.session.session_id,), {}

    def done_message(self) -> str:
        return f"Deleted {one_line(self.session.name, 60)}"
