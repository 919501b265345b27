"""`VirtualTable`: the widget (cursor, scrolling, messages, the page cache); its rows come from a
`Fetcher` (:mod:`.fetching`) and are drawn by `TableRendering` (:mod:`.rendering`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from textual import events, on
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size, clamp
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .loading import TableLoading
from .rendering import TableRendering, _RenderState
from .columns import GAP, Column, RowRenderer, Sort, layout_columns
from .fetching import (
    Fetcher,
    LoadArrived,
    PageArrived,
    Preloaded,
    RowSource,
    keep_visible,
)

__all__ = ["VirtualTable"]

RowT = TypeVar("RowT")

_MISSING = object()


class VirtualTable(TableRendering, TableLoading, ScrollView, Generic[RowT], can_focus=True, inherit_bindings=False):
    """A virtual, read-only table whose rows come from a slow `RowSource`.

    Args:
        columns: The columns.
        render_row: ``render_row(row, index, context)`` returning one cell per column.
        source: Optional initial source (same as calling `set_source` after mount).
        keep_key: Optional ``keep_key(row) -> Hashable`` identifying a row across
            reloads, so that the cursor stays on the same row.
        show_header: Show the (sticky) header line.
        zebra_stripes: Style every other row with ``virtual-table--even``.
        page_size: Rows per fetched page.
        max_pages: Pages kept in the row cache (LRU).
        placeholder: Text shown for rows that are not loaded yet.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False),
        Binding("ctrl+u", "half_page_up", "Half a page up", show=False),
        Binding("ctrl+d", "half_page_down", "Half a page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--placeholder",
        "virtual-table--even",
        "virtual-table--error",
        "virtual-table--selected",
    }

    DEFAULT_CSS = """
    VirtualTable {
        width: 1fr;
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
        background: $surface;
        color: $foreground;

        & > .virtual-table--header {
            background: $panel;
            color: $foreground;
            text-style: bold;
        }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .virtual-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .virtual-table--placeholder {
            color: $text-muted;
            text-style: dim;
        }
        & > .virtual-table--even {
            background: $surface-lighten-1 50%;
        }
        & > .virtual-table--error {
            color: $text-error;
        }
        & > .virtual-table--selected {
            background: $accent 30%;
        }
    }
    """

    ALLOW_SELECT = False  # Double-click selects a row, not text.

    cursor: reactive[int] = reactive(-1, repaint=False, init=False)
    """Index of the highlighted row, -1 when the table is empty."""

    sort: reactive[Sort | None] = reactive(None, repaint=False, init=False)
    """Sort indicator shown in the header (display only)."""

    # ------------------------------------------------------------------ messages

    class _TableMessage(Message):
        """A message from a table: ``control`` is the table, so ``@on(..., "#id")`` selects by it."""

        table: VirtualTable[Any]

        @property
        def control(self) -> VirtualTable[Any]:
            return self.table

    class RowHighlighted(_TableMessage):
        """The cursor moved to another row.

        Posted once per cursor index. It is posted again for the same index when the
        row's data arrives (`row` was None because it was not loaded yet) and after a
        reload when the row under the cursor changed (a different key or, without
        `keep_key`, after every reload).
        """

        def __init__(self, table: VirtualTable[Any], index: int, row: Any | None) -> None:
            self.table = table
            self.index = index
            """Row index (-1 if the table is empty)."""
            self.row = row
            """The row, or None if not loaded yet (or the table is empty)."""
            super().__init__()

    class RowSelected(_TableMessage):
        """A row was chosen (enter, click on the highlighted row, double-click)."""

        def __init__(self, table: VirtualTable[Any], index: int, row: Any) -> None:
            self.table = table
            self.index = index
            self.row = row
            super().__init__()

    class Navigated(_TableMessage):
        """The user moved the cursor (a key or a click), as opposed to the program (`move_cursor`).

        Posted after the move; ``index`` is where the cursor went and ``count`` the row count then.
        """

        def __init__(self, table: VirtualTable[Any], index: int, count: int) -> None:
            self.table = table
            self.index = index
            self.count = count
            super().__init__()

    class HeaderClicked(_TableMessage):
        """A header cell was clicked."""

        def __init__(self, table: VirtualTable[Any], column_key: str) -> None:
            self.table = table
            self.column_key = column_key
            super().__init__()

    class Loaded(_TableMessage):
        """A (re)load finished: the row count is known and the view is up to date."""

        def __init__(self, table: VirtualTable[Any], count: int) -> None:
            self.table = table
            self.count = count
            super().__init__()

    class SourceError(_TableMessage):
        """The source (or the row renderer) raised; the table keeps running."""

        def __init__(self, table: VirtualTable[Any], error: BaseException) -> None:
            self.table = table
            self.error = error
            super().__init__()

    # --------------------------------------------------------------- construction

    def __init__(
        self,
        columns: Sequence[Column],
        render_row: RowRenderer[RowT],
        *,
        source: RowSource[RowT] | None = None,
        keep_key: Callable[[RowT], Hashable] | None = None,
        show_header: bool = True,
        zebra_stripes: bool = False,
        page_size: int = 128,
        max_pages: int = 64,
        placeholder: str = "…",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        if page_size < 1 or max_pages < 4:
            raise ValueError("page_size must be >= 1 and max_pages >= 4")
        self._columns: tuple[Column, ...] = tuple(columns)
        self._render_row = render_row
        self._keep_key = keep_key
        self._show_header = show_header
        self._zebra = zebra_stripes
        self._page_size = page_size
        self._max_pages = max_pages
        self._placeholder = placeholder

        self._source: RowSource[RowT] | None = None
        self._started = False  # Set on mount; set_source() before that is deferred.
        self._initial_load: tuple[RowSource[RowT], Hashable | None, Preloaded[RowT] | None] | None = (
            (source, None, None) if source is not None else None
        )
        self._row_count = 0
        self._epoch = 0  # Bumped when the source is replaced or reset.
        self._generation = 0  # Bumped whenever the cached rows are replaced.
        self._pages: OrderedDict[int, Sequence[RowT]] = OrderedDict()
        self._failed_pages: set[int] = set()
        self._strips: LRUCache[tuple[int, bool, int], tuple[Strip, ...]] = LRUCache(1024)  # a row's lines
        self._header_strip: tuple[tuple[Any, ...], Strip] | None = None
        self._widths: tuple[int, tuple[int, ...]] | None = None
        self._render_state: _RenderState | None = None
        self._last_highlight: tuple[Any, ...] | None = None
        self._render_error_reported = -1
        self._suppress_scroll = False
        self._suppress_highlight = False
        self._outstanding_loads = 0
        self._awaiting_replace = False  # A new source's first load is pending.

        self._row_height = 1
        self._selection: tuple[int, int] | None = None
        self._fetcher = Fetcher(self._start_thread, self.post_message)

    # ----------------------------------------------------------------- public API

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns (assign a new sequence to change them)."""
        return self._columns

    @columns.setter
    def columns(self, columns: Sequence[Column]) -> None:
        self._columns = tuple(columns)
        self._invalidate()

    @property
    def page_size(self) -> int:
        """Rows per fetched page (preloaded rows start at a multiple of it)."""
        return self._page_size

    @property
    def row_count(self) -> int:
        """Number of rows (as of the last completed load)."""
        return self._row_count

    @property
    def source(self) -> RowSource[RowT] | None:
        """The current source."""
        return self._source

    @property
    def is_loading(self) -> bool:
        """True while a `set_source()` / `reload()` is in progress.

        The widget also has the CSS class ``-loading`` meanwhile.
        """
        return self._outstanding_loads > 0

    @property
    def highlighted_row(self) -> RowT | None:
        """The row under the cursor, if loaded."""
        return self.get_row(self.cursor)

    def get_row(self, index: int) -> RowT | None:
        """The row at `index` if it is in the cache, else None (never blocks)."""
        if index < 0 or index >= self._row_count:
            return None
        rows = self._pages.get(index // self._page_size)
        if rows is None:
            return None
        offset = index % self._page_size
        return rows[offset] if offset < len(rows) else None

    def set_source(
        self,
        source: RowSource[RowT] | None,
        *,
        keep_key: Callable[[RowT], Hashable] | None = None,
        key: Hashable | None = None,
        preloaded: Preloaded[RowT] | None = None,
    ) -> None:
        """Show rows from a new source.

        The current rows stay on screen until the new count and visible rows have
        arrived, then everything is swapped at once and `Loaded` is posted.

        Args:
            source: The new source, or None for an empty table.
            keep_key: ``keep_key(row)`` identifying rows across reloads (replaces the
                current one if given).
            key: Put the cursor on the row with this key once loaded (found with the
                source's ``index_of`` if it has one, else only if it is near the
                current viewport); otherwise the cursor goes to the first row.
            preloaded: The count and rows of the viewport, already fetched (by the
                caller's own worker): shown at once, without a fetch round trip.
        """
        if keep_key is not None:
            self._keep_key = keep_key
        if not self._started:
            self._initial_load = (source, key, preloaded) if source is not None else None
            return
        self._epoch += 1
        self._source = source
        if self._fetcher.cancel():
            self._outstanding_loads -= 1
        if source is None:
            self._awaiting_replace = False
            self._clear_rows()
            self._update_loading_class()
            return
        if preloaded is not None:
            self._apply_load(self._load_job(replace=True, keep=False, key=key, has_key=key is not None),
                             preloaded.outcome(self._page_size))
            return
        # Until the new rows arrive the old ones stay on screen, but nothing more is
        # fetched for them.
        self._awaiting_replace = True
        self._queue_load(replace=True, keep=False, key=key, has_key=key is not None)

    def reload(self, *, keep: bool = True) -> None:
        """Re-count and refetch rows from the current source (for live updates).

        Old rows stay visible until the new ones arrive, the scroll position is kept,
        and (with `keep` and a `keep_key`) the cursor stays on the same row: found by
        the source's ``index_of`` if present, else if it is in the loaded window;
        otherwise the cursor keeps its index (clamped). Posts `Loaded` when done.
        """
        if self._source is None:
            return
        key: Hashable | None = None
        has_key = False
        if keep and self._keep_key is not None:
            row = self.get_row(self.cursor)
            if row is not None:
                key, has_key = self._keep_key(row), True
        self._queue_load(replace=False, keep=keep, key=key, has_key=has_key)

    def reset(self) -> None:
        """Forget the source and all rows: the table becomes empty.

        Results of fetches still running are discarded when they arrive.
        """
        self.set_source(None)

    def move_cursor(self, index: int, *, scroll: bool = True, context: int = 0) -> None:
        """Move the cursor to `index` (clamped), scrolling it into view if `scroll`.

        With `context`, a row that is off screen (or within `context` rows of an edge) is
        brought to a third of the way down, so that rows before and after it show too:
        for jumps (a search match, a seq) rather than steps.
        """
        self._suppress_scroll = not scroll or context > 0
        try:
            self.cursor = index
        finally:
            self._suppress_scroll = False
        if not scroll:
            return
        if context > 0:
            self._scroll_with_context(context)
        else:
            self._scroll_cursor_visible()

    def set_selection(self, selection: tuple[int, int] | None) -> None:
        """Show rows ``first..last`` (inclusive) as selected, or none."""
        if selection == self._selection:
            return
        self._selection = selection
        self.refresh_rows()

    def refresh_rows(self, indices: Sequence[int] | None = None) -> None:
        """Re-render rows (all, or just `indices`) without refetching them.

        Call this when what `render_row` returns changed (e.g. relative times).
        """
        if indices is None:
            self._strips.clear()
            self.refresh()
            return
        state_key = self._get_render_state().key
        for index in indices:
            for highlighted in (False, True):
                self._strips.discard((index, highlighted, state_key))
            self._refresh_row(index)

    # ------------------------------------------------------------------- actions

    def action_cursor_up(self) -> None:
        if self._row_count:
            self._navigate(max(0, self.cursor - 1))

    def action_cursor_down(self) -> None:
        if self._row_count:
            self._navigate(self.cursor + 1)

    def action_page_up(self) -> None:
        self._page(-1)

    def action_page_down(self) -> None:
        self._page(+1)

    def action_half_page_up(self) -> None:
        self._page(-1, half=True)

    def action_half_page_down(self) -> None:
        self._page(+1, half=True)

    def action_first(self) -> None:
        if self._row_count:
            self._navigate(0)

    def action_last(self) -> None:
        if self._row_count:
            self._navigate(self._row_count - 1)

    def action_select(self) -> None:
        self._select(self.cursor)

    # ------------------------------------------------------------------ internals

    @property
    def _header_height(self) -> int:
        return 1 if self._show_header else 0

    @property
    def row_height(self) -> int:
        """Lines per row: 1, or more to wrap the flexible columns' text over several lines."""
        return self._row_height

    @row_height.setter
    def row_height(self, lines: int) -> None:
        lines = max(1, int(lines))
        if lines == self._row_height:
            return
        cursor, top = self.cursor, self._top_row
        self._row_height = lines
        self._update_virtual_size()
        self._invalidate()
        self._scroll_to_row(top)
        if cursor >= 0:
            self._scroll_cursor_visible()

    @property
    def _visible_rows(self) -> int:
        return max(0, (self.scrollable_content_region.height - self._header_height) // self._row_height)

    @property
    def _top_row(self) -> int:
        """The first row (even partly) on screen."""
        return self.scroll_offset.y // self._row_height

    def _scroll_to_row(self, row: int) -> None:
        self.scroll_to(y=row * self._row_height, animate=False)

    def _refresh_row(self, index: int) -> None:
        self.refresh_lines(index * self._row_height + self._header_height, self._row_height)

    @property
    def _width(self) -> int:
        return self.scrollable_content_region.width

    def _column_widths(self, width: int) -> tuple[int, ...]:
        cached = self._widths
        if cached is not None and cached[0] == width:
            return cached[1]
        widths = layout_columns(self._columns, width)
        self._widths = (width, widths)
        return widths

    def _invalidate(self) -> None:
        """Forget all rendered lines (rows stay cached) and repaint."""
        self._strips.clear()
        self._header_strip = None
        self._widths = None
        self._render_state = None
        self.refresh()

    def _update_loading_class(self) -> None:
        self.set_class(self._outstanding_loads > 0, "-loading")

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(0, self._row_count * self._row_height + self._header_height)

    def _clear_rows(self) -> None:
        self._generation += 1
        self._pages.clear()
        self._failed_pages.clear()
        self._row_count = 0
        self._update_virtual_size()
        self._scroll_to_row(0)
        self.move_cursor(-1, scroll=False)
        self._invalidate()

    def _navigate(self, index: int) -> None:
        """A move made by the user: moved, then announced (`Navigated`)."""
        self.move_cursor(index)
        self.post_message(self.Navigated(self, self.cursor, self._row_count))

    def _page(self, direction: int, *, half: bool = False) -> None:
        if not self._row_count:
            return
        rows = max(1, self._visible_rows)
        step = max(1, rows // 2 if half else rows) * direction
        self._scroll_to_row(self._top_row + step)
        self._navigate(self.cursor + step)

    def _scroll_with_context(self, context: int) -> None:
        cursor, visible = self.cursor, self._visible_rows
        if cursor < 0 or visible <= 0:
            return
        current = self._top_row
        margin = min(context, max(0, (visible - 1) // 2))
        if current + margin <= cursor < current + visible - margin:
            return  # already in view with its context
        target = keep_visible(cursor, cursor - visible // 3, visible, self._row_count)
        if target != current:
            self._scroll_to_row(target)

    def _scroll_cursor_visible(self) -> None:
        if self.cursor < 0:
            return
        current = self._top_row
        target = keep_visible(self.cursor, current, self._visible_rows, self._row_count)
        if target != current or self.scroll_offset.y % self._row_height:
            self._scroll_to_row(target)

    def _select(self, index: int) -> None:
        row = self.get_row(index)
        if row is not None:
            self.post_message(self.RowSelected(self, index, row))

    def _post_highlight(self) -> None:
        """Post RowHighlighted unless it was already posted for this index and row."""
        index = self.cursor
        row = self.get_row(index)
        if row is None:
            identity: Any = _MISSING
        elif self._keep_key is not None:
            identity = self._keep_key(row)
        else:
            identity = self._generation
        marker = (index, identity)
        if marker == self._last_highlight:
            return
        self._last_highlight = marker
        self.post_message(self.RowHighlighted(self, index, row))

    def validate_cursor(self, value: int) -> int:
        if self._row_count == 0:
            return -1
        return clamp(value, 0, self._row_count - 1)

    def watch_cursor(self, old: int, new: int) -> None:
        if old >= 0:
            self._refresh_row(old)
        if new >= 0:
            self._refresh_row(new)
        if not self._suppress_scroll:
            self._scroll_cursor_visible()
        if not self._suppress_highlight:
            self._post_highlight()

    def watch_sort(self) -> None:
        self._header_strip = None
        if self._show_header:
            self.refresh(Region(0, 0, self.size.width, 1))

    # ----------------------------------------------------------- event handlers

    def _on_mount(self) -> None:
        self._started = True
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self._update_virtual_size()
        if self._initial_load is not None:
            (source, key, preloaded), self._initial_load = self._initial_load, None
            self.set_source(source, key=key, preloaded=preloaded)

    def _on_theme_changed(self, _theme: object) -> None:
        self._invalidate()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._header_strip = None
        self._render_state = None
        self.refresh()

    def _on_unmount(self) -> None:
        self._fetcher.stop()  # Let the fetch thread exit now.

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Queue the pages for the new viewport now rather than at the next frame.
        self._ensure_pages()

    def _on_resize(self, _event: events.Resize) -> None:
        self._invalidate()
        self._scroll_cursor_visible()

    def _on_focus(self, _event: events.Focus) -> None:
        self._invalidate()

    def _on_blur(self, _event: events.Blur) -> None:
        self._invalidate()

    def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        x, y = offset
        if y < self._header_height:
            key = self._column_at(x)
            if key is not None:
                event.stop()
                self.post_message(self.HeaderClicked(self, key))
            return
        index = (self.scroll_offset.y + y - self._header_height) // self._row_height
        if not 0 <= index < self._row_count:
            return
        event.stop()
        if index == self.cursor:
            if event.chain <= 2:
                self._select(index)
        else:
            self._navigate(index)

    def _column_at(self, x: int) -> str | None:
        position = 0
        for column, width in zip(self._columns, self._column_widths(self._width)):
            position += width + GAP
            if x < position:
                return column.key
        return None

    # ------------------------------------------------------------------ fetching

    def _start_thread(self, loop: Callable[[], None]) -> None:
        self.run_worker(
            loop,
            name="virtual-table-fetch",
            group="virtual-table-fetch",
            exclusive=False,
            thread=True,
            exit_on_error=False,
        )

    @on(PageArrived)
    def _page_arrived(self, message: PageArrived) -> None:
        message.stop()
        job = message.job
        self._fetcher.page_done(job)
        if job.generation != self._generation or job.source is not self._source:
            return  # Stale: the rows were reloaded or the source replaced meanwhile.
        if message.error is not None:
            self._failed_pages.add(job.page)
            self.post_message(self.SourceError(self, message.error))
        else:
            assert message.rows is not None
            self._store_page(job.page, message.rows)
        start = job.page * self._page_size
        self.refresh_lines(start * self._row_height + self._header_height, self._page_size * self._row_height)
        if start <= self.cursor < start + self._page_size:
            self._post_highlight()

    @on(LoadArrived)
    def _load_arrived(self, message: LoadArrived) -> None:
        message.stop()
        self._outstanding_loads = max(0, self._outstanding_loads - 1)
        self._update_loading_class()
        self._apply_load(message.job, message.outcome)
