"""The "new session" form: name, model (with suggestions), params as key/value rows.

Validation is pydantic's (:class:`~lago_tui.journal.models.SessionSpec` and the param helpers it
uses); the form only decides *when* to show it: a field's error appears once the field has been
edited, and every error appears on submit. Nothing is written until the whole form is valid, and
the write runs in a thread worker; a refusal (invalid spec, busy journal...) is shown in the form.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pydantic import ValidationError
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import SuggestFromList, SuggestionReady
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Static

from ..journal import InvalidSpec, JournalBusy, JournalError
from ..journal.views import SessionSummary
from ..journal.models import (
    NAME_MAX,
    SessionSpec,
    params_from_pairs,
    validate_param_key,
    validate_param_value,
)
from ..safe import one_line, visible
from .form_base import FieldError, FormScreen

FORMS_CSS = "forms.tcss"
_CHECK_DELAY = 0.15  # seconds of typing pause before the journal is asked about a duplicate name

# Internal field names that reach messages (pydantic locations, the journal's own checks), in words.
_FIELD_WORDS = {
    "fork_point_seq": "fork point",
    "parent_branch_id": "parent branch",
    "branch_id": "branch",
    "session_id": "session",
    "new_branch_id": "new branch",
}


def plain_words(message: str) -> str:
    """``message`` with internal field names said in words (``fork_point_seq`` -> ``fork point``)."""
    for field, words in _FIELD_WORDS.items():
        message = message.replace(field, words)
    return message


def busy_message(what: str, error: BaseException) -> str:
    return f"The journal is busy ({error}); {what} was not written. Press ctrl+s to try again."


def pydantic_message(exc: ValidationError | ValueError) -> str:
    """The first error of ``exc`` in the words of its validator (no "Value error, " prefix)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False)
        msg = str(errors[0]["msg"]) if errors else str(exc)
    else:
        msg = str(exc)
    return msg.removeprefix("Value error, ")


def spec_field_errors(name: str, model: str) -> dict[str, str]:
    """Errors of the name and model fields, by field, from :class:`SessionSpec` itself."""
    try:
        SessionSpec.model_validate({"name": name, "model": model, "params": {}})
    except ValidationError as exc:
        out: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            field = str(err["loc"][0]) if err["loc"] else "name"
            out.setdefault(field, str(err["msg"]).removeprefix("Value error, "))
        return out
    return {}


class CleanInput(Input):
    """An Input that refuses typed or pasted text with control or invisible characters.

    An Input draws its value as it is, so an ESC pasted into it would reach the terminal, and a bidi
    override would reorder what the person sees. Such text is refused with a message (the validation
    rules would reject it anyway); text set by code is still validated and reported inline.

    With a suggester, the completion it draws is what enter (or ctrl+s) takes: a form never saves the
    typed ``cl`` while the field shows ``claude-sonnet-4``. Backspace right after takes it back.
    """

    _completed_from: str | None = None
    _declined: str | None = None

    @property
    def suggestion_shown(self) -> str | None:
        """The completion drawn after the text (the field has the focus and the cursor is at the end)."""
        suggestion = self._suggestion
        if self.has_focus and self.cursor_at_end and suggestion and len(suggestion) > len(self.value):
            return suggestion
        return None

    def accept_suggestion(self) -> bool:
        """Take the suggestion shown as the value (what the person sees is what is saved)."""
        suggestion = self.suggestion_shown
        if suggestion is None:
            return False
        self._completed_from = self.value
        self.value = suggestion
        self.cursor_position = len(suggestion)
        return True

    def _on_key(self, event: events.Key) -> None:
        # Textual calls Input's own key handler after this one (unless the default is prevented).
        completed_from = self._completed_from
        if event.key == "backspace" and completed_from is not None and self.cursor_at_end:
            # Backspace right after a completion takes it back: the text as typed, no suggestion for it.
            event.stop()
            event.prevent_default()
            self._completed_from = None
            self._declined = completed_from
            self.value = completed_from
            self.cursor_position = len(completed_from)
            return
        if event.is_printable or event.key in ("backspace", "delete"):
            self._completed_from = None

    def _on_suggestion_ready(self, event: SuggestionReady) -> None:
        # Input's own handler (which shows the suggestion) runs after this one unless prevented here.
        if self._declined is not None and event.value == self._declined:
            event.prevent_default()  # the person took this completion back: not offered again for that text
            return
        self._declined = None

    def replace(self, text: str, start: int, end: int) -> None:
        if text and visible(text) != text:
            self.app.bell()
            self.notify(
                "Not inserted: the text has control or invisible characters " + one_line(visible(text), 40),
                severity="warning",
                markup=False,
            )
            return
        super().replace(text, start, end)


class ParamRow(Vertical):
    """A key/value pair, a ✕ button (mouse; ctrl+d from the keyboard) and the row's error."""

    DEFAULT_CLASSES = "param-row"

    def __init__(self, key: str = "", value: str = "") -> None:
        super().__init__()
        # Made here, not in compose: validation may run before this row has composed.
        self.key_input = CleanInput(key, placeholder="key", classes="param-key")
        self.value_input = CleanInput(value, placeholder="value", classes="param-value")
        self.touched = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="param-fields"):
            yield self.key_input
            yield self.value_input
            remove = Button("✕", classes="param-remove", tooltip="Remove this param (ctrl+d)", compact=True)
            remove.can_focus = False  # ctrl+d removes from the keyboard; tab goes key -> value -> next key
            yield remove
        yield FieldError(classes="-empty")

    @property
    def pair(self) -> tuple[str, str]:
        return self.key_input.value, self.value_input.value

    @property
    def blank(self) -> bool:
        return self.pair == ("", "")


@dataclass
class _Problems:
    name: str | None = None
    model: str | None = None
    rows: dict[int, str] | None = None  # index of row -> message

    @property
    def ok(self) -> bool:
        return not (self.name or self.model or self.rows)


class CreateSessionScreen(FormScreen):
    """Create a session; dismisses with the new session's id, or None if cancelled."""

    CSS_PATH = FORMS_CSS
    AUTO_FOCUS = "#name"
    BINDINGS = [
        Binding("ctrl+a", "add_param", "Add param", priority=True),
        Binding("ctrl+d", "remove_param", "Remove param", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._check_timer: Timer | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="form") as form:
            form.border_title = "New session"
            form.border_subtitle = "ctrl+s create · esc cancel"
            with VerticalScroll(id="form-body", classes="form-body"):
                with Horizontal(classes="field"):
                    yield Label("Name", classes="field-label")
                    yield CleanInput(placeholder=f"required, up to {NAME_MAX} characters", id="name")
                yield FieldError(id="name-error", classes="-empty")
                yield FieldError(id="name-warning", classes="-empty -warning")
                with Horizontal(classes="field"):
                    yield Label("Model", classes="field-label")
                    yield CleanInput(placeholder="optional, e.g. claude-sonnet-4", id="model")
                yield FieldError(id="model-error", classes="-empty")
                with Horizontal(classes="params-header"):
                    yield Label("Params", classes="field-label")
                    yield Static("key = value rows · ctrl+a add · ctrl+d remove", classes="params-hint")
                yield Vertical(id="params")
                with Horizontal(classes="params-add"):
                    yield Button("+ Add param", id="add-param", compact=True)
            yield from self.form_end()

    def on_mount(self) -> None:
        self._load_models()

    @work(thread=True, exit_on_error=False, group="models")
    def _load_models(self) -> None:
        try:
            models = self.app.journal.models()  # type: ignore[attr-defined]
        except JournalError:
            return
        # Only names that show as they are: a suggestion is drawn inside the Input.
        usable = [m for m in models if m and visible(m) == m and "\n" not in m and "\t" not in m]
        if usable:
            self.app.call_from_thread(self._set_models, usable)

    def _set_models(self, models: list[str]) -> None:
        self.query_one("#model", Input).suggester = SuggestFromList(models, case_sensitive=False)

    # ------------------------------------------------------------------ params rows

    @property
    def rows(self) -> list[ParamRow]:
        return list(self.query_one("#params").query_children(ParamRow))

    def _row_of(self, widget: object) -> ParamRow | None:
        node = widget
        while node is not None and not isinstance(node, ParamRow):
            node = getattr(node, "parent", None)
        return node

    async def action_add_param(self) -> None:
        row = ParamRow()
        await self.query_one("#params").mount(row)
        row.key_input.focus()
        row.scroll_visible()

    async def _remove_row(self, row: ParamRow) -> None:
        rows = self.rows
        index = rows.index(row)
        focused_inside = self.focused is not None and self._row_of(self.focused) is row
        await row.remove()
        rows = self.rows
        if focused_inside:
            if rows:
                rows[min(index, len(rows) - 1)].key_input.focus()
            else:
                self.query_one("#add-param", Button).focus()
        self._validate(show_all=False)

    async def action_remove_param(self) -> None:
        row = self._row_of(self.focused)
        if row is None:
            rows = self.rows
            if not rows:
                return
            row = rows[-1]
        await self._remove_row(row)

    @on(Button.Pressed, ".param-remove")
    async def _remove_clicked(self, event: Button.Pressed) -> None:
        row = self._row_of(event.button)
        if row is not None:
            await self._remove_row(row)

    @on(Button.Pressed, "#add-param")
    async def _add_clicked(self) -> None:
        await self.action_add_param()

    # ------------------------------------------------------------------ validation

    def _problems(self) -> _Problems:
        name = self.query_one("#name", Input).value
        model = self.query_one("#model", Input).value
        fields = spec_field_errors(name, model)
        problems = _Problems(name=fields.get("name"), model=fields.get("model"), rows={})
        rows = self.rows
        keys = Counter(row.pair[0] for row in rows if not row.blank)
        for index, row in enumerate(rows):
            if row.blank:
                continue  # an empty row is ignored, not an error
            key, value = row.pair
            try:
                validate_param_key(key)
                validate_param_value(key, value)
            except ValueError as exc:
                problems.rows[index] = pydantic_message(exc)  # type: ignore[index]
                continue
            if keys[key] > 1:
                problems.rows[index] = f"duplicate key {key!r}"  # type: ignore[index]
        return problems

    def _validate(self, *, show_all: bool) -> _Problems:
        problems = self._problems()
        if show_all:
            self._touched |= {"name", "model"}
            for row in self.rows:
                row.touched = True
        self._show("name", problems.name)
        self._show("model", problems.model)
        for index, row in enumerate(self.rows):
            message = (problems.rows or {}).get(index)
            # A duplicate is marked on both rows, even the one not edited yet.
            shown = message if (row.touched or (message or "").startswith("duplicate")) else None
            for error in row.query(FieldError):
                error.show(shown)
            row.key_input.set_class(bool(shown), "error")
            row.value_input.set_class(bool(shown) and "value" in (shown or ""), "error")
        if problems.ok:
            self.query_one("#form-error", FieldError).show(None)
        return problems

    def _show(self, field: str, message: str | None) -> None:
        shown = message if field in self._touched else None
        self.query_one(f"#{field}-error", FieldError).show(shown)
        self.query_one(f"#{field}", Input).set_class(bool(shown), "error")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id in ("name", "model"):
            self._touched.add(event.input.id)
        else:
            row = self._row_of(event.input)
            if row is not None:
                row.touched = True
        if event.input.id == "name":
            self._schedule_duplicate_check()
        self._validate(show_all=False)

    # ------------------------------------------------------------------ duplicate names (a warning)

    def _schedule_duplicate_check(self) -> None:
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(_CHECK_DELAY, self._check_duplicates)

    def _check_duplicates(self) -> None:
        self._check_timer = None
        name = self.query_one("#name", Input).value
        if name and not spec_field_errors(name, "").get("name"):
            self._look_up(name)
        else:
            self.query_one("#name-warning", FieldError).show(None)

    def _look_up(self, name: str) -> None:
        journal = self.app.journal  # type: ignore[attr-defined]
        self.look_up("duplicates", lambda: journal.sessions_named(name), lambda others: self._looked_up(name, others))

    def _looked_up(self, name: str, others: list[SessionSummary]) -> None:
        from .manage import duplicate_warning

        if name == self.query_one("#name", Input).value:
            self.query_one("#name-warning", FieldError).show(duplicate_warning(name, others), wrap=True)

    # ------------------------------------------------------------------ enter

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = event.input
        if isinstance(field, CleanInput) and field.accept_suggestion():
            return  # enter took the completion shown; the next enter moves on
        inputs = [w for w in self.query(Input) if w.display]
        if field is inputs[-1]:
            if self._form_is_cut():
                # Part of the form is out of sight: show the rest (and the Create button) first.
                create = self.query_one("#create", Button)
                create.focus()
                create.scroll_visible(animate=False)
                return
            await self.action_create()
        else:
            self.focus_next(Input)

    def _form_is_cut(self) -> bool:
        """Whether part of the form (fields or buttons) is out of sight on this terminal."""
        body = self.query_one("#form-body", VerticalScroll)
        form = self.query_one("#form")
        return body.max_scroll_y > 0 or form.outer_size.height > self.size.height

    # ------------------------------------------------------------------ actions

    async def action_create(self) -> None:
        if self._busy:
            return
        focused = self.focused
        if isinstance(focused, CleanInput) and focused.accept_suggestion():
            # What is saved is what the field shows: take the completion, let the person see it.
            self.notify("Took the suggestion shown; ctrl+s again creates the session.", timeout=3)
            return
        problems = self._validate(show_all=True)
        if not problems.ok:
            self.query_one("#form-error", FieldError).show("Fix the marked fields; nothing was written.")
            self._focus_first_problem(problems)
            return
        pairs = [row.pair for row in self.rows if not row.blank]
        try:
            params = params_from_pairs(pairs)
        except ValueError as exc:  # covered by the row checks; kept as the single rule's last word
            self.query_one("#form-error", FieldError).show(pydantic_message(exc))
            return
        spec = {
            "name": self.query_one("#name", Input).value,
            "model": self.query_one("#model", Input).value,
            "params": params,
        }
        self._set_busy(True)
        self._write(spec)

    def _focus_first_problem(self, problems: _Problems) -> None:
        if problems.name:
            self.query_one("#name", Input).focus()
        elif problems.model:
            self.query_one("#model", Input).focus()
        elif problems.rows:
            row = self.rows[min(problems.rows)]
            (row.value_input if "value" in problems.rows[min(problems.rows)] else row.key_input).focus()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        create = self.query_one("#create", Button)
        create.disabled = busy
        create.label = "Creating…" if busy else "Create"

    @work(thread=True, exit_on_error=False, group="write")
    def _write(self, spec: dict[str, object]) -> tuple[str, str] | None:
        app = self.app
        try:
            session_id = app.journal.create_session(spec, now_us=app.clock())  # type: ignore[attr-defined]
        except InvalidSpec as exc:
            app.call_from_thread(self._failed, plain_words(str(exc)))
        except JournalBusy as exc:
            app.call_from_thread(self._failed, busy_message("the session", exc))
        except JournalError as exc:
            app.call_from_thread(self._failed, f"Could not create the session: {plain_words(str(exc))}")
        except Exception as exc:  # noqa: BLE001 - the form stays open and says what happened
            app.call_from_thread(self._failed, f"Could not create the session: {type(exc).__name__}: {exc}")
        else:
            return session_id, str(spec["name"])  # FormScreen dismisses once this worker has finished
        return None

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.query_one("#form-error", FieldError).show(message, wrap=True)

    def _created(self, session_id: str, name: str) -> None:
        self._busy = False
        note = getattr(self.app, "note_own_write", None)
        if note is not None:
            note()
        self.app.notify(f"Created session {one_line(name, 60)}", title="New session", markup=False)
        self.dismiss(session_id)
