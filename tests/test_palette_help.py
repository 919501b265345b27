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
from lago_tui.screens.help import SECTIONS, HelpScreen
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
    titles = [title for title, _ in SECTIONS]
    assert titles[:3] == ["Everywhere", "Session list", "Session detail"]
    detail_keys = " ".join(key for key, _ in dict(SECTIONS)["Session detail"])
    for key in ("j", "k", "g", "G", "PageUp", "PageDown", "enter", "/", "n / N", "t", "f", "y", "b", "i", "escape"):
        assert key in detail_keys


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_help(snap_compare: Any, journal: Journal, size: tuple[int, int]) -> None:
    assert snap_compare(FormsApp(journal, clock=fixed_clock), press=["question_mark"], terminal_size=size)


def test_palette_provider_is_registered() -> None:
    from lago_tui.commands import SessionCommands

    assert SessionCommands in LagoApp.COMMANDS
