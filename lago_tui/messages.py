"""Messages shared between the app and its screens."""

from __future__ import annotations

from textual.message import Message


class JournalChanged(Message):
    """The journal file changed (another process or this one wrote): screens reload what they show."""


class DisplayChanged(Message):
    """How things are shown changed (times in UTC or local time): screens repaint, nothing is reloaded."""
