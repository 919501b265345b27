"""Request bodies: the fast orjson parse gives exactly what the strict parse gives, or is not used."""

from __future__ import annotations

import json
import math

import pytest

from lago_tui.journal.validate import has_long_digit_run
from lago_tui.server import jsonio
from lago_tui.server.errors import ApiError
from lago_tui.server.jsonio import parse_json


def _strict(body: bytes):
    return json.loads(body.decode("utf-8"))


FAST_BODIES = [  # no run of 19 digits: orjson's parse is trusted for these
    b'{"event":{"payload":{"type":"Message","role":"user","content":"hi"}}}',
    b'{"a":[1,2.5,-0.0,1e-07,true,false,null],"b":{"c":"\\u00e9\\n\\"q\\""}}',
    b'{"a":1,"a":2}',  # the last duplicate wins in both
]


@pytest.mark.parametrize("body", [
    *FAST_BODIES[:2],
    b' {"a": 9223372036854775807, "b": -9223372036854775808, "c": 18446744073709551615} ',
    FAST_BODIES[2],
])
def test_bodies_both_parsers_accept_parse_to_the_same_values(body: bytes) -> None:
    got = parse_json(body)
    assert got == _strict(body)
    assert json.dumps(got, sort_keys=True) == json.dumps(_strict(body), sort_keys=True)  # types too (1 vs 1.0)


@pytest.mark.parametrize("body", FAST_BODIES)
def test_bodies_without_a_long_digit_run_skip_the_strict_parse(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests above compare with json.loads and would pass if the orjson fast path were gone: here the strict
    # parse (the module's json.loads) is made to fail, and the body must still come back right.
    assert jsonio.orjson is not None, "orjson is a dependency: the fast path must be there"
    expected = _strict(body)

    def strict_parse(*args, **kwargs):
        pytest.fail(f"the strict parse ran for a canonical body: {body!r}")

    monkeypatch.setattr(jsonio.json, "loads", strict_parse)
    got = parse_json(body)
    monkeypatch.undo()
    assert got == expected
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)  # types too (1 vs 1.0)


def test_a_20_digit_integer_takes_the_strict_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"n":12345678901234567890}'
    calls: list[object] = []
    real_loads = json.loads

    def strict_parse(*args, **kwargs):
        calls.append(args[0] if args else kwargs.get("s"))
        return real_loads(*args, **kwargs)

    monkeypatch.setattr(jsonio.json, "loads", strict_parse)
    got = parse_json(body)
    monkeypatch.undo()
    assert calls == [body.decode()]
    assert got == {"n": 12345678901234567890} and type(got["n"]) is int


def test_an_integer_past_64_bits_stays_an_integer_for_the_gate_to_refuse() -> None:
    # orjson alone would make these floats, silently changing the value the client sent
    big = parse_json(b'{"n":18446744073709551616,"m":-9223372036854775809}')
    assert big == {"n": 18446744073709551616, "m": -9223372036854775809}
    assert type(big["n"]) is int and type(big["m"]) is int


def test_what_only_orjson_refuses_is_parsed_as_before() -> None:
    assert parse_json(b'"\\ud800"') == "\ud800"  # a lone surrogate: the journal's gate refuses it later
    assert math.isinf(parse_json(b"[1e400]")[0])  # an overflowing float: likewise


@pytest.mark.parametrize(("body", "says"), [
    (b"", "the request body is empty"),
    (b'{"a":NaN}', "NaN is not valid JSON"),
    (b'{"a":1} x', "Extra data"),
    (b'{"a":"\xff"}', "not UTF-8"),
    (b'{"a":1,}', "Expecting property name"),
])
def test_bad_bodies_get_the_strict_parse_s_message(body: bytes, says: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_json(body)
    assert caught.value.status == 400
    assert says in str(caught.value)


def test_a_long_digit_run_is_19_ascii_digits_in_a_row() -> None:
    assert has_long_digit_run(b"x1234567890123456789y")
    assert not has_long_digit_run(b"x123456789012345678y")  # 18
    assert not has_long_digit_run(b"123456789.0123456789")
    assert not has_long_digit_run("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠".encode())  # other scripts' digits are not JSON numbers
