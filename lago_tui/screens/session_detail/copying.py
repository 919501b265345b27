"""What ``y`` can copy of the highlighted event: its payload, its text, or the whole envelope. Each is a
:class:`CopyFormat` (it gets the screen and returns the text and how to describe it, or None when it does
not apply); the copy menu lists these first, then the analysis formats of the event, a selection or the
branch (JSON Lines, Markdown, OpenAI messages: :mod:`lago_tui.screens.copy_export`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...journal import TimelineEvent
from ...widgets.inspector import message_text

if TYPE_CHECKING:
    from .screen import SessionDetailScreen

__all__ = ["COPY_FORMATS", "CopyFormat", "event_text"]


@dataclass(frozen=True)
class CopyFormat:
    key: str  # its letter in the menu
    label: str
    render: Callable[[SessionDetailScreen], tuple[str, str] | None]  # (text, what it is) or None


def event_text(ev: TimelineEvent) -> str | None:
    """The text an event carries: message content (or delta, answer, error), else a tool's result."""
    text = message_text(ev)
    if text is not None:
        return text
    if ev.kind == "ToolCallCompleted":
        result = ev.payload.get("result")
        if isinstance(result, str):
            return result
        if result is not None:
            return json.dumps(result, indent=2, ensure_ascii=False)
    return None


def _event(screen: SessionDetailScreen) -> TimelineEvent | None:
    row = screen.highlighted()
    return row.ev if row is not None else None


def _payload(screen: SessionDetailScreen) -> tuple[str, str] | None:
    ev = _event(screen)
    if ev is None:
        return None
    return json.dumps(ev.payload, indent=2, ensure_ascii=False), f"the payload of seq {ev.seq}"


def _text(screen: SessionDetailScreen) -> tuple[str, str] | None:
    ev = _event(screen)
    text = event_text(ev) if ev is not None else None
    if ev is None or text is None:
        return None
    return text, f"the text of seq {ev.seq}"


def _whole(screen: SessionDetailScreen) -> tuple[str, str] | None:
    ev = _event(screen)
    if ev is None:
        return None
    return json.dumps(ev.to_wire(), ensure_ascii=False), f"event seq {ev.seq} as JSON"


COPY_FORMATS: list[CopyFormat] = [
    CopyFormat("p", "the payload (JSON)", _payload),
    CopyFormat("t", "the text (message content, tool result)", _text),
    CopyFormat("e", "the whole event (JSON, as Lago writes it)", _whole),
]
