"""A journal that cannot be read at all: say what and where, keep quitting possible."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from ..journal import JournalError
from ..messages import JournalChanged
from ..safe import safe_text
from ..widgets.footer import Footer


class JournalErrorScreen(Screen[None]):
    """The journal cannot be read: what and where; r retries, q quits. Nothing here writes (no "new
    session" over a file that is not a journal)."""

    BINDINGS = [
        Binding("r", "retry", "Retry", tooltip="Try to open the journal again"),
        Binding("q,escape", "app.quit", "Quit", tooltip="Quit lago-tui"),
    ]

    def __init__(self, error: JournalError) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static("Cannot open the journal", id="error-title")
            yield Static(safe_text(str(self.error)), id="error-message")
            yield Static(
                "Nothing was changed. Check the path (--journal or $LAGO_JOURNAL), then press r to retry or q to quit.",
                id="error-hint",
                markup=False,
            )
        yield Footer()

    def action_retry(self) -> None:
        """Go back and let the screen below try the journal again."""
        self.dismiss()
        self.app.screen.post_message(JournalChanged())
