"""A fast, virtual, read-only table on Textual's Line API.

`VirtualTable` displays rows pulled on demand from a slow `RowSource` (e.g. DuckDB
queries taking 5-50 ms). Only the rows on screen are rendered, only the pages around
the viewport are fetched, and the source is only ever called from a background
thread worker, never from the UI thread.

How it works, in brief (one module per part):

* ``columns``: the columns, their widths (`layout_columns`) and what a row renderer returns.
* ``fetching``: rows are fetched in pages of `page_size` rows by one thread per table
  (the `Fetcher`): the source is never called concurrently by one table (DuckDB
  connections are not safe to share between threads), requests for the same page are
  coalesced, and queued pages that scrolled out of view are dropped before they are
  fetched. Results are posted back to the widget as messages; results of an older data
  generation (after `reload()` / `set_source()` / `reset()`) are discarded.
* ``table``: the widget. Pages are cached in a bounded LRU of `max_pages` pages;
  `render_lines` (UI thread) works out which pages the viewport needs, plus one page
  of prefetch before and after it, and queues the missing ones. Rendered rows are
  cached as `Strip`s per (row, width, highlighted); rows not loaded yet show a dim
  placeholder and are repainted when their page arrives.
* ``cells``: one row's cells fitted to their columns, as segments.

Live updates: the owner calls `reload()`. The old rows stay on screen until the new
count and the rows of the viewport have arrived; then they are swapped in at once,
keeping the scroll position and the cursor on the same row (by key, see `keep_key`).
"""

from .columns import Cell, Column, RenderContext, RowRenderer, Sort, layout_columns
from .fetching import KeyedRowSource, Preloaded, RowSource
from .table import VirtualTable

__all__ = [
    "Cell",
    "Column",
    "KeyedRowSource",
    "Preloaded",
    "RenderContext",
    "RowRenderer",
    "RowSource",
    "Sort",
    "VirtualTable",
    "layout_columns",
]
