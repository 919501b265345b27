"""What the detail screen adds to the command palette: its saved views (one step each), the views menu,
saving the search, the jumps and views that have a key here, and the session's management."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.markup import escape

from ...safe import one_line

if TYPE_CHECKING:
    from .screen import SessionDetailScreen

    _Base = SessionDetailScreen
else:
    _Base = object

__all__ = ["DetailPalette"]

Command = tuple[str, str, Callable[[], Any]]


class DetailPalette(_Base):
    """A mixin of the detail screen: ``palette_commands`` (the app asks for them) and the views they list."""

    _views: list[Any] = []  # the saved timeline views, read in a worker when the screen opens

    def palette_commands(self) -> list[Command]:
        commands: list[Command] = []
        for view in self._views:
            # The palette reads titles as markup: a view's name and query are escaped.
            commands.append((
                f"View: {escape(one_line(view.name, 40))}",
                f"Search the timeline: {escape(one_line(view.query, 60))}",
                lambda query=view.query: self._view_chosen(query),
            ))
        commands.append(("Saved views…", "Choose, apply or delete a saved timeline view (V)", self.action_views))
        if self.search.active:
            commands.append(("Save the search as a view", "Name the current search (ctrl+s)", self.action_save_view))
        commands += [
            ("New branch", "Fork a branch at the highlighted event (b)", self.action_new_branch),
            ("Jump to a seq", "Type a seq, or branch@seq (:)", self.action_jump_to_seq),
            ("Runs", "Per-run and per-step tokens, tool calls, failures, wall time (u)", self.action_runs),
            ("Rename the session", "A new name for this session (R)", self.action_rename),
            ("Close the session", "Append SessionClosed, after a confirmation (C)", self.action_close_session),
            ("Delete the session", "Its branches and events, after typing its name (D)", self.action_delete_session),
        ]
        return commands

    def _load_views(self) -> None:
        """Read the saved timeline views (a file) in a worker, for the palette."""
        from ..views_menu import view_store
        from .actions import VIEW_SCOPE

        store = view_store(self.app)
        if store is None:
            return

        def work() -> None:
            try:
                views = list(store.all(VIEW_SCOPE))
            except Exception:  # noqa: BLE001 - an unreadable views file must not break the screen
                return
            self.deliver(setattr, self, "_views", views)

        self.run_worker(work, thread=True, group="sd-views", exclusive=True, exit_on_error=False)
