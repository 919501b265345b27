"""The detail screen's dialogs: the kind filter, and the one-line prompt at the
bottom for the keys that take a letter after them (``m``, ``'``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from ...summary import FAMILIES

__all__ = ["KeyPrompt", "KindFilterScreen"]

_CSS = Path(__file__).with_suffix(".tcss")


class KindFilterScreen(ModalScreen[tuple[str, ...] | None]):
    """Choose event families to show. Dismisses with the kinds (empty tuple = all) or None (cancel)."""

    CSS_PATH = _CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "apply", "Apply", priority=True),
        Binding("c", "clear", "Clear"),
    ]

    def __init__(self, current: tuple[str, ...] | None) -> None:
        super().__init__(classes="-detail-dialog")
        self.current = set(current or ())

    def compose(self) -> ComposeResult:
        with Vertical(id="kind-filter-box", classes="dialog-box"):
            yield Static("Show only these kinds", classes="dialog-title", markup=False)
            selections = [
                Selection(f"{fam:<8} {', '.join(kinds)}", fam, bool(self.current & set(kinds)))
                for fam, kinds in FAMILIES.items()
            ]
            yield SelectionList[str](*selections, id="kind-filter-list")
            yield Static("space toggles · enter applies · c clears · esc cancels", classes="dialog-hint",
                         markup=False)

    def action_apply(self) -> None:
        chosen = self.query_one(SelectionList).selected
        kinds = tuple(sorted({k for fam in chosen for k in FAMILIES.get(fam, ())}))
        self.dismiss(kinds)

    def action_clear(self) -> None:
        self.query_one(SelectionList).deselect_all()

    def action_cancel(self) -> None:
        self.dismiss(None)


class KeyPrompt(ModalScreen[str | None]):
    """One key, for the keys that take a letter after them (``m``, ``'``): a line at the bottom says what
    it is for; a letter dismisses with it, escape with None."""

    CSS_PATH = _CSS

    def __init__(self, prompt: str, *, extra: str = "") -> None:
        super().__init__(classes="-detail-dialog -detail-prompt")
        self.prompt = prompt
        self.extra = extra  # characters accepted besides letters

    def compose(self) -> ComposeResult:
        yield Static(self.prompt, classes="prompt-line", markup=False)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key == "escape":
            self.dismiss(None)
        elif event.character is not None and (event.character.isalpha() and event.character.isascii()
                                               or event.character in self.extra):
            self.dismiss(event.character)
