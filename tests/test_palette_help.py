"""The command palette (sessions by fuzzy name, system commands), theme persistence, the help screen."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette
from textual.content import Content
from textual.widgets import Input

from conftest import fixed_clock
from lago_tui.app import LagoApp
from lago_tui.commands import _entry, highlight
from lago_tui.journal import Journal, JournalAPI
from lago_tui.paths import config_dir
from lago_tui.screens.help import HelpScreen, sections
from test_forms import FormsApp

HOSTILE = "[@click=app.quit]boom[/] \x1b]0;pwned\x07 [b]x"


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await pilot.pause(0.05)


def palette_prompts(app: Any) -> list[str]:
    command_list = app.screen.query_one(CommandList)
    return [option.prompt.plain for option in command_list._options]


async def open_palette(pilot: Any, query: str = "") -> None:
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    if query:
        pilot.app.screen.query_one("#--input Input", Input).value = query
    await wait_until(pilot, lambda: len(palette_prompts(pilot.app)) > 0)


# --------------------------------------------------------------------------------------------- palette


@run_async
async def test_palette_opens_a_session_by_fuzzy_name(demo_api: JournalAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    target = demo_api.list_sessions()[-1]  # the least recent: not among the first discovery hits
    query = target.name[: max(4, len(target.name) // 2)]
    app = FormsApp(demo_api, clock=fixed_clock)
    opened: list[str] = []
    try:
        from lago_tui.screens.session_detail import SessionDetailScreen  # noqa: F401
    except ImportError:
        monkeypatch.setattr(app, "open_session", lambda session_id, **_: opened.append(session_id))
    else:
        original = app.open_session
        monkeypatch.setattr(
            app, "open_session", lambda session_id, **kw: (opened.append(session_id), original(session_id, **kw))
        )
    async with app.run_test(size=(100, 30)) as pilot:
        await open_palette(pilot, query)
        await wait_until(pilot, lambda: target.name in palette_prompts(app)[0])
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: bool(opened))
    assert opened == [target.session_id]


@run_async
async def test_palette_lists_the_system_commands(journal: Journal) -> None:
    app = FormsApp(journal, clock=fixed_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_palette(pilot)
        prompts = "\n".join(palette_prompts(app))
        for command in ("New session", "Switch theme", "Help", "Quit"):
            assert command in prompts
        app.screen.query_one("#--input Input", Input).value = "new sess"
        await wait_until(pilot, lambda: "New session" in palette_prompts(app)[0])
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CreateSessionScreen")


@run_async
async def test_hostile_session_names_are_shown_literally_in_the_palette(journal: Journal) -> None:
    journal.create_session({"name": "plain one"})
    journal.append(
        [
            {
                "event_id": "E1", "session_id": "S-HOSTILE", "branch_id": "main", "seq": 1, "timestamp": 1,
                "payload": {"type": "SessionCreated", "name": HOSTILE, "config": {}},
            }
        ]
    )
    app = FormsApp(journal, clock=fixed_clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_palette(pilot, "boom")
        await wait_until(pilot, lambda: "boom" in palette_prompts(app)[0])
        shown = palette_prompts(app)[0]
        assert "[@click=app.quit]boom[/]" in shown and "[b]x" in shown
        assert "\x1b" not in shown and "\x07" not in shown and "\\x1b" in shown
        assert app.is_running


def test_highlight_never_parses_markup() -> None:
    entry = _entry("S1", "[@click=app.quit]go[/]", "")
    content = highlight(entry.content, entry.name, [0, 1, 17], "reverse")
    assert isinstance(content, Content)
    assert content.plain == "[@click=app.quit]go[/]"
    assert all("click" not in str(span.style) for span in content.spans)


# --------------------------------------------------------------------------------------------- theme


@run_async
async def test_theme_is_saved_and_restored(journal: Journal) -> None:
    app = FormsApp(journal, clock=fixed_clock)
    async with app.run_test() as pilot:
        app.theme = "nord"
        await pilot.pause()
    settings = config_dir() / "settings.json"
    assert json.loads(settings.read_text(encoding="utf-8"))["theme"] == "nord"
    again = FormsApp(journal, clock=fixed_clock)
    assert again.theme == "nord"
    async with again.run_test():
        assert again.theme == "nord"


# --------------------------------------------------------------------------------------------- help


@run_async
async def test_help_opens_with_question_mark_and_closes(journal: Journal) -> None:
    app = FormsApp(journal, clock=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        base = app.screen
        for opener, closer in (("question_mark", "escape"), ("f1", "q"), ("question_mark", "question_mark")):
            await pilot.press(opener)
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen), opener
            await pilot.press("n")  # no form opens behind the help
            assert isinstance(app.screen, HelpScreen)
            await pilot.press(closer)
            await pilot.pause()
            assert app.screen is base, closer
        assert app.is_running


def test_help_covers_every_screen() -> None:
    found = sections()
    titles = [section.title for section in found]
    assert titles[:3] == ["Everywhere", "Session list", "Session detail"]
    detail_keys = " ".join(key for key, _ in {s.title: s.rows for s in found}["Session detail"])
    for key in ("j", "k", "g", "G", "pgup", "pgdn", "enter", "/", "n", "N", "t", "f", "y", "b", "i", "esc"):
        assert key in detail_keys.split(" "), key


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_help(snap_compare: Any, journal: Journal, size: tuple[int, int]) -> None:
    assert snap_compare(FormsApp(journal, clock=fixed_clock), press=["question_mark"], terminal_size=size)


def test_palette_provider_is_registered() -> None:
    from lago_tui.commands import SessionCommands

    assert SessionCommands in LagoApp.COMMANDS


# --------------------------------------------------------------------------------------------- issue 12 fixes


@run_async
async def test_palette_finds_sessions_beyond_the_recent_ones(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12.4: the palette searched only the 5,000 most recent sessions; now it asks the whole journal."""
    import lago_tui.commands as commands

    monkeypatch.setattr(commands, "RECENT", 3)
    oldest = journal.create_session({"name": "scale-big-oldest"}, now_us=1_000_000)
    for i in range(12):  # more than the palette shows before anything is typed
        journal.create_session({"name": f"recent-{i}"}, now_us=2_000_000 + i)
    app = FormsApp(journal, clock=fixed_clock)
    opened: list[str] = []
    monkeypatch.setattr(app, "open_session", lambda session_id, **_: opened.append(session_id))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_palette(pilot)
        assert not any("scale-big" in p for p in palette_prompts(app))
        app.screen.query_one("#--input Input", Input).value = "sclbgold"  # fuzzy: the characters in order
        await wait_until(pilot, lambda: "scale-big-oldest" in palette_prompts(app)[0])
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: bool(opened))
    assert opened == [oldest]


def test_help_is_built_from_the_bindings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12.14: every binding is in the help, grouped by screen, and keys added later appear by themselves."""
    from textual.binding import Binding

    from lago_tui.screens.help import help_plain, key_label
    from lago_tui.screens.session_detail import SessionDetailScreen
    from lago_tui.screens.session_list import SessionListScreen

    text = help_plain()
    list_part = text.split("Session list\n")[1].split("\n\n")[0]
    for binding in SessionListScreen.BINDINGS:
        assert isinstance(binding, Binding)
        assert (binding.tooltip or binding.description) in list_part, binding
    for keys in ("s", "S", "1", "8", "ctrl+r", "d", "V", "ctrl+s", "R", "C", "D", "z", "<", ">", "ctrl+f", "y"):
        assert f"\n  {keys} " in "\n" + list_part or f" {keys} /" in list_part or f"/ {keys} " in list_part, keys
    assert "ctrl+c / ctrl+q" in text and "Back (quit from the session list)" in text
    monkeypatch.setattr(  # (a key nobody binds: & is the detail screen's filter now)
        SessionDetailScreen, "BINDINGS", [*SessionDetailScreen.BINDINGS, Binding("ctrl+t", "x", "A key added later")]
    )
    detail_part = help_plain().split("Session detail\n")[1].split("\n\n")[0]
    assert f"  {key_label('ctrl+t'):<22} A key added later" in detail_part


@pytest.mark.parametrize("where", ["list", "detail", "error"])
@run_async
async def test_help_is_never_cut_from_the_footer_at_80_columns(demo_journal: Journal, where: str) -> None:
    from textual.widgets._footer import FooterKey

    from lago_tui.journal import NotAJournal
    from lago_tui.screens.error import JournalErrorScreen

    app = LagoApp(demo_journal, clock=fixed_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SessionListScreen")
        if where == "detail":
            app.open_session(demo_journal.list_sessions()[0].session_id)
            await wait_until(pilot, lambda: type(app.screen).__name__ == "SessionDetailScreen")
        elif where == "error":
            app.push_screen(JournalErrorScreen(NotAJournal("not a journal")))
            await wait_until(pilot, lambda: isinstance(app.screen, JournalErrorScreen))
        def help_shown() -> bool:
            keys = [key for key in app.screen.query(FooterKey) if key.action in ("app.help", "help")]
            return bool(keys) and keys[0].region.width > 0 and 0 <= keys[0].region.x and keys[0].region.right <= 80

        await wait_until(pilot, help_shown)  # on screen, whole, within the 80 columns
        keys = {key.action: key for key in app.screen.query(FooterKey)}
        if where == "error":
            # Over a file that is not a journal, nothing offers to write to it.
            assert not any(action.endswith("new_session") for action in keys)
            await pilot.press("n")
            assert isinstance(app.screen, JournalErrorScreen)


@run_async
async def test_times_in_utc_from_the_palette_are_remembered(demo_journal: Journal) -> None:
    from lago_tui import summary

    app = LagoApp(demo_journal, clock=fixed_clock)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: type(app.screen).__name__ == "SessionListScreen")
            assert not summary.showing_utc()
            await open_palette(pilot, "times in utc")
            await wait_until(pilot, lambda: "Show times in UTC" in palette_prompts(app)[0])
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: summary.showing_utc())
        settings = json.loads((config_dir() / "settings.json").read_text(encoding="utf-8"))
        assert settings["utc"] is True
        assert LagoApp(demo_journal, clock=fixed_clock) and summary.showing_utc()  # read back
        LagoApp(demo_journal, clock=fixed_clock, utc=False)  # --utc (or not) given: it wins
        assert not summary.showing_utc()
    finally:
        summary.set_utc(False)


def test_every_screen_uses_the_footer_that_keeps_help_visible() -> None:
    """Textual's own footer cuts Help at 80 columns on busy screens; every screen uses widgets/footer.Footer."""
    import re
    from pathlib import Path

    import lago_tui

    root = Path(lago_tui.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "footer.py"
        and re.search(r"^from textual\.widgets import [^\n]*\bFooter\b", path.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == []
