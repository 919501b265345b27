"""The detail screen's dialogs: the kind filter, and the one-line prompts at the
bottom for the keys that take an argument (``:`` a seq, ``m``/``'`` a letter)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from ...summary import FAMILIES

__all__ = ["KeyPrompt", "KindFilterScreen", "SeqPrompt"]

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


class SeqPrompt(ModalScreen[None]):
    """``:`` then a seq (or BRANCH@seq): jumps on enter; a mistake is shown under what was typed."""

    CSS_PATH = _CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, jump: Callable[[str], str | None], hint: str) -> None:
        super().__init__(classes="-detail-dialog -detail-prompt")
        self._jump = jump
        self._hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield Static(self._hint, id="seq-hint", classes="prompt-hint", markup=False)
            yield Input(placeholder="seq, or branch@seq", id="seq-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#seq-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self._jump(event.value)
        if problem is None:
            self.dismiss(None)
            return
        hint = self.query_one("#seq-hint", Static)
        hint.update(Text(problem, "bold"))
        hint.add_class("-error")

    def action_cancel(self) -> None:
        self.dismiss(None)
