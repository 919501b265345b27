"""What the forms and dialogs share: keys, the form-wide error line, the action/Cancel buttons, and a busy
guard while a write runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from ..safe import safe_text


class FieldError(Static):
    """One line under a field; empty (and hidden) when the field is fine."""

    DEFAULT_CLASSES = "field-error"

    def show(self, message: str | None, *, wrap: bool = False) -> None:
        # Messages echo what was typed: never markup, control characters made visible.
        self.update(safe_text(message or "", single_line=not wrap, max_chars=2_000))
        self.set_class(not message, "-empty")


class FormScreen(ModalScreen[str | None]):
    """A modal form that dismisses with the id of what it created, or None when cancelled.

    Subclasses implement ``action_create`` (validate, then write in a worker of group "write" that
    returns the arguments of ``_created`` on success, None on failure) and set ``_busy`` while the write
    runs, so neither a second submit nor escape can interfere with it. The form is dismissed only once
    that worker has finished: dismissing from inside it would cancel it while it is still returning.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "create", "Create", priority=True),
        # App-wide single keys must not act behind a form (q on a button would quit).
        Binding("q,n,b,question_mark", "ignore", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._busy = False
        self._touched: set[str] = set()

    @staticmethod
    def form_end(action: str = "Create", variant: str = "primary") -> ComposeResult:
        """What every form ends with: the form-wide error line, then the action and Cancel buttons."""
        yield FieldError(id="form-error", classes="-empty")
        with Horizontal(classes="form-buttons"):
            yield Button(action, id="create", variant=variant)  # type: ignore[arg-type]
            yield Button("Cancel", id="cancel")

    def look_up(self, group: str, ask: Callable[[], Any], answer: Callable[[Any], None]) -> None:
        """Ask the journal something in a thread (``ask``), then give the result to ``answer`` on the UI
        thread if the form is still open. The worker belongs to the app, so closing the form (e.g. after
        creating) does not cancel it halfway; a newer question of the same group replaces an older one."""

        def run() -> None:
            try:
                result = ask()
            except Exception:  # noqa: BLE001 - only a hint for the form: without an answer, show nothing
                return
            self.app.call_from_thread(lambda: answer(result) if self.is_attached else None)

        self.app.run_worker(run, thread=True, group=f"{group}-{id(self)}", exclusive=True, exit_on_error=False)

    def action_ignore(self) -> None:
        """Swallow app-wide single-key shortcuts while the form is open."""

    def action_cancel(self) -> None:
        if not self._busy:
            self.dismiss(None)

    async def action_create(self) -> None:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    def _created(self, *result: object) -> None:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    @on(Worker.StateChanged)
    def _write_finished(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "write" and event.state == WorkerState.SUCCESS and worker.result is not None:
            self._created(*worker.result)

    @on(Button.Pressed, "#cancel")
    def _cancel_clicked(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#create")
    async def _create_clicked(self) -> None:
        await self.action_create()
