"""The App: screens, global bindings, command palette, themes, live journal watching.

Screens talk to the journal only through :class:`lago_tui.journal.JournalAPI` (a file or a server, they
never know which), always from thread workers. The app polls the journal's
:meth:`~lago_tui.journal.JournalAPI.change_token` (cheap, never blocking) and posts
:class:`JournalChanged` to the active screen when it changed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, SystemCommand
from textual.command import CommandPalette
from textual.binding import Binding
from textual.screen import Screen

from . import idle_gc, summary
from .commands import SessionCommands
from .journal import JournalAPI, JournalError
from .messages import DisplayChanged, JournalChanged
from .paths import config_dir
from .safe import one_line

Clock = Callable[[], int]

LIVE_WINDOW = 5.0  # seconds after the last outside change during which the journal counts as being written
LIVE_IDLE_RELEASE = 0.15  # seconds a reader keeps the file after its last query while it is being written


def wall_clock_us() -> int:
    return time.time_ns() // 1000


class LagoApp(App[None]):
    """lago-tui: browse and create agent sessions."""

    TITLE = "lago-tui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {SessionCommands}
    BINDINGS = [
        Binding("n", "new_session", "New session", tooltip="Create a session"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("q", "back", "Back (quit from the session list)", show=False),
        Binding("ctrl+c,ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        journal: JournalAPI,
        *,
        clock: Clock = wall_clock_us,
        settings_path: Path | None = None,
        watch_interval: float = 0.5,
        utc: bool | None = None,
    ) -> None:
        super().__init__()
        self.journal = journal
        self.clock = clock
        self.settings_path = settings_path if settings_path is not None else config_dir() / "settings.json"
        self.watch_interval = watch_interval
        self._last_token: Hashable | None = None
        self._last_change = float("-inf")
        self._browse_idle_release = journal.idle_release
        self._status_note: str | None = None
        self._status_notice: Any = None
        self._limitations_said = False
        self._collector = idle_gc.IdleCollector()
        self._settings_loaded = False
        self._apply_saved_theme()
        # Times: local with the zone shown, unless --utc or the saved setting asks for UTC.
        self._utc_forced = utc is not None
        summary.set_utc(utc if utc is not None else self._read_settings().get("utc") is True)

    # ------------------------------------------------------------------ settings (theme)

    def _read_settings(self) -> dict[str, Any]:
        try:
            data = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _apply_saved_theme(self) -> None:
        theme = self._read_settings().get("theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme
        self._settings_loaded = True

    def watch_theme(self, theme: str) -> None:
        if not self._settings_loaded:
            return
        self._save_setting("theme", theme, "the theme")

    def _save_setting(self, key: str, value: Any, what: str) -> None:
        settings = self._read_settings()
        if settings.get(key) == value:
            return
        settings[key] = value
        try:
            self.settings_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.settings_path.with_name(self.settings_path.name + ".tmp")
            tmp.write_text(json.dumps(settings, indent=2), encoding="utf-8")
            tmp.replace(self.settings_path)
        except OSError as exc:
            self.notify(f"Could not save {what}: {exc.strerror or exc}", severity="warning", markup=False)

    # ------------------------------------------------------------------ settings (time zone)

    def action_toggle_utc(self) -> None:
        """Show times in UTC, or back in the local zone (remembered between runs unless --utc was given)."""
        utc = not summary.showing_utc()
        summary.set_utc(utc)
        if not self._utc_forced:
            self._save_setting("utc", utc, "the time zone setting")
        self.notify(f"Times now in {'UTC' if utc else 'local time (' + summary.zone_label() + ')'}", timeout=2)
        for screen in self.screen_stack:
            screen.post_message(DisplayChanged())

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        from .screens.session_list import SessionListScreen

        self.push_screen(SessionListScreen())
        self._last_token = self.journal.change_token()
        self.set_interval(self.watch_interval, self._poll_journal, name="journal-watch")
        # Full garbage collections while the user is idle (see idle_gc.py), from when the first screen is up.
        self.call_after_refresh(self._collector.start)
        self.set_interval(idle_gc.TICK, self._collector.tick, name="idle-gc")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self._collector.saw_input()
        await super().on_event(event)

    def _poll_journal(self) -> None:
        token = self.journal.change_token()
        now = time.monotonic()
        if token != self._last_token:
            self._last_token = token
            self._last_change = now
            self.screen.post_message(JournalChanged())
        # While another process is writing, hand the file back quickly after each refresh: DuckDB lets a
        # writer in only when no reader holds the file, and the default one-second idle release made a
        # busy agent wait up to 3.6 s per commit while someone watched. Browsing alone keeps the second.
        writing = now - self._last_change < LIVE_WINDOW
        self.journal.idle_release = LIVE_IDLE_RELEASE if writing else self._browse_idle_release
        note = self.journal.status()
        if note != self._status_note:
            self._show_status(note)
        if not self._limitations_said:
            limits = self.journal.limitations()
            if limits:
                self._limitations_said = True
                self.notify(one_line(limits, 300), title="Limited server", timeout=12, markup=False)

    def _show_status(self, note: str | None) -> None:
        """Keep a problem reaching the journal (a server down) on screen until it clears by itself."""
        from textual.notifications import Notification, Notify

        was_down, self._status_note = self._status_note is not None, note
        if self._status_notice is not None:
            try:
                self._unnotify(self._status_notice)
            except KeyError:  # dismissed by a click
                pass
            self._status_notice = None
        if note:
            self._status_notice = Notification(
                one_line(note, 300) + " · retrying", "Journal unreachable", "warning", timeout=10**9, markup=False
            )
            self.post_message(Notify(self._status_notice))
        elif was_down:
            self.notify("Connected again.", title="Journal", timeout=3, markup=False)

    def note_own_write(self) -> None:
        """After this process wrote: refresh now rather than at the next poll."""
        self._poll_journal()

    def on_unmount(self) -> None:
        self._collector.stop()
        self.journal.close()

    # ------------------------------------------------------------------ errors

    def show_journal_error(self, error: JournalError) -> None:
        """A journal that cannot be read at all (not a journal, corrupt, too new...): an error screen."""
        from .screens.error import JournalErrorScreen

        if not isinstance(self.screen, JournalErrorScreen):
            self.push_screen(JournalErrorScreen(error))

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "new_session":
            # Not over a journal that cannot be read (the error screen), nor from the views over one session
            # (problems, lanes, runs, compare: OFFERS_NEW_SESSION = False), whose footers need the room for their
            # own keys. The palette asks on behalf of the screen it was opened over.
            from .screens.error import JournalErrorScreen

            screen = self.screen
            if isinstance(screen, CommandPalette) and len(self.screen_stack) > 1:
                screen = self.screen_stack[-2]
            return not isinstance(screen, JournalErrorScreen) and getattr(screen, "OFFERS_NEW_SESSION", True)
        return True

    def action_back(self) -> None:
        """``q``: back one screen; from the session list (the bottom screen) quit."""
        from .screens.session_list import SessionListScreen

        if isinstance(self.screen, SessionListScreen) or len(self.screen_stack) <= 2:
            self.exit()
        else:
            self.pop_screen()

    def action_new_session(self) -> None:
        from .screens.create_session import CreateSessionScreen

        if not isinstance(self.screen, CreateSessionScreen):
            self.push_screen(CreateSessionScreen(), self._session_created)

    def _session_created(self, session_id: str | None) -> None:
        if session_id:
            self.open_session(session_id)

    def open_session(self, session_id: str, *, branch_id: str | None = None) -> None:
        from .screens.session_detail import SessionDetailScreen

        self.push_screen(SessionDetailScreen(session_id, branch_id=branch_id))

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]):  # noqa: ANN201 - a generator of SystemCommand
        if self.check_action("new_session", ()):
            yield SystemCommand("New session", "Create a session (n)", self.action_new_session)
        # A screen offers its own commands (new branch, saved views, rename...): (title, help, callback).
        screen_commands = getattr(screen, "palette_commands", None)
        if callable(screen_commands):
            for title, help_text, callback in screen_commands():
                yield SystemCommand(title, help_text, callback)
        else:
            new_branch = getattr(screen, "action_new_branch", None)
            if new_branch is not None:
                yield SystemCommand("New branch", "Fork a branch at the highlighted event (b)", new_branch)
        yield SystemCommand("Switch theme", "Choose a theme (remembered between runs)", self.action_change_theme)
        zone = "Show times in local time" if summary.showing_utc() else "Show times in UTC"
        yield SystemCommand(zone, f"Times are now shown in {summary.zone_label()}", self.action_toggle_utc)
        yield SystemCommand("Help", "Keys and commands (?)", self.action_help)
        yield SystemCommand("Quit", "Quit lago-tui (ctrl+q)", self.action_quit)


def run_app(journal: JournalAPI, *, utc: bool | None = None) -> int:
    """Open the TUI on ``journal`` (``lago-tui`` with no command); ``utc``: ``--utc`` was given."""
    app = LagoApp(journal, utc=utc)
    app.run()
    return 0 if app.return_code is None else app.return_code
