"""How a `VirtualTable` draws itself: one line per row on the Line API, rendered rows cached as `Strip`s
per (row, width, highlighted); rows not loaded yet show a dim placeholder and are repainted when their
page arrives. A mixin of `VirtualTable` (it uses the table's rows, columns and styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip

from .cells import render_cells
from .columns import Cell, RenderContext

if TYPE_CHECKING:
    from .table import VirtualTable

    _Base = VirtualTable[Any]
else:
    _Base = object

__all__ = ["TableRendering"]


@dataclass(frozen=True, slots=True)
class _RenderState:
    """Styles and geometry for one render pass (computed once per frame)."""

    width: int
    widths: tuple[int, ...]
    focused: bool
    base: Style
    cursor: Style
    even: Style
    header: Style
    placeholder: Style
    error: Style
    selected: Style
    key: int  # Identifies the styles, part of the cache key of rendered rows.


class TableRendering(_Base):
    """The rendering half of `VirtualTable`."""

    def _get_render_state(self) -> _RenderState:
        state = self._render_state
        if state is None:
            width = self._width
            focused = self.has_focus
            get = self.get_component_rich_style
            base = self.rich_style
            cursor = get("virtual-table--cursor")
            even = get("virtual-table--even")
            header = get("virtual-table--header")
            placeholder = get("virtual-table--placeholder", partial=True)
            error = get("virtual-table--error", partial=True)
            selected = get("virtual-table--selected")
            state = self._render_state = _RenderState(
                width=width,
                widths=self._column_widths(width),
                focused=focused,
                base=base,
                cursor=cursor,
                even=even,
                header=header,
                placeholder=placeholder,
                error=error,
                selected=selected,
                key=hash((width, focused, base, cursor, even, selected, self._zebra)),
            )
        return state

    def render_lines(self, crop: Region) -> list[Strip]:
        # Styles are re-read once per frame (cheap), so rendered rows never go stale
        # even if a style changes without notify_style_update (their key changes).
        self._render_state = None
        self._ensure_pages()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        state = self._get_render_state()
        width = state.width
        header = self._header_height
        if y < header:
            return self._render_header(state)
        index, line = divmod(self.scroll_offset.y + y - header, self._row_height)
        if index >= self._row_count or width <= 0:
            return Strip.blank(width, state.base)
        highlighted = index == self.cursor
        key = (index, highlighted, state.key)
        strips = self._strips.get(key)
        if strips is not None:
            return strips[line]
        row = self.get_row(index)
        if row is None:
            if line:
                return Strip.blank(width, self._row_style(state, index, highlighted))
            failed = index // self._page_size in self._failed_pages
            return self._render_placeholder(state, index, highlighted, failed)
        strips = self._render_row_strips(state, row, index, highlighted)
        self._strips[key] = strips
        return strips[line]

    def _row_style(self, state: _RenderState, index: int, highlighted: bool) -> Style:
        if highlighted:
            return state.cursor
        selection = self._selection
        if selection is not None and selection[0] <= index <= selection[1]:
            return state.selected
        if self._zebra and index % 2 == 0:
            return state.even
        return state.base

    def _render_placeholder(
        self, state: _RenderState, index: int, highlighted: bool, failed: bool
    ) -> Strip:
        base = self._row_style(state, index, highlighted)
        if failed:
            segment = Segment(" ⚠ failed to load", base + state.error)
        else:
            segment = Segment(" " + self._placeholder, base + state.placeholder)
        return Strip([segment]).crop_extend(0, state.width, base)

    def _render_row_strips(
        self, state: _RenderState, row: Any, index: int, highlighted: bool
    ) -> tuple[Strip, ...]:
        """The row's lines: one, or ``row_height`` with the flexible columns' text wrapped over them."""
        base = self._row_style(state, index, highlighted)
        context = RenderContext(state.widths, highlighted, state.focused)
        try:
            cells = self._render_row(row, index, context)
        except Exception as error:
            if self._render_error_reported != self._generation:
                self._render_error_reported = self._generation
                self.post_message(self.SourceError(self, error))
            message = f" ⚠ {type(error).__name__}: {error}"
            first = Strip([Segment(message, base + state.error)]).crop_extend(0, state.width, base)
            return (first,) + (Strip.blank(state.width, base),) * (self._row_height - 1)
        if self._row_height == 1:
            return (self._render_cells(cells, state.widths, state.width, base),)
        return tuple(
            self._render_cells(line_cells, state.widths, state.width, base)
            for line_cells in self._wrapped(cells, state.widths)
        )

    def _wrapped(self, cells: Sequence[Cell], widths: tuple[int, ...]) -> list[list[Cell]]:
        """``cells`` over ``row_height`` lines: flexible columns wrapped (the last line cut with an
        ellipsis if the text goes on), the others on the first line."""
        height = self._row_height
        console = self.app.console
        lines: list[list[Cell]] = [[] for _ in range(height)]
        for position, (column, column_width) in enumerate(zip(self._columns, widths)):
            cell: Cell = cells[position] if position < len(cells) else ""
            if column.width is not None or column_width <= 0:
                for k in range(height):
                    lines[k].append(cell if k == 0 else "")
                continue
            text = cell if isinstance(cell, Text) else Text(cell.plain if isinstance(cell, Content) else str(cell))
            wrapped = list(text.wrap(console, column_width, overflow="fold", no_wrap=False))
            if len(wrapped) > height:
                last = wrapped[height - 1].copy()
                last.append("…")  # (the cell renderer cuts a full line to the column, ellipsis last)
                wrapped = [*wrapped[: height - 1], last]
            for k in range(height):
                lines[k].append(wrapped[k] if k < len(wrapped) else "")
        return lines

    def _render_header(self, state: _RenderState) -> Strip:
        cache_key = (state.width, state.header, self.sort, self._columns)
        if self._header_strip is not None and self._header_strip[0] == cache_key:
            return self._header_strip[1]
        sort = self.sort
        labels: list[Cell] = []
        for column, column_width in zip(self._columns, state.widths):
            label = column.label if isinstance(column.label, Text) else Text(column.label)
            if sort is not None and sort.key == column.key:
                arrow = " ▼" if sort.descending else " ▲"
                label = label.copy()
                label.truncate(max(0, column_width - len(arrow)), overflow="ellipsis")
                label.append(arrow)
            labels.append(label)
        strip = self._render_cells(labels, state.widths, state.width, state.header)
        self._header_strip = (cache_key, strip)
        return strip

    def _render_cells(
        self, cells: Sequence[Cell], widths: tuple[int, ...], width: int, base: Style
    ) -> Strip:
        """One line: each cell fitted to its column, on the `base` style."""
        return render_cells(
            cells, self._columns, widths, width, base, self.app.console, self.app.stylesheet.parse_style
        )
