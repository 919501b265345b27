"""What the create forms share: keys, cancel/create buttons, and a busy guard while a write runs."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Button


class FormScreen(ModalScreen[str | None]):
    """A modal form that dismisses with the id of what it created, or None when cancelled.

    Subclasses implement ``action_create`` (validate, then write in a worker) and set ``_busy`` while
    the write runs, so neither a second submit nor escape can interfere with it.
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

    @on(Button.Pressed, "#cancel")
    def _cancel_clicked(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#create")
    async def _create_clicked(self) -> None:
        await self.action_create()
