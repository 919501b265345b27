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

Two limits, on purpose: entries with lone surrogates cannot be in a journal (JSON cannot carry them; the
import refuses the file and writes nothing, checked below), so they are tested in the forms only; and a
form's own Input shows whatever the test sets in it by code, so the form checks skip Inputs for raw code
points, while a paste (how a person enters such text) is checked to be refused by ``CleanInput``.
Waits poll with ``asyncio.sleep`` and keys are posted as the driver posts them: ``pilot.press`` and
``pilot.pause()`` wait for an idle CPU each time (up to 1 s), which would put this file over its budget.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import shutil
import time
from collections.abc import Callable, Coroutine, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.content import Content
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import Input, Select
from textual.widgets._toast import Toast

import lago_tui.app as app_module
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


def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory: a screenshot action would write its file here."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def counting_clock() -> Callable[[], int]:
    ticks = count()
    return lambda: FIXED_NOW_US + next(ticks) * 1_000_000


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.005)  # the app runs on this loop (pilot.pause would wait for a repaint each time)


async def press(pilot: Any, *keys: str) -> None:
    """Key presses, as the driver sends them (``pilot.press`` also waits for an idle CPU: up to 1 s a key)."""
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(pilot.app)
        pilot.app.post_message(event)
        await asyncio.sleep(0.005)


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


def visual_strips(widget: Widget) -> list[Strip]:
    """All of ``widget``'s content rendered at its width (its region may not be laid out again yet)."""
    width = widget.content_region.width
    return Visual.to_strips(widget, widget.visual, width, None, widget.visual_style)


def widget_offences(widget: Widget) -> list[str]:
    """Live links/actions and raw dangerous code points in the rendered segments of ``widget``."""
    return strips_offences(widget_strips(widget), repr(widget))


def strips_offences(strips: list[Strip], widget: str) -> list[str]:
    found: list[str] = []
    for y, strip in enumerate(strips):
        for segment in strip:
            style = segment.style
            if style is not None and (style.link or any(str(key).startswith("@") for key in (style.meta or {}))):
                found.append(f"live style in {widget!r} line {y}: {segment.text!r} {style.meta} {style.link}")
            bad = DANGEROUS.findall(segment.text)
            if bad:
                found.append(f"raw {bad!r} in {widget!r} line {y}: {segment.text[:60]!r}")
    return found


def offences(app: LagoApp, *, skip: Callable[[Widget], bool] = lambda w: False) -> list[str]:
    """Live links/actions and raw dangerous code points in the rendered segments of the screen."""
    found: list[str] = []
    for widget in on_screen(app):
        if not skip(widget):
            found += widget_offences(widget)
    return found


def assert_clean(app: LagoApp, context: str, **kwargs: Any) -> None:
    found = offences(app, **kwargs)
    assert not found, f"{context}: " + "\n".join(found[:10])


def tree_labels(tree: BranchTree) -> Iterator[tuple[str, str]]:
    """(branch id, label text) of every node of the tree."""
    stack = [tree.root]
    while stack:
        node = stack.pop()
        if node.data is not None:
            yield node.data, node.label.plain
        stack.extend(node.children)


def toast_text(app: LagoApp) -> str:
    return "\n".join(widget_text(toast) for toast in app.screen.query(Toast))


def squash(text: str) -> str:
    """``text`` without spaces and toast edges: a notification wraps its message."""
    return re.sub(r"[\s▌]", "", text)


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


CLICKED = frozenset({
    "markup-click-quit", "markup-click-screenshot", "markup-click-bell", "markup-on-meta",
    "markup-escape-bypass-spaces", "markup-link", "osc8-link",
})
"""Entries whose text would be an action or a link if ever parsed: clicked where shown (a click costs ~0.4 s)."""


def clickable(text: str) -> bool:
    return any(case.text == text for case in SMALL_CORPUS if case.id in CLICKED)


async def click_all(pilot: Any, widget: Widget, text: str, line: int | None = None, limit: int = 9) -> int:
    clicks = 0
    for offset in click_targets(widget, text, line)[:limit]:
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
    cwd = empty_cwd(tmp_path, monkeypatch)
    monkeypatch.setattr(session_preview, "_DEBOUNCE", 0.001)  # 70 previews: no need to wait for a settled key
    app = LagoApp(hostile_journal, clock=lambda: FIXED_NOW_US)
    recorder = Recorder(app, cwd)
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
            if clickable(s):
                clicks += await click_all(pilot, preview.body, s, limit=1)
                # the name cell of the highlighted row: a click opens the session (the app's own action)
                clicks += await click_all(pilot, table, s, index - table.scroll_offset.y + 1, limit=1)
                await pilot.pause()
                assert set(opened) <= {row.session_id}, (case.id, opened)
                opened.clear()
                recorder.assert_nothing_ran(app)
            checked.add(case.id)
        assert checked == {case.id for case in STORABLE}
        assert clicks >= 2 * len(CLICKED)  # the clicks did land on hostile text

        # Error messages of journal calls quote what went wrong: shown literally in the list's status line.
        status = screen.query_one("#sl-status")
        for case in STORABLE:
            for error in (JournalError(case.text), RuntimeError(case.text)):
                screen.handle_error(error)
                await pilot.pause()
                assert status.display and prefix(case.text, 12) in widget_text(status), (case.id, widget_text(status))
                assert_clean(app, f"status line {case.id}")
        screen.action_refresh()  # ctrl+r clears it and reads again
        await pilot.pause()
        assert not status.display
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
            if case.id == "markup-click-quit":
                clicks += await click_all(pilot, message, first, limit=1)
        assert_clean(app, "error screen")
        app.pop_screen()
        await pilot.pause()
        recorder.assert_nothing_ran(app)
        await quiesce(pilot)


# ---------------------------------------------------------------------------- session detail


def detail_screen(app: LagoApp) -> SessionDetailScreen:
    screen = app.screen
    assert isinstance(screen, SessionDetailScreen), type(screen).__name__
    return screen


async def timeline_ready(pilot: Any, rows: int | None, branch: str | None = None) -> None:
    app = pilot.app

    def ready() -> bool:
        screen = app.screen
        if not isinstance(screen, SessionDetailScreen) or (branch is not None and screen.branch_id != branch):
            return False
        if not screen.query(TimelineView) or not screen.query(Inspector):
            return False  # not composed yet
        view = screen.query_one(TimelineView)
        if view.is_loading or view.source is None or (rows is not None and view.row_count != rows):
            return False
        row, ev = view.highlighted_row, screen.query_one(Inspector).event
        return row is not None and ev is not None and ev.event_id == row.ev.event_id

    await wait_until(pilot, ready, what=f"a timeline of {rows} rows")


async def inspect(pilot: Any, index: int) -> Any:
    """Highlight timeline row ``index`` and wait for the inspector to show it. Returns the row."""
    screen = detail_screen(pilot.app)
    view, inspector = screen.query_one(TimelineView), screen.query_one(Inspector)
    view.move_cursor(index)

    def shown() -> bool:
        row = view.get_row(index)
        return row is not None and inspector.event is not None and inspector.event.event_id == row.ev.event_id

    await wait_until(pilot, shown, what=f"row {index} in the inspector")
    await pilot.pause()
    return view.get_row(index)


def timeline_row_text(view: TimelineView, index: int) -> str:
    return strip_text(view.render_line(index - view.scroll_offset.y + 1))


def inspector_plain(screen: SessionDetailScreen) -> str:
    return str(screen.query_one("#inspector-body").visual)


DETAIL_CHUNKS = 2
SAMPLE = {
    "markup-click-quit", "markup-link", "csi-colour", "osc8-link", "bidi-trojan-source", "tag-smuggling",
    "zalgo", "crlf-lines", "tabs", "long-word", "all-c0-c1", "empty",
}
"""Entries also opened in the full-text view and as the selected branch (each costs a screen or a load)."""


def _chunk(k: int) -> tuple[HostileCase, ...]:
    return STORABLE[k::DETAIL_CHUNKS]


def check_inspector(screen: SessionDetailScreen, ev: Any, s: str, context: str) -> None:
    """The inspector showing ``ev`` (whose fields carry ``s``): literal, escaped, nothing live."""
    inspector = screen.query_one(Inspector)
    inspector.show_event(ev)
    body = inspector.query_one("#inspector-body")
    plain = inspector_plain(screen)
    shown = "\n".join(strip_text(strip) for strip in visual_strips(body))
    as_json = visible(json.dumps(s[:600], ensure_ascii=False))
    if ev.kind in ("Message", "ErrorRaised"):
        assert visible(s[:INSPECT_CHARS]) in plain, context
        first = s.split("\n")[0].expandtabs(8)
        if len(first) < 40:
            assert prefix(first, 12) in shown, (context, shown)
    elif ev.kind == "SessionCreated":
        assert plain.count(as_json) >= 3, context  # name, param key and value (and the model, if short)
    else:
        assert as_json in plain, context
    if ev.kind != "SessionCreated" and ev.kind != "BranchCreated":
        assert as_json in plain.split("metadata", 1)[1].split("── payload", 1)[0], context
    found = strips_offences(visual_strips(body), repr(body))
    assert not found, (context, found[:5])


@pytest.mark.parametrize("chunk", range(DETAIL_CHUNKS), ids=lambda k: f"chunk{k}")
@run_async
async def test_session_detail_header_tree_timeline_inspector_full_text(
    chunk: int, hostile_journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = empty_cwd(tmp_path, monkeypatch)
    app = BareApp(hostile_journal, clock=lambda: FIXED_NOW_US)  # no list reloading behind each session
    recorder = Recorder(app, cwd)
    index_of = {case.id: i for i, case in enumerate(STORABLE)}
    clicks = 0
    async with app.run_test(size=(160, 48), notifications=True, tooltips=True) as pilot:
        await wait_until(pilot, lambda: type(app.screen) is Screen)
        for case in _chunk(chunk):
            s, i = case.text, index_of[case.id]
            app.open_session(_sid(i))
            await timeline_ready(pilot, 6)
            screen = detail_screen(app)
            header = screen.query_one("#sd-header")
            tree = screen.query_one(BranchTree)
            view = screen.query_one(TimelineView)
            assert prefix(s) in widget_text(header).split("\n")[0], (case.id, widget_text(header))
            assert prefix(_branch_name(s), 12) in widget_text(tree), (case.id, widget_text(tree))
            # Every row on screen: session, message, tool call, error, unknown kind, fork.
            for index in range(6):
                row = view.get_row(index)
                assert row is not None
                line = timeline_row_text(view, index)
                if row.ev.kind == "HostileKind":  # an unknown kind's summary is its payload as JSON
                    expected = prefix(json.dumps(s, ensure_ascii=False), 10)
                elif row.ev.kind == "SessionCreated":
                    expected = prefix("session " + s, 18)
                elif row.ev.kind == "BranchCreated":
                    expected = prefix("fork → " + _branch_name(s), 18)
                else:
                    expected = prefix(s, 10)
                assert expected.strip() in line, (case.id, row.ev.kind, line)
            assert_clean(app, case.id)
            # The inspector, for each event (the row under the cursor was shown by the app itself).
            for index in range(5):
                check_inspector(screen, view.get_row(index).ev, s, f"{case.id} row {index}")
            if clickable(s):
                await inspect(pilot, 1)  # the message, as the app shows it
                for target in (screen.query_one("#inspector-body"), header):
                    await wait_until(pilot, lambda: bool(click_targets(target, s)), timeout=3,
                                     what=f"{case.id} on screen in {target!r}")
                    clicks += await click_all(pilot, target, s, limit=1)
            if case.id == "markup-click-quit":
                # the tool call's row (not the highlighted one: a click there moves the cursor)
                assert await click_all(pilot, view, s, 2 - view.scroll_offset.y + 1, limit=1)
                clicks += 1
                await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen) or view.cursor == 2,
                                 what=f"the click on row 2 (cursor {view.cursor}, screen {app.screen!r})")
                if isinstance(app.screen, FullTextScreen):  # a click on a row may open it: the app's own action
                    assert_clean(app, f"{case.id} full text by click")
                    await press(pilot, "escape")
                    await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
            if case.id in SAMPLE:
                # The full text of the message, through the app's own key.
                await inspect(pilot, 1)
                await press(pilot, "o")
                await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen)
                                 and bool(app.screen.query(TextPager)) and app.screen.query_one(TextPager).line_count > 0)
                pager = app.screen.query_one(TextPager)
                first = s.split("\n")[0].replace("\t", "    ")
                await wait_until(pilot, lambda: prefix(first, 12) in widget_text(pager), timeout=3,
                                 what=f"{case.id} in the pager: {widget_text(pager)[:300]}")
                assert_clean(app, f"{case.id} full text")
                if case.id == "markup-click-quit":
                    clicks += await click_all(pilot, pager, s, limit=1)
                await press(pilot, "escape")
                await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
                # The branch: tree label, timeline border title, status line, its own message.
                screen.select_branch(_bid(i))
                await timeline_ready(pilot, BRANCH_EVENTS, branch=_bid(i))
                row = await inspect(pilot, BRANCH_EVENTS - 1)
                assert not row.ev.inherited and row.ev.kind == "Message"
                name = prefix(_branch_name(s), 12)
                assert name in widget_text(view).split("\n")[0], (case.id, widget_text(view).split("\n")[0])
                assert name in widget_text(screen.query_one("#sd-status")), case.id
                assert prefix(s, 10) in timeline_row_text(view, BRANCH_EVENTS - 1), case.id
                assert_clean(app, f"{case.id} branch")
                if case.id == "markup-click-quit":
                    clicks += await click_all(pilot, tree, _branch_name(s), limit=1)
                    clicks += await click_all(pilot, screen.query_one("#sd-status"), s, limit=1)
            recorder.assert_nothing_ran(app)
            app.pop_screen()
            await wait_until(pilot, lambda: type(app.screen) is Screen)
        # A reference that names no session: the error quotes it, literally.
        for case in _chunk(chunk)[:6]:
            app.open_session(case.text or "-")
            await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
            screen = detail_screen(app)
            await wait_until(pilot, lambda: bool(screen.query("#sd-header"))
                             and "Loading" not in widget_text(screen.query_one("#sd-header")))
            assert_clean(app, f"not found {case.id}")
            app.pop_screen()
            await pilot.pause()
        assert clicks >= 2 * sum(clickable(case.text) for case in _chunk(chunk))
        recorder.assert_nothing_ran(app)
        await quiesce(pilot)


# ---------------------------------------------------------------------------- 1 MB messages

HUGE_RENDER_SECONDS = 0.5
"""From highlight to rendered inspector: an untruncated 1 MB Text takes seconds; this has a CI margin."""


@run_async
async def test_huge_messages_render_truncated_fast_and_the_full_text_reaches_the_end(
    hostile_journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = empty_cwd(tmp_path, monkeypatch)
    app = BareApp(hostile_journal, clock=lambda: FIXED_NOW_US)
    recorder = Recorder(app, cwd)
    timings: dict[str, float] = {}
    async with app.run_test(size=(160, 48), notifications=True, tooltips=True) as pilot:
        await wait_until(pilot, lambda: type(app.screen) is Screen)
        app.open_session(_sid(9000))
        await timeline_ready(pilot, len(HUGE_CORPUS) + 2)
        screen = detail_screen(app)
        view, inspector = screen.query_one(TimelineView), screen.query_one(Inspector)
        body = inspector.query_one("#inspector-body")
        for index in range(len(HUGE_CORPUS) + 2):  # warm up: every row fetched, styles computed
            await inspect(pilot, index)
        await inspect(pilot, 0)
        for index, case in enumerate(HUGE_CORPUS, start=1):
            row = view.get_row(index)
            assert row is not None and row.ev.payload.get("content") == case.text
            start = time.perf_counter()
            view.move_cursor(index)
            while inspector.event is None or inspector.event.event_id != row.ev.event_id:
                await asyncio.sleep(0)
            strips = widget_strips(body) + visual_strips(body)
            seconds = time.perf_counter() - start
            if seconds > HUGE_RENDER_SECONDS:  # a second chance: a collector or a busy CI core
                await inspect(pilot, 0)
                start = time.perf_counter()
                view.move_cursor(index)
                while inspector.event is None or inspector.event.event_id != row.ev.event_id:
                    await asyncio.sleep(0)
                strips = widget_strips(body) + visual_strips(body)
                seconds = min(seconds, time.perf_counter() - start)
            timings[case.id] = seconds
            assert seconds <= HUGE_RENDER_SECONDS, (case.id, round(seconds, 3))
            plain = inspector_plain(screen)
            assert f"… [{len(case.text) - INSPECT_CHARS:,} more characters] press o/enter to show all" in plain
            assert len(plain) < 40_000, case.id  # 4,000 characters (escapes are longer) and 600 of JSON
            assert visible(case.text[:200]) in plain
            assert not strips_offences(strips, case.id)
            assert_clean(app, case.id)
            # The whole text, on request: the pager reaches its last characters.
            await press(pilot, "o")
            await wait_until(pilot, lambda: isinstance(app.screen, FullTextScreen) and bool(app.screen.query(TextPager))
                             and app.screen.query_one(TextPager).line_count > 0)
            pager = app.screen.query_one(TextPager)
            await press(pilot, "end")
            await wait_until(pilot, lambda: pager.scroll_offset.y >= pager.max_scroll_y > 0, what="the end")
            await pilot.pause()
            rendered = widget_strips(pager)
            joined = "".join(strip_text(strip).rstrip(" ") for strip in rendered)
            tail = visible(case.text).replace("\n", "")[-12:].strip()  # rendered lines are joined without breaks
            assert tail and tail in joined, (case.id, tail, joined[-300:])
            assert not strips_offences(rendered, f"{case.id} pager")
            assert_clean(app, f"{case.id} full text")
            await press(pilot, "escape")
            await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
        # The tool call with 1 MB arguments and metadata: JSON strings cut.
        row = await inspect(pilot, len(HUGE_CORPUS) + 1)
        assert row.ev.kind == "ToolCallRequested"
        plain = inspector_plain(screen)
        assert plain.count("more characters]") >= 2 and len(plain) < 20_000
        assert_clean(app, "huge tool call")
        recorder.assert_nothing_ran(app)
        await quiesce(pilot)
    slow = {case_id: round(seconds, 3) for case_id, seconds in timings.items() if seconds > HUGE_RENDER_SECONDS}
    assert not slow, slow


# ---------------------------------------------------------------------------- command palette


@run_async
async def test_command_palette_hits_are_literal(hostile_journal: Journal, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.command import CommandPalette

    cwd = empty_cwd(tmp_path, monkeypatch)
    app = LagoApp(hostile_journal, clock=lambda: FIXED_NOW_US)
    recorder = Recorder(app, cwd)
    async with app.run_test(size=(160, 48), notifications=True, tooltips=True) as pilot:
        await list_ready(pilot, TOTAL_SESSIONS)
        type(app).action_command_palette(app)  # the recorder stands in for the instance's action
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette) and bool(app.screen.query(Input)))
        palette = app.screen
        for query, ids in (
            ("click", ("markup-click-quit", "markup-click-bell", "markup-on-meta")),
            ("link", ("markup-link",)),
            ("x1b", ("csi-colour", "osc8-link")),
            ("u202e", ("bidi-rlo-filename",)),
        ):
            palette.query_one(Input).value = query
            expected = [prefix(CASES_BY_ID[case_id], 40) for case_id in ids]

            def hits() -> str:
                return "\n".join(widget_text(w) for w in palette.query("CommandList"))

            await wait_until(pilot, lambda: all(e in hits() for e in expected), timeout=5,
                             what=f"hits for {query!r}: {hits()}")
            assert_clean(app, f"palette {query!r}", skip=lambda w: isinstance(w, Input))
        # Clicking on the hostile name: the palette runs its hit (opens that session), nothing else runs.
        palette.query_one(Input).value = "click"
        await wait_until(pilot, lambda: prefix(CASES_BY_ID["markup-click-quit"], 40) in "\n".join(
            widget_text(w) for w in palette.query("CommandList")))
        [command_list] = palette.query("CommandList")
        assert await click_all(pilot, command_list, CASES_BY_ID["markup-click-quit"], limit=1)
        await wait_until(pilot, lambda: not isinstance(app.screen, CommandPalette))
        recorder.assert_nothing_ran(app)
        await quiesce(pilot)


CASES_BY_ID = {case.id: case.text for case in SMALL_CORPUS}


# ---------------------------------------------------------------------------- resizing


SIZES = [(200, 60), (80, 24), (40, 10), (20, 5), (120, 40), (20, 5), (160, 48), (33, 7), (100, 30), (20, 5),
         (240, 70), (21, 6), (80, 24)]


@run_async
async def test_rapid_resizes_down_to_20x5_on_the_list_and_the_detail(
    hostile_journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = empty_cwd(tmp_path, monkeypatch)
    app = LagoApp(hostile_journal, clock=lambda: FIXED_NOW_US)
    recorder = Recorder(app, cwd)
    first = STORABLE[0]  # the newest sessions are the last ones: find the first row's name
    async with app.run_test(size=(200, 60), notifications=True, tooltips=True) as pilot:
        await list_ready(pilot, TOTAL_SESSIONS)
        for size in SIZES:
            await pilot.resize_terminal(*size)
            await asyncio.sleep(0)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        table = list_screen(app).table
        await wait_until(pilot, lambda: table.size.width == 80 and table.get_row(0) is not None)
        await pilot.pause()
        for index in range(min(5, table.size.height - 1)):
            row = table.get_row(index)
            assert row is not None
            assert prefix(row.name, 12) in row_text(table, index), (index, row_text(table, index))
        assert_clean(app, "list after resizes")
        # The detail screen of a hostile session.
        app.open_session(_sid(0))
        await timeline_ready(pilot, 6)
        for size in SIZES:
            await pilot.resize_terminal(*size)
            await asyncio.sleep(0)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        screen = detail_screen(app)
        view = screen.query_one(TimelineView)
        await wait_until(pilot, lambda: view.size.width > 20 and view.get_row(1) is not None)
        await pilot.pause()
        assert prefix(first.text, 8) in timeline_row_text(view, 1), timeline_row_text(view, 1)
        assert prefix(first.text, 12) in widget_text(screen.query_one("#sd-header"))
        assert_clean(app, "detail after resizes")
        assert app.is_running and app.return_code is None
        recorder.assert_nothing_ran(app)
        await quiesce(pilot)


# ---------------------------------------------------------------------------- forms


def field_error(screen: Any, selector: str) -> str:
    widget = screen.query_one(selector, FieldError)
    return "" if widget.has_class("-empty") else widget_text(widget)


def not_input(widget: Widget) -> bool:
    """Inputs show what the test set in them by code (a person cannot type or paste these, see below)."""
    return isinstance(widget, Input)


async def notified(pilot: Any, note: str, *, rendered: bool) -> None:
    """A notification starting with ``note``, never markup; ``rendered``: also wait for its toast and check it."""
    app = pilot.app
    await wait_until(pilot, lambda: any(n.message.startswith(note) and n.markup is False for n in app._notifications),
                     what=f"{note!r} in {[n.message for n in app._notifications]}")
    if rendered:
        await wait_until(pilot, lambda: squash(note) in squash(toast_text(app)), what=f"{note!r} in {toast_text(app)!r}")
        assert_clean(app, note)


async def submit(pilot: Any, screen: Any, done: Callable[[], bool]) -> None:
    """ctrl+s, then wait until the form either closed (``done``) or says why not."""
    screen.query_one("#form-error", FieldError).show(None)  # the last attempt's verdict
    await press(pilot, "ctrl+s")
    await wait_until(pilot, lambda: done() or (not screen._busy and bool(field_error(screen, "#form-error"))),
                     what="the form to close or refuse")


class BareApp(LagoApp):
    """The real app on a blank base screen: no list reloading behind the form after each write."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def on_mount(self, event: Any) -> None:
        event.prevent_default()
        self.push_screen(Screen())


async def open_session_form(pilot: Any) -> CreateSessionScreen:
    app = pilot.app
    app.action_new_session()
    await wait_until(pilot, lambda: isinstance(app.screen, CreateSessionScreen) and bool(app.screen.query("#params")))
    screen = app.screen
    await screen.action_add_param()
    return screen


HALVES = pytest.mark.parametrize("half", (0, 1), ids=("half0", "half1"))
"""The form tests run the corpus in two halves (two xdist workers can share them)."""


def _half(half: int) -> tuple[HostileCase, ...]:
    return SMALL_CORPUS[half::2]


def _in_half(ids: set[str], half: int) -> set[str]:
    return ids & {case.id for case in _half(half)}


@HALVES
@run_async
async def test_create_session_form_refuses_or_stores_every_entry_exactly(
    half: int, journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = empty_cwd(tmp_path, monkeypatch)
    app = BareApp(journal, clock=counting_clock())
    recorder = Recorder(app, cwd, bell=False)
    opened: list[str] = []
    app.open_session = lambda session_id, **_: opened.append(session_id)  # type: ignore[method-assign]
    stored: dict[str, list[str]] = {"name": [], "key": [], "value": []}
    refused: dict[str, list[str]] = {"name": [], "key": [], "value": []}
    created_names: list[str] = []
    async with app.run_test(size=(120, 40), notifications=True, tooltips=True) as pilot:
        screen = await open_session_form(pilot)
        n = 0

        async def attempt(case: HostileCase, fields: tuple[str, ...]) -> bool:
            """Submit ``case`` in ``fields`` (plain text in the others): stored exactly, or refused visibly."""
            nonlocal screen, n
            n += 1
            if not isinstance(app.screen, CreateSessionScreen):
                screen = await open_session_form(pilot)
            name = case.text if "name" in fields else f"session-{n}"
            key = case.text if "key" in fields else "k"
            value = case.text if "value" in fields else "v"
            [row] = screen.rows
            screen.query_one("#name", Input).value = name
            row.key_input.value = key
            row.value_input.value = value
            before, opened_before = journal.count_sessions(), len(opened)
            await submit(pilot, screen, lambda: len(opened) > opened_before)
            if len(opened) > opened_before:
                # Stored: exactly what was entered, and said so literally.
                detail = journal.session(opened[-1])
                assert detail.summary.name == name and detail.summary.params == {key: value}, case.id
                created_names.append(name)
                note = f"Created session {one_line(name, 60)}"
                await notified(pilot, note, rendered="name" in fields)
                app.clear_notifications()
                return True
            # Refused: a visible reason at a field, nothing written.
            assert journal.count_sessions() == before, case.id
            row_error = row.query_one(FieldError)

            def problems() -> str:  # rendered once laid out
                return field_error(screen, "#name-error") + (
                    "" if row_error.has_class("-empty") else widget_text(row_error))

            await wait_until(pilot, lambda: bool(problems().strip()), timeout=3, what=f"why {case.id} was refused")
            assert "nothing was written" in field_error(screen, "#form-error")
            assert_clean(app, f"refused {fields} {case.id}", skip=not_input)
            return False

        for case in _half(half):
            fields = ("name", "key", "value")
            if await attempt(case, fields):
                for field in fields:
                    stored[field].append(case.id)
                continue
            for field in fields:  # which of them was refused
                (stored if await attempt(case, (field,)) else refused)[field].append(case.id)

        # Typed or pasted (the ways a person enters text): control and invisible characters never get in.
        if not isinstance(app.screen, CreateSessionScreen):
            screen = await open_session_form(pilot)
        name_input = screen.query_one("#name", Input)
        name_input.focus()
        for case in _half(half):
            name_input.value = ""
            name_input.post_message(events.Paste(case.text))
            line = case.text.splitlines()[0] if case.text.splitlines() else ""
            if visible(line) == line:
                await wait_until(pilot, lambda: name_input.value == line, what=f"{case.id} pasted")
            else:
                await wait_until(pilot, lambda: "Not inserted" in toast_text(app), what=f"{case.id} refused")
                assert name_input.value == "", case.id
            assert_clean(app, f"pasted {case.id}")
            app.clear_notifications()
        await press(pilot, "escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CreateSessionScreen), what="the form to close")
        recorder.assert_nothing_ran(app)
        await quiesce(pilot)
    # Every kind of entry went both ways, and the refusals are the ones with control characters.
    for field in stored:
        assert stored[field] and refused[field], field
    assert _in_half({"markup-click-quit", "markup-link", "cjk-wide"}, half) <= set(stored["name"])
    assert _in_half({"csi-colour", "nul", "bidi-rlo-filename", "lone-surrogate", "zero-width-space"}, half) <= set(
        refused["name"])
    # The list shows the stored names literally.
    app = LagoApp(journal, clock=lambda: FIXED_NOW_US)
    async with app.run_test(size=(200, 60)) as pilot:
        await list_ready(pilot, len(created_names))
        table = list_screen(app).table
        for index in range(min(table.row_count, table.size.height - 1)):
            row = table.get_row(index)
            assert row is not None and prefix(row.name) in row_text(table, index), index
        assert_clean(app, "list of created sessions")
        await quiesce(pilot)
    FORM_COUNTS.update({f"session {field} {half}": (len(stored[field]), len(refused[field])) for field in stored})


FORM_COUNTS: dict[str, tuple[int, int]] = {}


@HALVES
@run_async
async def test_create_branch_form_refuses_or_stores_every_entry_exactly(
    half: int, hostile_journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = empty_cwd(tmp_path, monkeypatch)
    app = BareApp(hostile_journal, clock=counting_clock())
    recorder = Recorder(app, cwd, bell=False)
    stored: list[str] = []
    refused: list[str] = []
    async with app.run_test(size=(160, 48), notifications=True, tooltips=True) as pilot:
        await wait_until(pilot, lambda: type(app.screen) is Screen)
        # The parent choices of a session with a branch per entry: labels literal.
        app.open_session(_sid(9001) if half == 0 else _sid(9000))
        await timeline_ready(pilot, None)
        await press(pilot, "b")
        await wait_until(pilot, lambda: isinstance(app.screen, CreateBranchScreen) and bool(app.screen.query(Select)))
        select = app.screen.query_one(Select)
        select.expanded = True
        await pilot.pause()
        overlay = app.screen.query_one("SelectOverlay")
        labels = widget_text(overlay)
        shown = [case for case in STORABLE if prefix(_branch_name(case.text), 12) in labels]
        assert len(shown) >= 5 or half == 1, labels
        assert_clean(app, "parent choices")
        select.expanded = False
        # Collapsing from code leaves focus on the hidden overlay until the next layout, and an escape that
        # reaches the overlay only closes it again: focus the select first, as a key would have.
        select.focus()
        await wait_until(pilot, lambda: select.has_focus and not overlay.has_focus)
        await press(pilot, "escape")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen))
        app.pop_screen()
        await wait_until(pilot, lambda: type(app.screen) is Screen)
        # Every entry as the name of a new branch of the plain session.
        app.open_session(_sid(9002))
        await timeline_ready(pilot, 2)
        detail = detail_screen(app)
        form: CreateBranchScreen | None = None
        for case in _half(half):
            if not isinstance(app.screen, CreateBranchScreen):
                await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and detail.detail is not None)
                await press(pilot, "b")
                await wait_until(pilot, lambda: isinstance(app.screen, CreateBranchScreen)
                                 and bool(app.screen.query("#branch-name")))
                form = app.screen
            assert form is not None
            form.query_one("#branch-name", Input).value = case.text
            branches_before = len(hostile_journal.session(_sid(9002)).branches)
            await submit(pilot, form, lambda: not isinstance(app.screen, CreateBranchScreen))
            if not isinstance(app.screen, CreateBranchScreen):
                stored.append(case.id)
                branches = hostile_journal.session(_sid(9002)).branches
                assert len(branches) == branches_before + 1 and branches[-1].name == case.text, case.id
                await notified(pilot, f"Created branch {one_line(case.text, 60)} at seq", rendered=clickable(case.text))
                app.clear_notifications()
            else:
                refused.append(case.id)
                assert len(hostile_journal.session(_sid(9002)).branches) == branches_before, case.id
                await wait_until(pilot, lambda: bool(field_error(form, "#branch-name-error").strip()), timeout=3,
                                 what=f"why {case.id} was refused")
                assert_clean(app, f"refused branch {case.id}", skip=not_input)
        if isinstance(app.screen, CreateBranchScreen):
            await press(pilot, "escape")
        # The tree shows the stored names (checked once, after the last reload).
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and detail.detail is not None
                         and len(detail.detail.branches) == 1 + len(stored))
        tree = detail.query_one(BranchTree)
        await wait_until(pilot, lambda: len(list(tree_labels(tree))) == 1 + len(stored), what="the tree rebuilt")
        labels = dict(tree_labels(tree))
        names = {b.branch_id: b.name for b in detail.detail.branches}
        for branch_id, label in labels.items():
            assert label.startswith(one_line(names[branch_id], 40).removesuffix("…")) or "● " + one_line(
                names[branch_id], 40).removesuffix("…") in label, (label, names[branch_id])
        rendered = widget_text(tree)
        assert sum(prefix(names[b], 12) in rendered for b in labels) >= min(10, len(labels))
        assert_clean(app, "the tree of new branches")
        recorder.assert_nothing_ran(app)
        await quiesce(pilot)
    FORM_COUNTS[f"branch name {half}"] = (len(stored), len(refused))
    assert stored and refused
    assert _in_half({"markup-click-quit", "cjk-wide"}, half) <= set(stored)
    assert _in_half({"csi-colour", "bidi-rlo-filename", "lone-surrogate"}, half) <= set(refused)


# ---------------------------------------------------------------------------- the checks themselves


class _Control(LagoApp):
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def on_mount(self, event: Any) -> None:
        event.prevent_default()
        self.push_screen(Screen())


@run_async
async def test_the_checks_catch_live_markup_and_raw_control_characters(journal: Journal, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for every test above: what they look for is found when it is there."""
    from textual.widgets import Static

    cwd = empty_cwd(tmp_path, monkeypatch)
    app = _Control(journal)
    recorder = Recorder(app, cwd)
    async with app.run_test(size=(80, 10)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, Screen) and not isinstance(app.screen, SessionListScreen))
        live = Static(Content.from_markup("[@click=app.quit]click[/] [link='https://evil.example/']link[/link]"))
        raw = Static(Text("esc \x1b[31m bidi \u202e zw \u200b"))
        await app.screen.mount(live, raw)
        await wait_until(pilot, lambda: bool(widget_text(live).strip()) and bool(widget_text(raw).strip()))
        found = offences(app)
        assert any("live style" in f and "@click" in f for f in found), found
        assert any("live style" in f and "evil.example" in f for f in found), found
        assert any("raw" in f and "\\x1b" in f for f in found), found
        assert any("raw" in f and "\\u202e" in f for f in found), found
        assert await click_all(pilot, live, "[@click=app.quit]click[/]", limit=1)
        await wait_until(pilot, lambda: recorder.calls == ["action_quit"], timeout=3, what=recorder.calls)
