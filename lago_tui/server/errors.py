"""Every error the server answers is JSON ``{error, message}`` with the status Lago uses for it.

Lago's handler errors are 400 ``bad_request``, 404 ``not_found``, 409 ``conflict`` and 500
``internal_error``; axum answers malformed requests itself (415 wrong content type, 400 unreadable JSON,
422 JSON of the wrong shape, 413 too large, 404/405 no such route) in plain text. lago-tui answers all of
them as JSON, so a client has one error format to read.
"""

from __future__ import annotations

import sys
import traceback

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..journal.errors import (
    Conflict,
    InvalidEvent,
    InvalidSpec,
    JournalBusy,
    JournalError,
    NotFound,
)
from .jsonio import JSONResponse

CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answer: ``status`` with ``{"error": code, "message": message}``."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.headers = headers


def error_response(status: int, message: str, *, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code or CODES.get(status, "error"), "message": message}, status_code=status,
                        headers=headers)


# How ingest words the refusals that are not about an event's shape (it raises InvalidEvent for all).
_NOT_FOUND_PROBLEMS = ("unknown session", "unknown branch")
_CONFLICT_WORDS = ("already exists", "is used twice", "is created twice", "conflict")


def event_status(exc: InvalidEvent) -> int:
    """404 for an event on an unknown session or branch, 409 for a clash with what the journal holds
    (a branch name or id taken, a known event_id with other content), else 422 (the event's shape)."""
    problem = exc.problem.lower()
    if problem.startswith(_NOT_FOUND_PROBLEMS):
        return 404
    if any(word in problem for word in _CONFLICT_WORDS):
        return 409
    return 422


def journal_error(exc: JournalError) -> ApiError:
    """The answer for a journal refusal."""
    from ..journal.owner import ShuttingDown, TooLarge

    if isinstance(exc, NotFound):
        return ApiError(404, str(exc))
    if isinstance(exc, Conflict):
        return ApiError(409, str(exc))
    if isinstance(exc, InvalidEvent):
        return ApiError(event_status(exc), str(exc))
    if isinstance(exc, InvalidSpec):
        return ApiError(400, str(exc))
    if isinstance(exc, TooLarge):
        return ApiError(413, str(exc))
    if isinstance(exc, (JournalBusy, ShuttingDown)):
        return ApiError(503, str(exc), headers={"Retry-After": "1"})
    return ApiError(500, str(exc))


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, code=exc.code, headers=exc.headers)


async def on_journal_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JournalError)
    return await on_api_error(request, journal_error(exc))


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route: 404, wrong method: 405) as JSON."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} not allowed here"
    else:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
    return error_response(exc.status_code, message, headers=dict(exc.headers or {}))


async def on_disconnect(request: Request, exc: Exception) -> Response:
    """The client left before sending its whole request: nobody reads this answer; the log says 400."""
    return error_response(400, "the client disconnected before the request was complete")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: 500 with no details for the client; the traceback goes to the log (escaped there)."""
    from .accesslog import escape

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    sys.stderr.write(escape(text, keep_newlines=True))
    return error_response(500, "internal error (see the server's log)")


EXCEPTION_HANDLERS = {
    ApiError: on_api_error,
    JournalError: on_journal_error,
    HTTPException: on_http_exception,
    ClientDisconnect: on_disconnect,
    Exception: on_unexpected,
}
