"""Follow mode, as in ``less +F`` and k9s: the cursor tracks the last event as events arrive.

Moving away from the end pauses following (the status says so); ``G`` (back to the end) or ``f``
resumes it. ``f`` while following turns it off.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Follow", "FollowState"]


class FollowState(Enum):
    OFF = "off"
    ON = "on"
    PAUSED = "paused"


class Follow:
    """The follow state of one timeline view (no Textual here: the screen applies what it says)."""

    def __init__(self) -> None:
        self.state = FollowState.OFF

    @property
    def tracking(self) -> bool:
        """New events move the cursor to the end."""
        return self.state is FollowState.ON

    @property
    def paused(self) -> bool:
        return self.state is FollowState.PAUSED

    def toggle(self) -> FollowState:
        """``f``: off -> on, on -> off, paused -> on (resume)."""
        self.state = FollowState.OFF if self.state is FollowState.ON else FollowState.ON
        return self.state

    def navigated(self, index: int, count: int) -> bool:
        """The user moved the cursor to ``index`` of ``count`` rows. Returns True if the state changed:
        away from the end pauses following, back at the end resumes it."""
        at_end = count > 0 and index >= count - 1
        if self.state is FollowState.ON and not at_end:
            self.state = FollowState.PAUSED
            return True
        if self.state is FollowState.PAUSED and at_end:
            self.state = FollowState.ON
            return True
        return False
