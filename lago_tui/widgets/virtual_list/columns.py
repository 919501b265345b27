"""What a `VirtualTable` draws: its columns, their widths and the cells a row renderer returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar

from rich.text import Text
from textual.content import Content

__all__ = ["GAP", "Cell", "Column", "RenderContext", "RowRenderer", "Sort", "layout_columns"]

RowT = TypeVar("RowT")

Cell = Text | Content | str
"""One rendered cell: a Rich `Text`, a Textual `Content`, or a plain `str`.

A `str` is always shown literally (it is never parsed as markup)."""

GAP = 1
"""Cells between two columns."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a `VirtualTable`.

    Attributes:
        key: Identifier, reported by `VirtualTable.HeaderClicked` and used by `Sort`.
        label: Header text (a `str` is shown literally, never parsed as markup).
        width: Width in cells, or None for a flexible column. Flexible columns share
            the width left over by the fixed columns (equally), so the table always
            fits the widget width and never scrolls horizontally.
        align: Alignment of the cells (and the label) in the column.
        min_width: Minimum width of a flexible column.
    """

    key: str
    label: str | Text = ""
    width: int | None = None
    align: Literal["left", "right"] = "left"
    min_width: int = 4


class Sort(NamedTuple):
    """Sort indicator shown in the header (the table itself never sorts)."""

    key: str
    """Key of the sorted column."""
    descending: bool = False
    """True shows ▼ after the label, False shows ▲."""


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Extra information given to the row renderer."""

    widths: tuple[int, ...]
    """The width in cells of each column (cells are cropped/padded to these)."""
    highlighted: bool
    """True if the row is under the cursor."""
    focused: bool
    """True if the table has focus."""


RowRenderer = Callable[[RowT, int, RenderContext], Sequence[Cell]]
"""``render_row(row, index, context) -> one cell per column``.

Must be fast and pure: its output is cached per (row index, width, highlighted).
Call `VirtualTable.refresh_rows()` if what it returns changes for the same row.
"""


def layout_columns(columns: Sequence[Column], width: int) -> tuple[int, ...]:
    """Compute the width of each column to fit `width` cells.

    Fixed columns get their width; flexible columns share what is left (after one
    cell of gap between columns), each at least its `min_width`. If even the minimum
    does not fit, the line is cropped on the right.
    """
    if not columns:
        return ()
    fixed = sum(column.width for column in columns if column.width is not None)
    flexible = [index for index, column in enumerate(columns) if column.width is None]
    widths = [max(0, column.width or 0) for column in columns]
    if flexible:
        remaining = max(0, width - fixed - GAP * (len(columns) - 1))
        share, extra = divmod(remaining, len(flexible))
        for position, index in enumerate(flexible):
            widths[index] = max(columns[index].min_width, share + (position < extra))
    return tuple(widths)
