"""JSON in and out: bodies read within limits (415, 413, 400 in Lago's order) and answers in escaped JSON.

Journal text is untrusted, so every answer is pure ASCII: non-ASCII characters, control characters and
DEL are ``\\u`` escapes, and a client that prints a raw answer to a terminal prints no control byte.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..journal.validate import has_long_digit_run, orjson

BODY_READ_TIMEOUT = 30.0  # seconds without a byte of the body before the request is dropped (408)
THREAD_PARSE_BYTES = 256 * 1024  # bodies larger than this are parsed off the event loop


def dumps(value: Any) -> str:
    """Compact JSON with every non-printable-ASCII character escaped."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("\x7f", "\\u007f") if "\x7f" in text else text


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("ascii")


def is_json(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, parameters allowed (what axum's Json accepts)."""
    if not content_type:
        return False
    essence = content_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or (essence.startswith("application/") and essence.endswith("+json"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON (UTF-8, no NaN/Infinity, nothing after the value), else ``ValueError`` with the reason."""
    from .errors import ApiError

    # orjson parses a body some 3 times faster than json.loads and refuses what the strict parse below
    # refuses (bad UTF-8, NaN, Infinity, trailing text). Where the two could disagree it is not trusted: an
    # integer past 64 bits (19 digits or more in a row) becomes a float in orjson and stays an int in json
    # (which the journal's gate then refuses), and a lone surrogate or a float overflowing to infinity fails
    # in orjson but not in json. So a body with a run of 19 digits, or one orjson refuses, takes the strict
    # parse, which also words the error.
    if orjson is not None and not has_long_digit_run(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the strict parse says why (or accepts what only orjson refuses, as before)
    if not body.strip():
        raise ApiError(400, "invalid JSON: the request body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"invalid JSON: not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:
        raise ApiError(400, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "invalid JSON: nested too deeply") from None


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body: 415 unless it says it is JSON (checked before reading), 413 past ``limit``
    bytes, 408 when the client stalls, 400 when it is not one valid JSON value."""
    from .errors import ApiError

    if not is_json(request.headers.get("content-type")):
        raise ApiError(415, "expected a JSON body (Content-Type: application/json)")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            message = await asyncio.wait_for(request.receive(), BODY_READ_TIMEOUT)
        except asyncio.TimeoutError:
            raise ApiError(408, f"no body data for {BODY_READ_TIMEOUT:.0f} s") from None
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body is larger than the limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    if len(body) > THREAD_PARSE_BYTES:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(parse_json, body)
    return parse_json(body)
