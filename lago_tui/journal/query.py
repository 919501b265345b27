"""The query language of the session list and the timeline, compiled to SQL with bound parameters.

A query is a list of terms separated by spaces, all of which must hold (AND). A term is free text
(``deploy``), a quoted phrase (``"connection refused"``) or ``field:value``; ``-`` before a term negates it.
Free text is case-insensitive and literal (``%``, ``_``, ``*`` mean themselves). A ``word:`` that is not a
field is plain text (``Error:`` finds "Error:"), unless it looks like a misspelt field (``knd:``).

Timeline fields (:data:`TIMELINE_FIELDS`) and list fields (:data:`LIST_FIELDS`) are described with their
syntax in those tables; counts accept ``>N >=N <N <=N =N N A..B A.. ..B`` with ``k``/``M`` suffixes,
durations need a unit (``dur:>5s``: ms, s, m, h), times are relative (``2d``, ``36h``, ``1w``, ``today``) or
ISO dates and times (``2026-11-01``, ``2026-11-01T09:30``; local time unless a zone is given).
Comma-separated values of a text field are alternatives (``kind:ToolCallFailed,RunErrored``).

Nothing a person types ever becomes SQL text: every value is a bound parameter, and the SQL of a query
depends only on its shape (which fields, how many values, which built-in summary pieces the characters of
a word could match). Mistakes raise :class:`QueryError` with the character offsets of the offending term,
for UIs to underline where the user types.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from .errors import JournalError
from .kinds import FAMILIES, KNOWN_KINDS, ROLES, TOOL_KINDS, canonical_kind, describe_valid_kinds
from .shown import OUTCOME_DURATION_SQL, OUTCOME_SHOWN_SQL, PIECES, label_kinds, outcome_calls_sql, outcome_fragment

Scope = Literal["list", "timeline"]


class QueryError(JournalError):
    """A query that cannot be read. ``start``/``end`` are character offsets into ``query`` (end exclusive)."""

    def __init__(self, message: str, start: int = 0, end: int = 0, query: str = "") -> None:
        self.message = message
        self.start = start
        self.end = max(start, end)
        self.query = query
        where = f" (at column {start + 1})" if query else ""
        super().__init__(f"{message}{where}")

    def to_json(self) -> dict[str, Any]:
        return {"error": "bad_query", "message": self.message, "start": self.start, "end": self.end,
                "query": self.query}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QueryError:
        return cls(str(data.get("message", "bad query")), int(data.get("start", 0)), int(data.get("end", 0)),
                   str(data.get("query", "")))


# ------------------------------------------------------------------------------------------- fields

TIMELINE_FIELDS: dict[str, str] = {
    "kind": "kind:ToolCallFailed  kind:tool (a family)  kind:assistant (a role); commas for any of several",
    "tool": "tool:bash  (tool calls, policy and approvals by tool name, contains; tool:=bash exact)",
    "role": "role:assistant  (messages by role)",
    "seq": "seq:>120  seq:100..200",
    "run": "run:01JD…  (run id prefix)",
    "status": "status:error  status:ok  status:pending  status:denied  (tool call status, decision)",
    "dur": "dur:>5s  dur:100ms..2s  (tool call duration)",
    "branch": "branch:NAME  (only that branch's own events)",
    "since": "since:10m  since:2026-11-20T09:00  (events at or after)",
    "before": "before:2026-11-21  before:1h  (events before)",
}
LIST_FIELDS: dict[str, str] = {
    "model": "model:gpt-4.1  (model contains; model:=gpt-4.1 exact)",
    "state": "state:open  state:closed",
    "since": "since:2d  since:2026-11-01  (active at or after)",
    "before": "before:2026-11-01  before:1w  (started before)",
    "tokens": "tokens:>10k",
    "events": "events:>1000",
    "branches": "branches:>1",
    "failures": "failures:>0",
    "param": "param:temperature=0.2  param:repo  (has the param)",
    "name": 'name:deploy  (name contains; name:=deploy or name:="two words" exact)',
    "id": "id:01JD…  (session id prefix)",
}
_FIELDS: dict[Scope, dict[str, str]] = {"timeline": TIMELINE_FIELDS, "list": LIST_FIELDS}
_NUMERIC = {"seq", "tokens", "events", "branches", "failures"}
_MULTI = {"kind", "tool", "role", "run", "status", "branch", "model", "name", "id", "state"}
_FIELD_RE = re.compile(r"([A-Za-z_]+):")
_STATUS_ERROR = ("error", "errors", "failed", "failure", "failures", "fail")
_STATUS_OK = ("ok", "success", "succeeded")


@dataclass(frozen=True)
class Range:
    """Inclusive integer bounds; None is open."""

    lo: int | None
    hi: int | None


@dataclass(frozen=True)
class Term:
    """One term: ``field`` is "text" for free text. ``start``/``end`` span the term as typed (with its '-')."""

    field: str
    value: Any
    negated: bool
    start: int
    end: int
    exact: bool = False  # ``field:=value``


@dataclass(frozen=True)
class Query:
    """A parsed query. Hashable, cheap; compile it with :func:`list_predicate` or :func:`timeline_predicate`."""

    text: str
    scope: Scope
    terms: tuple[Term, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.terms

    @property
    def free_text(self) -> tuple[str, ...]:
        """The words and phrases to highlight (free text that is not negated)."""
        return tuple(t.value for t in self.terms if t.field == "text" and not t.negated)


def parse_list(text: str | None) -> Query:
    """Parse a session-list query. Raises :class:`QueryError`."""
    return _Parser(text or "", "list").parse()


def parse_timeline(text: str | None) -> Query:
    """Parse a timeline query. Raises :class:`QueryError`."""
    return _Parser(text or "", "timeline").parse()


def parse(text: str | None, scope: Scope) -> Query:
    return parse_list(text) if scope == "list" else parse_timeline(text)


# ------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, scope: Scope) -> None:
        self.text = text
        self.scope = scope
        self.fields = _FIELDS[scope]

    def error(self, message: str, start: int, end: int) -> QueryError:
        return QueryError(message, start, end, self.text)

    def parse(self) -> Query:
        text, n, i = self.text, len(self.text), 0
        terms: list[Term] = []
        while i < n:
            if text[i].isspace():
                i += 1
                continue
            start = i
            negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
            if negated:
                i += 1
            if text[i] == '"':
                value, i = self._quoted(i)
                if value:
                    terms.append(Term("text", value, negated, start, i))
                continue
            m = _FIELD_RE.match(text, i)
            name = m.group(1).lower() if m else ""
            if m and (name in self.fields or name in _ALL_FIELDS):
                if name not in self.fields:
                    here = "the session list" if self.scope == "list" else "a timeline"
                    raise self.error(
                        f"{name}: is not a filter of {here}; use one of: {', '.join(f + ':' for f in self.fields)}",
                        start, m.end(),
                    )
                i = m.end()
                exact = name in _EXACT_OK and text.startswith('="', i)  # name:="two words"
                if exact:
                    i += 1
                quoted = i < n and text[i] == '"'
                if quoted:
                    raw, i = self._quoted(i)
                else:
                    raw, i = self._bare(i)
                terms.append(self._term(name, raw, quoted, negated, start, i, exact))
                continue
            word, i = self._bare(i)
            if m:
                close = difflib.get_close_matches(name, list(self.fields), n=1, cutoff=0.8)
                if close:
                    raise self.error(f"unknown filter {name}:; did you mean {close[0]}:?", start, m.end())
            terms.append(Term("text", word, negated, start, i))
        return Query(self.text, self.scope, tuple(terms))

    def _bare(self, i: int) -> tuple[str, int]:
        j = i
        while j < len(self.text) and not self.text[j].isspace():
            j += 1
        return self.text[i:j], j

    def _quoted(self, i: int) -> tuple[str, int]:
        """A double-quoted string at ``i``; ``\\"`` and ``\\\\`` are escapes, other backslashes literal."""
        text, n = self.text, len(self.text)
        out: list[str] = []
        j = i + 1
        while j < n:
            ch = text[j]
            if ch == "\\" and j + 1 < n and text[j + 1] in '"\\':
                out.append(text[j + 1])
                j += 2
                continue
            if ch == '"':
                return "".join(out), j + 1
            out.append(ch)
            j += 1
        raise self.error("unterminated quote", i, n)

    # ---------------------------------------------------------------- values

    def _term(self, name: str, raw: str, quoted: bool, negated: bool, start: int, end: int, exact: bool) -> Term:
        def bad(message: str) -> QueryError:
            return self.error(message, start, end)

        if name in _EXACT_OK and raw.startswith("=") and not quoted:
            exact, raw = True, raw[1:]
        if raw == "":
            raise bad(f"{name}: needs a value, e.g. {self.fields[name].split()[0]}")
        if name in _MULTI:
            values = (raw,) if quoted else tuple(v for v in raw.split(","))
            if any(v == "" for v in values):
                raise bad(f"{name}: has an empty value between commas")
            value: Any = self._multi(name, values, bad)
        elif name in _NUMERIC:
            value = _range(raw, _count, bad, name)
        elif name == "dur":
            value = _range(raw, _duration_ms, bad, name)
        elif name in ("since", "before"):
            value = _time_spec(raw, bad, name)
        elif name == "param":
            key, sep, val = raw.partition("=")
            if not key:
                raise bad("param: needs a key, e.g. param:temperature=0.2")
            value = (key, val if sep else None)
        else:  # pragma: no cover - every field is handled above
            raise bad(f"{name}: is not supported")
        return Term(name, value, negated, start, end, exact)

    def _multi(self, name: str, values: tuple[str, ...], bad: Callable[[str], QueryError]) -> Any:
        if name == "kind":
            return tuple(_kind_value(v) for v in values)
        if name == "state":
            for s in values:
                if s.lower() not in ("open", "closed"):
                    raise bad(f"state: is open or closed, not {s!r}")
            return values
        return values  # compared case-insensitively in SQL (DuckDB's lower() on both sides); branch exactly


_ALL_FIELDS = set(TIMELINE_FIELDS) | set(LIST_FIELDS)
_EXACT_OK = ("tool", "model", "name")  # field:=value (or field:="a value") is an exact match


@dataclass(frozen=True)
class KindName:
    """A name given to ``kind:`` resolved as far as the vocabulary goes; ``custom`` ones need the journal."""

    name: str
    kinds: tuple[str, ...] = ()
    role: str | None = None
    failures: bool = False
    custom: bool = False


def _kind_value(name: str) -> KindName:
    # A kind spelt exactly wins over the family of the same name: kind:Message is Message, kind:message
    # the message family (Message and TextDelta); other spellings of kinds are matched case-insensitively.
    if name in KNOWN_KINDS:
        return KindName(name, (name,))
    low = name.lower()
    if low == "error":
        return KindName(name, FAMILIES["error"], failures=True)
    if low in FAMILIES:
        return KindName(name, FAMILIES[low])
    if low in ROLES:
        return KindName(name, role=low)
    known = canonical_kind(name)
    if known is not None:
        return KindName(name, (known,))
    return KindName(name, (name,), custom=True)


_COUNT_RE = re.compile(r"(\d+(?:\.\d+)?)([kKmM]?)")
_DUR_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)", re.IGNORECASE)
_REL_RE = re.compile(r"(\d+)(s|m|h|d|w)", re.IGNORECASE)


def _count(text: str) -> int | None:
    m = _COUNT_RE.fullmatch(text)
    if not m:
        return None
    number = float(m.group(1))
    scale = {"": 1, "k": 1000, "m": 1_000_000}[m.group(2).lower()]
    value = number * scale
    if value != int(value):
        return None
    return int(value)


def _duration_ms(text: str) -> int | None:
    m = _DUR_RE.fullmatch(text)
    if not m:
        return None
    scale = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[m.group(2).lower()]
    return int(round(float(m.group(1)) * scale))


def _range(raw: str, number: Callable[[str], int | None], bad: Callable[[str], QueryError], name: str) -> Range:
    example = _FIELDS["timeline"].get(name) or _FIELDS["list"][name]
    what = "a duration with a unit (ms, s, m, h)" if name == "dur" else "a whole number"

    def num(text: str) -> int:
        value = number(text)
        if value is None:
            raise bad(f"{name}: expects {what}, not {text!r} (e.g. {example.split()[0]})")
        return value

    if ".." in raw:
        lo_text, _, hi_text = raw.partition("..")
        if not lo_text and not hi_text:
            raise bad(f"{name}: a range needs at least one end, e.g. {name}:10..20")
        lo = num(lo_text) if lo_text else None
        hi = num(hi_text) if hi_text else None
        if lo is not None and hi is not None and lo > hi:
            raise bad(f"{name}: the range {raw} is empty (the first end is larger)")
        return Range(lo, hi)
    for op in (">=", "<=", ">", "<", "="):
        if raw.startswith(op):
            value = num(raw[len(op):])
            return {
                ">=": Range(value, None), "<=": Range(None, value), ">": Range(value + 1, None),
                "<": Range(None, value - 1), "=": Range(value, value),
            }[op]
    value = num(raw)
    return Range(value, value)


@dataclass(frozen=True)
class TimeSpec:
    """An absolute time (µs), or an age in seconds, or a local calendar day offset (0 today, -1 yesterday)."""

    absolute_us: int | None = None
    age_s: int | None = None
    day: int | None = None

    def resolve(self, now_us: int) -> int:
        if self.absolute_us is not None:
            return self.absolute_us
        if self.age_s is not None:
            return now_us - self.age_s * 1_000_000
        midnight = datetime.fromtimestamp(now_us / 1_000_000).astimezone().replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        midnight += timedelta(days=self.day or 0)
        return int(midnight.timestamp() * 1_000_000)


def _time_spec(raw: str, bad: Callable[[str], QueryError], name: str) -> TimeSpec:
    low = raw.lower()
    if low in ("today", "yesterday"):
        return TimeSpec(day=0 if low == "today" else -1)
    m = _REL_RE.fullmatch(raw)
    if m:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[m.group(2).lower()]
        return TimeSpec(age_s=int(m.group(1)) * unit)
    try:
        dt = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise bad(
            f"{name}: expects an age (2d, 36h, 1w, today) or a date (2026-11-01, 2026-11-01T09:30), not {raw!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.astimezone()  # a date or time without a zone is local time
    return TimeSpec(absolute_us=int(dt.timestamp() * 1_000_000))


# ------------------------------------------------------------------------------------------- SQL


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _like_contains(text: str) -> str:
    return "%" + _like_prefix(text)


def _range_sql(expr: str, r: Range, params: list[Any]) -> str:
    parts = []
    if r.lo is not None:
        parts.append(f"{expr} >= ?")
        params.append(r.lo)
    if r.hi is not None:
        parts.append(f"{expr} <= ?")
        params.append(r.hi)
    return " AND ".join(parts) or "true"


def _in(expr: str, values: Sequence[Any], params: list[Any]) -> str:
    params.extend(values)
    return f"{expr} IN ({', '.join('?' * len(values))})"


def _text_match(expr: str, values: Sequence[str], exact: bool, params: list[Any]) -> str:
    """Case-insensitive: contains any of ``values`` (or equals one, when exact)."""
    params.extend(values)
    test = "lower({e}) = lower(?)" if exact else "contains(lower({e}), lower(?))"
    return "(" + " OR ".join(test.format(e=expr) for _ in values) + ")"


def _combine(terms: Sequence[Term], compile_term: Callable[[Term, list[Any]], str]) -> tuple[str, list[Any]] | None:
    """AND of every term. A negated term whose value is unknown (NULL) counts as not matching, so ``-x`` is
    exactly the complement of ``x``; positive terms stay bare (a WHERE drops NULL as false, and DuckDB
    skips the rest of an AND/OR chain for rows already decided)."""
    if not terms:
        return None
    params: list[Any] = []
    parts = []
    for term in terms:
        sql = compile_term(term, params)
        parts.append(f"(({sql}) IS NOT TRUE)" if term.negated else f"({sql})")
    return " AND ".join(parts), params


def _as_query(query: Query | str | None, scope: Scope) -> Query:
    if isinstance(query, Query):
        if query.scope != scope:
            raise QueryError(f"a {query.scope} query cannot filter a {scope}", 0, len(query.text), query.text)
        return query
    return parse(query, scope)


# ---------------------------------------------------------------- session list

_LIST_TEXT = ("name", "session_id", "model")


def list_predicate(query: Query | str | None, *, now_us: int | None = None) -> tuple[str, list[Any]] | None:
    """(SQL condition over the ``sessions`` table, parameters), or None when the query is empty."""
    q = _as_query(query, "list")
    now = now_us if now_us is not None else time.time_ns() // 1000

    def compile_term(t: Term, params: list[Any]) -> str:
        f = t.field
        if f == "text":
            params.extend([_like_contains(t.value)] * len(_LIST_TEXT))
            return " OR ".join(f"{col} ILIKE ? ESCAPE '\\'" for col in _LIST_TEXT)
        if f in ("model", "name"):
            return _text_match(f, t.value, t.exact, params)
        if f == "id":
            params.extend(_like_prefix(v) for v in t.value)
            return " OR ".join("session_id ILIKE ? ESCAPE '\\'" for _ in t.value)
        if f == "state":
            states = {v.lower() for v in t.value}
            return "true" if len(states) == 2 else ("closed" if "closed" in states else "NOT closed")
        if f == "since":
            params.append(t.value.resolve(now))
            return "coalesce(last_ts, created_at) >= ?"
        if f == "before":
            params.append(t.value.resolve(now))
            return "created_at < ?"
        if f in _LIST_COLUMNS:
            return _range_sql(_LIST_COLUMNS[f], t.value, params)
        if f == "param":
            key, value = t.value
            pointer = "/" + key.replace("~", "~0").replace("/", "~1")
            params.append(pointer)
            if value is None:
                return "json_exists(params, ?)"
            params.append(value)
            return "json_extract_string(params, ?) = ?"
        raise AssertionError(f)  # pragma: no cover

    return _combine(q.terms, compile_term)


def session_matches(query: Query | str | None, session: Any, *, now_us: int | None = None,
                    failures: int | None = None) -> bool:
    """Whether a :class:`~.views.SessionSummary` matches a list query, evaluated in Python (for journals
    without SQL, such as a plain Lago server). Same meaning as :func:`list_predicate` (case folding aside:
    Python's ``lower`` here, DuckDB's there); ``failures:`` needs ``failures``, else it does not match."""
    q = _as_query(query, "list")
    now = now_us if now_us is not None else time.time_ns() // 1000

    def term(t: Term) -> bool:
        f, v = t.field, t.value
        if f == "text":
            return any(v.lower() in x.lower() for x in (session.name, session.session_id, session.model))
        if f in ("model", "name"):
            x = getattr(session, f).lower()
            return any((x == a.lower()) if t.exact else (a.lower() in x) for a in v)
        if f == "id":
            return any(session.session_id.lower().startswith(a.lower()) for a in v)
        if f == "state":
            return ("closed" if session.closed else "open") in {a.lower() for a in v}
        if f == "since":
            return session.last_activity >= v.resolve(now)
        if f == "before":
            return session.created_at < v.resolve(now)
        if f == "param":
            key, value = v
            return key in session.params and (value is None or session.params[key] == value)
        x = {"tokens": session.tokens, "events": session.event_count, "branches": session.branch_count,
             "failures": failures}[f]
        return x is not None and (v.lo is None or x >= v.lo) and (v.hi is None or x <= v.hi)

    return all(term(t) != t.negated for t in q.terms)


_LIST_COLUMNS = {
    "tokens": "(tokens_in + tokens_out)", "events": "event_count", "branches": "branch_count",
    "failures": "failures",
}


# ---------------------------------------------------------------- timeline


@dataclass
class TimelineContext:
    """What compiling a timeline query needs to know about its session.

    ``branches`` maps branch names and ids to ids (for ``branch:``); ``kind_exists`` says whether a kind
    the vocabulary does not know occurs in the journal (None: such kinds are refused); ``outcome_calls``
    evaluates conditions on tool outcomes ahead (None: they become subqueries).
    """

    session_id: str
    branches: Mapping[str, str] = field(default_factory=dict)
    kind_exists: Callable[[str], bool] | None = None
    # (condition over outcome ``o`` and request ``r``, its parameters) -> call ids of the requests whose
    # outcome meets it. With it, a query reads the outcomes once, not once per chunk a search reads.
    outcome_calls: Callable[[str, list[Any]], list[str]] | None = None
    now_us: int | None = None  # what ``since:2d`` counts back from (None: the clock)


_ROLE_SQL = "lower(payload->>'$.role')"
_TOOL_SQL = "payload->>'$.tool_name'"


_MAX_LISTED_CALLS = 100_000  # beyond this, binding the list costs more than reading the outcomes again


def _outcome_calls(cond: str, cond_params: list[Any], context: TimelineContext, params: list[Any]) -> str:
    """SQL: the row is a tool request whose outcome (``o``, request ``r``) meets ``cond``."""
    if context.outcome_calls is not None:
        calls = context.outcome_calls(cond, cond_params)
        if not calls:
            return "false"
        if len(calls) <= _MAX_LISTED_CALLS:
            params.append(calls)
            return "kind = 'ToolCallRequested' AND call_id IN (SELECT unnest(?::VARCHAR[]))"
    sql, sql_params = outcome_calls_sql(cond, cond_params, context.session_id)
    params.extend(sql_params)
    return f"kind = 'ToolCallRequested' AND call_id IN ({sql})"


def _free_text_sql(word: str, context: TimelineContext, params: list[Any]) -> str:
    """The payload's text, or what the row shows (kind label, summary words, a request's outcome)."""
    low = word.lower()
    like = _like_contains(word)
    params += [like, label_kinds(low, _LABELLED_KINDS)]
    parts = ["text ILIKE ? ESCAPE '\\'", "list_contains(?::VARCHAR[], kind)"]
    # Each piece is computed only for rows of its kind, and only if the word's characters fit it (which
    # pieces are in the SQL depends on the kind of characters typed, never on the text itself).
    by_kind: dict[str, list[str]] = {}
    for kind, piece in PIECES:
        if piece.could_contain(low):
            by_kind.setdefault(kind, []).append(piece.sql)
    if by_kind:
        whens = " ".join(f"WHEN '{kind}' THEN {' || chr(10) || '.join(sqls)}" for kind, sqls in by_kind.items())
        params.append(word)
        parts.append(f"contains(lower(CASE kind {whens} ELSE '' END), lower(?))")
    # The outcome's status and error are in its ``text``: a part of the word that must be in one of them
    # narrows the outcomes whose payload is read (the duration and separators are the rest).
    fragment = outcome_fragment(word)
    cond = (
        f"(o.kind = 'ToolCallFailed' OR ? OR left(o.text, 300) ILIKE ? ESCAPE '\\') "
        f"AND contains(lower({OUTCOME_SHOWN_SQL}), lower(?))"
    )
    cond_params = [fragment is None, _like_contains(fragment or ""), word]
    parts.append(f"({_outcome_calls(cond, cond_params, context, params)})")
    return " OR ".join(parts)


_LABELLED_KINDS = tuple(KNOWN_KINDS)


def kinds_predicate(
    names: Sequence[str], kind_exists: Callable[[str], bool] | None, params: list[Any], *, query: str = "",
    start: int = 0, end: int = 0,
) -> str:
    """SQL for events whose kind is one of ``names`` (kinds, families or roles; see :mod:`.kinds`)."""
    return _kind_sql(tuple(_kind_value(n) for n in names), kind_exists, params, query, start, end)


def _kind_sql(
    values: tuple[KindName, ...], kind_exists: Callable[[str], bool] | None, params: list[Any],
    query: str, start: int, end: int,
) -> str:
    kinds: list[str] = []
    roles: list[str] = []
    failures = False
    for v in values:
        if v.custom and (kind_exists is None or not kind_exists(v.name)):
            raise QueryError(f"unknown kind {v.name!r}; valid: {describe_valid_kinds()}", start, end, query)
        kinds += [k for k in v.kinds if k not in kinds]
        if v.role:
            roles.append(v.role)
        failures |= v.failures
    parts = []
    if kinds:
        parts.append(_in("kind", kinds, params))
    if roles:
        parts.append(f"(kind = 'Message' AND {_in(_ROLE_SQL, roles, params)})")
    if failures:
        parts.append("failure")
    return " OR ".join(parts)


def timeline_predicate(query: Query | str | None, context: TimelineContext) -> tuple[str, list[Any]] | None:
    """(SQL condition over the ``events`` table, parameters), or None when the query is empty.

    The condition may use subqueries over the session's tool outcomes (one parameter each: the session id).
    """
    q = _as_query(query, "timeline")

    def compile_term(t: Term, params: list[Any]) -> str:
        f = t.field
        if f == "text":
            return _free_text_sql(t.value, context, params)
        if f == "kind":
            return _kind_sql(t.value, context.kind_exists, params, q.text, t.start, t.end)
        if f == "role":
            return f"kind = 'Message' AND {_in(_ROLE_SQL, [v.lower() for v in t.value], params)}"
        if f == "tool":
            # Kinds with a tool name (and kinds nobody knows) keep it in ``text`` too: a cheap first test
            # keeps the other rows' payloads unread.
            params += [list(TOOL_KINDS), list(KNOWN_KINDS)]
            params.extend(_like_contains(v) for v in t.value)
            prefilter = " OR ".join("text ILIKE ? ESCAPE '\\'" for _ in t.value)
            return (
                f"(list_contains(?::VARCHAR[], kind) OR NOT list_contains(?::VARCHAR[], kind)) AND ({prefilter}) "
                f"AND {_text_match(_TOOL_SQL, t.value, t.exact, params)}"
            )
        if f == "seq":
            return _range_sql("seq", t.value, params)
        if f in ("since", "before"):
            params.append(t.value.resolve(context.now_us if context.now_us is not None else time.time_ns() // 1000))
            return "ts >= ?" if f == "since" else "ts < ?"
        if f == "run":
            params.extend(v.lower() for v in t.value)
            return " OR ".join("starts_with(lower(run_id), ?)" for _ in t.value)
        if f == "branch":
            ids = []
            for ref in t.value:
                branch_id = context.branches.get(ref)
                if branch_id is None:
                    names = sorted(k for k, v in context.branches.items() if k != v)
                    raise QueryError(
                        f"no branch {ref!r} in this session (branches: {', '.join(names) or 'main'})",
                        t.start, t.end, q.text,
                    )
                ids.append(branch_id)
            return _in("branch_id", ids, params)
        if f == "status":
            return " OR ".join(_status_sql(v, context, params) for v in t.value)
        if f == "dur":
            own = _range_sql("TRY_CAST(payload->>'$.duration_ms' AS BIGINT)", t.value, params)
            cond_params: list[Any] = []
            paired = _range_sql(OUTCOME_DURATION_SQL, t.value, cond_params)
            return f"(kind = 'ToolCallCompleted' AND {own}) OR ({_outcome_calls(paired, cond_params, context, params)})"
        raise AssertionError(f)  # pragma: no cover

    return _combine(q.terms, compile_term)


def _status_sql(value: str, context: TimelineContext, params: list[Any]) -> str:
    low = value.lower()
    if low in _STATUS_ERROR:
        return f"failure OR ({_outcome_calls('o.failure', [], context, params)})"
    if low in _STATUS_OK:
        return f"(kind = 'ToolCallCompleted' AND NOT failure) OR ({_outcome_calls('NOT o.failure', [], context, params)})"
    if low == "pending":
        sql, sql_params = outcome_calls_sql("true", [], context.session_id)
        params.extend(sql_params)
        return f"kind = 'ToolCallRequested' AND call_id IS NOT NULL AND call_id NOT IN ({sql})"
    params += [value, value]
    cond = "lower(o.payload->>'$.status') = lower(?)"
    return (
        "lower(payload->>'$.status') = lower(?) OR lower(payload->>'$.decision') = lower(?) OR "
        f"({_outcome_calls(cond, [value], context, params)})"
    )


def field_help(scope: Scope) -> dict[str, str]:
    """Field -> one line of syntax, for help screens and completion."""
    return dict(_FIELDS[scope])


__all__ = [
    "KNOWN_KINDS", "LIST_FIELDS", "TIMELINE_FIELDS", "Query", "QueryError", "Range", "Term", "TimeSpec",
    "TimelineContext", "field_help", "kinds_predicate", "list_predicate", "parse", "parse_list",
    "parse_timeline", "session_matches", "timeline_predicate",
]
