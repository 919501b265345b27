"""The session list's query box: free text or typed terms (issue 13), errors shown where you type.

The language itself lives in the journal (:mod:`lago_tui.journal.query`, turned into SQL there); this
box only sends what was typed, and when the journal's parser refuses it (a ``QueryError`` with
``start``/``end`` character offsets) it marks that span under the text with the parser's message, and
the list keeps showing what the last good query found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Key
from textual.widgets import Input, Static

from ..journal import JournalError
from ..safe import safe_content

__all__ = ["FilterInput", "QueryBar", "QueryProblem", "query_error_of", "without_term"]

PLACEHOLDER = "name, id or model · or terms: model:gpt-4.1 state:open since:2d tokens:>10k -state:closed"
LABEL = "query"


@dataclass(frozen=True, slots=True)
class QueryProblem:
    """Why a query was refused, and which characters of it (``start``..``end``) are at fault."""

    message: str
    start: int = 0
    end: int = 0


def query_error_of(error: BaseException) -> QueryProblem | None:
    """The problem in a query, if ``error`` is the journal refusing one (it carries the offsets)."""
    if not isinstance(error, JournalError):
        return None
    start = getattr(error, "start", None)
    if not isinstance(start, int):
        return None
    end = getattr(error, "end", None)
    message = getattr(error, "message", None) or str(error)
    return QueryProblem(str(message), start, end if isinstance(end, int) and end > start else start + 1)


def without_term(text: str, at: int) -> str | None:
    """``text`` without the whitespace-separated term covering character ``at`` (None if there is none).

    A quoted phrase is one term: the term runs from the last space before ``at`` that is not inside quotes.
    """
    if not 0 <= at < len(text) or text[at].isspace():
        return None
    start = at
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end, quoted = start, False
    while end < len(text) and (quoted or not text[end].isspace()):
        if text[end] == '"' and (end == 0 or text[end - 1] != "\\"):
            quoted = not quoted
        end += 1
    return " ".join((text[:start] + " " + text[end:]).split())


def _session_query_parser() -> Callable[[str], Any] | None:
    """The journal's parser for list queries, when this build has the query language."""
    try:
        from ..journal import query
    except ImportError:
        return None
    for name in ("parse_list",):
        parser = getattr(query, name, None)
        if callable(parser):
            return parser  # type: ignore[no-any-return]
    return None


class FilterInput(Input):
    """The query box: escape clears it, enter (or down) goes back to the table.

    Those keys act at once rather than through bindings (which run only after the key has bubbled
    up to the app), and keys that were routed here before the focus moved away are passed on to the
    widget that has the focus now: typing ``/inc<enter>j`` quickly filters and then moves down.
    """

    BINDINGS = [
        Binding("escape", "screen.clear_filter", "Clear the query"),
        Binding("enter,down", "screen.submit_filter", "Apply the query, back to the list", show=False),
    ]

    async def _on_key(self, event: Key) -> None:
        screen = self.screen
        focused = screen.focused
        if focused is not None and focused is not self:
            event.stop()
            event.prevent_default()
            focused.post_message(Key(event.key, event.character))
            return
        action = QueryBar.ACT_AT_ONCE.get(event.key)
        handler = getattr(screen, action, None) if action else None
        if handler is not None:
            event.stop()
            event.prevent_default()
            handler()
            return
        await super()._on_key(event)


class QueryBar(Vertical):
    """The label, the box, and (only when there is one) the error line under it."""

    ACT_AT_ONCE = {"escape": "action_clear_filter", "enter": "action_submit_filter", "down": "action_submit_filter"}
    """Keys of the box that act at once (see FilterInput)."""

    DEFAULT_CSS = """
    QueryBar {
        height: auto;
    }
    QueryBar > Horizontal {
        height: 1;
        background: $boost;
    }
    QueryBar .query-label {
        width: auto;
        padding: 0 1;
        color: $text-accent;
        text-style: bold;
    }
    QueryBar FilterInput, QueryBar FilterInput:focus {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0;
        background: transparent;
    }
    QueryBar FilterInput:focus {
        background: $primary 20%;
    }
    QueryBar .query-error {
        display: none;
        height: 1;
        color: $text-error;
        background: $error 10%;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    QueryBar.-error .query-error {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.problem: QueryProblem | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(Content(LABEL), classes="query-label")
            yield FilterInput(placeholder=PLACEHOLDER, id="sl-filter", select_on_focus=False)
        yield Static(classes="query-error")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def check(self, text: str) -> QueryProblem | None:
        """What is wrong with ``text`` as a list query, before it is sent (None: nothing, or no parser)."""
        if not text:
            return None
        parser = _session_query_parser()
        if parser is None:
            return None
        try:
            parser(text)
        except JournalError as error:
            return query_error_of(error) or QueryProblem(str(error))
        except (TypeError, ValueError):  # a parser with another signature: leave the check to the journal
            return None
        return None

    def show_error(self, problem: QueryProblem | None) -> None:
        self.problem = problem
        self.set_class(problem is not None, "-error")
        line = self.query_one(".query-error", Static)
        if problem is None:
            line.update("")
            return
        box = self.input
        column = len(LABEL) + 2 + max(0, problem.start - box.scroll_offset.x)
        carets = "^" * max(1, min(problem.end - problem.start, 40))
        line.update(
            Content.assemble(
                " " * column,
                (carets, "bold"),
                " ",
                safe_content(problem.message, single_line=True, width=200),
            )
        )
