"""The footer every lago-tui screen uses: its keys in the order the screen gives them, Help always visible.

Textual's footer lists the focused widget's keys, then the screen's, then the app's, and cuts what does
not fit: at 80 columns the app's ``? Help`` fell off the end of the detail screen. Here the Help key is
docked on the right, beside the palette key, so it is never cut; the rest keep their order (screens
list their most useful keys first).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.screen import Screen
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

    _shown: tuple[object, ...] | None = None  # what the last compose showed (see bindings_changed)

    def _what_shows(self) -> tuple[object, ...]:
        """The keys the footer would show now (what compose reads), as a comparable value."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip,
             binding.group.description if binding.group else None)
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette
        ) + (self.show_command_palette, self.compact)

    def bindings_changed(self, screen: Screen) -> None:
        # Every focus change asks the footer to recompose (some 10 keys unmounted and mounted again: a frame's
        # worth of work on the UI thread, right when a jump's rows are being painted). Moving focus between
        # the timeline and the line where a seq or a query is typed shows the same keys: nothing to do then.
        if (self._shown is not None and screen is self.screen and self.is_attached
                and self._what_shows() == self._shown):
            return
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        if self._bindings_ready and self.is_attached:
            self._shown = self._what_shows()
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
