"""The fast path of imports (validate.check_line: orjson, used when a line is canonical compact JSON) refuses
exactly what the stdlib pass refuses, with the same message, and accepts exactly the same events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lago_tui.journal import InvalidEvent, Journal, validate
from lago_tui.journal.validate import EventProblem, check_event, check_line

from tests.test_robust_import import REFUSED, SID, T0, created, custom


def compact(text: str) -> str:
    """The case's text as a compact JSON writer would put it (the cases' strings hold no ", " or ": ")."""
    return text.replace(", ", ",").replace(": ", ":")


def problem(fn, *args) -> str | None:  # noqa: ANN001
    try:
        fn(*args)
    except EventProblem as exc:
        return str(exc)
    return None


@pytest.mark.skipif(validate.orjson is None, reason="orjson is not installed")
@pytest.mark.parametrize("case", list(REFUSED))
def test_a_compact_line_is_refused_as_the_stdlib_pass_refuses_it(case: str) -> None:
    text = compact(REFUSED[case][0])
    expected = problem(check_event, text)
    assert expected is not None, case
    assert problem(check_line, text.encode("utf-8", "surrogatepass"), text) == expected


ACCEPTED = [
    created(),
    custom("A", {"f": 0.1, "big": 2**64 - 1, "low": -(2**63), "e": 1.5e300, "s": "é\u2028\x1b\"\\/", "n": None}),
    custom("B", [[[[1]]]]),
    {"event_id": "M", "session_id": SID, "timestamp": T0, "branch_id": "main", "run_id": "r", "metadata": {"a": "b"},
     "payload": {"type": "Message", "role": "assistant", "content": "hi",
                 "token_usage": {"prompt_tokens": 4294967295, "completion_tokens": 0}}},
]


@pytest.mark.skipif(validate.orjson is None, reason="orjson is not installed")
@pytest.mark.parametrize("writer", ["compact", "orjson", "spaced"])
def test_an_accepted_line_parses_to_what_the_stdlib_pass_makes(writer: str, monkeypatch) -> None:  # noqa: ANN001
    for event in ACCEPTED:
        if writer == "compact":
            text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        elif writer == "orjson":
            text = validate.orjson.dumps(event).decode()
        else:
            text = json.dumps(event)
        expected = check_event(text)
        got = check_line(text.encode(), text)
        assert got == expected and json.dumps(got) == json.dumps(expected)  # same values, same types, same order
    # ...and canonical lines really take the fast path (the stdlib pass is not asked)
    monkeypatch.setattr(validate, "check_event", lambda text: pytest.fail("slow path taken"))
    for event in ACCEPTED:
        check_line(validate.orjson.dumps(event), validate.orjson.dumps(event).decode())


def test_without_orjson_lines_take_the_stdlib_pass(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(validate, "orjson", None)
    text = compact(REFUSED["duplicate-payload-key"][0])
    assert "duplicate key" in problem(check_line, text.encode(), text)
    ok = json.dumps(created(), separators=(",", ":"))
    assert check_line(ok.encode(), ok) == created()


def test_a_compact_duplicate_key_far_into_a_file_is_refused_naming_its_line(tmp_path: Path) -> None:
    lines = [json.dumps(created(), separators=(",", ":"))]
    lines += [json.dumps(custom(f"E{i}", i), separators=(",", ":")) for i in range(2000)]
    lines.append(compact(REFUSED["duplicate-deep-key"][0]))
    path = tmp_path / "f.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    journal = Journal(tmp_path / "j.duckdb")
    with pytest.raises(InvalidEvent) as info:
        journal.import_file(path)
    assert info.value.location == f"{path}:{len(lines)}"
    assert "duplicate key 'k'" in info.value.problem
    assert not journal.exists() or journal.list_sessions() == []
    journal.close()


@pytest.mark.parametrize("value", [
    {"a": [1, "x\u2028\x1b\"\\/é😀", None, True, 2**64 - 1, {"b": []}]},
    {"f": 1e-05}, {"f": 0.00001234}, {"f": 1e16}, [1.5, "1.5"], "plain", 7,
])
def test_search_text_of_json_values_is_written_as_the_stdlib_writes_it(value) -> None:  # noqa: ANN001
    from lago_tui.journal.ingest import search_text

    event = custom("S", value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    expected = "probe " + text
    assert search_text(event) == expected


def test_an_event_whose_search_text_holds_a_nul_imports_and_is_found(tmp_path: Path) -> None:
    # rows reach DuckDB joined by NUL; a NUL in a search text ("\u0000" in a message) takes the other way in
    lines = [json.dumps(created()),
             json.dumps({"event_id": "N1", "session_id": SID, "timestamp": T0 + 5,
                         "payload": {"type": "Message", "role": "user", "content": "before\u0000after needle"}}),
             json.dumps(custom("N2", "x"))]
    path = tmp_path / "nul.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    journal = Journal(tmp_path / "j.duckdb")
    assert journal.import_file(path).events == 3
    assert [e["payload"].get("content") for e in journal.export(SID)][1] == "before\u0000after needle"
    assert len(journal.search("needle")) == 1
    journal.close()
