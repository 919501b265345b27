"""The detail screen's header (what the session is) and status line (where you are, what is on).

Plain functions from state to :class:`rich.text.Text`; journal strings go through :mod:`lago_tui.safe`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from ...journal import SessionDetail
from ...journal.query import QueryError
from ...safe import one_line, safe_text
from ...summary import FAMILIES, duration, timestamp, tokens

__all__ = ["Status", "families_of", "header_text", "query_problem_text", "state_header", "status_text"]


def header_text(detail: SessionDetail, width: int, *, badge: Text | None = None) -> Text:
    """Two lines: the name (it wins the space), id, model and params; then the figures (and ``badge``:
    the integrity check's count, once it has run)."""
    s, t = detail.summary, detail.totals
    head = Text()
    head.append_text(safe_text(s.name, "bold", single_line=True, width=max(20, width - 4)))
    head.append("  ")
    head.append_text(safe_text(s.session_id, "dim", single_line=True, width=40))
    if s.model:
        head.append("  ")
        head.append_text(safe_text(s.model, "italic", single_line=True, width=40))
    if s.params:
        params = " ".join(f"{k}={v}" for k, v in s.params.items())
        head.append("  ")
        head.append_text(safe_text(params, "dim", single_line=True, width=120))
    line2 = Text()
    line2.append(f"created {timestamp(s.created_at)}  ")
    line2.append("closed" if s.closed else "open", "bold" if not s.closed else "dim")
    line2.append(
        f"  events {t.events:,}  tokens {tokens(t.tokens_in)} in / {tokens(t.tokens_out)} out"
        f"  tools {t.tool_calls:,}  "
    )
    line2.append(f"failures {t.failures:,}", "bold" if t.failures else "")
    line2.append(f"  wall {duration(t.wall_time_us / 1000)}  branches {len(detail.branches)}")
    if badge is not None:
        line2.append_text(badge)
    return _two_lines(head, line2, width)


def state_header(title: Text, message: Text, width: int) -> Text:
    """The header while there is no session to show: what is opened, and what is happening."""
    return _two_lines(title, message, width)


def _two_lines(first: Text, second: Text, width: int) -> Text:
    for part in (first, second):
        part.truncate(max(20, width - 2), overflow="ellipsis")
    both = Text("\n").join([first, second])
    both.no_wrap = True
    both.overflow = "ellipsis"
    return both


def query_problem_text(query: str, problem: QueryError) -> Text:
    """Why a query cannot be read, then the query with the offending part marked."""
    out = Text()
    out.append(one_line(problem.message, 200), "bold red")
    out.append("   ")
    shown = safe_text(query, single_line=True, width=200)
    start, end = max(0, problem.start), max(problem.start + 1, problem.end)
    if start < len(query):
        shown.stylize("reverse red", start, min(end, len(query)))
    out.append_text(shown)
    return out


def families_of(kinds: tuple[str, ...]) -> list[str]:
    """Kinds as the family names that cover them (plus any kind outside a whole family)."""
    chosen = set(kinds)
    fams = [fam for fam, members in FAMILIES.items() if set(members) <= chosen]
    covered = {k for fam in fams for k in FAMILIES[fam]}
    return fams + sorted(chosen - covered)


@dataclass(frozen=True)
class Status:
    """What the status line says."""

    branch: str | None = None
    cursor: int = -1
    rows: int = 0
    kinds: tuple[str, ...] | None = None
    follow: str = "off"  # off | on | paused
    query: str = ""
    filtering: bool = False  # the query hides what does not match (&), rather than highlights
    searching: bool = False
    match: tuple[int | None, int] | None = None  # (number of the match under the cursor, total)
    busy: str = ""  # what the retrying says, while the journal (or its server) does not answer
    problem: str = ""
    offset: int = 0  # summaries scrolled sideways by this many characters (h / l)
    wrap: bool = False  # summaries wrapped over several lines (w)
    zoom: str | None = None  # the pane shown alone (z)


def status_text(st: Status) -> Text:
    status = Text()
    if st.branch is not None:
        status.append("branch ")
        status.append_text(safe_text(st.branch, single_line=True, width=40))
    if st.rows:
        status.append(f"  {st.cursor + 1:,}/{st.rows:,}")
    status.append("  kinds: ", "dim")
    status.append("all" if not st.kinds else ", ".join(families_of(st.kinds)))
    if st.follow == "on":
        status.append("  FOLLOW", "bold reverse")
    elif st.follow == "paused":
        status.append("  FOLLOW paused (G or f resumes)", "bold")
    if st.query and st.filtering:
        status.append("  & ", "bold")
        status.append_text(safe_text(st.query, single_line=True, width=30))
        status.append(f"  {st.rows:,} shown (& shows all)", "dim")
    elif st.query:
        status.append("  /", "dim")
        status.append_text(safe_text(st.query, single_line=True, width=30))
        if st.searching:
            status.append("  searching…", "italic")
        elif st.match is not None:
            number, total = st.match
            if total == 0:
                status.append("  no match", "bold")
            elif number is None:
                status.append(f"  {total:,} match{'es' if total != 1 else ''}")
            else:
                status.append(f"  match {number:,}/{total:,}", "bold")
    if st.offset:
        status.append(f"  ⇢ +{st.offset} (h / l)", "dim")
    if st.wrap:
        status.append("  wrap (w)", "dim")
    if st.zoom:
        status.append(f"  zoom: {st.zoom} (z)", "dim")
    if st.busy:
        status.append("  " + st.busy, "bold")
    if st.problem:
        status.append("  ")
        status.append_text(safe_text(st.problem, "bold", single_line=True, width=120))
    status.no_wrap = True
    status.overflow = "ellipsis"
    return status
