"""A run of events (Lago wire objects, in timeline order) rendered for people and for other models.

* ``jsonl``: one EventEnvelope per line, exactly as ``export`` writes them (the journal's own format);
* ``md``: a readable transcript (messages by role, tool calls with their arguments and results, errors,
  file changes, runs); no raw control character survives (they show as ``\\x1b``-style escapes);
* ``openai``: a JSON array of Chat Completions messages: ``user``/``assistant``/``system`` messages, tool
  calls as an assistant message's ``tool_calls`` (``{id, type: "function", function: {name, arguments}}``,
  arguments as a JSON string), results and failures as ``{role: "tool", tool_call_id, content}``.

Results whose request is not in the run are left out of ``openai`` (a tool message must answer a call).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["FORMATS", "SUFFIXES", "clean_text", "render", "to_jsonl", "to_markdown", "to_openai"]

FORMATS = ("jsonl", "md", "openai")
SUFFIXES = {"jsonl": ".jsonl", "md": ".md", "openai": ".json"}

# Control and invisible characters that could act on a terminal or hide text: C0 but tab and newline,
# DEL and C1, soft hyphen, bidi marks and overrides, zero-width characters, line/paragraph separators,
# BOM, interlinear annotations, lone surrogates, tag characters.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e0fff]"
)
_ROLES = ("user", "assistant", "system")
_MD_SKIP = ("TextDelta", "StepStarted", "StepFinished", "ToolCallStarted")


def clean_text(text: str) -> str:
    """``text`` with CRLF as LF and every unsafe character as a visible escape (``\\x1b``, ``\\u202e``)."""
    text = text.replace("\r\n", "\n")
    return _UNSAFE.sub(lambda m: ascii(m.group())[1:-1], text)


def _json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else _json(value))


def render(events: Iterable[dict[str, Any]], fmt: str, *, title: str | None = None,
           branch_names: dict[str, str] | None = None) -> Iterator[str]:
    """The events in format ``fmt`` as chunks of text (joined, they are the whole document)."""
    if fmt == "jsonl":
        return to_jsonl(events)
    if fmt == "md":
        return to_markdown(events, title=title, branch_names=branch_names)
    if fmt == "openai":
        return iter([_json(to_openai(events), indent=2) + "\n"])
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


# ---------------------------------------------------------------------------------------------- jsonl


def to_jsonl(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    for event in events:
        yield _json(event) + "\n"


# ---------------------------------------------------------------------------------------------- markdown


def _fence(text: str, info: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}\n"


def _code(text: str) -> str:
    """Inline code that no backtick in ``text`` can close early."""
    text = text.replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def to_markdown(events: Iterable[dict[str, Any]], *, title: str | None = None,
                branch_names: dict[str, str] | None = None) -> Iterator[str]:
    names = branch_names or {}
    if title:
        yield f"# {clean_text(title).replace(chr(10), ' ')}\n\n"
    branch = None
    for event in events:
        payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
        kind = str(payload.get("type", "?"))
        if kind in _MD_SKIP:
            continue
        where = f"seq {event.get('seq', '?')}"
        if event.get("branch_id") != branch:
            branch = event.get("branch_id")
            label = names.get(str(branch), str(branch))
            yield f"*branch {_code(clean_text(label))}*\n\n"
        yield _md_event(kind, payload, where) + "\n"


def _md_event(kind: str, p: dict[str, Any], where: str) -> str:
    c = clean_text
    if kind == "Message":
        head = f"## {c(_str(p.get('role')) or 'message')}"
        return f"{head} · {where}\n\n{c(_str(p.get('content')))}\n"
    if kind == "ToolCallRequested":
        args = p.get("arguments")
        body = _fence(c(_json(args, indent=2)), "json") if args is not None else ""
        return (f"**Tool call** {_code(c(_str(p.get('tool_name'))))} · call {_code(c(_str(p.get('call_id'))))}"
                f" · {where}\n" + (f"\n{body}" if body else ""))
    if kind == "ToolCallCompleted":
        result = p.get("result")
        text = result if isinstance(result, str) else _json(result, indent=2)
        info = "" if isinstance(result, str) else "json"
        duration = p.get("duration_ms")
        took = f" · {duration} ms" if isinstance(duration, int) else ""
        return (f"**Result** of {_code(c(_str(p.get('tool_name'))))} · {c(_str(p.get('status')))}{took}"
                f" · call {_code(c(_str(p.get('call_id'))))} · {where}\n"
                + ("\n" + _fence(c(text), info) if result is not None else ""))
    if kind == "ToolCallFailed":
        return (f"**Tool failed** {_code(c(_str(p.get('tool_name'))))} · call {_code(c(_str(p.get('call_id'))))}"
                f" · {where}\n\n{_fence(c(_str(p.get('error'))))}")
    if kind in ("ErrorRaised", "RunErrored"):
        text = _str(p.get("message") if kind == "ErrorRaised" else p.get("error"))
        return f"**{'Error' if kind == 'ErrorRaised' else 'Run errored'}** · {where}\n\n{_fence(c(text))}"
    if kind == "RunFinished":
        parts = ["*run finished*"]
        if p.get("reason"):
            parts.append(c(_str(p.get("reason"))))
        if p.get("final_answer"):
            return " · ".join(parts) + f" · {where}\n\n{c(_str(p.get('final_answer')))}\n"
        return " · ".join(parts) + f" · {where}\n"
    if kind == "FileWrite":
        size = p.get("size_bytes")
        return f"*wrote* {_code(c(_str(p.get('path'))))}" + (f" ({size} B)" if isinstance(size, int) else "") + f" · {where}\n"
    if kind == "FileDelete":
        return f"*deleted* {_code(c(_str(p.get('path'))))} · {where}\n"
    if kind == "FileRename":
        return f"*renamed* {_code(c(_str(p.get('old_path'))))} → {_code(c(_str(p.get('new_path'))))} · {where}\n"
    if kind == "StatePatched":
        return f"*state patched* · {where}\n\n{_fence(c(_json(p.get('patch'), indent=2)), 'json')}"
    if kind == "RunStarted":
        return f"*run started* · {where}\n"
    if kind == "SessionCreated":
        config = p.get("config") if isinstance(p.get("config"), dict) else {}
        model = f" · {c(_str(config.get('model')))}" if config.get("model") else ""
        return f"*session* {c(_str(p.get('name')))}{model} · {where}\n"
    body = {k: v for k, v in p.items() if k != "type"}
    text = f"*{c(kind)}* · {where}"
    return text + ("\n\n" + _fence(c(_json(body, indent=2)), "json") if body else "\n")


# ---------------------------------------------------------------------------------------------- openai


def to_openai(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions messages (see the module docstring)."""
    out: list[dict[str, Any]] = []
    calls: set[str] = set()
    for event in events:
        p = event.get("payload") if isinstance(event.get("payload"), dict) else {}
        kind = p.get("type")
        if kind == "Message":
            role, content = _str(p.get("role")), _str(p.get("content"))
            if role == "developer":
                role = "system"
            elif role not in _ROLES:
                content, role = f"[{role or 'message'}] {content}", "user"
            out.append({"role": role, "content": content})
        elif kind == "ToolCallRequested":
            call_id = _str(p.get("call_id"))
            args = p.get("arguments")
            call = {"id": call_id, "type": "function",
                    "function": {"name": _str(p.get("tool_name")), "arguments": _json({} if args is None else args)}}
            calls.add(call_id)
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind in ("ToolCallCompleted", "ToolCallFailed"):
            call_id = p.get("call_id")
            if not isinstance(call_id, str) or call_id not in calls:
                continue
            if kind == "ToolCallFailed":
                content = f"error: {_str(p.get('error'))}"
            else:
                result = p.get("result")
                content = result if isinstance(result, str) else _json(result)
                status = _str(p.get("status"))
                if status not in ("ok", "success"):
                    content = f"error ({status}): {content}"
            out.append({"role": "tool", "tool_call_id": call_id, "content": content})
    return out
