"""The hostile corpus in every place the app shows journal text, through the real app.

A journal is seeded (once per module, through ``Journal.import_file`` of a JSONL written here) with one
session per :data:`SMALL_CORPUS` entry: the entry is the session name, model, a param key and value, a
branch name, message content, tool name and arguments, an error message, metadata, an unknown payload
kind and its field. One more session holds the 1 MB entries as message content, one has a branch per
entry, one is the target of the new-branch form. Then, on every screen, from the rendered strips of every
widget on screen (``Widget.render_lines``, what the compositor sends to the terminal):

* no segment carries a link or an ``@click`` action, and clicking on the hostile text runs nothing;
* no dangerous code point (anything :data:`lago_tui.safe.ESCAPED_RANGES` lists: ESC, C1, NUL, DEL, bidi,
  zero-width, tag characters...) reaches a segment;
* the text shown is the entry with those code points as visible escapes (:func:`one_line` /
  :func:`visible`);
* the app keeps running.

Plus: the 1 MB messages render truncated fast with the full text reachable, the forms either refuse an
entry with a visible message and write nothing or store it exactly, and rapid resizes down to 20x5 leave a
working layout.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import shutil
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual import events
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Select
from textual.widgets._toast import Toast

from lago_tui.app import LagoApp
from lago_tui.journal import Journal
from lago_tui.journal.errors import InvalidEvent, JournalError
from lago_tui.safe import ESCAPED_RANGES, one_line, visible
from lago_tui.screens.create_branch import CreateBranchScreen
from lago_tui.screens.create_session import CreateSessionScreen, FieldError
from lago_tui.screens.error import JournalErrorScreen
from lago_tui.screens.session_detail import SessionDetailScreen
from lago_tui.screens.session_list import SessionListScreen
from lago_tui.widgets.branch_tree import BranchTree
from lago_tui.widgets.inspector import INSPECT_CHARS, FullTextScreen, Inspector, TextPager
from lago_tui.widgets import session_preview
from lago_tui.widgets.timeline import TimelineView

from conftest import FIXED_NOW_US
from tests.hostile_corpus import HUGE_CORPUS, SMALL_CORPUS, HostileCase

# ---------------------------------------------------------------------------- the seeded journal

T0 = 1_795_000_000_000_000  # before FIXED_NOW_US: sessions created by the forms sort first
_SURROGATE = re.compile("[\ud800-\udfff]")
STORABLE = tuple(case for case in SMALL_CORPUS if not _SURROGATE.search(case.text))
"""Entries a journal can hold: JSON has no lone surrogates (the import refuses them, see below)."""
UNSTORABLE = tuple(case for case in SMALL_CORPUS if case not in STORABLE)
HUGE_NAME = "huge-content"
MANY_NAME = "many-branches"
TARGET_NAME = "branch-target"
BRANCH_EVENTS = 3  # a hostile session's branch: 2 inherited events and its own message


def _sid(i: int) -> str:
    return f"01HX{i:04d}" + "S" * 18


def _bid(i: int, j: int = 0) -> str:
    return f"01HB{i:04d}{j:04d}" + "B" * 14


def _branch_name(text: str) -> str:
    return text or "unnamed"  # a branch needs a name


def _envelope(n: Iterator[int], sid: str, branch: str, payload: dict[str, Any],
              metadata: dict[str, str] | None = None) -> dict[str, Any]:
    k = next(n)
    return {"event_id": f"01HE{k:06d}" + "E" * 16, "session_id": sid, "branch_id": branch, "seq": 0,
            "timestamp": T0 + k * 1_000, "payload": payload, "metadata": metadata or {}, "schema_version": 1}


def corpus_events() -> list[dict[str, Any]]:
    n = count()
    out: list[dict[str, Any]] = []
    for i, case in enumerate(STORABLE):
        s, sid = case.text, _sid(i)
        ev = functools.partial(_envelope, n, sid)
        out += [
            ev("main", {"type": "SessionCreated", "name": s, "config": {"model": s[:200], "params": {s: s}}}),
            ev("main", {"type": "Message", "role": "user", "content": s}, {"note": s, s: "key"}),
            ev("main", {"type": "ToolCallRequested", "call_id": "c1", "tool_name": s, "arguments": {"arg": s, s: 1}},
               {"note": s}),
            ev("main", {"type": "ErrorRaised", "message": s}, {"note": s}),
            ev("main", {"type": "HostileKind", "field": s}, {"note": s}),
            ev("main", {"type": "BranchCreated", "new_branch_id": _bid(i), "fork_point_seq": 2,
                        "name": _branch_name(s)}),
            ev(_bid(i), {"type": "Message", "role": "assistant", "content": s}, {"note": s}),
        ]
    # The 1 MB entries as message content (and in a tool call's arguments, and metadata).
    sid = _sid(9000)
    ev = functools.partial(_envelope, n, sid)
    out.append(ev("main", {"type": "SessionCreated", "name": HUGE_NAME, "config": {"model": "m"}}))
    for case in HUGE_CORPUS:
        out.append(ev("main", {"type": "Message", "role": "assistant", "content": case.text}))
    out.append(ev("main", {"type": "ToolCallRequested", "call_id": "c", "tool_name": "t",
                           "arguments": {"huge": HUGE_CORPUS[0].text}}, {"note": HUGE_CORPUS[1].text}))
    # One session with a branch per entry (the tree and the new-branch form's parent list).
    sid = _sid(9001)
    ev = functools.partial(_envelope, n, sid)
    out.append(ev("main", {"type": "SessionCreated", "name": MANY_NAME, "config": {"model": "m"}}))
    out.append(ev("main", {"type": "Message", "role": "user", "content": "hello"}))
    for j, case in enumerate(STORABLE):
        out.append(ev("main", {"type": "BranchCreated", "new_branch_id": _bid(9001, j), "fork_point_seq": 1,
                               "name": _branch_name(case.text)}))
    # A plain session the new-branch form forks.
    sid = _sid(9002)
    ev = functools.partial(_envelope, n, sid)
    out.append(ev("main", {"type": "SessionCreated", "name": TARGET_NAME, "config": {"model": "m"}}))
    out.append(ev("main", {"type": "Message", "role": "user", "content": "fork me"}))
    return out


_TEMPLATE: dict[str, Path] = {}


@pytest.fixture
def hostile_journal(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator[Journal]:
    """The seeded journal: imported once per worker, copied for each test."""
    template = _TEMPLATE.get("path")
    if template is None:
        base = tmp_path_factory.mktemp("hostile-template")
        source = base / "hostile.jsonl"
        with source.open("w", encoding="utf-8") as f:
            for event in corpus_events():
                f.write(json.dumps(event) + "\n")
        template = base / "hostile.duckdb"
        with Journal(template) as j:
            j.import_file(source)
        _TEMPLATE["path"] = template
    path = tmp_path / "journal.duckdb"
    shutil.copyfile(template, path)
    j = Journal(path, idle_release=0.2)
    yield j
    j.close()


# ---------------------------------------------------------------------------- running the app


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


class Recorder:
    """Puts the app's content-reachable actions behind a record, and watches for files they would write."""

    def __init__(self, app: LagoApp, cwd: Path, *, bell: bool = True) -> None:
        self.calls: list[str] = []
        self.cwd = cwd
        self.before = set(cwd.iterdir())
        self.x_svg = Path("/tmp/x.svg").stat().st_mtime if Path("/tmp/x.svg").exists() else None
        for name in ("action_quit", "action_screenshot", "action_bell", "action_toggle_dark",
                     "action_command_palette", "action_suspend_process"):
            setattr(app, name, functools.partial(self._record, name))
        if bell:
            app.bell = functools.partial(self._record, "bell")  # type: ignore[method-assign]

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append(name)

    def assert_nothing_ran(self, app: LagoApp) -> None:
        assert self.calls == [], self.calls
        assert app.is_running and app.return_code is None
        assert set(self.cwd.iterdir()) == self.before, "a file was written"
        x_svg = Path("/tmp/x.svg").stat().st_mtime if Path("/tmp/x.svg").exists() else None
        assert x_svg == self.x_svg, "a screenshot was written"


def counting_clock() -> Callable[[], int]:
    ticks = count()
    return lambda: FIXED_NOW_US + next(ticks) * 1_000_000


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.01)


async def quiesce(pilot: Any) -> None:
    deadline = time.monotonic() + 8.0
    while any(not worker.is_finished for worker in pilot.app.workers) and time.monotonic() < deadline:
        await pilot.pause(0.02)


# ---------------------------------------------------------------------------- reading the screen

DANGEROUS = re.compile(
    "[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ESCAPED_RANGES) + "]"
)
"""Any code point that safe.visible escapes: none may reach a rendered segment."""


def widget_strips(widget: Widget) -> list[Strip]:
    region = widget.region
    return widget.render_lines(Region(0, 0, region.width, region.height))


def strip_text(strip: Strip) -> str:
    return "".join(segment.text for segment in strip)


def widget_text(widget: Widget) -> str:
    return "\n".join(strip_text(strip) for strip in widget_strips(widget))


def on_screen(app: LagoApp) -> Iterator[Widget]:
    """Every widget shown, on every screen of the stack (a modal shows the screen below)."""
    for screen in app.screen_stack:
        for widget in screen.walk_children(with_self=False):
            if widget.display and widget.visible and widget.region.area and all(
                node.display for node in widget.ancestors if isinstance(node, Widget)
            ):
                yield widget


def offences(app: LagoApp, *, skip: Callable[[Widget], bool] = lambda w: False) -> list[str]:
    """Live links/actions and raw dangerous code points in the rendered segments of the screen."""
    found: list[str] = []
    for widget in on_screen(app):
        if skip(widget):
            continue
        for y, strip in enumerate(widget_strips(widget)):
            for segment in strip:
                style = segment.style
                if style is not None and (style.link or style.link_id and style.link
                                          or any(str(key).startswith("@") for key in (style.meta or {}))):
                    found.append(f"live style in {widget!r} line {y}: {segment.text!r} {style.meta} {style.link}")
                bad = DANGEROUS.findall(segment.text)
                if bad:
                    found.append(f"raw {bad!r} in {widget!r} line {y}: {segment.text[:60]!r}")
    return found


def assert_clean(app: LagoApp, context: str, **kwargs: Any) -> None:
    found = offences(app, **kwargs)
    assert not found, f"{context}: " + "\n".join(found[:10])


def toast_text(app: LagoApp) -> str:
    return "\n".join(widget_text(toast) for toast in app.screen.query(Toast))


def screen_text(app: LagoApp) -> str:
    return "\n".join(widget_text(widget) for widget in on_screen(app))


def prefix(text: str, width: int = 16) -> str:
    """What any place showing ``text`` on one line in ``width`` or more cells starts with."""
    return one_line(text, width).removesuffix("…").strip()


def locate(widget: Widget, needle: str, line: int | None = None) -> tuple[int, int] | None:
    """Cell offset (x, y) in ``widget`` of the first rendered occurrence of ``needle`` (on ``line``)."""
    for y, strip in enumerate(widget_strips(widget)):
        if line is not None and y != line:
            continue
        text = strip_text(strip)
        at = text.find(needle)
        if at >= 0:
            return cell_len(text[:at]) + min(2, cell_len(needle) - 1), y
    return None


CLICK_NEEDLES = ("click", "[@", "link", "ring")


def click_targets(widget: Widget, text: str, line: int | None = None) -> list[tuple[int, int]]:
    """Where ``widget`` shows the clickable-looking parts of ``text``."""
    targets: list[tuple[int, int]] = []
    for needle in CLICK_NEEDLES:
        if needle in visible(text):
            found = locate(widget, needle, line)
            if found is not None and found not in targets:
                targets.append(found)
    return targets


def has_markup(text: str) -> bool:
    return "[" in text or "\x1b]8" in text


async def click_all(pilot: Any, widget: Widget, text: str, line: int | None = None) -> int:
    clicks = 0
    for offset in click_targets(widget, text, line):
        await pilot.click(widget, offset=offset)
        clicks += 1
    return clicks


# ---------------------------------------------------------------------------- the journal holds it


def test_the_journal_holds_the_corpus_exactly(hostile_journal: Journal, tmp_path: Path) -> None:
    sessions = {s.name: s for s in hostile_journal.list_sessions(limit=1000)}
    for i, case in enumerate(STORABLE):
        summary = sessions[case.text]
        assert summary.session_id == _sid(i) and summary.model == case.text[:200]
        detail = hostile_journal.session(summary.session_id)
        assert detail.summary.params == {case.text: case.text}
        assert [b.name for b in detail.branches] == ["main", _branch_name(case.text)]
    # Lone surrogates cannot be written as JSON: the import refuses the file and writes nothing.
    before = hostile_journal.count_sessions()
    for case in UNSTORABLE:
        source = tmp_path / f"{case.id}.jsonl"
        event = _envelope(count(100_000), "01HXSURROGATE0000000000000", "main",
                          {"type": "SessionCreated", "name": case.text})
        source.write_text(json.dumps(event) + "\n", encoding="utf-8")
        with pytest.raises(InvalidEvent):
            hostile_journal.import_file(source)
    assert hostile_journal.count_sessions() == before


# ---------------------------------------------------------------------------- session list and preview


def list_screen(app: LagoApp) -> SessionListScreen:
    screen = app.screen
    assert isinstance(screen, SessionListScreen), type(screen).__name__
    return screen


def row_text(table: Any, index: int) -> str:
    """The rendered line of row ``index`` (on screen)."""
    return strip_text(table.render_line(index - table.scroll_offset.y + 1))


async def list_ready(pilot: Any, rows: int) -> None:
    app = pilot.app

    def ready() -> bool:
        if not isinstance(app.screen, SessionListScreen):
            return False
        table = app.screen.table
        return table.row_count == rows and not table.is_loading and table.get_row(0) is not None

    await wait_until(pilot, ready, what=f"{rows} rows in the list")


async def preview_of(pilot: Any, index: int) -> Any:
    """Put the cursor on row ``index``; wait for the row and its preview. Returns the row."""
    screen = list_screen(pilot.app)
    table, preview = screen.table, screen.preview
    table.move_cursor(index)

    def shown() -> bool:
        row = table.get_row(index)
        data = preview.data
        return (row is not None and table.cursor == index and preview.session_id == row.session_id
                and data is not None and data.detail.summary.session_id == row.session_id)

    await wait_until(pilot, shown, what=f"preview of row {index}")
    await pilot.pause()
    return table.get_row(index)


TOTAL_SESSIONS = len(STORABLE) + 3


@run_async
async def test_session_list_rows_and_preview(hostile_journal: Journal, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(session_preview, "_DEBOUNCE", 0.001)  # 70 previews: no need to wait for a settled key
    app = LagoApp(hostile_journal, clock=lambda: FIXED_NOW_US)
    recorder = Recorder(app, tmp_path)
    opened: list[str] = []
    app.open_session = lambda session_id, **_: opened.append(session_id)  # type: ignore[method-assign]
    by_name = {case.text: case for case in STORABLE}
    checked: set[str] = set()
    clicks = 0
    async with app.run_test(size=(200, 60), notifications=True, tooltips=True) as pilot:
        await list_ready(pilot, TOTAL_SESSIONS)
        screen = list_screen(app)
        table, preview = screen.table, screen.preview
        for index in range(TOTAL_SESSIONS):
            row = await preview_of(pilot, index)
            case = by_name.get(row.name)
            if case is None:
                continue
            s = case.text
            line = row_text(table, index)
            assert prefix(s) in line, (case.id, line)
            assert prefix(s[:200], 8) in line, (case.id, "model", line)
            shown = widget_text(preview.body)
            lines = shown.split("\n")
            assert prefix(s, 30) in lines[0], (case.id, lines[0])
            assert any(ln.startswith("model") and prefix(s[:200], 30) in ln for ln in lines), (case.id, shown)
            assert any(ln.startswith("params") and prefix(s, 30) in ln for ln in lines), (case.id, shown)
            assert any(ln.startswith("└─ ") and prefix(_branch_name(s), 30) in ln for ln in lines), (case.id, shown)
            assert prefix(s, 20) in shown.split("Last events")[1], (case.id, shown)
            assert_clean(app, case.id)
            if has_markup(s):
                clicks += await click_all(pilot, preview.body, s)
                # the name cell of the highlighted row: a click opens the session (the app's own action)
                clicks += await click_all(pilot, table, s, index - table.scroll_offset.y + 1)
                await pilot.pause()
                assert set(opened) <= {row.session_id}, (case.id, opened)
                opened.clear()
                recorder.assert_nothing_ran(app)
            checked.add(case.id)
        assert checked == {case.id for case in STORABLE}
        assert clicks >= 10  # the clicks did land on hostile text

        # Error messages of journal calls quote what went wrong: shown literally in notifications.
        for batch_start in range(0, len(STORABLE), 3):
            batch = STORABLE[batch_start: batch_start + 3]
            for case in batch:
                screen.handle_error(JournalError(case.text))
                screen.handle_error(RuntimeError(case.text))
            await wait_until(pilot, lambda: all(prefix(c.text, 12) in toast_text(app) for c in batch), timeout=3,
                             what=f"notifications of {[c.id for c in batch]}: {toast_text(app)}")
            assert_clean(app, f"notifications {[c.id for c in batch]}")
            app.clear_notifications()
            await pilot.pause()
        # An unreadable journal's message, shown whole on the error screen: every entry, one per line.
        shown_cases = [case for case in STORABLE if len(case.text) < 1000]
        app.push_screen(JournalErrorScreen(JournalError("\n".join(case.text for case in shown_cases))))
        await wait_until(pilot, lambda: isinstance(app.screen, JournalErrorScreen))
        await pilot.pause()
        message = app.screen.query_one("#error-message")
        shown = widget_text(message)
        for case in shown_cases:
            first = case.text.split("\n")[0].expandtabs(8)
            assert prefix(first, 12) in shown, case.id
            if has_markup(first):
                clicks += await click_all(pilot, message, first)
        assert_clean(app, "error screen")
        app.pop_screen()
        await pilot.pause()
        recorder.assert_nothing_ran(app)
        await quiesce(pilot)
