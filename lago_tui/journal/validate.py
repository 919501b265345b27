"""Whether one event, as JSON text, may enter the journal: the single gate of imports and appends.

Everything it lets through is stored so that every reader (CLI, TUI, export, server) reads it back exactly;
everything else is refused with a message naming what is wrong. Beyond the shape of Lago's EventEnvelope and
of each known payload kind (derived from the pydantic models in :mod:`.models`), it refuses what JSON readers
disagree on or cannot represent:

- invalid JSON, and ``NaN``/``Infinity`` (not JSON, though many parsers accept them);
- duplicate keys in any object (readers disagree on which value wins: DuckDB the first, Python the last);
- integers outside -2^63 .. 2^64-1 (what Lago's serde_json keeps exactly as an integer; larger ones turn into
  lossy floats) and floats that overflow to infinity;
- strings with lone UTF-16 surrogates (``"\\ud800"``: not Unicode, cannot be written as UTF-8);
- nesting deeper than :data:`MAX_DEPTH` arrays/objects (readers recurse over payloads);
- events larger than :data:`MAX_EVENT_BYTES` as stored (a reader holds whole events in memory), or whose
  text is longer than :data:`MAX_TEXT_BYTES` (escapes such as ``\\u0301`` can make it several times larger);
- token counts outside 0 .. 2^32-1 (Lago's ``TokenUsage`` fields are ``u32``), so that no session's totals
  can overflow a 64-bit column.

Speed matters (imports run at >= 100,000 events/s): canonical compact lines take orjson (:func:`check_line`), the
rest one pass of the C JSON scanner with small hooks, then
checks of the parsed envelope against per-kind tables built once. The rare costly checks (nesting depth,
surrogates) only run on lines that could fail them.
"""

from __future__ import annotations

import json
import re
import types
import typing
from typing import Any

from pydantic import BaseModel

try:  # the fast path of imports (see check_line); without it every event takes the stdlib path
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; an old environment still works, slower
    orjson = None  # type: ignore[assignment]

from .models import KNOWN_PAYLOADS, SessionConfig, TokenUsage

MAX_DEPTH = 100
"""Most arrays/objects nested in one event, the envelope itself counting as 1 (serde_json allows 128)."""
MAX_EVENT_BYTES = 4 * 1024 * 1024
"""Largest event accepted, as stored (compact JSON in UTF-8): 4 MiB. DuckDB needs some 20 times an event's size in
memory to parse it on import, and a reader holds whole events; this keeps both within their memory limits."""
MAX_TEXT_BYTES = 16 * 1024 * 1024
"""Longest JSON text of one event (a line of a file) read at all: what escapes (``\\u0301`` is 6 bytes for a
2-byte character) can make of a 4 MiB event."""

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U64_MAX = 2**64 - 1
I32_MIN, I32_MAX = -(2**31), 2**31 - 1
U32_MAX = 2**32 - 1


class EventProblem(ValueError):
    """What is wrong with one event (the caller adds where: ``FILE:LINE`` or ``event N``)."""


# --------------------------------------------------------------------------------------------- the JSON pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise EventProblem(f"duplicate key {_short(key)!r} in an object (readers disagree on which value wins)")
            seen.add(key)
    return obj


def _int(text: str) -> int:
    if len(text) < 19:
        return int(text)
    if len(text) > 21:
        raise EventProblem(f"integer {_short(text)} is outside -2^63..2^64-1 (JSON readers would lose digits)")
    value = int(text)
    if not I64_MIN <= value <= U64_MAX:
        raise EventProblem(f"integer {text} is outside -2^63..2^64-1 (JSON readers would lose digits)")
    return value


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise EventProblem(f"number {_short(text)} is too large for a 64-bit float")
    return value


def _constant(name: str) -> Any:
    raise EventProblem(f"{name} is not valid JSON (use null or a string)")


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_int=_int, parse_float=_float, parse_constant=_constant)
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _depth_exceeds(text: str, limit: int) -> bool:
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


_TOO_LARGE = f"event is larger than {MAX_EVENT_BYTES // (1024 * 1024)} MiB"


def _check_size(text: str) -> None:
    """Before parsing: the text itself is not absurdly long."""
    if len(text) > MAX_TEXT_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise EventProblem(_TOO_LARGE)


def _check_stored_size(text: str, obj: Any) -> None:
    """After parsing a long text: the event as it would be stored is within MAX_EVENT_BYTES."""
    if len(text) > MAX_EVENT_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_EVENT_BYTES:
        stored = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        if len(stored) > MAX_EVENT_BYTES:
            raise EventProblem(_TOO_LARGE)


def _check_parsed(text: str, obj: Any) -> None:
    """The checks a successful parse of ``text`` into ``obj`` leaves to do (cheap unless the text is suspect)."""
    if text.count("{") + text.count("[") > MAX_DEPTH and _depth_exceeds(text, MAX_DEPTH):
        raise EventProblem(f"nested deeper than {MAX_DEPTH} levels")
    if "\\ud" in text or "\\uD" in text:
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = ascii(exc.object[exc.start])[1:-1]
            raise EventProblem(f"lone surrogate {bad} in a string (not valid Unicode)") from None


def parse_event_at(text: str, pos: int) -> tuple[Any, int]:
    """Parse the JSON value starting at ``text[pos]`` (an element of a JSON array): (value, end).

    Raises :class:`json.JSONDecodeError` as the decoder does (the caller tells a value cut off by the end of
    what it has read from a broken one), :class:`EventProblem` for everything else.
    """
    try:
        obj, end = _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise EventProblem(f"nested deeper than {MAX_DEPTH} levels") from None
    element = text[pos:end]
    _check_size(element)
    _check_parsed(element, obj)
    _check_stored_size(element, obj)
    return obj, end


# --------------------------------------------------------------------------------------------- shapes

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "an array",
               dict: "an object", type(None): "null"}


def _json_type(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Field(typing.NamedTuple):
    name: str
    types: frozenset[type] | None  # None: any JSON value
    required: bool
    low: int | None  # inclusive bounds of an integer
    high: int | None
    nested: tuple[_Field, ...] | None  # the fields of an object-valued model
    expected: str  # for messages


# Ranges beyond the global integer rule: stored in 64-bit columns, or u32 as in Lago's TokenUsage.
_RANGES: dict[tuple[type, str], tuple[int, int]] = {
    **{(TokenUsage, name): (0, U32_MAX) for name in ("prompt_tokens", "completion_tokens", "total_tokens")},
}


def _field(model: type[BaseModel], name: str, info: Any) -> _Field:
    annotation = info.annotation
    allowed: set[type] = set()
    nested: tuple[_Field, ...] | None = None
    anything = False

    def add(a: Any) -> None:
        nonlocal nested, anything
        origin = typing.get_origin(a)
        if origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(a):
                add(arg)
        elif a is type(None):
            allowed.add(type(None))
        elif a is str or origin is typing.Literal:
            allowed.add(str)
        elif a is int:
            allowed.add(int)
        elif a is float:
            allowed.update((int, float))
        elif a is bool:
            allowed.add(bool)
        elif origin is list or a is list:
            allowed.add(list)
        elif origin is dict or a is dict:
            allowed.add(dict)
        elif isinstance(a, type) and issubclass(a, BaseModel):
            allowed.add(dict)
            nested = _fields(a)
        else:
            anything = True

    add(annotation)
    low = high = None
    if (model, name) in _RANGES:
        low, high = _RANGES[(model, name)]
    elif any(getattr(m, "ge", None) == 0 for m in info.metadata):
        low, high = 0, I64_MAX
    if anything:
        return _Field(name, None, info.is_required(), low, high, None, "any value")
    expected = " or ".join(sorted({_TYPE_NAMES[t] for t in allowed if t is not int or float not in allowed}))
    return _Field(name, frozenset(allowed), info.is_required(), low, high, nested, expected)


def _fields(model: type[BaseModel]) -> tuple[_Field, ...]:
    return tuple(_field(model, name, info) for name, info in model.model_fields.items() if name != "type")


_KIND_FIELDS: dict[str, tuple[_Field, ...]] = {kind: _fields(cls) for kind, cls in KNOWN_PAYLOADS.items()}
assert _KIND_FIELDS["SessionCreated"][1].nested == _fields(SessionConfig)


def _check_fields(obj: dict[str, Any], fields: tuple[_Field, ...], where: str) -> None:
    get = obj.get
    for name, allowed, required, low, high, nested, expected in fields:
        value = get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise EventProblem(f"{where}.{name} is required")
            continue
        if allowed is not None and value.__class__ not in allowed:
            raise EventProblem(f"{where}.{name}: expected {expected}, got {_json_type(value)}")
        if low is not None and value.__class__ is int and not low <= value <= high:
            raise EventProblem(f"{where}.{name}: {value} is outside {low}..{high}")
        if nested is not None and value.__class__ is dict:
            _check_fields(value, nested, f"{where}.{name}")


_MISSING = object()


def _empty_or(value: Any) -> str:
    return "an empty string" if value == "" else _json_type(value)


def check_envelope(obj: Any) -> dict[str, Any]:
    """Check a parsed event against Lago's EventEnvelope and its payload kind; returns it."""
    if obj.__class__ is not dict:
        raise EventProblem("an event must be a JSON object with event_id, session_id, timestamp and payload")
    get = obj.get
    value = get("event_id")
    if value.__class__ is not str or not value:
        raise EventProblem(f"event_id must be a non-empty string, got {_empty_or(value)}")
    value = get("session_id")
    if value.__class__ is not str or not value:
        raise EventProblem(f"session_id must be a non-empty string, got {_empty_or(value)}")
    value = get("timestamp")
    if value.__class__ is not int or not I64_MIN <= value <= I64_MAX:
        raise EventProblem("timestamp must be an integer (microseconds since the epoch)"
                           + (f", got {_json_type(value)}" if value.__class__ is not int else " within 64 bits"))
    value = get("branch_id")
    if value is not None and (value.__class__ is not str or not value):
        raise EventProblem("branch_id must be a non-empty string")
    value = get("seq")
    if value is not None and value.__class__ is not int:
        raise EventProblem("seq must be an integer")
    value = get("run_id")
    if value is not None and value.__class__ is not str:
        raise EventProblem("run_id must be a string")
    value = get("parent_id")
    if value is not None and value.__class__ is not str:
        raise EventProblem("parent_id must be a string")
    value = get("schema_version")
    if value is not None and (value.__class__ is not int or not I32_MIN <= value <= I32_MAX):
        raise EventProblem("schema_version must be an integer")
    value = get("metadata")
    if value:
        if value.__class__ is not dict:
            raise EventProblem("metadata must be an object of string values")
        for item in value.values():
            if item.__class__ is not str:
                raise EventProblem("metadata must be an object of string values")
    elif value is not None and value.__class__ is not dict:
        raise EventProblem("metadata must be an object of string values")
    payload = get("payload")
    if payload is None:
        payload = get("kind")  # the aiOS spelling of the same envelope
        if payload is None:
            raise EventProblem("payload is missing")
    if payload.__class__ is not dict:
        raise EventProblem(f"payload must be a JSON object, got {_json_type(payload)}")
    kind = payload.get("type")
    if kind.__class__ is not str:
        if "type" not in payload:
            raise EventProblem("payload.type is required")
        raise EventProblem(f"payload.type must be a string, got {_json_type(kind)}")
    fields = _KIND_FIELDS.get(kind)
    if fields is not None:
        _check_fields(payload, fields, "payload")
    return obj


# A run of 19 digits (an integer that may be past 64 bits) is found by mapping every digit to "0" and anything
# else to a space, then looking for 19 zeros: two passes in C, some 20 times faster than a regex over the text.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_NINETEEN = b"0" * 19


def has_long_digit_run(data: bytes) -> bool:
    """Whether ``data`` holds 19 ASCII digits in a row (where a JSON integer past 64 bits could be)."""
    return _NINETEEN in data.translate(_DIGITS_AS_ZERO)


def check_event(text: str) -> dict[str, Any]:
    """Parse and check one event's JSON text; raises :class:`EventProblem`; returns the parsed event.

    (The size, depth and Unicode checks above and :func:`check_envelope` in one, inlined: this runs once
    per imported event.)
    """
    if len(text) > _SIZE_SUSPECT:
        _check_size(text)
    try:
        obj = _decode(text)
    except json.JSONDecodeError as exc:
        raise EventProblem(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise EventProblem(f"nested deeper than {MAX_DEPTH} levels") from None
    if text.count("{") + text.count("[") > MAX_DEPTH or ("\\u" in text and ("\\ud" in text or "\\uD" in text)):
        _check_parsed(text, obj)
    if len(text) > _SIZE_SUSPECT:
        _check_stored_size(text, obj)
    return check_envelope(obj)


_decode = _DECODER.decode
_SIZE_SUSPECT = MAX_EVENT_BYTES // 4


def check_line(raw: bytes, text: str, *, spaced: bool = True, escaped: bool = True) -> dict[str, Any]:
    """:func:`check_event` for one line read from a file, as its bytes ``raw`` and its text ``text``.

    The fast path: orjson parses the bytes and writes the result back; when that gives the very same bytes,
    the line is canonical compact JSON, so none of the rules the stdlib pass enforces can be broken (a duplicate
    key would be dropped, an integer beyond -2^63..2^64-1 or a float overflowing would be written differently or
    refused, NaN, Infinity and lone surrogates are refused) and the parsed value is exactly what the stdlib pass
    would make. Lines that cannot take it (escapes that might hide surrogates, deep nesting, long or
    non-compact lines) take :func:`check_event`, which says what is wrong. Some 3 times faster per event.
    """
    event = check_compact(raw, spaced=spaced, escaped=escaped)
    return event if event is not None else check_event(text)


def written_spaced(lines: bytes) -> bool:
    """Whether the lines of a block were written spaced (json.dumps's default ``": "``), judged by its first
    line: what :func:`check_compact`'s ``spaced`` scan should expect of the rest."""
    return b'": ' in lines[: lines.find(b"\n")]


def check_compact(raw: bytes, *, spaced: bool = True, escaped: bool = True) -> dict[str, Any] | None:
    """:func:`check_line`'s fast path alone: the checked event when ``raw`` is canonical compact JSON (see there),
    None when :func:`check_event` must judge the line.

    Only the nesting count decides anything here (orjson nests 1,024 deep). The scans for ``": `` (json.dumps's
    spaced lines) and ``\\ud`` (surrogate escapes) only save parsing twice a line whose written-back form
    cannot be the same; ``spaced=False`` / ``escaped=False`` skip them (each scan of a line costs about what
    one parse of it saves) when the caller expects no such lines, e.g. after the first line of a block."""
    # b'": ' is in every line a spaced writer (json.dumps's default) made: those would only be parsed twice.
    if (orjson is not None and len(raw) <= _SIZE_SUSPECT and not (spaced and b'": ' in raw)
            and raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH
            and not (escaped and b"\\u" in raw and (b"\\ud" in raw or b"\\uD" in raw))):
        try:
            obj = _orjson_loads(raw)
            same = _orjson_dumps(obj) == raw
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            same = False
        if same:
            return check_envelope(obj)
    return None


def check_dumped(raw: str, obj: Any | None) -> dict[str, Any]:
    """:func:`check_event` for ``raw``, the ``json.dumps`` of the plain JSON values ``obj`` (what ``json.loads``
    made; None when not known). The gate could judge the text otherwise than the values only through the
    checks its parse makes beyond the envelope's (integers beyond 64 bits, infinities and NaN, surrogates and
    control characters, nesting, size): text that could meet one of them is parsed again here; any other
    text parses back to exactly the values it was made from, which are checked as they are."""
    if (obj is None or len(raw) > _SIZE_SUSPECT or "\\u" in raw or "Infinity" in raw or "NaN" in raw
            or raw.count("{") + raw.count("[") > MAX_DEPTH
            or has_long_digit_run(raw.encode("utf-8", "surrogatepass"))):
        return check_event(raw)
    return check_envelope(obj)


if orjson is not None:
    _orjson_loads, _orjson_dumps = orjson.loads, orjson.dumps
