"""Pilot tests for `lago_tui.widgets.virtual_list.VirtualTable`."""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # Run from a checkout.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lago_tui.widgets.virtual_list import (  # noqa: E402
    Column,
    RenderContext,
    Sort,
    VirtualTable,
    layout_columns,
)

PAGE_SIZE = 128
SIZE = (80, 24)
VISIBLE_ROWS = SIZE[1] - 1  # One line of header.


@dataclass(frozen=True)
class Row:
    id: int
    title: str


class FakeSource:
    """An in-memory source that records which threads call it."""

    def __init__(
        self,
        rows: Sequence[Row] | None = None,
        *,
        count: int | None = None,
        delay: float = 0.0,
        fail_count: bool = False,
        fail_fetch: bool = False,
    ) -> None:
        self.rows = list(rows) if rows is not None else None
        self._count = count
        self.delay = delay
        self.fail_count = fail_count
        self.fail_fetch = fail_fetch
        self.threads: list[threading.Thread] = []
        self.fetches: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else (self._count or 0)

    def count(self) -> int:
        self.threads.append(threading.current_thread())
        time.sleep(self.delay)
        if self.fail_count:
            raise RuntimeError("count exploded")
        return len(self)

    def fetch(self, start: int, count: int) -> list[Row]:
        self.threads.append(threading.current_thread())
        self.fetches.append((start, count))
        time.sleep(self.delay)
        if self.fail_fetch:
            raise RuntimeError("fetch exploded")
        if self.rows is not None:
            return self.rows[start : start + count]
        end = min(len(self), start + count)
        return [Row(index, f"row {index}") for index in range(start, end)]

    @property
    def pages_fetched(self) -> int:
        return sum(-(-count // PAGE_SIZE) for _, count in self.fetches)


class IndexedSource(FakeSource):
    """A source that can find a row's index by key."""

    def index_of(self, key: int) -> int | None:
        self.threads.append(threading.current_thread())
        assert self.rows is not None
        for index, row in enumerate(self.rows):
            if row.id == key:
                return index
        return None


def render_row(row: Row, index: int, context: RenderContext) -> list[Text | str]:
    return [str(row.id), row.title, Text("x", style="bold")]


COLUMNS = [
    Column("id", "ID", width=8, align="right"),
    Column("title", "Title"),
    Column("flag", "Flag", width=6),
]


class TableApp(App[None]):
    def __init__(
        self,
        source: FakeSource | None,
        *,
        render: Callable[[Row, int, RenderContext], Sequence[Text | str]] = render_row,
    ) -> None:
        super().__init__()
        self.source = source
        self.render = render
        self.messages: list[object] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(
            COLUMNS, self.render, source=self.source, keep_key=lambda row: row.id
        )

    def on_virtual_table_row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        self.messages.append(("highlighted", message.index, message.row))

    def on_virtual_table_row_selected(self, message: VirtualTable.RowSelected) -> None:
        self.messages.append(("selected", message.index, message.row))

    def on_virtual_table_header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        self.messages.append(("header", message.column_key))

    def on_virtual_table_loaded(self, message: VirtualTable.Loaded) -> None:
        self.messages.append(("loaded", message.count))

    def on_virtual_table_source_error(self, message: VirtualTable.SourceError) -> None:
        self.messages.append(("error", str(message.error)))

    def of_kind(self, kind: str) -> list[tuple]:
        return [m for m in self.messages if isinstance(m, tuple) and m[0] == kind]


def run_async(test: Callable[[], Coroutine[None, None, None]]) -> Callable[[], None]:
    """Run an async test with asyncio (no async pytest plugin is required)."""

    @functools.wraps(test)
    def wrapper() -> None:
        asyncio.run(test())

    return wrapper


def rows(count: int, first_id: int = 0) -> list[Row]:
    return [Row(first_id + i, f"row {first_id + i}") for i in range(count)]


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.005)


def line(table: VirtualTable, y: int) -> str:
    return table.render_line(y).text


async def loaded(pilot, app: TableApp) -> VirtualTable:
    table = app.query_one(VirtualTable)
    await wait_until(pilot, lambda: bool(app.of_kind("loaded")))
    table.focus()
    await pilot.pause()
    return table


def assert_off_main_thread(source: FakeSource) -> None:
    assert source.threads, "the source was never called"
    assert all(thread is not threading.main_thread() for thread in source.threads)


# ----------------------------------------------------------------------------------


def test_layout_columns_flexible_share_and_min_width() -> None:
    columns = [Column("a", width=5), Column("b"), Column("c"), Column("d", width=3)]
    widths = layout_columns(columns, 40)
    assert widths[0] == 5 and widths[3] == 3
    assert sum(widths) + 3 == 40  # Fits exactly (three gaps of one cell).
    assert abs(widths[1] - widths[2]) <= 1
    assert layout_columns(columns, 10) == (5, 4, 4, 3)  # Min width wins, line is cropped.


@run_async
async def test_first_paint_shows_rows_fetched_off_main_thread() -> None:
    source = FakeSource(rows(1000))
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        assert table.row_count == 1000
        assert table.cursor == 0
        header = line(table, 0)
        assert "ID" in header and "Title" in header and "Flag" in header
        assert "row 0" in line(table, 1)
        assert "row 22" in line(table, 23)
        assert app.of_kind("loaded") == [("loaded", 1000)]
        assert app.of_kind("highlighted")[0][:2] == ("highlighted", 0)
        assert_off_main_thread(source)
        # Only the viewport and one page of prefetch were fetched.
        assert source.pages_fetched <= 2


@run_async
async def test_cursor_keys_and_no_duplicate_highlight() -> None:
    app = TableApp(FakeSource(rows(100)))
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        await pilot.press("j", "down", "j")
        assert table.cursor == 3
        await pilot.press("k", "up")
        assert table.cursor == 1
        await pilot.press("k", "k", "k")  # Clamped at 0.
        assert table.cursor == 0
        indices = [m[1] for m in app.of_kind("highlighted")]
        assert indices == [0, 1, 2, 3, 2, 1, 0]
        assert app.of_kind("highlighted")[-1][2] == Row(0, "row 0")
        table.move_cursor(10_000)
        assert table.cursor == 99
        table.move_cursor(-5)
        assert table.cursor == 0


@run_async
async def test_page_down_and_page_up() -> None:
    app = TableApp(FakeSource(rows(1000)))
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        await pilot.press("pagedown")
        assert table.cursor == VISIBLE_ROWS
        assert table.scroll_y == VISIBLE_ROWS
        await pilot.press("pagedown")
        assert table.cursor == 2 * VISIBLE_ROWS
        await pilot.pause()
        assert f"row {2 * VISIBLE_ROWS}" in line(table, 1)
        await pilot.press("pageup", "pageup")
        assert table.cursor == 0
        assert table.scroll_y == 0


@run_async
async def test_end_home_jump_without_animation_and_bounded_fetches() -> None:
    total = 1_000_000
    source = FakeSource(count=total)
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        await wait_until(pilot, lambda: source.pages_fetched >= 2)  # Initial prefetch.
        await pilot.pause(0.05)
        before = source.pages_fetched

        await pilot.press("G")
        await pilot.pause()
        assert table.cursor == total - 1
        assert table.scroll_y == table.max_scroll_y == total + 1 - SIZE[1]
        assert not app.animator.is_being_animated(table, "scroll_y")
        await wait_until(pilot, lambda: f"row {total - 1}" in line(table, SIZE[1] - 1))
        assert app.of_kind("highlighted")[-1][1:] == (total - 1, Row(total - 1, f"row {total - 1}"))
        await pilot.pause(0.05)
        assert source.pages_fetched - before <= 3

        await pilot.press("g")
        await pilot.pause()
        assert (table.cursor, table.scroll_y) == (0, 0)
        await pilot.press("end")
        await pilot.pause()
        assert table.scroll_y == table.max_scroll_y
        await pilot.press("home")
        await pilot.pause()
        assert (table.cursor, table.scroll_y) == (0, 0)
        assert_off_main_thread(source)
        assert source.pages_fetched - before <= 6


@run_async
async def test_enter_posts_row_selected() -> None:
    app = TableApp(FakeSource(rows(50)))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("j", "enter")
        await pilot.pause()
        assert app.of_kind("selected") == [("selected", 1, Row(1, "row 1"))]


@run_async
async def test_click_row_highlights_then_selects() -> None:
    app = TableApp(FakeSource(rows(50)))
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        await pilot.click(VirtualTable, offset=(12, 4))  # Line 4 is row 3.
        await pilot.pause()
        assert table.cursor == 3
        assert app.of_kind("highlighted")[-1] == ("highlighted", 3, Row(3, "row 3"))
        assert app.of_kind("selected") == []
        await pilot.click(VirtualTable, offset=(12, 4))  # Already highlighted: select.
        await pilot.pause()
        assert app.of_kind("selected") == [("selected", 3, Row(3, "row 3"))]


@run_async
async def test_click_header_posts_header_clicked_and_sort_indicator() -> None:
    app = TableApp(FakeSource(rows(50)))
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        await pilot.click(VirtualTable, offset=(12, 0))
        await pilot.click(VirtualTable, offset=(2, 0))
        await pilot.pause()
        assert app.of_kind("header") == [("header", "title"), ("header", "id")]
        assert table.cursor == 0  # Header clicks do not move the cursor.
        table.sort = Sort("title", descending=True)
        await pilot.pause()
        assert "Title ▼" in line(table, 0)
        table.sort = Sort("title")
        assert "Title ▲" in line(table, 0)


@run_async
async def test_reload_keeps_highlighted_row_without_flicker() -> None:
    source = FakeSource(rows(200, first_id=100))
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        for _ in range(5):
            await pilot.press("j")
        assert table.highlighted_row == Row(105, "row 105")
        source.rows[0:0] = rows(3, first_id=0)  # Three new rows above the cursor.
        source.delay = 0.05
        table.reload()
        await pilot.pause(0.01)
        # While reloading, the old rows stay on screen.
        assert table.is_loading
        assert "row 100" in line(table, 1)
        await wait_until(pilot, lambda: len(app.of_kind("loaded")) == 2)
        assert not table.is_loading
        assert table.row_count == 203
        assert table.cursor == 8
        assert table.highlighted_row == Row(105, "row 105")
        assert table.scroll_y == 0  # Scroll position kept.
        assert "row 0" in line(table, 1)
        assert app.of_kind("highlighted")[-1] == ("highlighted", 8, Row(105, "row 105"))


@run_async
async def test_reload_uses_index_of_for_far_moves() -> None:
    source = IndexedSource(rows(2000, first_id=10_000))
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        await pilot.press("j", "j")
        source.rows[0:0] = rows(1500)  # Far beyond the loaded window.
        table.reload()
        await wait_until(pilot, lambda: len(app.of_kind("loaded")) == 2)
        assert table.cursor == 1502
        assert table.highlighted_row == Row(10_002, "row 10002")
        assert_off_main_thread(source)


@run_async
async def test_set_source_drops_stale_results() -> None:
    slow = FakeSource(rows(100, first_id=0), delay=0.1)
    fast = FakeSource(rows(10, first_id=500))
    app = TableApp(None)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.set_source(slow)
        table.set_source(fast)
        await wait_until(pilot, lambda: bool(app.of_kind("loaded")))
        await pilot.pause(0.2)  # Let the slow source finish (its result is stale).
        assert app.of_kind("loaded") == [("loaded", 10)]
        assert table.row_count == 10
        assert table.get_row(0) == Row(500, "row 500")
        table.reset()
        await pilot.pause()
        assert (table.row_count, table.cursor) == (0, -1)


@run_async
async def test_empty_source() -> None:
    app = TableApp(FakeSource([]))
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        assert table.row_count == 0
        assert table.cursor == -1
        await pilot.press("j", "k", "pagedown", "pageup", "G", "g", "enter")
        await pilot.click(VirtualTable, offset=(5, 5))
        await pilot.pause()
        assert table.cursor == -1
        assert app.of_kind("selected") == []
        assert line(table, 1).strip() == ""
        assert app.is_running


@run_async
async def test_source_errors_are_reported_not_raised() -> None:
    app = TableApp(FakeSource(rows(10), fail_count=True))
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        await wait_until(pilot, lambda: bool(app.of_kind("error")))
        assert app.of_kind("error") == [("error", "count exploded")]
        assert table.row_count == 0
        assert app.is_running

        broken = FakeSource(rows(10), fail_fetch=True)
        table.set_source(broken)
        await wait_until(pilot, lambda: bool(app.of_kind("loaded")))
        assert table.row_count == 10
        # The rows are retried once by the regular page fetch, then marked failed.
        await wait_until(pilot, lambda: "failed" in line(table, 1))
        assert table.get_row(0) is None
        assert {error for _, error in app.of_kind("error")[1:]} == {"fetch exploded"}
        await pilot.press("j", "enter")
        assert app.is_running


@run_async
async def test_markup_in_cells_is_literal_and_inert() -> None:
    markup = "[@click=app.quit]x[/]"

    def render(row: Row, index: int, context: RenderContext) -> list[Text | str]:
        return [str(row.id), markup, "[b]bold?[/b]"]

    app = TableApp(FakeSource(rows(5)), render=render)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        assert markup in line(table, 1)
        assert "[b]bo…" in line(table, 1)  # Literal, and cropped to its column.
        # x=9 is the first cell of the title: with markup it would be the clickable "x".
        await pilot.click(VirtualTable, offset=(9, 2))
        await pilot.click(VirtualTable, offset=(9, 2))
        await pilot.pause()
        assert app.is_running
        assert app.of_kind("selected") == [("selected", 1, Row(1, "row 1"))]
        await pilot.press("j")
        assert table.cursor == 2


@run_async
async def test_refresh_rows_rerenders_without_refetching() -> None:
    suffix = ["a"]

    def render(row: Row, index: int, context: RenderContext) -> list[Text | str]:
        return [str(row.id), f"{row.title} {suffix[0]}", ""]

    source = FakeSource(rows(10))
    app = TableApp(source, render=render)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        await pilot.pause(0.05)
        fetches = len(source.fetches)
        assert "row 1 a" in line(table, 2)
        suffix[0] = "b"
        assert "row 1 a" in line(table, 2)  # Cached.
        table.refresh_rows([1])
        assert "row 1 b" in line(table, 2)
        table.refresh_rows()
        assert "row 2 b" in line(table, 3)
        assert len(source.fetches) == fetches


@run_async
async def test_control_characters_and_wide_cells_are_fitted() -> None:
    def render(row: Row, index: int, context: RenderContext) -> list[Text | str]:
        return [str(row.id), "日本語" * 30, "a\x1b[31m\nb"]

    app = TableApp(FakeSource(rows(3)), render=render)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        strip = table.render_line(1)
        assert strip.cell_length == table.scrollable_content_region.width
        assert "\x1b" not in strip.text and "\n" not in strip.text
        assert "…" in strip.text


@run_async
async def test_fetch_results_refresh_placeholders() -> None:
    source = FakeSource(count=10_000, delay=0.02)
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        table = await loaded(pilot, app)
        table.move_cursor(5_000)
        await pilot.pause()
        assert "…" in line(table, 1) or "row" in line(table, 1)
        await wait_until(pilot, lambda: table.get_row(5_000) is not None)
        await pilot.pause()
        assert "row 5000" in line(table, SIZE[1] - 1)
        assert not any("…" == line(table, y).strip() for y in range(1, SIZE[1]))
