"""Plain-text descriptions of events, shared by the CLI and the TUI (no Textual here).

Returned strings are raw journal text: callers must pass them through :mod:`lago_tui.safe` (TUI) or
:func:`lago_tui.safe.visible` (CLI) before they reach a terminal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .journal.views import TimelineEvent

# Families, roles and family() live with the journal (the query language uses them too).
from .journal.kinds import FAMILIES, ROLES, family  # noqa: F401 - re-exported


def compact_json(value: Any, limit: int = 200) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else compact_json(value))


def duration(ms: int | float | None) -> str:
    if ms is None:
        return ""
    ms = float(ms)
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    minutes, seconds = divmod(int(ms // 1000), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def gap(us: int) -> str:
    """A compact gap like ``+1.2s`` between two events."""
    if us <= 0:
        return "+0"
    return "+" + duration(us / 1000)


def timestamp(us: int | None, *, with_date: bool = True) -> str:
    if us is None:
        return "-"
    try:
        dt = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return str(us)
    return dt.strftime("%Y-%m-%d %H:%M:%S") if with_date else dt.strftime("%H:%M:%S.%f")[:12]


def relative(us: int | None, now_us: int) -> str:
    """'3m ago' style age of ``us`` relative to an injected ``now``."""
    if us is None:
        return "-"
    delta = max(0, now_us - us) // 1_000_000
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h"), (60, "m")):
        if delta >= size:
            return f"{delta // size}{unit} ago"
    return f"{delta}s ago"


def tokens(n: int) -> str:
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def summarize(ev: TimelineEvent, limit: int = 400) -> str:
    """One line describing the event (raw text: sanitise before display)."""
    p = ev.payload
    k = ev.kind
    text: str
    if k == "Message":
        text = _s(p.get("content"))
    elif k == "TextDelta":
        text = _s(p.get("delta"))
    elif k == "SessionCreated":
        cfg = p.get("config") if isinstance(p.get("config"), dict) else {}
        model = cfg.get("model") if isinstance(cfg, dict) else None
        text = f"session {_s(p.get('name'))}" + (f" · {_s(model)}" if model else "")
    elif k == "SessionClosed":
        text = "closed" + (f": {_s(p.get('reason'))}" if p.get("reason") else "")
    elif k == "SessionResumed":
        text = "resumed"
    elif k == "BranchCreated":
        text = f"fork → {_s(p.get('name'))} @{_s(p.get('fork_point_seq'))}"
    elif k == "BranchMerged":
        text = f"merge ← {_s(p.get('source_branch_id'))} @{_s(p.get('merge_seq'))}"
    elif k == "ToolCallRequested":
        # The outcome (paired by call_id) goes first: in a narrow column it matters more than the arguments.
        args = p.get("arguments")
        text = _s(p.get("tool_name"))
        if ev.outcome is not None:
            o = ev.outcome
            text += f" → {o.status} {duration(o.duration_ms)}"
            if o.error:
                text += f": {o.error}"
            text += " · "
        text += f"({compact_json(args, 160) if args not in (None, {}) else ''})"
    elif k == "ToolCallStarted":
        text = f"{_s(p.get('tool_name'))} started"
    elif k == "ToolCallCompleted":
        text = f"{_s(p.get('tool_name'))} {_s(p.get('status'))} in {duration(p.get('duration_ms'))}"
        result = p.get("result")
        if result not in (None, {}):
            text += f" · {compact_json(result, 160)}"
    elif k == "ToolCallFailed":
        text = f"{_s(p.get('tool_name'))} failed: {_s(p.get('error'))}"
    elif k == "RunStarted":
        text = "run started" + (f" · {_s(p.get('provider'))}" if p.get("provider") else "")
    elif k == "RunFinished":
        usage = p.get("usage") if isinstance(p.get("usage"), dict) else None
        text = "run finished" + (f": {_s(p.get('reason'))}" if p.get("reason") else "")
        if usage:
            text += f" · {usage.get('prompt_tokens', 0)} in / {usage.get('completion_tokens', 0)} out"
        if p.get("final_answer"):
            text += f" · {_s(p.get('final_answer'))}"
    elif k == "RunErrored":
        text = f"run errored: {_s(p.get('error'))}"
    elif k == "StepStarted":
        text = f"step {_s(p.get('index'))}"
    elif k == "StepFinished":
        text = f"step {_s(p.get('index'))} done" + (f" ({_s(p.get('stop_reason'))})" if p.get("stop_reason") else "")
    elif k == "FileWrite":
        size = p.get("size_bytes")
        text = f"write {_s(p.get('path'))}" + (f" ({size} B)" if isinstance(size, int) else "")
    elif k == "FileDelete":
        text = f"delete {_s(p.get('path'))}"
    elif k == "FileRename":
        text = f"rename {_s(p.get('old_path'))} → {_s(p.get('new_path'))}"
    elif k == "StatePatched":
        text = f"state r{_s(p.get('revision'))} {compact_json(p.get('patch'), 160)}"
    elif k == "ContextCompacted":
        text = f"compacted {_s(p.get('tokens_before'))} → {_s(p.get('tokens_after'))} tokens ({_s(p.get('dropped_count'))} dropped)"
    elif k == "PolicyEvaluated":
        text = f"{_s(p.get('tool_name'))}: {_s(p.get('decision'))}" + (f" · {_s(p.get('explanation'))}" if p.get("explanation") else "")
    elif k == "ApprovalRequested":
        text = f"approve {_s(p.get('tool_name'))}? risk {_s(p.get('risk'))}"
    elif k == "ApprovalResolved":
        text = f"{_s(p.get('decision'))}" + (f": {_s(p.get('reason'))}" if p.get("reason") else "")
    elif k == "SnapshotCreated":
        text = f"snapshot {_s(p.get('snapshot_type'))} through seq {_s(p.get('covers_through_seq'))}"
    elif k == "ErrorRaised":
        text = _s(p.get("message"))
    elif k == "Custom":
        text = f"{_s(p.get('event_type'))} {compact_json(p.get('data'), 160)}"
    else:
        body = {key: value for key, value in p.items() if key != "type"}
        text = compact_json(body, limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def role_label(ev: TimelineEvent) -> str:
    """Kind label for a row: messages by role."""
    if ev.kind == "Message":
        return _s(ev.payload.get("role")) or "message"
    return ev.kind
