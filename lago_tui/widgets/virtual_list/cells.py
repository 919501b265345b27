"""Cells to segments: each cell fitted to its column (cropped with an ellipsis, or padded), on one line.

Pure functions of their inputs (the console and the stylesheet's style parser are passed in), so the
table can cache the strips they make.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.strip import Strip
from textual.style import Style as VisualStyle

from .columns import GAP, Cell, Column

__all__ = ["cell_segments", "render_cells", "sanitize"]

# C0 and C1 control characters (including ESC, newlines and tabs) would corrupt the
# terminal or the line layout; they are shown as spaces.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_TABLE = {code: " " for code in (*range(0x20), *range(0x7F, 0xA0))}
_NULL_VISUAL_STYLE = VisualStyle.null()

ParseStyle = Callable[[str], Any]


def sanitize(plain: str) -> str | None:
    """The text with control characters replaced by spaces, or None if it has none."""
    if _CONTROL_RE.search(plain) is None:
        return None
    return plain.translate(_CONTROL_TABLE)


def render_cells(
    cells: Sequence[Cell], columns: Sequence[Column], widths: tuple[int, ...], width: int, base: Style,
    console: Console, parse_style: ParseStyle,
) -> Strip:
    """One line: each cell fitted to its column, on the `base` style."""
    segments: list[Segment] = []
    append = segments.append
    gap = Segment(" " * GAP, base)
    total = 0
    for position, (column, column_width) in enumerate(zip(columns, widths)):
        if position:
            append(gap)
            total += GAP
        cell: Cell = cells[position] if position < len(cells) else ""
        for text, style, _control in cell_segments(cell, column_width, column.align, console, parse_style):
            append(Segment(text, base + style if style is not None else base))
        total += max(0, column_width)
    if total < width:
        append(Segment(" " * (width - total), base))
        return Strip(segments, width)
    strip = Strip(segments, total)
    return strip.crop(0, width) if total > width else strip


def cell_segments(
    cell: Cell, width: int, align: Literal["left", "right"], console: Console, parse_style: ParseStyle,
) -> list[Segment]:
    """Segments of one cell, cropped (with an ellipsis) or padded to `width`."""
    if width <= 0:
        return []
    if isinstance(cell, str):
        # Fast path, and the guarantee that a str is never parsed as markup.
        plain = sanitize(cell) or cell
        length = cell_len(plain)
        if length > width:
            plain = set_cell_size(plain, width - 1) + "…" if width > 1 else "…"
            length = width
        if length < width:
            padding = " " * (width - length)
            plain = padding + plain if align == "right" else plain + padding
        return [Segment(plain)]
    if isinstance(cell, Content):
        content = cell
        clean = sanitize(content.plain)
        if clean is not None:
            content = Content(clean, list(content.spans))
        content = content.truncate(width, ellipsis=True)
        padding = width - content.cell_length
        if padding > 0:
            content = content.pad_left(padding) if align == "right" else content.pad_right(padding)
        return [
            Segment(text, style.rich_style if style else None)
            for text, style in content.render(_NULL_VISUAL_STYLE, end="", parse_style=parse_style)
        ]
    text = cell if isinstance(cell, Text) else Text(str(cell))
    clean = sanitize(text.plain)
    if clean is not None:
        text = text.copy()
        text.plain = clean  # Same length: the spans stay valid.
    length = text.cell_len
    if length <= width:  # Common case: no copy needed, pad with the text's style.
        segments = list(text.render(console))
        if length < width:
            style = console.get_style(text.style) if text.style else None
            padding = Segment(" " * (width - length), style)
            if align == "right":
                segments.insert(0, padding)
            else:
                segments.append(padding)
        return segments
    text = text.copy()
    text.truncate(width, overflow="ellipsis")
    return list(text.render(console))
