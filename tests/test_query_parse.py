"""The query language without a journal: terms, values, errors with offsets, and SQL that user text never shapes."""

from __future__ import annotations

import pytest

from lago_tui.journal import JournalError
from lago_tui.journal.query import (
    QueryError,
    Range,
    TimelineContext,
    list_predicate,
    parse_list,
    parse_timeline,
    timeline_predicate,
)

NOW = 1_795_262_400_000_000  # 2026-11-21 12:00:00 UTC


def fields(q) -> list[tuple[str, object, bool]]:
    return [(t.field, t.value, t.negated) for t in q.terms]


def test_free_text_words_phrases_and_negation() -> None:
    q = parse_timeline('Deploy  "Connection refused" -flaky -"two words" - lone')
    assert fields(q) == [
        ("text", "Deploy", False), ("text", "Connection refused", False), ("text", "flaky", True),
        ("text", "two words", True), ("text", "-", False), ("text", "lone", False),
    ]
    assert q.free_text == ("Deploy", "Connection refused", "-", "lone")
    assert [q.text[t.start:t.end] for t in q.terms] == [
        "Deploy", '"Connection refused"', "-flaky", '-"two words"', "-", "lone",
    ]
    assert parse_timeline("   ").is_empty and parse_list(None).is_empty and parse_timeline('""').is_empty


def test_quotes_escape_only_quote_and_backslash() -> None:
    q = parse_timeline(r'"say \"hi\"" "C:\temp\\x" tool:"web search"')
    assert fields(q) == [("text", 'say "hi"', False), ("text", "C:\\temp\\x", False), ("tool", ("web search",), False)]


def test_unknown_word_colon_is_text_but_a_misspelt_field_is_an_error() -> None:
    assert fields(parse_timeline("Error: http://x 12:30")) == [
        ("text", "Error:", False), ("text", "http://x", False), ("text", "12:30", False),
    ]
    with pytest.raises(QueryError) as err:
        parse_timeline("deploy knd:tool")
    assert err.value.message == "unknown filter knd:; did you mean kind:?"
    assert (err.value.start, err.value.end) == (7, 11)
    assert isinstance(err.value, JournalError)


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("kind:ToolCallFailed", "kind", ("ToolCallFailed",)),
        ("kind:tool", "kind", ("tool",)),
        ("kind:assistant,RunErrored", "kind", ("assistant", "RunErrored")),
        ("tool:Bash", "tool", ("Bash",)),
        ("role:assistant", "role", ("assistant",)),
        ("seq:>120", "seq", Range(121, None)),
        ("seq:>=120", "seq", Range(120, None)),
        ("seq:<5", "seq", Range(None, 4)),
        ("seq:<=5", "seq", Range(None, 5)),
        ("seq:=7", "seq", Range(7, 7)),
        ("seq:7", "seq", Range(7, 7)),
        ("seq:100..200", "seq", Range(100, 200)),
        ("seq:100..", "seq", Range(100, None)),
        ("seq:..200", "seq", Range(None, 200)),
        ("run:01JD", "run", ("01JD",)),
        ("status:error", "status", ("error",)),
        ("dur:>5s", "dur", Range(5001, None)),
        ("dur:100ms..1.5s", "dur", Range(100, 1500)),
        ("dur:<2m", "dur", Range(None, 119_999)),
        ("dur:>=1h", "dur", Range(3_600_000, None)),
        ("branch:feature-x", "branch", ("feature-x",)),
    ],
)
def test_timeline_terms(text: str, field: str, value: object) -> None:
    (term,) = parse_timeline(text).terms
    assert (term.field, term.value if field != "kind" else tuple(v.name for v in term.value)) == (field, value)


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("model:GPT-4.1", "model", ("GPT-4.1",)),
        ("state:open", "state", ("open",)),
        ("state:closed,open", "state", ("closed", "open")),
        ("tokens:>10k", "tokens", Range(10_001, None)),
        ("tokens:1.5k..2M", "tokens", Range(1500, 2_000_000)),
        ("events:>1000", "events", Range(1001, None)),
        ("branches:>1", "branches", Range(2, None)),
        ("failures:>0", "failures", Range(1, None)),
        ("param:temperature=0.2", "param", ("temperature", "0.2")),
        ("param:repo", "param", ("repo", None)),
        ("param:k=", "param", ("k", "")),
        ('param:"odd key=a b"', "param", ("odd key", "a b")),
        ("name:deploy", "name", ("deploy",)),
        ("id:01JD", "id", ("01JD",)),
    ],
)
def test_list_terms(text: str, field: str, value: object) -> None:
    (term,) = parse_list(text).terms
    assert (term.field, term.value) == (field, value)


def test_exact_match_with_equals() -> None:
    (term,) = parse_timeline("tool:=bash").terms
    assert (term.exact, term.value) == (True, ("bash",))
    (term,) = parse_list("model:=gpt-4").terms
    assert (term.exact, term.value) == (True, ("gpt-4",))
    (term,) = parse_list('name:="two, words"').terms
    assert (term.exact, term.value) == (True, ("two, words",))
    (term,) = parse_list('name:"=x"').terms
    assert (term.exact, term.value) == (False, ("=x",))


def test_times_relative_absolute_and_local() -> None:
    since = parse_list("since:2d").terms[0].value
    assert since.resolve(NOW) == NOW - 2 * 86400 * 1_000_000
    for text, age in (("36h", 36 * 3600), ("90m", 5400), ("1w", 7 * 86400), ("45s", 45)):
        assert parse_list(f"since:{text}").terms[0].value.resolve(NOW) == NOW - age * 1_000_000
    utc = parse_list("before:2026-11-01T00:00Z").terms[0].value
    assert utc.resolve(NOW) == 1_793_491_200_000_000
    offset = parse_list("before:2026-11-01T02:00+02:00").terms[0].value
    assert offset.resolve(NOW) == 1_793_491_200_000_000
    today = parse_list("since:today").terms[0].value.resolve(NOW)
    yesterday = parse_list("since:yesterday").terms[0].value.resolve(NOW)
    assert 0 < NOW - today <= 86400 * 1_000_000 and 23 * 3600 * 1_000_000 <= today - yesterday <= 25 * 3600 * 1_000_000


@pytest.mark.parametrize(
    ("scope", "text", "message", "span"),
    [
        ("timeline", 'ok "unterminated', "unterminated quote", (3, 16)),
        ("timeline", "kind:", "kind: needs a value, e.g. kind:ToolCallFailed", (0, 5)),
        ("timeline", "seq:abc", "seq: expects a whole number, not 'abc' (e.g. seq:>120)", (0, 7)),
        ("timeline", "seq:1.5", "seq: expects a whole number, not '1.5' (e.g. seq:>120)", (0, 7)),
        ("timeline", "x seq:9..3", "seq: the range 9..3 is empty (the first end is larger)", (2, 10)),
        ("timeline", "seq:..", "seq: a range needs at least one end, e.g. seq:10..20", (0, 6)),
        ("timeline", "dur:>5", "dur: expects a duration with a unit (ms, s, m, h), not '5' (e.g. dur:>5s)", (0, 6)),
        ("timeline", "kind:tool,,x", "kind: has an empty value between commas", (0, 12)),
        ("timeline", "a model:gpt", "model: is not a filter of a timeline; use one of: kind:, tool:, role:, seq:, "
                                     "run:, status:, dur:, branch:, since:, before:", (2, 8)),
        ("list", "kind:tool", "kind: is not a filter of the session list; use one of: model:, state:, since:, "
                              "before:, tokens:, events:, branches:, failures:, param:, name:, id:", (0, 5)),
        ("list", "state:archived", "state: is open or closed, not 'archived'", (0, 14)),
        ("list", "since:tuesday", "since: expects an age (2d, 36h, 1w, today) or a date (2026-11-01, "
                                  "2026-11-01T09:30), not 'tuesday'", (0, 13)),
        ("list", "param:=x", "param: needs a key, e.g. param:temperature=0.2", (0, 8)),
        ("list", "tokens:>lots", "tokens: expects a whole number, not 'lots' (e.g. tokens:>10k)", (0, 12)),
    ],
)
def test_errors_carry_message_and_span(scope: str, text: str, message: str, span: tuple[int, int]) -> None:
    with pytest.raises(QueryError) as err:
        (parse_list if scope == "list" else parse_timeline)(text)
    assert err.value.message == message
    assert (err.value.start, err.value.end) == span
    assert str(err.value) == f"{message} (at column {span[0] + 1})"
    assert QueryError.from_json(err.value.to_json()).to_json() == err.value.to_json()


def test_unknown_kind_is_refused_unless_the_journal_has_it() -> None:
    q = parse_timeline("x kind:Bogus")
    with pytest.raises(QueryError) as err:
        timeline_predicate(q, TimelineContext("S"))
    assert err.value.message.startswith("unknown kind 'Bogus'; valid: families: session, message, tool")
    assert (err.value.start, err.value.end) == (2, 12)
    assert timeline_predicate(q, TimelineContext("S", kind_exists=lambda k: k == "Bogus")) is not None
    with pytest.raises(QueryError, match="no branch 'nope' in this session"):
        timeline_predicate(parse_timeline("branch:nope"), TimelineContext("S", {"main": "main"}))


HOSTILE = [
    "'; DROP TABLE events; --", '" OR 1=1 --', "%", "_", "\\", "\\'", "?", "$1", "\x00\x1b[31m", "名前",
    "a' || (SELECT 1) || '", ")) OR true --", "*/ /*",
]


@pytest.mark.parametrize("evil", HOSTILE)
def test_user_text_never_changes_the_sql(evil: str) -> None:
    """Same query shape, benign or hostile values: the SQL text is identical; only parameters differ."""

    def quote(v: str) -> str:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

    ctx = lambda v: TimelineContext("S", {"main": "main", v: "B1", "benign": "B1"}, kind_exists=lambda k: True)  # noqa: E731
    timeline_shapes = ["{v}", "-{v}", "tool:{v}", "role:{v}", "run:{v}", "status:{v}", "branch:{v}", "kind:{v}"]
    for shape in timeline_shapes:
        benign = timeline_predicate(parse_timeline(shape.format(v=quote("benign"))), ctx("benign"))
        hostile = timeline_predicate(parse_timeline(shape.format(v=quote(evil))), ctx(evil))
        assert benign is not None and hostile is not None
        assert benign[0] == hostile[0], shape
        assert any(evil.lower() in str(p).lower() or p == "B1" for p in hostile[1]), shape
    key = evil.replace("=", "")  # '=' separates a param's key from its value
    list_shapes = ["{v}", "model:{v}", "name:{v}", "id:{v}", "param:{k}", "param:{kv}"]
    for shape in list_shapes:
        benign = list_predicate(parse_list(shape.format(v=quote("benign"), k=quote("benign"), kv=quote("b=x"))),
                                now_us=NOW)
        hostile = list_predicate(parse_list(shape.format(v=quote(evil), k=quote(key), kv=quote(key + "=" + evil))),
                                 now_us=NOW)
        assert benign is not None and hostile is not None
        assert benign[0] == hostile[0], shape


def test_sql_depends_only_on_the_shape() -> None:
    a = list_predicate("tokens:>10 since:2d -foo", now_us=NOW)
    b = list_predicate("tokens:>999999 since:2026-01-01 -bar", now_us=NOW)
    assert a is not None and b is not None and a[0] == b[0] and a[1] != b[1]
    assert list_predicate("", now_us=NOW) is None and timeline_predicate("  ", TimelineContext("S")) is None


def test_the_vocabulary_matches_the_models_and_the_write_path() -> None:
    from lago_tui.journal.ingest import TEXT_FIELDS
    from lago_tui.journal.kinds import KNOWN_KINDS, TOOL_KINDS
    from lago_tui.journal.models import KNOWN_KINDS as MODEL_KINDS
    from lago_tui.journal.shown import DISPLAY

    assert sorted(KNOWN_KINDS) == sorted(MODEL_KINDS)
    assert all("tool_name" in TEXT_FIELDS[k] for k in TOOL_KINDS)
    assert set(DISPLAY) <= set(KNOWN_KINDS)
