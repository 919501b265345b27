"""Copy (``y``) and save (``W``) parts of a session as context for another model.

* :class:`ChoiceMenuScreen`: a small menu of choices, each with a one-key accelerator, in sections; the
  detail screen's copy menu is one, holding the payload/text/event choices and :func:`context_choices`
  (the selected range or event, and the branch, in jsonl / md / openai).
* :func:`copy_part`: renders a part in a thread worker and puts it on the clipboard (with a notice).
* :class:`SaveScreen`: where to save which part in which format; writes in a thread worker
  (``PATH.part`` renamed when complete), asks before replacing a file, and reports errors in place.

Parts are read through the journal interface only (:mod:`lago_tui.exporting`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from ..exporting import FORMAT_LABELS, Part, default_file_name, part_text, write_part
from ..journal import JournalError, TimelineAPI
from ..safe import one_line, safe_text

__all__ = ["Choice", "ChoiceMenuScreen", "SaveScreen", "context_choices", "copy_part", "parse_context_choice"]

CLIPBOARD_WARN_BYTES = 1_000_000  # above this, say that some terminals cut clipboard writes


@dataclass(frozen=True)
class Choice:
    key: str  # the accelerator (one character)
    label: str  # plain text of ours (never journal text)
    value: str
    section: str = ""


class ChoiceMenuScreen(ModalScreen[str | None]):
    """Choose one of ``choices`` (enter, a click or its key); dismisses with its value, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ChoiceMenuScreen { align: center middle; }
    ChoiceMenuScreen > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ChoiceMenuScreen #menu-title { text-style: bold; }
    ChoiceMenuScreen OptionList { height: auto; max-height: 24; border: none; padding: 0; }
    ChoiceMenuScreen #menu-hint { color: $text-muted; }
    """

    def __init__(self, title: Text | str, choices: list[Choice]) -> None:
        super().__init__()
        self.title_text = title if isinstance(title, Text) else Text(title)
        self.choices = choices

    def compose(self) -> ComposeResult:
        options: list[Option | None] = []
        section = None
        for choice in self.choices:
            if choice.section != section:
                section = choice.section
                if options:
                    options.append(None)
                if section:
                    options.append(Option(Text(section, "dim italic"), disabled=True))
            prompt = Text()
            prompt.append(f" {choice.key} ", "bold reverse")
            prompt.append("  " + choice.label)
            options.append(Option(prompt, id=choice.value))
        with Vertical():
            yield Static(self.title_text, id="menu-title")
            yield OptionList(*options, id="menu-list")
            yield Static("press a key, or enter · esc cancels", id="menu-hint", markup=False)

    def on_mount(self) -> None:
        listing = self.query_one(OptionList)
        listing.focus()
        for i in range(listing.option_count):
            if not listing.get_option_at_index(i).disabled:
                listing.highlighted = i
                break

    def on_key(self, event: Key) -> None:
        for choice in self.choices:
            if event.character == choice.key:
                event.stop()
                event.prevent_default()
                self.dismiss(choice.value)
                return

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def context_choices(part_label: str, *, has_branch: bool = True) -> list[Choice]:
    """Copy choices for a part (``part_label``: "event" or "selection (N events)") and the whole branch."""
    out = [
        Choice("j", f"{part_label} as JSON Lines", "part:jsonl", "as context"),
        Choice("m", f"{part_label} as Markdown", "part:md", "as context"),
        Choice("a", f"{part_label} as OpenAI messages", "part:openai", "as context"),
    ]
    if has_branch:
        out += [
            Choice("J", "branch as JSON Lines", "branch:jsonl", "the whole branch (inherited events included)"),
            Choice("M", "branch as Markdown", "branch:md", "the whole branch (inherited events included)"),
            Choice("A", "branch as OpenAI messages", "branch:openai", "the whole branch (inherited events included)"),
        ]
    return out


def parse_context_choice(value: str) -> tuple[str, str] | None:
    """("part" or "branch", format) of a :func:`context_choices` value; None for another menu's value."""
    scope, _, fmt = value.partition(":")
    return (scope, fmt) if scope in ("part", "branch") and fmt in FORMAT_LABELS else None


def copy_part(screen: Screen, timeline: TimelineAPI | None, part: Part, fmt: str,
              branch_names: dict[str, str] | None = None) -> None:
    """Render ``part`` as ``fmt`` in a thread worker of ``screen``, then copy it (and say so)."""
    app = screen.app
    journal = app.journal  # type: ignore[attr-defined]
    what = {"event": "event", "range": "selection", "branch": "branch", "session": "session"}[part.scope]

    def work() -> None:
        try:
            text, n = part_text(journal, timeline, part, fmt, branch_names)
        except JournalError as err:
            app.call_from_thread(app.notify, one_line(str(err), 300), severity="error", title="copy", markup=False)
            return
        app.call_from_thread(_copied, text, n)

    def _copied(text: str, n: int) -> None:
        app.copy_to_clipboard(text)
        size = len(text.encode("utf-8"))
        message = f"Copied the {what} ({n:,} event{'s' if n != 1 else ''}) as {FORMAT_LABELS[fmt]}, {_size(size)}"
        if size > CLIPBOARD_WARN_BYTES:
            message += ". Some terminals cut clipboard writes this large: W saves it to a file"
            app.notify(message, severity="warning", timeout=6, markup=False)
        else:
            app.notify(message, timeout=3, markup=False)

    screen.run_worker(work, thread=True, group="copy", exclusive=True, exit_on_error=False)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


@dataclass(frozen=True)
class SaveOffer:
    """A part the save dialog can write, and how it is described."""

    part: Part
    label: Text | str  # a str is ours, shown literally; journal text comes as a safe Text


class SaveScreen(ModalScreen[str | None]):
    """Save a part to a file; dismisses with the path written, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    DEFAULT_CSS = """
    SaveScreen { align: center middle; }
    SaveScreen > Vertical {
        width: 80; max-width: 95%; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    SaveScreen #save-title { text-style: bold; margin-bottom: 1; }
    SaveScreen .save-label { color: $text-muted; margin-top: 1; }
    SaveScreen RadioSet { width: 100%; height: auto; border: none; padding: 0; layout: horizontal; }
    SaveScreen RadioSet > RadioButton { width: auto; margin-right: 2; }
    SaveScreen #save-error { color: $text-error; height: auto; }
    SaveScreen #save-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    SaveScreen #save-buttons Button { margin-left: 1; }
    """

    def __init__(self, offers: list[SaveOffer], timeline: TimelineAPI | None, *, session_name: str,
                 branch_name: str, branch_names: dict[str, str] | None = None, directory: Path | None = None) -> None:
        super().__init__()
        self.offers = offers
        self.timeline = timeline
        self.session_name = session_name
        self.branch_name = branch_name
        self.branch_names = branch_names
        self.directory = directory if directory is not None else Path.cwd()
        self._busy = False
        self._confirm: str | None = None  # a path that exists, shown once: saving again replaces it
        self._named_by_user = False
        self._format_saved = "jsonl"

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text("Save to a file  ")
            title.append_text(safe_text(self.session_name, "dim", single_line=True, width=40))
            yield Static(title, id="save-title")
            yield Static("What", classes="save-label", markup=False)
            with RadioSet(id="save-scope"):
                for i, offer in enumerate(self.offers):
                    label = offer.label if isinstance(offer.label, Text) else Text(offer.label)
                    yield RadioButton(label, value=i == 0, id=f"scope-{offer.part.scope}")
            yield Static("Format", classes="save-label", markup=False)
            with RadioSet(id="save-format"):
                for i, (fmt, label) in enumerate(FORMAT_LABELS.items()):
                    yield RadioButton(label, value=i == 0, id=f"format-{fmt}")
            yield Static("File", classes="save-label", markup=False)
            yield Input(str(self.directory / self._default_name()), id="save-path")
            yield Static("", id="save-error")
            with Horizontal(id="save-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    # ------------------------------------------------------------------ choices

    def _offer(self) -> SaveOffer:
        scope = self.query_one("#save-scope", RadioSet)
        index = scope.pressed_index if scope.pressed_index >= 0 else 0
        return self.offers[index]

    def _format(self) -> str:
        fmt = self.query_one("#save-format", RadioSet)
        return list(FORMAT_LABELS)[fmt.pressed_index if fmt.pressed_index >= 0 else 0]

    def _default_name(self) -> str:
        offer = self.offers[0]
        return default_file_name(self.session_name, self.branch_name, offer.part, "jsonl")

    @on(RadioSet.Changed)
    def _choice_changed(self, _event: RadioSet.Changed) -> None:
        self._confirm = None
        self._show_error("")
        if self._named_by_user:
            return
        offer, fmt = self._offer(), self._format()
        name = default_file_name(self.session_name, self.branch_name, offer.part, fmt)
        path = self.query_one("#save-path", Input)
        path.value = str(Path(path.value).expanduser().parent / name)

    @on(Input.Changed, "#save-path")
    def _path_edited(self, event: Input.Changed) -> None:
        self._confirm = None
        if self.is_mounted and event.input.has_focus:
            self._named_by_user = True

    def _show_error(self, message: str) -> None:
        self.query_one("#save-error", Static).update(safe_text(message, single_line=True, width=300) if message
                                                     else Text(""))

    # ------------------------------------------------------------------ saving

    @on(Input.Submitted, "#save-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#save")
    def _save_clicked(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_clicked(self) -> None:
        self.action_cancel()

    def action_save(self) -> None:
        if self._busy:
            return
        raw = self.query_one("#save-path", Input).value.strip()
        if not raw:
            self._show_error("Give a file name.")
            return
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
            self._show_error("The file name has a control character.")
            return
        target = Path(raw).expanduser()
        offer, fmt = self._offer(), self._format()
        if offer.part.scope == "session" and fmt != "jsonl":
            self._show_error("A whole session (every branch) is saved as JSON Lines only.")
            return
        if target.is_dir():
            self._show_error(f"{target} is a directory.")
            return
        overwrite = self._confirm == str(target)
        if target.exists() and not overwrite:
            self._confirm = str(target)
            self._show_error(f"{target} exists: save again (enter) to replace it.")
            return
        self._busy = True
        self._show_error("")
        journal, timeline, names = self.app.journal, self.timeline, self.branch_names  # type: ignore[attr-defined]

        def work() -> tuple[str, str, int | str]:
            try:
                n = write_part(journal, timeline, offer.part, fmt, target, overwrite=overwrite, branch_names=names)
            except JournalError as err:
                return ("failed", str(target), str(err))
            return ("saved", str(target), n)

        self._format_saved = fmt
        self.run_worker(work, thread=True, group="save", exclusive=True, exit_on_error=False)

    @on(Worker.StateChanged)
    def _save_finished(self, event: Worker.StateChanged) -> None:
        # Dismissed only once the worker has finished: dismissing from inside it would cancel it mid-return.
        worker = event.worker
        if worker.group != "save" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self._busy = False
        if event.state == WorkerState.ERROR or worker.result is None:
            self._show_error(f"Could not save: {worker.error}")
            return
        outcome, path, detail = worker.result
        if outcome == "failed":
            self._show_error(str(detail))
            return
        n = int(detail)
        self.app.notify(f"Saved {n:,} event{'s' if n != 1 else ''} as {FORMAT_LABELS[self._format_saved]} to "
                        f"{one_line(path, 120)}", timeout=4, markup=False)
        self.dismiss(path)

    def action_cancel(self) -> None:
        if not self._busy:
            self.dismiss(None)
