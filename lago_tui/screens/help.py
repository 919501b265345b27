"""Keys and commands, per screen: static text of ours, shown without markup."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Everywhere",
        (
            ("n", "new session"),
            ("ctrl+p", "command palette: open a session by name, new branch, theme, help, quit"),
            ("? / f1", "this help"),
            ("q / ctrl+c", "quit"),
        ),
    ),
    (
        "Session list",
        (
            ("j / k / ↓ / ↑", "move down / up"),
            ("g / G", "first / last session"),
            ("PageUp / PageDown", "page up / down"),
            ("enter", "open the session"),
            ("/", "filter by name, id or model (escape clears)"),
            ("n", "new session"),
        ),
    ),
    (
        "Session detail",
        (
            ("j / k / ↓ / ↑", "move down / up the timeline"),
            ("g / G", "first / last event"),
            ("PageUp / PageDown", "page up / down"),
            ("enter", "open the highlighted event"),
            ("/", "search the timeline"),
            ("n / N", "next / previous match (without a search, n is new session)"),
            ("t", "filter by event kind"),
            ("f", "follow new events (live tail)"),
            ("y", "copy the event as JSON"),
            ("b", "new branch at the highlighted event"),
            ("i", "show / hide the inspector"),
            ("escape", "back to the session list"),
        ),
    ),
    (
        "Forms (new session, new branch)",
        (
            ("tab / shift+tab", "next / previous field"),
            ("enter", "next field; on the last field, create"),
            ("ctrl+s", "create"),
            ("ctrl+a", "add a param row"),
            ("ctrl+d", "remove the param row with the cursor"),
            ("escape", "cancel (nothing is written)"),
        ),
    ),
)

FOOTNOTE = "The mouse works too: click rows, tabs and buttons; scroll with the wheel."


def help_plain() -> str:
    """The help as plain text (for tests and for reading in a terminal)."""
    lines: list[str] = []
    for title, keys in SECTIONS:
        lines.append(title)
        lines += [f"  {key:<20} {what}" for key, what in keys]
        lines.append("")
    return "\n".join(lines + [FOOTNOTE])


class HelpScreen(ModalScreen[None]):
    """Every key, per screen; scrollable; escape, q or ? closes it."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close"),
        Binding("j,down", "scroll('down')", show=False),
        Binding("k,up", "scroll('up')", show=False),
        Binding("n", "ignore", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "escape · q · ? close"
            with VerticalScroll(id="help-body"):
                for title, keys in SECTIONS:
                    yield Static(title, classes="help-title", markup=False)
                    for key, what in keys:
                        with Horizontal(classes="help-row"):
                            yield Static(key, classes="help-key", markup=False)
                            yield Static(what, classes="help-what", markup=False)
                yield Static(FOOTNOTE, classes="help-footnote", markup=False)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_ignore(self) -> None:
        """n would open a form behind the help."""

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if direction == "down":
            body.scroll_down()
        else:
            body.scroll_up()
