"""The new-session and new-branch forms: validation inline, nothing written until valid, markup-safe."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.screen import Screen
from textual.widgets import Input, Select

import lago_tui.app as app_module
from lago_tui.app import LagoApp
from lago_tui.journal import Journal, JournalBusy, JournalAPI
from lago_tui.screens.create_branch import CreateBranchScreen
from lago_tui.screens.create_session import CreateSessionScreen, FieldError, ParamRow

from conftest import fixed_clock

FORMS_SIZE = (80, 24)


class FormsApp(LagoApp):
    """The real app on a blank base screen, so these tests do not depend on the other screens."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def on_mount(self, event: Any) -> None:
        event.prevent_default()  # no session list, no journal polling
        self.push_screen(Screen())


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test with asyncio (no async pytest plugin here); fixtures pass through."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def make_app(journal: Journal) -> FormsApp:
    return FormsApp(journal, clock=fixed_clock)


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def error_text(screen: Screen[Any], selector: str) -> str:
    widget = screen.query_one(selector, FieldError)
    return "" if widget.has_class("-empty") else str(widget.render())


async def wait_for(pilot: Any, condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


def notifications(app: LagoApp) -> list[Any]:
    return list(app._notifications)


async def open_session_form(pilot: Any, results: list[Any]) -> CreateSessionScreen:
    screen = CreateSessionScreen()
    pilot.app.push_screen(screen, results.append)
    await settle(pilot)
    return screen


# --------------------------------------------------------------------------------------------- sessions


@run_async
async def test_create_session_with_model_and_params(journal_api: JournalAPI) -> None:
    app = make_app(journal_api)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, results)
        assert screen.focused is screen.query_one("#name")
        await pilot.press(*"Run", "enter")  # enter moves on to the model
        assert screen.focused is screen.query_one("#model")
        await pilot.press(*"m1")
        await pilot.press("ctrl+a", *"t", "tab", *"0.2")
        await pilot.press("ctrl+a", *"max", "tab", *"512")
        await pilot.press("enter")  # enter on the last field creates
        await settle(pilot)
        assert len(results) == 1 and results[0]
        assert not isinstance(app.screen, CreateSessionScreen)
        [note] = notifications(app)
        assert note.message == "Created session Run" and note.markup is False
    detail = journal_api.session(results[0])
    assert detail.summary.name == "Run"
    assert detail.summary.model == "m1"
    assert detail.summary.params == {"t": "0.2", "max": "512"}
    assert detail.summary.created_at == fixed_clock()


@run_async
async def test_new_session_key_opens_form_and_then_the_session(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(journal)
    opened: list[str] = []
    monkeypatch.setattr(app, "open_session", lambda session_id, **_: opened.append(session_id))
    async with app.run_test(size=FORMS_SIZE) as pilot:
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, CreateSessionScreen)
        await pilot.press("n")  # typed into the name, not a second form
        await pilot.press(*"ew", "ctrl+s")
        await settle(pilot)
    assert opened and journal.session(opened[0]).summary.name == "new"


INVALID_NAMES = [
    ("", "name is required"),
    ("   ", "name is required"),
    ("x" * 121, "too long (121 > 120"),
    (" padded", "must not start or end with spaces"),
    ("a\x1bb", "U+001B"),
    ("evil\u202eexe", "U+202E"),
    ("zero\u200bwidth", "U+200B"),
]


@run_async
async def test_invalid_names_show_inline_and_write_nothing(journal: Journal) -> None:
    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, results)
        for name, expected in INVALID_NAMES:
            screen.query_one("#name", Input).value = "fine"
            await pilot.pause()
            screen.query_one("#name", Input).value = name
            await pilot.pause()
            # Errors show as you type (once the field was edited) ...
            assert expected in error_text(screen, "#name-error"), name
            await pilot.press("ctrl+s")
            await settle(pilot)
            # ... and on submit, which writes nothing and puts the cursor on the field.
            assert app.screen is screen, name
            assert expected in error_text(screen, "#name-error"), name
            assert "\x1b" not in error_text(screen, "#name-error")  # shown as a visible escape
            assert screen.query_one("#name", Input).has_class("error")
            assert "nothing was written" in error_text(screen, "#form-error")
            assert screen.focused is screen.query_one("#name")
            screen.query_one("#form-error", FieldError).show(None)
    assert results == []
    assert journal.count_sessions() == 0


@run_async
async def test_pasted_control_characters_are_refused(journal: Journal) -> None:
    app = make_app(journal)
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, [])
        name = screen.query_one("#name", Input)
        name.post_message(events.Paste("ok"))
        await pilot.pause()
        name.post_message(events.Paste("\x1b]52;c;ZXZpbA==\x07\u202e"))
        await pilot.pause()
        assert name.value == "ok"
        [note] = notifications(app)
        assert note.markup is False and "\\x1b" in note.message and "\x1b" not in note.message


@run_async
async def test_errors_wait_until_a_field_is_edited(journal: Journal) -> None:
    app = make_app(journal)
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, [])
        assert error_text(screen, "#name-error") == ""
        await pilot.press("a", "backspace")
        assert "name is required" in error_text(screen, "#name-error")
        await pilot.press("b")
        assert error_text(screen, "#name-error") == ""


@run_async
async def test_duplicate_param_keys_mark_both_rows(journal: Journal) -> None:
    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, results)
        await pilot.press("d", "ctrl+a", *"k", "tab", *"1", "ctrl+a", *"k", "tab", *"2", "ctrl+s")
        await settle(pilot)
        rows = list(screen.query(ParamRow))
        assert len(rows) == 2
        for row in rows:
            assert "duplicate key 'k'" in str(row.query_one(FieldError).render())
            assert row.key_input.has_class("error")
        # Renaming one clears both.
        rows[1].key_input.value = "k2"
        await pilot.pause()
        assert all(row.query_one(FieldError).has_class("-empty") for row in rows)
    assert results == [] and journal.count_sessions() == 0


INVALID_PARAMS = [
    ("", "v", "param key must not be empty"),
    ("   ", "v", "param key must not be empty"),
    ("k\x00", "v", "U+0000"),
    ("k", "v" * 2001, "too long (2001 > 2000)"),
    ("k", "bad\u2066", "U+2066"),
]


@run_async
async def test_invalid_params_show_inline_and_write_nothing(journal: Journal) -> None:
    app = make_app(journal)
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, [])
        await pilot.press(*"ok", "ctrl+a")
        row = screen.query_one(ParamRow)
        for key, value, expected in INVALID_PARAMS:
            row.key_input.value, row.value_input.value = key, value
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is screen, (key, value)
            assert expected in str(row.query_one(FieldError).render()), (key, value)
    assert journal.count_sessions() == 0


@run_async
async def test_blank_param_rows_are_ignored(journal: Journal) -> None:
    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        await open_session_form(pilot, results)
        await pilot.press("b", "ctrl+a", "ctrl+a", "ctrl+s")
        await settle(pilot)
    assert journal.session(results[0]).summary.params == {}


@run_async
async def test_escape_cancels_without_writing(journal: Journal) -> None:
    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        await open_session_form(pilot, results)
        await pilot.press("x", "ctrl+a", "k", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, CreateSessionScreen)
    assert results == [None]
    assert journal.count_sessions() == 0


@run_async
async def test_add_and_remove_param_rows_by_keyboard(journal: Journal) -> None:
    app = make_app(journal)
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, [])
        await pilot.press("ctrl+a", *"a", "ctrl+a", *"b", "ctrl+a", *"c")
        rows = list(screen.query(ParamRow))
        assert [r.key_input.value for r in rows] == ["a", "b", "c"]
        assert screen.focused is rows[2].key_input
        await pilot.press("shift+tab", "shift+tab")  # c.key -> b.value -> b.key
        assert screen.focused is rows[1].key_input
        await pilot.press("ctrl+d")  # removes the row with the cursor, focus stays in the list
        rows = list(screen.query(ParamRow))
        assert [r.key_input.value for r in rows] == ["a", "c"]
        assert screen.focused is rows[1].key_input
        await pilot.press("ctrl+d", "ctrl+d")
        assert list(screen.query(ParamRow)) == []
        assert screen.focused is screen.query_one("#add-param")
        await pilot.press("enter")  # the Add param button
        assert len(screen.query(ParamRow)) == 1
        # The ✕ button removes by mouse.
        await pilot.click(".param-remove")
        await pilot.pause()
        assert len(screen.query(ParamRow)) == 0


@run_async
async def test_model_suggestions_come_from_the_journal(journal_api: JournalAPI) -> None:
    journal_api.create_session({"name": "a", "model": "claude-sonnet-4"})
    journal_api.create_session({"name": "b", "model": "gpt-5-mini"})
    app = make_app(journal_api)
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, [])
        await pilot.press("tab", *"CLA")
        await pilot.pause()
        await pilot.press("right")  # accepts the suggestion
        assert screen.query_one("#model", Input).value == "claude-sonnet-4"
        screen.query_one("#model", Input).value = ""
        await pilot.press(*"gp")
        await pilot.pause()
        await pilot.press("right")
        assert screen.query_one("#model", Input).value == "gpt-5-mini"


@run_async
async def test_enter_takes_the_suggestion_shown_never_the_typed_prefix(journal: Journal) -> None:
    """Issue 12.2: n, a name, tab, "cl" showed claude-sonnet-4 and enter saved the model "cl"."""
    journal.create_session({"name": "a", "model": "claude-sonnet-4"})
    journal.create_session({"name": "b", "model": "gpt-4.1"})
    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, results)
        model = screen.query_one("#model", Input)
        await pilot.press(*"run", "tab", *"cl")
        await pilot.wait_for_scheduled_animations()
        await wait_for(pilot, lambda: model.suggestion_shown == "claude-sonnet-4")
        await pilot.press("enter")  # takes the suggestion; does not create yet
        assert model.value == "claude-sonnet-4" and isinstance(app.screen, CreateSessionScreen)
        await pilot.press("backspace")  # right after: takes it back, and offers it no more for "cl"
        assert model.value == "cl"
        await pilot.pause(0.1)
        assert model.suggestion_shown is None
        await pilot.press("backspace", "backspace", *"gp")
        await wait_for(pilot, lambda: model.suggestion_shown == "gpt-4.1")
        await pilot.press("ctrl+s")  # ctrl+s too takes what is shown first...
        assert model.value == "gpt-4.1" and isinstance(app.screen, CreateSessionScreen)
        assert any("ctrl+s again" in note.message for note in notifications(app))
        await pilot.press("ctrl+s")  # ...and creates on the next one
        await settle(pilot)
    assert journal.session(results[0]).summary.model == "gpt-4.1"


@run_async
async def test_a_name_already_used_is_warned_about(journal: Journal) -> None:
    first = journal.create_session({"name": "nightly"})
    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, results)
        await pilot.press(*"nightly")
        await wait_for(pilot, lambda: first in error_text(screen, "#name-warning"))
        assert "already named 'nightly'" in error_text(screen, "#name-warning")
        await pilot.press("x")
        await wait_for(pilot, lambda: error_text(screen, "#name-warning") == "")
        await pilot.press("backspace", "ctrl+s")  # a warning, not an error: it can still be created
        await settle(pilot)
    assert results and results[0] != first


@run_async
async def test_on_a_small_terminal_enter_shows_the_rest_of_the_form_first(journal: Journal) -> None:
    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=(60, 12)) as pilot:
        screen = await open_session_form(pilot, results)
        await pilot.press(*"tiny", "enter", *"m1", "enter")  # the last field, but Create is out of sight
        await pilot.pause()
        assert not results and screen.focused is screen.query_one("#create")
        await pilot.press("enter")  # on the button, now in view
        await settle(pilot)
    assert results and journal.session(results[0]).summary.model == "m1"


@run_async
async def test_markup_in_a_name_is_stored_and_shown_exactly(journal: Journal) -> None:
    name = "[@click=app.quit]x[/]"
    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, results)
        screen.query_one("#name", Input).value = name
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.is_running and app.return_code is None
        [note] = notifications(app)
        assert note.message == f"Created session {name}" and note.markup is False
        assert note.title == "New session"
    assert journal.session(results[0]).summary.name == name


@run_async
async def test_a_busy_journal_is_reported_in_the_form(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(*_: Any, **__: Any) -> str:
        raise JournalBusy("the journal is locked by another process [pid 42]")

    app = make_app(journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, results)
        monkeypatch.setattr(journal, "create_session", busy)
        await pilot.press(*"rm", "ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "locked by another process [pid 42]" in error_text(screen, "#form-error")
        assert not screen.query_one("#create").disabled
        monkeypatch.undo()
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert results and journal.session(results[0]).summary.name == "rm"


@run_async
async def test_q_on_a_form_button_does_not_quit(journal: Journal) -> None:
    app = make_app(journal)
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_session_form(pilot, [])
        screen.query_one("#cancel").focus()
        await pilot.press("q", "question_mark")
        assert app.is_running and app.screen is screen


# --------------------------------------------------------------------------------------------- branches


def demo_session_with_branches(journal: Journal) -> Any:
    for summary in journal.list_sessions():
        if summary.branch_count > 1:
            return journal.session(summary.session_id)
    raise AssertionError("the demo journal has a session with branches")


async def open_branch_form(pilot: Any, detail: Any, results: list[Any], **kwargs: Any) -> CreateBranchScreen:
    screen = CreateBranchScreen(detail.summary.session_id, detail.branches, **kwargs)
    pilot.app.push_screen(screen, results.append)
    await settle(pilot)
    return screen


@run_async
async def test_create_branch_at_the_parents_head_by_default(demo_api_rw: JournalAPI) -> None:
    detail = demo_session_with_branches(demo_api_rw)
    main = detail.branch("main")
    app = make_app(demo_api_rw)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_branch_form(pilot, detail, results)
        assert screen.query_one("#fork-point", Input).value == str(main.head_seq)
        assert f"0..{main.head_seq}" in str(screen.query_one("#fork-range").render())
        await pilot.press(*"rb", "ctrl+s")
        await settle(pilot)
        [note] = notifications(app)
        assert note.message == f"Created branch rb at seq {main.head_seq}" and note.markup is False
    branch = demo_api_rw.session(detail.summary.session_id).branch(results[0])
    assert branch is not None and branch.name == "rb"
    assert branch.parent_branch_id == "main" and branch.fork_point_seq == main.head_seq


@run_async
async def test_create_branch_at_a_custom_fork_point(demo_journal: Journal) -> None:
    detail = demo_session_with_branches(demo_journal)
    app = make_app(demo_journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_branch_form(pilot, detail, results, fork_point_seq=2)
        assert screen.query_one("#fork-point", Input).value == "2"
        await pilot.press("e", "enter")  # name -> parent
        assert screen.focused is screen.query_one("#parent")
        await pilot.press("tab", "3", "enter")  # fork point (all selected on focus), enter creates
        await settle(pilot)
    branch = demo_journal.session(detail.summary.session_id).branch(results[0])
    assert branch is not None and branch.fork_point_seq == 3


@run_async
async def test_changing_the_parent_updates_range_and_default(demo_journal: Journal) -> None:
    detail = demo_session_with_branches(demo_journal)
    other = next(b for b in detail.branches if b.branch_id != "main")
    app = make_app(demo_journal)
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_branch_form(pilot, detail, [])
        screen.query_one("#parent", Select).value = other.branch_id
        await pilot.pause()
        assert screen.query_one("#fork-point", Input).value == str(other.head_seq)
        assert f"0..{other.head_seq}" in str(screen.query_one("#fork-range").render())


INVALID_BRANCHES = [
    (None, None, "#branch-name-error", "already exists"),  # None: an existing branch's name
    ("main", None, "#branch-name-error", "already exists"),
    ("", None, "#branch-name-error", "branch name is required"),
    ("bad\x1bname", None, "#branch-name-error", "U+001B"),
    ("ok", "9999", "#fork-point-error", "past the parent's head"),
    ("ok", "-1", "#fork-point-error", "fork point must be 0 or more"),
    ("ok", "abc", "#fork-point-error", "whole number"),
    ("ok", "", "#fork-point-error", "fork point is required"),
]


@run_async
async def test_invalid_branches_show_inline_and_write_nothing(demo_journal: Journal) -> None:
    detail = demo_session_with_branches(demo_journal)
    existing = next(b.name for b in detail.branches if b.branch_id != "main")
    head = str(detail.branch("main").head_seq)
    app = make_app(demo_journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_branch_form(pilot, detail, results)
        for name, fork, field, expected in INVALID_BRANCHES:
            screen.query_one("#branch-name", Input).value = existing if name is None else name
            screen.query_one("#fork-point", Input).value = head if fork is None else fork
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is screen, (name, fork)
            assert expected in error_text(screen, field), (name, fork)
    assert results == []
    assert len(demo_journal.session(detail.summary.session_id).branches) == len(detail.branches)


@run_async
async def test_a_lost_race_is_said_in_words_not_field_names(demo_journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    from lago_tui.journal import InvalidSpec

    def lost(*_: Any, **__: Any) -> str:  # what the journal says when another writer got there first
        raise InvalidSpec("fork_point_seq 9 is past the head of branch main (parent_branch_id main)")

    detail = demo_journal.session(demo_journal.list_sessions()[0].session_id)
    app = make_app(demo_journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_branch_form(pilot, detail, results)
        monkeypatch.setattr(demo_journal, "create_branch", lost)
        await pilot.press(*"racer", "ctrl+s")
        await settle(pilot)
        shown = error_text(screen, "#form-error")
        assert "fork point 9 is past the head" in shown and "parent branch main" in shown
        assert "_seq" not in shown and "_id" not in shown
        assert app.screen is screen and not results


@run_async
async def test_branch_escape_cancels(demo_journal: Journal) -> None:
    detail = demo_session_with_branches(demo_journal)
    app = make_app(demo_journal)
    results: list[Any] = []
    async with app.run_test(size=FORMS_SIZE) as pilot:
        await open_branch_form(pilot, detail, results)
        await pilot.press("x", "escape")
        await settle(pilot)
    assert results == [None]
    assert len(demo_journal.session(detail.summary.session_id).branches) == len(detail.branches)


@run_async
async def test_branch_labels_are_sanitised(journal: Journal) -> None:
    session_id = journal.create_session({"name": "s"})
    journal.create_branch(session_id, {"name": "[@click=app.quit]b[/]"})
    detail = journal.session(session_id)
    app = make_app(journal)
    async with app.run_test(size=FORMS_SIZE) as pilot:
        screen = await open_branch_form(pilot, detail, [])
        select = screen.query_one("#parent", Select)
        labels = [str(prompt) for prompt, _ in select._options]
        assert any("[@click=app.quit]b[/]  head" in label for label in labels)
        screen.query_one("#branch-name", Input).value = "[@click=app.quit]b[/]"
        await pilot.pause()
        assert "already exists" in error_text(screen, "#branch-name-error")


# --------------------------------------------------------------------------------------------- snapshots


def steady_cursor(screen: Screen[Any]) -> None:
    """No blinking cursor in snapshots (a loaded machine could catch it either way)."""
    for widget in screen.query(Input):
        widget.cursor_blink = False


def _errors_form(app: FormsApp):  # noqa: ANN202
    async def run_before(pilot: Any) -> None:
        screen = CreateSessionScreen()
        app.push_screen(screen)
        await settle(pilot)
        screen.query_one("#name", Input).value = " padded"
        screen.query_one("#model", Input).value = "claude-sonnet-4"
        await pilot.press("ctrl+a", *"temperature", "tab", *"0.2", "ctrl+a", *"temperature", "tab", *"1")
        await pilot.press("ctrl+s")
        await settle(pilot)
        steady_cursor(screen)

    return run_before


SNAP_SIZES = [(80, 24), (120, 40), (200, 50)]
SNAP_IDS = [f"{w}x{h}" for w, h in SNAP_SIZES]


@pytest.mark.parametrize("size", SNAP_SIZES, ids=SNAP_IDS)
def test_snapshot_create_form_with_errors(snap_compare: Any, journal: Journal, size: tuple[int, int]) -> None:
    app = make_app(journal)
    assert snap_compare(app, terminal_size=size, run_before=_errors_form(app))


@pytest.mark.parametrize("size", SNAP_SIZES, ids=SNAP_IDS)
def test_snapshot_branch_form(snap_compare: Any, demo_journal: Journal, size: tuple[int, int]) -> None:
    detail = demo_session_with_branches(demo_journal)
    app = make_app(demo_journal)

    async def run_before(pilot: Any) -> None:
        app.push_screen(CreateBranchScreen(detail.summary.session_id, detail.branches))
        await settle(pilot)
        await pilot.press(*"retry-with-tools", "enter")
        steady_cursor(app.screen)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SNAP_SIZES, ids=SNAP_IDS)
def test_snapshot_create_form_with_a_suggestion_and_a_duplicate(snap_compare: Any, demo_journal: Journal,
                                                               size: tuple[int, int]) -> None:
    app = make_app(demo_journal)

    async def run_before(pilot: Any) -> None:
        screen = CreateSessionScreen()
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press(*"docs-qa-onboarding", "tab", *"cl")
        await wait_for(pilot, lambda: screen.query_one("#model", Input).suggestion_shown
                       is not None and "already named" in error_text(screen, "#name-warning"))
        steady_cursor(screen)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("dialog", ["rename", "close", "delete"])
@pytest.mark.parametrize("size", SNAP_SIZES[:2], ids=SNAP_IDS[:2])
def test_snapshot_manage_dialogs(snap_compare: Any, demo_journal: Journal, size: tuple[int, int], dialog: str) -> None:
    from lago_tui.screens.manage import CloseSessionScreen, DeleteSessionScreen, RenameSessionScreen

    row = next(s for s in demo_journal.list_sessions() if s.name == "migrate-billing-to-pydantic-v2")
    screen_class = {"rename": RenameSessionScreen, "close": CloseSessionScreen, "delete": DeleteSessionScreen}[dialog]
    app = make_app(demo_journal)

    async def run_before(pilot: Any) -> None:
        screen = screen_class(row)
        app.push_screen(screen)
        await settle(pilot)
        if dialog == "delete":
            await pilot.press(*"migrate-billing")
        steady_cursor(screen)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
