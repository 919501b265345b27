"""Helpers the session detail tests share: run a Pilot test, wait for a condition, open a session and
read what its widgets show."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from lago_tui.app import LagoApp
from lago_tui.journal import Journal
from lago_tui.screens.session_detail import SessionDetailScreen
from lago_tui.widgets.branch_tree import BranchTree
from lago_tui.widgets.inspector import Inspector
from lago_tui.widgets.timeline import TimelineView


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(0.02)


def detail_of(app: LagoApp) -> SessionDetailScreen:
    screen = app.screen
    assert isinstance(screen, SessionDetailScreen), type(screen).__name__
    return screen


def view_of(app: LagoApp) -> TimelineView:
    return detail_of(app).query_one(TimelineView)


def inspector_of(app: LagoApp) -> Inspector:
    return detail_of(app).query_one(Inspector)


def inspector_text(app: LagoApp) -> str:
    return str(inspector_of(app).query_one("#inspector-body").visual)


def text_of(widget_id: str, app: LagoApp) -> str:
    return str(detail_of(app).query_one(widget_id).visual)


async def timeline_ready(pilot, rows: int | None = None) -> None:
    """The timeline loaded (``rows`` rows) and the row under the cursor is in the inspector."""
    app = pilot.app

    def ready() -> bool:
        if not isinstance(app.screen, SessionDetailScreen) or not app.screen.query(TimelineView):
            return False
        view = view_of(app)
        if view.is_loading or view.source is None or (rows is not None and view.row_count != rows):
            return False
        row = view.highlighted_row
        ev = inspector_of(app).event
        return row is not None and ev is not None and ev == row.ev  # (the same event inherited is another row)

    try:
        await wait_until(pilot, ready)
    except AssertionError as err:
        raise AssertionError(f"{err}: {timeline_state(app)}") from None


def timeline_state(app: LagoApp) -> str:
    """What the detail screen's timeline shows now (for a failed wait's message)."""
    screen = app.screen
    if not isinstance(screen, SessionDetailScreen) or not screen.query(TimelineView):
        return f"screen {type(screen).__name__}"
    view = view_of(app)
    row = view.highlighted_row
    ev = inspector_of(app).event
    return (f"branch {screen.branch_id} loading {screen._loading} busy {screen.busy} problem {screen.problem!r} "
            f"rows {view.row_count} view loading {view.is_loading} cursor {view.cursor} "
            f"row {row and (row.ev.branch_id, row.ev.seq)} inspector {ev and (ev.branch_id, ev.seq)} "
            f"pages {sorted(view._pages)} failed {sorted(view._failed_pages)} focused {app.focused} "
            f"notes {[(n.title, n.message) for n in app._notifications]} "
            f"workers {[(w.group, w.state.name) for w in app.workers]}")


async def open_detail(pilot, journal: Journal, name: str, branch: str | None = None, rows: int | None = None) -> str:
    app = pilot.app
    await pilot.pause()
    detail = journal.session(name)
    branch_id = detail.branch(branch).branch_id if branch else None
    app.open_session(detail.summary.session_id, branch_id=branch_id)
    await timeline_ready(pilot, rows)
    return detail.summary.session_id


def row_line(view: TimelineView, index: int) -> str:
    """The rendered text of row ``index`` (it must be on screen)."""
    return view.render_line(index - view.scroll_offset.y + 1).text


def tree_nodes(tree: BranchTree) -> dict[str, tuple[str | None, str]]:
    """branch id -> (parent node's branch id, label)."""
    out: dict[str, tuple[str | None, str]] = {}

    def walk(node, parent) -> None:  # noqa: ANN001
        out[node.data] = (parent, node.label.plain)
        for child in node.children:
            walk(child, node.data)

    walk(tree.root, None)
    return out


@asynccontextmanager
async def opened(journal: Journal, name: str, *, size: tuple[int, int] = (120, 40), branch: str | None = None,
                 rows: int | None = None, **app_options: Any) -> AsyncIterator[tuple[LagoApp, Any]]:
    """An app of ``size`` with session ``name`` open (on ``branch``), its timeline loaded: (app, pilot)."""
    from conftest import fixed_clock

    app = LagoApp(journal, clock=fixed_clock, **app_options)
    async with app.run_test(size=size) as pilot:
        await open_detail(pilot, journal, name, branch=branch, rows=rows)
        yield app, pilot


async def search_for(pilot: Any, text: str) -> None:
    """``/``, ``text``, enter."""
    screen = pilot.app.screen
    await pilot.press("slash")
    screen.query_one("#sd-search").value = text
    await pilot.press("enter")
