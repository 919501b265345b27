"""The one rendering boundary for untrusted text.

Everything in the journal was written by an agent or a model, so every journal string
must pass through this module before it reaches a widget. Two separate dangers exist:

* **Markup.** Textual parses a ``str`` given to ``Static``, ``Label``, ``DataTable``,
  ``Tree``, ``OptionList``, ``Select``, ``notify``, titles and tooltips as markup:
  ``[@click=app.quit]`` becomes a live action link, ``[/]`` raises, ``arr[i][j]`` loses
  text. ``rich.markup.escape`` is not a fix (``[ @click=app.quit ]`` slips past it). The
  only safe form is an object that is never parsed: :class:`rich.text.Text` built with
  ``Text(...)`` or :class:`textual.content.Content` built with ``Content(...)``.
  This module only ever builds those.
* **Terminal control.** ``Text``/``Content`` strip only BEL, BS, VT, FF and CR. ESC
  sequences (CSI colours, OSC 52 clipboard writes, OSC 8 links, OSC 0 titles, RIS), C1
  controls, NUL, DEL, bidi overrides and zero-width characters would reach the terminal
  verbatim. :func:`visible` replaces each of them with a visible escape, in Python's own
  notation (``\\x1b``, ``\\x00``, ``\\x7f``, ``\\x9b``, ``\\u202e``, ``\\U000e0041``,
  ``\\ud800``), so the reader sees exactly which code point was there.

Escaped: see :data:`ESCAPED_RANGES` (C0 except tab and newline, DEL, C1, every general
category ``Cf`` format character including bidi controls, zero-width characters and
tag characters, U+2028/U+2029, lone surrogates, noncharacters, the other
default-ignorable code points such as Hangul fillers, and variation selectors except
VS15/VS16). Also escaped: combining marks beyond :data:`MAX_COMBINING` in one run, so
"zalgo" text cannot smear over neighbouring lines.

Deliberately kept: private-use characters (Nerd Font icons in tool output; they show
as a glyph or a box, never as nothing), VS15/VS16 (emoji vs. text presentation, on
nearly every heart emoji), every visible character including wide CJK and emoji.
The zero-width joiner *is* escaped, so a ZWJ emoji sequence shows as its parts joined
by ``\\u200d``: a ZWJ can hide text, and terminals disagree with Rich on how wide a
joined sequence is, which misaligns every cell after it.

Known ambiguity: in the plain string from :func:`visible`, an escape looks the same as
the same characters typed literally. The :class:`~rich.text.Text` and
:class:`~textual.content.Content` builders style escapes with :data:`ESCAPE_STYLE`,
which tells the two apart on screen (the first :data:`MAX_STYLED_MARKS` of them).

Size: rendering time grows with the text and with its styled spans (a 1 MB single
line takes seconds in a ``Static``), so :func:`safe_text` and :func:`safe_content`
keep at most :data:`DEFAULT_MAX_CHARS` characters, before and after escaping, unless
told otherwise; :func:`one_line` with a ``width`` reads only a prefix of the input
proportional to the width. Worst cases measured in a ``Static`` stay near 0.25 s.

Which to use: ``safe_content``/``safe_text`` wherever a widget takes a Content or Text
(``Static``, ``Label``, ``DataTable`` cells, ``Tree`` labels, ``OptionList`` and
``Select`` prompts, titles, tooltips); ``one_line``/``visible`` only where an API takes
a plain ``str`` that it does *not* parse as markup (e.g. ``notify(..., markup=False)``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from itertools import accumulate, groupby
from typing import Final, Literal

from rich.cells import cell_len, split_graphemes
from rich.console import Console
from rich.style import Style as RichStyle
from rich.text import Span as RichSpan
from rich.text import Text
from textual.content import Content
from textual.content import Span as ContentSpan
from textual.style import Style as ContentStyle

__all__ = [
    "DEFAULT_MAX_CHARS",
    "ELLIPSIS",
    "ESCAPED_RANGES",
    "ESCAPE_STYLE",
    "MARKER_STYLE",
    "MAX_COMBINING",
    "MAX_STYLED_MARKS",
    "NEWLINE_MARKER",
    "char_class",
    "one_line",
    "plain_visible_text",
    "safe_content",
    "safe_text",
    "visible",
]

# Markers. Both style strings parse the same in Rich and in Textual.
ESCAPE_STYLE: Final = "reverse"
"""Style of a visible escape such as ``\\x1b`` in :func:`safe_text`/:func:`safe_content`."""
MARKER_STYLE: Final = "dim"
"""Style of the markers this module adds: ``⏎``, ``…`` and ``… [N more characters]``."""
NEWLINE_MARKER: Final = "⏎"
"""Stands for a newline in single-line output."""
ELLIPSIS: Final = "…"
"""Ends text cut to a width."""

MAX_COMBINING: Final = 3
"""Combining marks kept in one run; the rest are escaped (against "zalgo" text)."""
DEFAULT_MAX_CHARS: Final = 10_000
"""Characters :func:`safe_text`/:func:`safe_content` keep by default (fast to render)."""
MAX_STYLED_MARKS: Final = 500
"""Escapes and markers styled in one Text/Content; later ones are shown unstyled."""

ESCAPED_RANGES: Final[tuple[tuple[int, int], ...]] = (
    (0x0000, 0x0008),  # C0 controls (NUL, BEL, BS) ...
    (0x000B, 0x001F),  # ... except TAB and LF; includes VT, FF, CR and ESC
    (0x007F, 0x009F),  # DEL and C1 controls (0x9B is a one-byte CSI, 0x9D OSC)
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x0600, 0x0605),  # Arabic prepended number signs (Cf)
    (0x061C, 0x061C),  # Arabic letter mark (bidi)
    (0x06DD, 0x06DD),  # Arabic end of ayah (Cf)
    (0x070F, 0x070F),  # Syriac abbreviation mark (Cf)
    (0x0890, 0x0891),  # Arabic pound/piastre mark above (Cf)
    (0x08E2, 0x08E2),  # Arabic disputed end of ayah (Cf)
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers (invisible)
    (0x17B4, 0x17B5),  # Khmer inherent vowels (invisible)
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # ZWSP, ZWNJ, ZWJ, LRM, RLM
    (0x2028, 0x202E),  # line/paragraph separators, LRE RLE PDF LRO RLO
    (0x2060, 0x206F),  # word joiner, invisible operators, LRI RLI FSI PDI, deprecated
    (0x3164, 0x3164),  # Hangul filler
    (0xD800, 0xDFFF),  # lone surrogates (from surrogateescape/surrogatepass decoding)
    (0xFDD0, 0xFDEF),  # noncharacters
    (0xFE00, 0xFE0D),  # variation selectors 1-14 (VS15/VS16 pick emoji presentation)
    (0xFEFF, 0xFEFF),  # BOM / zero-width no-break space
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFFB),  # reserved default-ignorables, interlinear annotation controls
    (0xFFFE, 0xFFFF),  # noncharacters
    (0x110BD, 0x110BD),  # Kaithi number sign (Cf)
    (0x110CD, 0x110CD),  # Kaithi number sign above (Cf)
    (0x13430, 0x1343F),  # Egyptian hieroglyph format controls (Cf)
    (0x1BCA0, 0x1BCA3),  # shorthand format controls (Cf)
    (0x1D173, 0x1D17A),  # musical symbol format controls (Cf)
    (0xE0000, 0xE0FFF),  # tag characters ("ASCII smuggling"), VS17-VS256, reserved
    # The last two code points of every supplementary plane are noncharacters.
    *((plane + 0xFFFE, plane + 0xFFFF) for plane in range(0x10000, 0x110000, 0x10000)),
)
"""Inclusive code point ranges that :func:`visible` always shows as escapes."""

# How the scan works (and why it looks like this: measured on 1 MB strings).
#
# * Pure printable ASCII, the common case, is returned after one C-level search; other
#   ASCII needs only its C0 controls and DEL escaped.
# * Otherwise two regex passes: one escapes runs of ESCAPED_RANGES code points, one caps
#   runs of combining marks. Each pattern starts with a single character class, which
#   lets `re` skip through text in C (3x faster than `[...]+`, 10x faster than
#   alternatives in one pattern). Astral code points (>= U+10000) are in both classes
#   as one range and sorted out in Python: a long list of astral ranges in a class
#   makes every character slow to test, and astral text is rare. Replacements go
#   through split() and a cache, as hostile text repeats the same runs; text dense
#   with escapes goes through str.translate instead.
# * Each escape the passes produce is wrapped in two sentinels, noncharacters that
#   cannot survive the first pass themselves. The styled builders find the escapes by
#   them; visible() just deletes them. One pipeline, so styled and plain never differ.
_OPEN_ESCAPE: Final = "\ufdd0"
_OPEN_MARKER: Final = "\ufdd1"
_CLOSE: Final = "\ufdd2"
_ASTRAL: Final = "\\U00010000-\\U0010ffff"
_SENTINELS: Final = re.compile(f"([{_OPEN_ESCAPE}{_OPEN_MARKER}])([^{_CLOSE}]*){_CLOSE}")
_ASCII_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ASCII_CONTROL_RUNS: Final = re.compile(r"([\x00-\x08\x0b-\x1f\x7f][\x00-\x08\x0b-\x1f\x7f]*)")
_ANY_ASTRAL: Final = re.compile(f"[{_ASTRAL}]")

_Role = Literal["escape", "marker"]
_Mark = tuple[int, int, _Role]  # [start, end) of output text that this module added


def _escape(codepoint: int) -> str:
    """A code point in Python notation: what ``ascii()`` shows between the quotes."""
    return ascii(chr(codepoint))[1:-1]


def char_class(ranges: Iterable[tuple[int, int]]) -> str:
    """The inside of a regex character class (``[...]``) matching the inclusive code point ``ranges``."""
    return "".join(
        f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges
    )


def _to_ranges(codepoints: Iterable[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for codepoint in sorted(codepoints):
        if ranges and ranges[-1][1] == codepoint - 1:
            ranges[-1] = (ranges[-1][0], codepoint)
        else:
            ranges.append((codepoint, codepoint))
    return ranges


class _Scanner:
    """Tables and patterns; built once, on first use (finding the marks takes ~30 ms)."""

    def __init__(self) -> None:
        escaped = {cp for lo, hi in ESCAPED_RANGES for cp in range(lo, hi + 1)}
        self.escape_table: dict[int, str] = {cp: _escape(cp) for cp in escaped}
        self.wrapped_table = {
            cp: _OPEN_ESCAPE + escape + _CLOSE for cp, escape in self.escape_table.items()
        }
        self.marks: frozenset[int] = frozenset(
            {
                codepoint
                for block in (range(0x0300, 0x20000), range(0xE0100, 0xE01F0))
                for codepoint in block
                if unicodedata.category(chr(codepoint))[0] == "M"
            }
            # Emoji skin-tone modifiers are zero width after an emoji and stack as well.
            | set(range(0x1F3FB, 0x1F400))
        ) - escaped
        self.mark_table = {cp: _escape(cp) for cp in self.marks}
        bmp_escaped = char_class(_to_ranges(cp for cp in escaped if cp <= 0xFFFF))
        bmp_marks = char_class(_to_ranges(cp for cp in self.marks if cp <= 0xFFFF))
        self.suspect = re.compile(f"[{bmp_escaped}{bmp_marks}{_ASTRAL}]")
        # Capturing groups: split() then puts the runs at the odd indices.
        self.escape_runs = re.compile(
            f"([{bmp_escaped}{_ASTRAL}][{bmp_escaped}{_ASTRAL}]*)"
        )
        # A run of MAX_COMBINING + 1 or more, spelt so that it starts with a class.
        self.mark_runs = re.compile(
            f"([{bmp_marks}{_ASTRAL}][{bmp_marks}{_ASTRAL}]{{{MAX_COMBINING},}})"
        )
        # Hostile text repeats itself (the same ESC, the same zalgo run), so short
        # runs' replacements are worth keeping; long ones would only fill memory.
        self._escape_cached = lru_cache(maxsize=4096)(self._escape_run)
        self._cap_cached = lru_cache(maxsize=4096)(self._cap_marks)

    def escape_run(self, run: str) -> str:
        return (self._escape_cached if len(run) <= 64 else self._escape_run)(run)

    def cap_marks(self, run: str) -> str:
        return (self._cap_cached if len(run) <= 64 else self._cap_marks)(run)

    def _escape_run(self, run: str) -> str:
        if not _ANY_ASTRAL.search(run):  # so every code point in it is to be escaped
            return _OPEN_ESCAPE + run.translate(self.escape_table) + _CLOSE
        # Mixed with astral code points, most of which (emoji) stay as they are.
        return "".join(
            _OPEN_ESCAPE + "".join(group).translate(self.escape_table) + _CLOSE
            if escaped
            else "".join(group)
            for escaped, group in groupby(run, lambda ch: ord(ch) in self.escape_table)
        )

    def _cap_marks(self, run: str) -> str:
        if not _ANY_ASTRAL.search(run):  # so every code point in it is a mark
            excess = run[MAX_COMBINING:].translate(self.mark_table)
            return run[:MAX_COMBINING] + _OPEN_ESCAPE + excess + _CLOSE
        # Mixed with astral code points, which may be bases (emoji) or marks.
        parts: list[str] = []
        stacked = 0
        for ch in run:
            if ord(ch) not in self.marks:
                stacked = 0
                parts.append(ch)
            elif (stacked := stacked + 1) > MAX_COMBINING:
                parts.append(_OPEN_ESCAPE + self.mark_table[ord(ch)] + _CLOSE)
            else:
                parts.append(ch)
        return "".join(parts)

    def escape_all(self, s: str) -> str:
        # Where escapes are dense (binary data, a flood), one C-level translate beats a
        # Python call per run; a sample of the start decides. Same result either way,
        # once the escapes of neighbouring code points are joined into runs again.
        if len(self.escape_runs.findall(s, 0, 2048)) > 64:
            return s.translate(self.wrapped_table).replace(_CLOSE + _OPEN_ESCAPE, "")
        return _replace_runs(self.escape_runs, self.escape_run, s)

    def scan(self, s: str, single_line: bool) -> str:
        """``s`` with sentinel-wrapped escapes (and newline markers if ``single_line``)."""
        if s.isascii():
            # Only C0 controls and DEL can be wrong here, and a small class finds them
            # faster than the big one.
            if _ASCII_CONTROL.search(s):
                s = _replace_runs(_ASCII_CONTROL_RUNS, self.escape_run, s)
        elif self.suspect.search(s):
            # Escaping only splits runs of marks, so if the input has no long run, the
            # (longer) escaped text has none either.
            has_mark_runs = self.mark_runs.search(s)
            s = self.escape_all(s)
            if has_mark_runs:
                s = _replace_runs(self.mark_runs, self.cap_marks, s)
        if single_line:
            s = s.replace("\n", _OPEN_MARKER + NEWLINE_MARKER + _CLOSE).replace("\t", " ")
        return s


def _replace_runs(pattern: re.Pattern[str], replace: Callable[[str], str], s: str) -> str:
    """``pattern.sub``, faster: ``map`` over ``split`` avoids a match object per run."""
    parts = pattern.split(s)
    if len(parts) > 1:
        parts[1::2] = map(replace, parts[1::2])
    return "".join(parts)


@cache
def _scanner() -> _Scanner:
    return _Scanner()


def visible(s: str) -> str:
    """Return ``s`` with every dangerous or invisible code point shown as an escape.

    Each escaped code point becomes its Python notation, e.g. ESC -> ``\\x1b``, RLO ->
    ``\\u202e``; newlines and tabs are kept. Printable text is returned unchanged (the
    same object). Linear time; per MB, about 5 ms for ASCII, 15-50 ms for other text,
    up to ~250 ms for text made of nothing but escapes.
    """
    if s.isascii() and not _ASCII_CONTROL.search(s):
        return s  # the common case, without building the scanner
    scanned = _scanner().scan(s, single_line=False)
    if _OPEN_ESCAPE in scanned:
        scanned = scanned.replace(_OPEN_ESCAPE, "").replace(_CLOSE, "")
    return scanned


def _sanitise(s: str, single_line: bool) -> tuple[str, list[_Mark]]:
    """:func:`visible`, also telling where the escapes and markers are, for styling.

    With ``single_line``, newlines become :data:`NEWLINE_MARKER` and tabs spaces.
    """
    # split() gives [text, opener, inner, text, opener, inner, ..., text].
    parts = _SENTINELS.split(_scanner().scan(s, single_line))
    roles: list[_Role] = [
        "escape" if opener == _OPEN_ESCAPE else "marker" for opener in parts[1::3]
    ]
    del parts[1::3]
    ends = list(accumulate(map(len, parts)))  # inner k ends at ends[2k + 1]
    marks = [(ends[2 * k], ends[2 * k + 1], role) for k, role in enumerate(roles)]
    return "".join(parts), marks


def _cut(text: str, marks: list[_Mark], cut: int) -> tuple[str, list[_Mark]]:
    """``text[:cut]`` and its marks, moving ``cut`` back to the start of an escape.

    Half an escape (``\\x1``) would mislead the reader, so escapes are whole or gone.
    """
    for start, end, role in marks:
        if start < cut < end:
            # A run of escapes is one mark; keep the escapes before the cut.
            cut = text.rfind("\\", start, cut + 1) if role == "escape" else start
            break
    return text[:cut], [(start, min(end, cut), role) for start, end, role in marks if start < cut]


def _cut_to_width(text: str, marks: list[_Mark], width: int) -> tuple[str, list[_Mark]]:
    """Cut ``text`` to ``width`` cells, ending it with :data:`ELLIPSIS` if cut.

    Cuts only between graphemes, so never through a wide character, and not in escapes.
    """
    if cell_len(text) <= width:
        return text, marks
    if width <= 0:
        return "", []
    graphemes, _ = split_graphemes(text)
    budget = width - cell_len(ELLIPSIS)
    cut = 0
    for _start, end, cells in graphemes:
        if cells > budget:
            break
        budget -= cells
        cut = end
    text, marks = _cut(text, marks, cut)
    marks.append((len(text), len(text) + len(ELLIPSIS), "marker"))
    return text + ELLIPSIS, marks


def _source_length(text: str, marks: list[_Mark]) -> int:
    """How many input characters ``text`` (from :func:`_sanitise`) stands for.

    Each escape stands for as many code points as it has backslashes (``\\x1b`` for
    one); markers (``⏎``) and everything else stand for one character each.
    """
    return len(text) - sum(
        (end - start) - text.count("\\", start, end)
        for start, end, role in marks
        if role == "escape"
    )


def _one_line_marked(s: str, width: int | None) -> tuple[str, list[_Mark]]:
    if width is None:
        return _sanitise(s, single_line=True)
    # Sanitise only a prefix. Every kept code point takes at least one cell except
    # combining marks (at most MAX_COMBINING per run), so this prefix nearly always
    # suffices; the loop grows it in the rare case it does not (e.g. leading marks).
    size = (max(width, 0) + 1) * (MAX_COMBINING + 1)
    while True:
        head = s[:size]
        text, marks = _sanitise(head, single_line=True)
        if len(head) == len(s) or cell_len(text) > width:
            break
        size *= 2
    return _cut_to_width(text, marks, width)


def one_line(s: str, width: int | None = None) -> str:
    """:func:`visible`, on one line: newlines shown as ``⏎``, tabs as spaces.

    With ``width``, the result takes at most ``width`` terminal cells and ends with
    ``…`` when cut; the cost is proportional to ``width``, not to ``len(s)``.
    """
    return _one_line_marked(s, width)[0]


def _prepare(
    s: str, single_line: bool, width: int | None, max_chars: int | None
) -> tuple[str, list[_Mark], int]:
    """The shared part of :func:`safe_text` and :func:`safe_content`.

    Returns the display string, its marks, and how many input characters were dropped
    by ``max_chars`` (for the ``… [N more characters]`` tail).
    """
    if width is not None and not single_line:
        raise ValueError("width applies to single-line text: pass single_line=True")
    hidden = 0
    if single_line and width is not None:
        # The width bounds the work already, and "…" marks the cut.
        text, marks = _one_line_marked(s, width)
    elif max_chars is None:
        text, marks = _sanitise(s, single_line)
    else:
        text, marks = _sanitise(s[:max_chars], single_line)
        # An escape is up to 10 times longer than what it stands for, and rendering
        # time follows the output, so the output is held to max_chars as well.
        if len(text) > max_chars:
            text, marks = _cut(text, marks, max_chars)
        hidden = len(s) - _source_length(text, marks)
    # Textual spends ~0.1 ms on each styled segment; past this many, escapes stay
    # visible but unstyled, so that escape-dense input (binary data) still renders fast.
    del marks[MAX_STYLED_MARKS:]
    return text, marks, hidden


def _more(hidden: int) -> str:
    return f"{ELLIPSIS} [{hidden:,} more characters]"


_STYLE_OF_ROLE: Final[dict[_Role, str]] = {"escape": ESCAPE_STYLE, "marker": MARKER_STYLE}


def safe_text(
    s: str,
    style: str | RichStyle = "",
    *,
    single_line: bool = False,
    width: int | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
) -> Text:
    """A Rich :class:`~rich.text.Text` showing untrusted ``s`` literally and safely.

    The text is :func:`visible` ``s``, never parsed as markup, with the escapes styled
    :data:`ESCAPE_STYLE` and ``style`` as the base style. ``single_line`` gives
    :func:`one_line` text instead (``⏎`` dim), cut to ``width`` cells with ``…`` if
    ``width`` is given; ``width`` requires ``single_line`` and then overrides
    ``max_chars``. Otherwise text past ``max_chars`` characters (of input, or of
    output once escaped) is replaced by a dim ``… [N more characters]``, N counting
    input characters; ``max_chars=None`` keeps everything (slow if huge).
    """
    text, marks, hidden = _prepare(s, single_line, width, max_chars)
    spans = [RichSpan(start, end, _STYLE_OF_ROLE[role]) for start, end, role in marks]
    result = Text(text, style, spans=spans)
    if single_line:
        result.no_wrap, result.overflow = True, "ellipsis"
    if hidden:
        result.append(_more(hidden), MARKER_STYLE)
    return result


def safe_content(
    s: str,
    style: str | ContentStyle = "",
    *,
    single_line: bool = False,
    width: int | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
) -> Content:
    """Like :func:`safe_text`, as a Textual :class:`~textual.content.Content`.

    ``style`` is a Textual style (``"bold $accent"`` works, it comes from the caller).
    Wrapping and overflow are up to the widget (CSS ``text-wrap``/``text-overflow``).
    """
    text, marks, hidden = _prepare(s, single_line, width, max_chars)
    if hidden:
        more = _more(hidden)
        marks.append((len(text), len(text) + len(more), "marker"))
        text += more
    spans = [ContentSpan(0, len(text), style)] if style and text else []
    # Later spans win, so the markers keep their look on top of the base style.
    spans.extend(ContentSpan(start, end, _STYLE_OF_ROLE[role]) for start, end, role in marks)
    return Content(text, spans)


def plain_visible_text(renderable: Text | Content, width: int = 1000) -> str:
    """What a terminal shows for ``renderable``, as one plain string (for tests).

    Renders to segments the way a screen would (tabs expanded; no markup, emoji codes
    or highlighting; a Text wraps at ``width``, a Content is not wrapped) and joins
    their text. So for ``s`` without tabs or lines wider than ``width``,
    ``plain_visible_text(safe_text(s)) == visible(s)`` (with ``max_chars=None``).
    """
    if isinstance(renderable, Content):
        segments = renderable.expand_tabs().render_segments()
    else:
        console = Console(
            width=width, color_system=None, markup=False, highlight=False, emoji=False
        )
        segments = list(console.render(renderable, console.options.update(width=width)))
    text = "".join(segment.text for segment in segments if not segment.control)
    return text.removesuffix("\n") if isinstance(renderable, Text) else text
