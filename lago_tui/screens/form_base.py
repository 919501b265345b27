"""What the create forms share: keys, cancel/create buttons, and a busy guard while a write runs."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Button
from textual.worker import Worker, WorkerState


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
