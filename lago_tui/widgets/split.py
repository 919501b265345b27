"""A divider between two panes that the mouse can drag (the keys for it live on the screen)."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widget import Widget

__all__ = ["SplitHandle"]


class SplitHandle(Widget):
    """One cell wide (``-vertical``: between side-by-side panes) or one row high (``-horizontal``).

    Press and drag: it posts :class:`Dragged` with the pointer's screen position while the button is
    down; the screen turns that into a pane size.
    """

    DEFAULT_CSS = """
    SplitHandle {
        width: 1;
        height: 1fr;
        color: $panel-lighten-2;
    }
    SplitHandle.-horizontal {
        width: 1fr;
        height: 1;
    }
    SplitHandle:hover, SplitHandle.-dragging {
        color: $accent;
    }
    """

    class Dragged(Message):
        """The handle was dragged to ``(screen_x, screen_y)``."""

        def __init__(self, handle: SplitHandle, screen_x: int, screen_y: int) -> None:
            self.handle = handle
            self.screen_x = screen_x
            self.screen_y = screen_y
            super().__init__()

        @property
        def control(self) -> SplitHandle:
            return self.handle

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.dragging = False

    def render(self) -> str:
        width, height = self.size
        if self.has_class("-horizontal"):
            return "▔" * width
        return "\n".join("▏" * width for _ in range(height))

    def on_resize(self) -> None:
        self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        event.stop()
        self.dragging = True
        self.add_class("-dragging")
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self.dragging:
            event.stop()
            self.post_message(self.Dragged(self, event.screen_x, event.screen_y))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self.dragging:
            event.stop()
            self.dragging = False
            self.remove_class("-dragging")
            self.capture_mouse(False)
