"""Server-sent event streams of a branch in Lago's four formats: lago, openai, anthropic, vercel.

A stream sends the branch's history at once, then follows: it sleeps on the commit bell of its branch (the
group committer rings it after each transaction), reads what is new with a short query, and holds no
database connection in between. A ``: ping`` comment goes out after 15 s without a frame. At shutdown
each stream sends its format's done frame and ends. Frame shapes follow Lago's ``lago-api/src/sse/*.rs``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ..journal.errors import JournalError, NotFound
from .jsonio import dumps
from .state import ServerState

FORMATS = ("lago", "openai", "anthropic", "vercel")
PAGE = 500  # events per query while sending history
EXTERNAL_POLL = 1.0  # seconds between checks that another process changed the file (the bell can't tell)
GIVE_UP_SECONDS = 60.0  # a stream whose reads keep failing this long ends (with its done frame)
_FINISH_REASONS = {
    "completed": "stop", "stop": "stop", "end_turn": "stop",
    "maxtokens": "length", "max_tokens": "length", "length": "length",
    "safety": "content_filter", "contentfilter": "content_filter", "content_filter": "content_filter",
    "tooluse": "tool_calls", "tool_use": "tool_calls", "tool_calls": "tool_calls",
}


def _frame(data: Any, *, event: str | None = None, id: int | None = None) -> str:
    text = data if isinstance(data, str) else dumps(data)
    head = f"id: {id}\n" if id is not None else ""
    if event is not None:
        head += f"event: {event}\n"
    return f"{head}data: {text}\n\n"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _usage(payload: dict[str, Any], field: str) -> int:
    usage = payload.get("token_usage")
    return _int(usage.get(field)) if isinstance(usage, dict) else 0


def frames(fmt: str, wire: dict[str, Any]) -> str:
    """The SSE text for one event (an EventEnvelope as a wire dict) in ``fmt``; "" when the format skips it."""
    payload = wire.get("payload") or {}
    kind = payload.get("type")
    seq = wire.get("seq")
    if fmt == "lago":
        return _frame(wire, event="event", id=seq)
    if fmt == "openai":
        return _openai(wire, payload, kind, seq)
    if fmt == "anthropic":
        return _anthropic(wire, payload, kind, seq)
    return _vercel(wire, payload, kind, seq)


def _openai(wire: dict[str, Any], payload: dict[str, Any], kind: Any, seq: Any) -> str:
    if kind == "Message":
        delta: dict[str, Any] = {"role": payload.get("role"), "content": payload.get("content")}
        model, finish, index = payload.get("model") or "lago", "stop", 0
    elif kind == "TextDelta":
        delta = {"role": "assistant", "content": payload.get("delta")}
        model, finish, index = "lago", None, _int(payload.get("index"))
    elif kind == "RunFinished":
        delta = {"content": payload.get("final_answer")}
        reason = str(payload.get("reason") or "").replace("-", "_").lower()
        model, finish, index = "lago", _FINISH_REASONS.get(reason, "stop"), 0
    else:
        return ""
    chunk = {
        "id": f"chatcmpl-{wire['event_id']}", "object": "chat.completion.chunk",
        "created": _int(wire.get("timestamp")) // 1_000_000, "model": model,
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }
    return _frame(chunk, id=seq)


def _anthropic(wire: dict[str, Any], payload: dict[str, Any], kind: Any, seq: Any) -> str:
    if kind == "TextDelta":
        return _frame({"type": "content_block_delta", "index": _int(payload.get("index")),
                       "delta": {"type": "text_delta", "text": payload.get("delta")}},
                      event="content_block_delta", id=seq)
    if kind != "Message":
        return ""
    start = {"type": "message_start", "message": {
        "id": f"msg_{wire['event_id']}", "type": "message", "role": payload.get("role"), "content": [],
        "model": payload.get("model") or "lago", "stop_reason": None,
        "usage": {"input_tokens": _usage(payload, "prompt_tokens"), "output_tokens": 0},
    }}
    return "".join((
        _frame(start, event="message_start", id=seq),
        _frame({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
               event="content_block_start"),
        _frame({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": payload.get("content")}}, event="content_block_delta"),
        _frame({"type": "content_block_stop", "index": 0}, event="content_block_stop"),
        _frame({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": _usage(payload, "completion_tokens")}}, event="message_delta"),
    ))


def _vercel(wire: dict[str, Any], payload: dict[str, Any], kind: Any, seq: Any) -> str:
    def part(kind_: str, **fields: Any) -> str:
        return _frame({"type": kind_, **fields}, id=seq)

    if kind == "Message":
        return "".join((part("start-step"), part("text-start"),
                         part("text-delta", id=wire["event_id"], delta=payload.get("content")),
                         part("text-end"), part("finish-step")))
    if kind == "TextDelta":
        return part("text-delta", id=wire["event_id"], delta=payload.get("delta"))
    if kind == "ToolCallRequested":
        call, name, args = payload.get("call_id"), payload.get("tool_name"), payload.get("arguments")
        return "".join((part("tool-input-start", toolCallId=call, toolName=name),
                        part("tool-input-delta", toolCallId=call, delta=_str(json.dumps(args, separators=(",", ":")))),
                        part("tool-input-available", toolCallId=call, toolName=name, input=args)))
    if kind == "ToolCallCompleted":
        return part("tool-output-available", toolCallId=payload.get("call_id"), toolName=payload.get("tool_name"),
                    output=payload.get("result"))
    return ""


DONE = {
    "lago": _frame('{"type":"done"}', event="done"),
    "openai": _frame("[DONE]"),
    "anthropic": _frame('{"type":"message_stop"}', event="message_stop"),
    "vercel": _frame('{"type":"finish","finishReason":"stop"}'),
}


def headers(fmt: str) -> dict[str, str]:
    out = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if fmt == "vercel":
        out["x-vercel-ai-ui-message-stream"] = "v1"
    return out


async def follow(state: ServerState, session_id: str, branch_id: str, after: int, fmt: str) -> AsyncIterator[str]:
    """History after seq ``after``, then new events as they are committed, until shutdown."""
    journal, bell = state.journal, state.bell
    assert journal is not None
    key = (session_id, branch_id)
    ping_every = state.settings.keep_alive_ping
    last_frame = time.monotonic()
    token = journal.change_token()
    failures = 0
    while True:
        seen = bell.version(key)
        try:
            events = await run_in_threadpool(journal.read_events, session_id, branch_id, after, PAGE)
            failures = 0
        except NotFound:  # the session or branch went away
            break
        except JournalError:  # busy (another process holds the file): try again shortly, for a while
            failures += 1
            if state.shutting_down or failures * EXTERNAL_POLL > GIVE_UP_SECONDS:
                break
            await asyncio.sleep(EXTERNAL_POLL)
            continue
        if events:
            after = events[-1].seq
            text = "".join(frames(fmt, ev.to_wire()) for ev in events)
            if text:
                yield text
                last_frame = time.monotonic()
            if len(events) == PAGE:
                continue
        if state.shutting_down:
            break
        while True:  # until something may be new: a commit to this branch, another writer, or shutdown
            remaining = ping_every - (time.monotonic() - last_frame)
            if remaining <= 0:
                yield ": ping\n\n"
                last_frame = time.monotonic()
                continue
            if await bell.wait(key, seen, min(remaining, EXTERNAL_POLL)):
                break
            now_token = journal.change_token()
            if now_token != token:
                token = now_token
                break
    yield DONE[fmt]


class EventStream(StreamingResponse):
    """A streaming answer that counts itself among the server's open streams while it runs."""

    def __init__(self, state: ServerState, content: AsyncIterator[str], fmt: str) -> None:
        super().__init__(content, media_type="text/event-stream", headers=headers(fmt))
        self.state = state
        state.open_streams += 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.state.open_streams -= 1
