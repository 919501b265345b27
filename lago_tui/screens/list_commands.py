"""What the session list does to the highlighted session and with saved views (a mixin of its screen).

Open, copy the id, rename / close / delete (dialogs of :mod:`.manage`), saved views (:mod:`.views_menu`),
the commands the screen adds to the palette, and loading the demo into an empty journal. The journal is
touched only in thread workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.markup import escape
from textual.screen import Screen

from ..clipboard import copy_for_user
from ..journal.views import SessionSummary
from ..safe import one_line
from ..summary import number

if TYPE_CHECKING:
    from .session_list import SessionListScreen

__all__ = ["VIEW_SCOPE", "ListCommands"]

VIEW_SCOPE = "list"  # the saved views of the session list


class ListCommands:
    """Mixed into :class:`~lago_tui.screens.session_list.SessionListScreen`."""

    # ------------------------------------------------------------------ open, copy, manage

    def action_open(self: SessionListScreen) -> None:
        row = self.table.highlighted_row
        if row is not None:
            self._open(row)

    def _open(self: SessionListScreen, row: SessionSummary | None) -> None:
        if row is not None:
            self.app.open_session(row.session_id)  # type: ignore[attr-defined]

    def action_copy_id(self: SessionListScreen) -> None:
        row = self.table.highlighted_row
        if row is None:
            self.notify("No session highlighted", severity="warning")
            return
        copy_for_user(self, row.session_id, f"the id of {one_line(row.name, 40)}")

    def _manage(self: SessionListScreen, make: Callable[[SessionSummary], Screen[Any]]) -> None:
        row = self.table.highlighted_row
        if row is None:
            self.notify("No session highlighted", severity="warning")
            return
        self.app.push_screen(make(row), self._managed)

    def _managed(self: SessionListScreen, result: object) -> None:
        if result:
            self.refresh_list()

    def action_rename(self: SessionListScreen) -> None:
        from .manage import RenameSessionScreen

        self._manage(RenameSessionScreen)

    def action_close_session(self: SessionListScreen) -> None:
        from .manage import CloseSessionScreen

        self._manage(CloseSessionScreen)

    def action_delete_session(self: SessionListScreen) -> None:
        from .manage import DeleteSessionScreen

        self._manage(DeleteSessionScreen)

    # ------------------------------------------------------------------ saved views

    def action_views(self: SessionListScreen) -> None:
        from .views_menu import ViewsMenuScreen, view_store

        store = view_store(self.app)
        if store is None:
            self.notify("Saved views are not available in this build", severity="warning")
            return
        self.app.push_screen(ViewsMenuScreen(store, VIEW_SCOPE, self.filter_text), self._view_chosen)

    def _view_chosen(self: SessionListScreen, query: str | None) -> None:
        if query is not None:
            self.apply_query(query)

    def _view_saved(self: SessionListScreen, name: str | None) -> None:
        if name:
            self._load_views()

    @work(thread=True, exclusive=True, group="session-list-views", exit_on_error=False)
    def _load_views(self: SessionListScreen) -> None:
        from .views_menu import view_store

        store = view_store(self.app)
        if store is None:
            return
        try:
            views = list(store.all(VIEW_SCOPE))
        except Exception:  # noqa: BLE001 - an unreadable views file must not break the list
            return
        self.app.call_from_thread(setattr, self, "_views", views)

    def action_save_view(self: SessionListScreen) -> None:
        from .views_menu import SaveViewScreen, view_store

        store = view_store(self.app)
        if store is None:
            self.notify("Saved views are not available in this build", severity="warning")
            return
        text = self.filter_input.value.strip() or self.filter_text
        if not text:
            self.notify("Nothing to save: type a query first (/)", severity="warning")
            return
        self.app.push_screen(SaveViewScreen(store, VIEW_SCOPE, text), self._view_saved)

    def palette_commands(self: SessionListScreen) -> list[tuple[str, str, Callable[[], Any]]]:
        """Commands this screen adds to the palette: its saved views, one step each."""
        from .views_menu import view_store

        commands: list[tuple[str, str, Callable[[], Any]]] = []
        store = view_store(self.app)
        if store is not None:
            for view in self._views:
                # The palette reads titles as markup: a view's name and query are escaped.
                commands.append((
                    f"View: {escape(one_line(view.name, 40))}",
                    f"Query the list: {escape(one_line(view.query, 60))}",
                    lambda query=view.query: self.apply_query(query),
                ))
            commands.append(("Saved views…", "Choose, apply or delete a saved view (V)", self.action_views))
            if self.filter_text:
                commands.append(("Save the query as a view", "Name the current query (ctrl+s)", self.action_save_view))
        row = self.table.highlighted_row
        if row is not None:
            commands += [
                ("Rename session", "Rename the highlighted session (R)", self.action_rename),
                ("Close session", "Close the highlighted session (C)", self.action_close_session),
                ("Delete session", "Delete the highlighted session (D)", self.action_delete_session),
                ("Copy session id", "Copy the highlighted session's id (y)", self.action_copy_id),
            ]
        return commands

    # ------------------------------------------------------------------ demo

    def action_load_demo(self: SessionListScreen) -> None:
        if not self.empty or self._importing:
            return
        self._importing = True
        self.refresh_bindings()
        self.notify("Loading the demo sessions…", markup=False, timeout=2)
        self._import_demo()

    @work(thread=True, exclusive=True, group="session-list-demo", exit_on_error=False)
    def _import_demo(self: SessionListScreen) -> None:
        from ..paths import demo_source

        try:
            result: Any = self.journal.import_file(demo_source())
        except Exception as error:
            result = error
        self.app.call_from_thread(self._demo_imported, result)

    def _demo_imported(self: SessionListScreen, result: Any) -> None:
        self._importing = False
        self.refresh_bindings()
        if isinstance(result, BaseException):
            self.handle_error(result)
            return
        self.notify(
            f"Loaded {result.sessions} demo sessions ({number(result.events)} events)", title="Demo", markup=False
        )
        self.missing = False
        self._update_empty_text()
        self.refresh_list()
        note = getattr(self.app, "note_own_write", None)
        if callable(note):
            note()
