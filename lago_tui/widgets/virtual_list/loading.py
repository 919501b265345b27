"""How a `VirtualTable` gets its rows: loads (the row count, the first pages and where the cursor goes, after
a new source or a reload: the same row kept under the cursor when it can be found) and the page cache the
viewport asks the `Fetcher` (:mod:`.fetching`) to fill. A mixin of `VirtualTable`; the table's message
handlers (`PageArrived`, `LoadArrived`) stay on the widget and call in here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from textual.geometry import clamp

from .fetching import LoadJob, LoadOutcome, PageJob, keep_visible, pages_for

if TYPE_CHECKING:
    from .table import VirtualTable

    _Base = VirtualTable[Any]
else:
    _Base = object

__all__ = ["TableLoading"]

_MISSING = object()


class TableLoading(_Base):
    def _queue_load(
        self, *, replace: bool, keep: bool, key: Hashable | None, has_key: bool
    ) -> None:
        job = self._load_job(replace=replace, keep=keep, key=key, has_key=has_key)
        queued = self._fetcher.submit_load(job)
        if queued:
            self._outstanding_loads += 1
        self._update_loading_class()

    def _load_job(self, *, replace: bool, keep: bool, key: Hashable | None, has_key: bool) -> LoadJob:
        assert self._source is not None
        return LoadJob(
            source=self._source,
            epoch=self._epoch,
            replace=replace,
            keep=keep,
            key=key,
            has_key=has_key,
            cursor=self.cursor,
            scroll_y=0 if replace and not has_key else self._top_row,
            visible=max(1, self._visible_rows),
            page_size=self._page_size,
        )

    def _ensure_pages(self) -> None:
        """Queue the pages the viewport needs (plus one page of prefetch each side)."""
        count = self._row_count
        source = self._source
        if source is None or count == 0 or self._awaiting_replace:
            return
        first = self._top_row
        last = min(count, first + max(1, self._visible_rows)) - 1
        page_size = self._page_size
        visible_pages = pages_for(first, last, page_size)
        wanted = list(visible_pages)
        if visible_pages.stop * page_size < count:
            wanted.append(visible_pages.stop)
        if visible_pages.start > 0:
            wanted.append(visible_pages.start - 1)
        pages = self._pages
        for page in visible_pages:
            if page in pages:
                pages.move_to_end(page)
        generation = self._generation
        self._fetcher.want_pages([
            PageJob(source, generation, page, page_size)
            for page in wanted
            if not self._page_complete(page) and page not in self._failed_pages
        ])

    def _page_complete(self, page: int) -> bool:
        """The page is cached with all its rows (a preloaded page may hold only the visible ones)."""
        rows = self._pages.get(page)
        if rows is None:
            return False
        return len(rows) >= self._page_size or page * self._page_size + len(rows) >= self._row_count

    def _store_page(self, page: int, rows: Sequence[Any]) -> None:
        pages = self._pages
        pages[page] = rows
        pages.move_to_end(page)
        # Never evict the pages of the viewport, whatever the page size.
        limit = max(self._max_pages, self._visible_rows // self._page_size + 4)
        while len(pages) > limit:
            pages.popitem(last=False)

    def _apply_load(self, job: LoadJob, outcome: LoadOutcome) -> None:
        if job.epoch != self._epoch:
            return  # The source was replaced (or reset) meanwhile.
        if job.replace:
            self._awaiting_replace = False
        for error in outcome.errors:
            self.post_message(self.SourceError(self, error))
        if outcome.count is None:
            assert outcome.error is not None
            self.post_message(self.SourceError(self, outcome.error))
            if job.replace:
                self._clear_rows()
            return

        keep_key = self._keep_key
        old_cursor = self.cursor
        old_scroll = self._top_row
        # The key of the row under the cursor *now* (the user may have moved).
        current_key: Any = _MISSING
        if job.replace:
            if job.has_key:
                current_key = job.key
        elif job.keep and keep_key is not None:
            row = self.get_row(old_cursor)
            if row is not None:
                current_key = keep_key(row)

        count = outcome.count
        self._generation += 1
        self._pages = OrderedDict(sorted(outcome.pages.items()))
        self._failed_pages.clear()
        self._row_count = count
        self._strips.clear()

        visible = max(1, self._visible_rows)
        target: int | None = None
        if current_key is not _MISSING:
            if outcome.key_index is not None and current_key == job.key:
                target = outcome.key_index
            elif keep_key is not None:
                target = self._find_key(current_key)
        if job.replace:
            if target is None:
                cursor, scroll_y = (0 if count else -1), 0
            else:
                offset = clamp(old_cursor - old_scroll, 0, visible - 1)
                cursor, scroll_y = target, target - offset
        else:
            cursor = target if target is not None else old_cursor
            if cursor < 0 and count:
                cursor = 0
            scroll_y = old_scroll
        cursor = clamp(cursor, 0, count - 1) if count else -1
        scroll_y = keep_visible(cursor, scroll_y, visible, count)

        self._update_virtual_size()
        self._scroll_to_row(scroll_y)
        self._suppress_highlight = True  # Post Loaded first, then RowHighlighted.
        try:
            self.move_cursor(cursor, scroll=False)
        finally:
            self._suppress_highlight = False
        self.refresh()
        self.post_message(self.Loaded(self, count))
        self._post_highlight()

    def _find_key(self, key: Hashable) -> int | None:
        keep_key = self._keep_key
        assert keep_key is not None
        page_size = self._page_size
        for page, rows in self._pages.items():
            for offset, row in enumerate(rows):
                if keep_key(row) == key:
                    return page * page_size + offset
        return None
