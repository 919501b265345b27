"""The rendering boundary (lago_tui.safe) against the hostile corpus.

The checks here do not trust the module's own machinery: forbidden code points are
judged by Unicode categories, the expected text comes from a slow per-character
reference, and rendering goes through a real Rich console and a real Textual app.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
import unicodedata
from collections.abc import Iterable
from time import process_time

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.text import Span, Text
from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Static

from lago_tui import safe
from lago_tui.safe import (
    ELLIPSIS,
    ESCAPE_STYLE,
    MARKER_STYLE,
    MAX_COMBINING,
    MAX_STYLED_MARKS,
    one_line,
    plain_visible_text,
    safe_content,
    safe_text,
    visible,
)
from tests.hostile_corpus import (
    CASES,
    CORPUS,
    HUGE_CORPUS,
    SMALL_CORPUS,
    HostileCase,
    is_huge,
)

# Generous bound from the spec: huge content renders, truncated, within half a second.
# Measured in CPU time (process_time), not wall time: tests and other developers' work
# share the machine, and time spent waiting for a core says nothing about this code.
# A regression that matters (no truncation: seconds per MB; quadratic work) still shows.
FAST = 0.5


def ids(cases: Iterable[HostileCase]) -> list[str]:
    return [case.id for case in cases]


all_cases = pytest.mark.parametrize("case", CORPUS, ids=ids(CORPUS))
small_cases = pytest.mark.parametrize("case", SMALL_CORPUS, ids=ids(SMALL_CORPUS))
huge_cases = pytest.mark.parametrize("case", HUGE_CORPUS, ids=ids(HUGE_CORPUS))

# --- Independent judges ----------------------------------------------------------------

BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
ZERO_WIDTH = {0x00AD, 0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}


def forbidden(ch: str) -> bool:
    """A code point that must never reach the terminal as itself."""
    if ch in "\n\t":
        return False
    codepoint = ord(ch)
    return (
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"}
        or codepoint in BIDI
        or codepoint in ZERO_WIDTH
        or 0xE0000 <= codepoint <= 0xE0FFF  # tags and supplementary variation selectors
    )


def assert_clean(s: str) -> None:
    bad = sorted({f"U+{ord(ch):04X}" for ch in s if forbidden(ch)})
    assert not bad, f"forbidden code points survived: {bad[:10]}"


ESCAPED = {cp for lo, hi in safe.ESCAPED_RANGES for cp in range(lo, hi + 1)}


def is_mark(ch: str) -> bool:
    return (
        unicodedata.category(ch).startswith("M") or 0x1F3FB <= ord(ch) <= 0x1F3FF
    ) and ord(ch) not in ESCAPED


def reference(s: str) -> tuple[str, set[int]]:
    """The expected visible text, one character at a time, and where its escapes are."""
    out: list[str] = []
    escaped_at: set[int] = set()
    length = stacked = 0
    for ch in s:
        stacked = stacked + 1 if is_mark(ch) else 0
        if ord(ch) in ESCAPED or stacked > MAX_COMBINING:
            piece = ascii(ch)[1:-1]
            escaped_at.update(range(length, length + len(piece)))
        else:
            piece = ch
        out.append(piece)
        length += len(piece)
    return "".join(out), escaped_at


# One escape in Python notation; a styled escape span holds one or more, whole.
ESCAPES = re.compile(r"(?:\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|r))+")


def segments(renderable: Text | Content, width: int = 200) -> list[Segment]:
    if isinstance(renderable, Content):
        return renderable.render_segments()
    console = Console(width=width, color_system="truecolor", markup=False, highlight=False)
    return list(console.render(renderable, console.options.update(width=width)))


def styled(renderable: Text | Content, style: str) -> list[str]:
    plain = renderable.plain
    return [plain[span.start : span.end] for span in renderable.spans if span.style == style]


def escape_styled_at(renderable: Text | Content) -> set[int]:
    return {
        index
        for span in renderable.spans
        if span.style == ESCAPE_STYLE
        for index in range(span.start, span.end)
    }


# --- No dangerous code point gets through -------------------------------------------


@small_cases
def test_visible_leaves_nothing_dangerous(case: HostileCase) -> None:
    assert_clean(visible(case.text))


@all_cases
def test_one_line_leaves_nothing_dangerous(case: HostileCase) -> None:
    for width in (80,) if is_huge(case) else (None, 1, 7, 80):
        line = one_line(case.text, width)
        assert_clean(line)
        assert "\n" not in line and "\t" not in line and "\r" not in line


@all_cases
def test_safe_text_and_content_leave_nothing_dangerous(case: HostileCase) -> None:
    for renderable in (
        safe_text(case.text),
        safe_content(case.text),
        safe_text(case.text, single_line=True),
        safe_content(case.text, single_line=True, width=60),
    ):
        assert_clean(renderable.plain)
        assert_clean("".join(segment.text for segment in segments(renderable)))


def test_every_unicode_control_and_format_character_is_escaped() -> None:
    missing = [
        f"U+{cp:04X}"
        for cp in range(sys.maxunicode + 1)
        if cp not in ESCAPED
        and chr(cp) not in "\n\t"
        and unicodedata.category(chr(cp)) in {"Cc", "Cf", "Cs", "Zl", "Zp"}
    ]
    assert not missing, f"ESCAPED_RANGES misses {missing}"


# --- Markup stays text ----------------------------------------------------------------


@all_cases
def test_rendered_segments_carry_no_link_or_action(case: HostileCase) -> None:
    for renderable in (safe_text(case.text), safe_content(case.text)):
        for segment in segments(renderable):
            style = segment.style
            if style is not None:
                assert style.link is None, segment
                assert not style.meta, segment
            assert not segment.control, segment


@pytest.mark.parametrize(
    "case_id, literal",
    [
        ("markup-click-quit", "[@click=app.quit]click[/]"),
        ("markup-click-screenshot", "[@click=app.screenshot('/tmp/x')]click[/]"),
        ("markup-link", "[link=https://evil.example/]click me[/link]"),
        ("markup-style", "[bold red]x[/]"),
        ("markup-close-only", "[/]"),
        ("markup-path", "[/tmp/agent.log]"),
        ("markup-array-index", "arr[i][j]"),
        ("markup-escape-bypass-spaces", "[ @click=app.quit ]"),
        ("markup-escape-bypass-backslash", "\\[@click=app.quit]x[/]"),
        ("content-variable-style", "[$accent]x[/]"),
        ("content-variables", "$accent $primary ${secret}"),
        ("rich-emoji-codes", ":smiley:"),
        ("sql-injection", "'; DROP TABLE events; --"),
    ],
)
def test_markup_is_shown_literally(case_id: str, literal: str) -> None:
    text = CASES[case_id]
    assert literal in visible(text)
    assert literal in one_line(text)
    for renderable in (safe_text(text), safe_content(text)):
        assert literal in plain_visible_text(renderable)


@small_cases
def test_rendered_text_is_the_input_with_escapes_shown(case: HostileCase) -> None:
    """On screen: exactly the input, with the hidden code points as visible escapes."""
    expected, escaped_at = reference(case.text)
    assert visible(case.text) == expected
    if "\t" not in case.text:  # tabs are expanded on screen
        text = safe_text(case.text, max_chars=None)
        assert plain_visible_text(text, width=100_000) == expected
        assert plain_visible_text(safe_content(case.text, max_chars=None)) == expected
    # Every escape, and nothing else, is styled as one (within the styling budget).
    for make in (safe_text, safe_content):
        renderable = make(case.text, max_chars=None)
        if len(renderable.spans) < MAX_STYLED_MARKS:
            assert escape_styled_at(renderable) == escaped_at


def test_visible_matches_reference_on_random_mixtures() -> None:
    pool = [
        *"ab \n\t[]/@$\\'%_", "\x1b", "\x00", "\x7f", "\x9b", "\r", "\u202e", "\u2066",
        "\u200b", "\u200d", "\ufeff", "\u0301", "\u0302", "\u0489", "\ufe0f", "\ufe00",
        "\U0001f3fb", "\U0001f680", "\U000e0041", "\U000e0100", "\U0001d173", "\ud800",
        "\ufdd0", "\ufdd1", "\ufdd2", "日", "\ue000", "\U00011000", "\U000110bd", "\U00016ff0",
    ]
    rng = random.Random(20261120)
    for _ in range(400):
        s = "".join(rng.choices(pool, k=rng.randint(0, 40)))
        expected, escaped_at = reference(s)
        assert visible(s) == expected, ascii(s)
        text = safe_text(s, max_chars=None)
        assert text.plain == expected, ascii(s)
        assert escape_styled_at(text) == escaped_at, ascii(s)
        assert one_line(s) == expected.replace("\n", "⏎").replace("\t", " "), ascii(s)


# --- What the escapes look like -------------------------------------------------------


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b[31mred", "\\x1b[31mred"),
        ("a\x00b", "a\\x00b"),
        ("\x7f", "\\x7f"),
        ("\x9b31m", "\\x9b31m"),
        ("x\ry", "x\\ry"),
        ("\u202eabc", "\\u202eabc"),
        ("pass\u200bword", "pass\\u200bword"),
        ("\ud800", "\\ud800"),
        ("hi\U000e0041", "hi\\U000e0041"),
        ("one\u2028two", "one\\u2028two"),
        ("\ufdd0\ufdd2", "\\ufdd0\\ufdd2"),  # the module's own sentinels, from outside
        ("e\u0301\u0302\u0303\u0304\u0305", "e\u0301\u0302\u0303\\u0304\\u0305"),
        ("\U0001f468\u200d\U0001f469", "\U0001f468\\u200d\U0001f469"),
        ("\U0001f44d" + "\U0001f3fb" * 5, "\U0001f44d" + "\U0001f3fb" * 3 + "\\U0001f3fb" * 2),
    ],
)
def test_escape_notation(raw: str, shown: str) -> None:
    assert visible(raw) == shown


@pytest.mark.parametrize(
    "normal",
    [
        "plain ASCII: fn(x) -> [1, 2] {a: b} 100% ok_done",
        "multi\nline\ttabbed",
        "accented: café naïve Ærøskøbing Łódź",
        "CJK: 日本語のテキスト 한국어 中文",
        "emoji: \U0001f680 \u2764\ufe0f \U0001f44d\U0001f3fd \u2705",
        "Thai: ภาษาไทย, Hindi: हिन्दी, Arabic: العربية, Hebrew: עִבְרִית",
        "Vietnamese NFD: Vie\u0302\u0323t",
        "private use: \ue0b0 \uf101",
    ],
)
def test_normal_text_is_unchanged(normal: str) -> None:
    assert visible(normal) == normal
    text = safe_text(normal)
    assert text.plain == normal and text.spans == []
    assert safe_content(normal).plain == normal
    assert one_line(normal) == normal.replace("\n", "⏎").replace("\t", " ")


def test_printable_ascii_is_returned_as_is() -> None:
    s = "x" * 1000
    assert visible(s) is s


# --- Text and Content ---------------------------------------------------------------


def test_escapes_are_styled_and_markers_dimmed() -> None:
    text = safe_text("a\x1bb\nc", single_line=True)
    assert text.plain == "a\\x1bb⏎c"
    assert text.spans == [Span(1, 5, ESCAPE_STYLE), Span(6, 7, MARKER_STYLE)]
    content = safe_content("a\x1bb", "bold")
    assert content.plain == "a\\x1bb"
    spans = [(span.start, span.end, span.style) for span in content.spans]
    assert spans == [(0, 6, "bold"), (1, 5, ESCAPE_STYLE)]


def test_max_chars_marks_what_was_dropped() -> None:
    text = safe_text("x" * 100, max_chars=10)
    assert text.plain == "x" * 10 + f"{ELLIPSIS} [90 more characters]"
    assert styled(text, MARKER_STYLE) == [f"{ELLIPSIS} [90 more characters]"]
    content = safe_content("x" * 12_345, max_chars=10)
    assert content.plain == "x" * 10 + f"{ELLIPSIS} [12,335 more characters]"


def test_max_chars_bounds_the_escaped_output_and_counts_input_characters() -> None:
    text = safe_text("\x1b" * 100, max_chars=20)
    assert text.plain == "\\x1b" * 5 + f"{ELLIPSIS} [95 more characters]"
    tags = safe_text("\U000e0041" * 1000, max_chars=35)
    assert tags.plain == "\\U000e0041" * 3 + f"{ELLIPSIS} [997 more characters]"
    assert all(ESCAPES.fullmatch(s) for s in styled(tags, ESCAPE_STYLE))


def test_styling_stops_after_the_budget_but_escaping_does_not() -> None:
    text = safe_text("a\x1b" * (MAX_STYLED_MARKS + 100), max_chars=None)
    assert len(text.spans) == MAX_STYLED_MARKS
    assert_clean(text.plain)


def test_width_needs_single_line() -> None:
    with pytest.raises(ValueError):
        safe_text("x", width=10)


@all_cases
def test_styled_escapes_are_whole(case: HostileCase) -> None:
    for renderable in (
        safe_text(case.text),
        safe_content(case.text, max_chars=333),
        safe_text(case.text, single_line=True, width=41),
    ):
        for shown in styled(renderable, ESCAPE_STYLE):
            assert ESCAPES.fullmatch(shown), shown


# --- One line, within a width -------------------------------------------------------


@small_cases
def test_one_line_fits_the_width(case: HostileCase) -> None:
    whole = one_line(case.text)
    for width in (0, 1, 2, 3, 5, 8, 13, 40, 80):
        line = one_line(case.text, width)
        assert cell_len(line) <= width
        if cell_len(whole) <= width:
            assert line == whole
        elif width:
            # Cut whole characters (never half a wide one) and show the cut.
            assert line.endswith(ELLIPSIS) and whole.startswith(line[: -len(ELLIPSIS)])
        assert safe_text(case.text, single_line=True, width=width).plain == line
        assert safe_content(case.text, single_line=True, width=width).plain == line


def test_one_line_never_splits_a_wide_character() -> None:
    assert one_line("日本語", 6) == "日本語"
    assert one_line("日本語", 5) == "日本…"
    assert one_line("日本語", 4) == "日…"
    assert one_line("a\x1bb", 4) == "a…"  # not "a\\x…": half an escape would mislead


# --- Huge content -----------------------------------------------------------------------


def timed(function, *args, **kwargs):
    start = process_time()
    result = function(*args, **kwargs)
    return result, process_time() - start


@huge_cases
def test_huge_content_renders_truncated_and_fast(case: HostileCase) -> None:
    text, seconds = timed(lambda: plain_visible_text(safe_text(case.text), width=120))
    assert seconds < FAST
    assert text.endswith("more characters]")
    content, seconds = timed(lambda: safe_content(case.text).render_segments())
    assert seconds < FAST
    line, seconds = timed(one_line, case.text, 200)
    assert seconds < FAST and cell_len(line) <= 200 and line.endswith(ELLIPSIS)


@huge_cases
def test_visible_is_linear_and_fast_on_huge_text(case: HostileCase) -> None:
    seconds = min(timed(visible, case.text)[1] for _ in range(2))
    assert seconds < FAST


# --- In a real Textual app ----------------------------------------------------------


class ClickTarget(App[None]):
    """Shows each renderable in a Static and records any action that runs."""

    def __init__(self, renderables: list[Text | Content]) -> None:
        super().__init__()
        self.renderables = renderables
        self.ran: list[str] = []

    def compose(self) -> ComposeResult:
        for index, renderable in enumerate(self.renderables):
            yield Static(renderable, id=f"target-{index}")

    def action_record(self, tag: str) -> None:
        self.ran.append(tag)

    def action_bell(self) -> None:
        self.ran.append("bell")

    async def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.ran.append("screenshot")


def click_everywhere(renderables: list[Text | Content]) -> ClickTarget:
    app = ClickTarget(renderables)

    async def run() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            for index in range(len(renderables)):
                # Where the label of a parsed action link would be.
                for x in (0, 2):
                    await pilot.click(f"#target-{index}", offset=(x, 0))
            await pilot.pause()
            assert app.is_running

    asyncio.run(run())
    return app


ACTION_PAYLOADS = [
    CASES["markup-click-quit"],
    CASES["markup-click-screenshot"],
    CASES["markup-click-bell"],
    CASES["markup-escape-bypass-spaces"],
    CASES["markup-escape-bypass-backslash"],
    CASES["markup-on-meta"],
    "[@click=app.record('pwned')]click[/]",
    "\x1b]8;;https://evil.example/\x1b\\[@click=app.record('osc')]x[/]\x1b]8;;\x1b\\",
]


def test_clicking_hostile_markup_runs_no_action() -> None:
    renderables: list[Text | Content] = [
        make(payload) for payload in ACTION_PAYLOADS for make in (safe_text, safe_content)
    ]
    app = click_everywhere(renderables)
    assert app.ran == []
    assert app.return_code is None


def test_click_harness_does_fire_real_action_links() -> None:
    """The control for the test above: the same clicks on real markup run the action."""
    app = click_everywhere([Content.from_markup("[@click=app.record('control')]CLICK ME[/]")])
    assert app.ran and set(app.ran) == {"control"}


def test_huge_content_renders_fast_in_a_static() -> None:
    times: dict[str, float] = {}

    async def run() -> None:
        app = ClickTarget([Content("")])
        async with app.run_test(size=(120, 40)) as pilot:
            static = app.query_one("#target-0", Static)
            static.update(safe_content("warm up " * 1000))
            await pilot.pause()
            async def render(text: str, make) -> float:
                static.update("")
                await pilot.pause()
                start = process_time()
                static.update(make(text))
                await pilot.pause()
                await pilot.pause()
                return process_time() - start

            for case in HUGE_CORPUS:
                for make in (safe_content, safe_text):
                    seconds = await render(case.text, make)
                    if seconds >= FAST:  # a second chance: caches and collectors vary
                        seconds = min(seconds, await render(case.text, make))
                    times[f"{case.id} {make.__name__}"] = seconds

    asyncio.run(run())
    slow = {case_id: round(seconds, 3) for case_id, seconds in times.items() if seconds >= FAST}
    assert not slow
