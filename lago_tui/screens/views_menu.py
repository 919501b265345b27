"""Saved views: a menu to apply one in one key (``V``), and a dialog to name the current query (ctrl+s).

A view is a named query for a scope (``list`` for the session list, ``timeline`` for a session's events).
The store is :class:`lago_tui.saved_views.SavedViews` (a file in the user's config directory), reached
only through the :class:`ViewStore` methods it has, from thread workers (it reads and writes a file); an
app may carry its own ``view_store`` (tests do).
"""

from __future__ import annotations

from typing import Any, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ..safe import one_line, safe_content
from .create_session import FORMS_CSS, CleanInput, FieldError
from .form_base import FormScreen

__all__ = ["SaveViewScreen", "View", "ViewStore", "ViewsMenuScreen", "view_store"]

NAME_MAX = 60


class View(Protocol):
    """A saved view: ``name``, ``scope`` and ``query`` (:class:`lago_tui.saved_views.SavedView`)."""

    name: str
    scope: str
    query: str


class ViewStore(Protocol):
    """Where saved views live (:class:`lago_tui.saved_views.SavedViews`). Every method may block (a file)."""

    problem: str | None
    """Why the store could not be (fully) read, after the last read."""

    def all(self, scope: Any = None) -> list[Any]: ...

    def save(self, scope: Any, name: str, query: str) -> Any: ...

    def delete(self, scope: Any, name: str) -> bool: ...


def view_store(app: Any) -> ViewStore | None:
    """The app's saved-view store, or None when this build has none."""
    store = getattr(app, "view_store", None)
    if store is not None:
        return store  # type: ignore[no-any-return]
    try:
        from ..saved_views import SavedViews
    except ImportError:
        return None
    store = SavedViews()
    try:
        app.view_store = store  # one per app: it re-reads the file on every call anyway
    except AttributeError:
        pass
    return store  # type: ignore[return-value]


def view_name_error(name: str) -> str | None:
    stripped = name.strip()
    if not stripped:
        return "a name is required"
    if len(stripped) > NAME_MAX:
        return f"too long ({len(stripped)} > {NAME_MAX} characters)"
    return None


class ViewsMenuScreen(ModalScreen[str | None]):
    """The saved views of one scope: enter (or its number) applies one, d deletes, esc closes.

    Dismisses with the chosen view's query, or None.
    """

    CSS_PATH = FORMS_CSS
    HELP_TITLE = "Saved views"
    BINDINGS = [
        Binding("escape,q,V", "close", "Close"),
        Binding("d,delete", "delete", "Delete view", tooltip="Delete the highlighted view"),
        *(Binding(str(n), f"apply({n - 1})", f"Apply view {n}", show=False,
                  tooltip="Apply the view with this number") for n in range(1, 10)),
    ]

    def __init__(self, store: ViewStore, scope: str, current: str = "") -> None:
        super().__init__()
        self.store = store
        self.scope = scope
        self.current = current
        self.views: list[View] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="form -views") as box:
            box.border_title = "Saved views"
            box.border_subtitle = "enter or 1-9 apply · d delete · esc close"
            yield OptionList(id="views-list")
            yield Static(Content.styled("loading…", "$text-muted"), id="views-hint", classes="field-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self._load()

    @work(thread=True, exclusive=True, group="views", exit_on_error=False)
    def _load(self) -> None:
        try:
            views: list[View] | str = list(self.store.all(self.scope))
        except Exception as exc:  # noqa: BLE001 - shown in the menu
            views = f"Could not read the saved views: {exc}"
        problem = getattr(self.store, "problem", None)
        self.app.call_from_thread(self._loaded, views, problem)

    def _loaded(self, views: list[View] | str, problem: str | None = None) -> None:
        hint = self.query_one("#views-hint", Static)
        options = self.query_one(OptionList)
        options.clear_options()
        if isinstance(views, str):
            hint.update(Content.styled(one_line(views, 200), "$text-error"))
            return
        self.views = views
        for number, view in enumerate(views, start=1):
            label = Content.assemble(
                (f"{number if number < 10 else ' '} ", "bold $text-accent"),
                safe_content(view.name, "bold", single_line=True, width=30),
                "  ",
                safe_content(view.query, "$text-muted", single_line=True, width=80),
            )
            options.add_option(Option(label, id=f"view-{number}"))
        if problem:
            hint.update(safe_content(problem, "$text-warning", single_line=True, width=300))
        elif views:
            options.highlighted = 0
            hint.update(Content.styled("ctrl+s in the list saves the current query as a view", "$text-muted"))
        else:
            hint.update(
                Content.styled("No saved views yet: type a query (/), then ctrl+s to save it.", "$text-muted")
            )

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.action_apply(event.option_index)

    def action_apply(self, index: int) -> None:
        if 0 <= index < len(self.views):
            self.dismiss(self.views[index].query)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_delete(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is None or not 0 <= index < len(self.views):
            return
        self._delete(self.views[index])

    @work(thread=True, exclusive=True, group="views", exit_on_error=False)
    def _delete(self, view: View) -> None:
        try:
            self.store.delete(self.scope, view.name)
        except Exception as exc:  # noqa: BLE001 - shown
            self.app.call_from_thread(self.notify, f"Could not delete the view: {exc}", severity="error", markup=False)
            return
        self.app.call_from_thread(self.notify, f"Deleted the view {one_line(view.name, 40)}", markup=False)
        self._load()


class SaveViewScreen(FormScreen):
    """Name the current query; dismisses with the name saved, or None."""

    CSS_PATH = FORMS_CSS
    AUTO_FOCUS = "#view-name"

    def __init__(self, store: ViewStore, scope: str, query: str) -> None:
        super().__init__()
        self.store = store
        self.scope = scope
        self.query_text = query
        self._existing: set[str] = set()

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="form -manage") as form:
            form.border_title = "Save view"
            form.border_subtitle = "ctrl+s save · esc cancel"
            yield Static(
                Content.assemble("Query  ", safe_content(self.query_text, "bold", single_line=True, width=200)),
                classes="manage-text",
            )
            with Horizontal(classes="field"):
                yield Label("Name", classes="field-label")
                yield CleanInput(placeholder=f"up to {NAME_MAX} characters", id="view-name")
            yield FieldError(id="view-name-error", classes="-empty")
            yield from self.form_end("Save")

    def on_mount(self) -> None:
        self._load_names()

    @work(thread=True, exclusive=True, group="views", exit_on_error=False)
    def _load_names(self) -> None:
        try:
            names = {view.name.casefold() for view in self.store.all(self.scope)}
        except Exception:  # noqa: BLE001 - only for the "replaces" warning
            return
        self.app.call_from_thread(setattr, self, "_existing", names)

    @on(Input.Changed, "#view-name")
    def _changed(self, event: Input.Changed) -> None:
        name = event.value.strip()
        message = view_name_error(event.value) if event.value else None
        if message is None and name.casefold() in self._existing:
            message = f"replaces the saved view {name!r}"
        self.query_one("#view-name-error", FieldError).show(message)

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_create()

    async def action_create(self) -> None:
        if self._busy:
            return
        name = self.query_one("#view-name", Input).value
        problem = view_name_error(name)
        if problem:
            self.query_one("#view-name-error", FieldError).show(problem)
            return
        self._busy = True
        self._write(name.strip())

    @work(thread=True, exit_on_error=False, group="write")
    def _write(self, name: str) -> tuple[str] | None:
        try:
            self.store.save(self.scope, name, self.query_text)
        except Exception as exc:  # noqa: BLE001 - shown in the form
            self.app.call_from_thread(self._failed, f"Could not save the view: {exc}")
            return None
        return (name,)

    def _failed(self, message: str) -> None:
        self._busy = False
        self.query_one("#form-error", FieldError).show(message, wrap=True)

    def _created(self, name: str) -> None:
        self._busy = False
        self.app.notify(f"Saved the view {one_line(name, 40)} (V lists your views)", markup=False)
        self.dismiss(name)
