"""The footer every lago-tui screen uses: its keys in the order the screen gives them, Help always visible.

Textual's footer lists the focused widget's keys, then the screen's, then the app's, and cuts what does
not fit: at 80 columns the app's ``? Help`` fell off the end of the detail screen. Here the Help key is
docked on the right, beside the palette key, so it is never cut; the rest keep their order (screens
list their most useful keys first).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

__all__ = ["Footer", "HELP_ACTIONS"]

HELP_ACTIONS = frozenset({"help", "app.help"})


class Footer(TextualFooter):
    """A :class:`textual.widgets.Footer` whose Help key is docked right (never cut)."""

    DEFAULT_CSS = """
    Footer .footer-right {
        dock: right;
        width: auto;
        height: 1;
        background: $footer-background;
    }
    Footer .footer-right FooterKey {
        border-left: vkey $foreground 20%;
    }
    Footer .footer-right FooterKey.-command-palette {
        dock: none;
        padding-right: 0;
    }
    """

    def compose(self) -> ComposeResult:
        right: list[FooterKey] = []
        for widget in super().compose():
            if isinstance(widget, FooterKey) and (
                (not right and widget.action in HELP_ACTIONS) or widget.has_class("-command-palette")
            ):
                right.append(widget)
                continue
            yield widget
        if right:
            for key in right:
                if key.action in HELP_ACTIONS:
                    key.add_class("-help")
            yield HorizontalGroup(*right, classes="footer-right")  # no id: two recomposes may overlap
