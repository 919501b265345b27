"""Plain-text descriptions of events, and the one way counts and times are written (CLI and TUI; no Textual).

Returned strings are raw journal text: callers must pass them through :mod:`lago_tui.safe` (TUI) or
:func:`lago_tui.safe.visible` (CLI) before they reach a terminal.
"""

from __future__ import annotations

import json
import time
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


# ---------------------------------------------------------------------------------------------- time
#
# Times are shown in the local time zone (``TZ`` is honoured) with the zone named, or in UTC when asked
# (``--utc``, the TUI's "Show times in UTC" setting, or ``TZ=UTC``). Journal timestamps are microseconds
# since the epoch, always UTC in the journal itself.

_utc = False


def set_utc(on: bool) -> None:
    """Show times in UTC (True) or in the local time zone (False, the default)."""
    global _utc
    _utc = bool(on)


def showing_utc() -> bool:
    return _utc


def _when(us: int) -> datetime | None:
    """``us`` as an aware datetime in the zone times are shown in (None when out of range)."""
    try:
        moment = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
        return moment if _utc else moment.astimezone()
    except (OverflowError, OSError, ValueError):
        return None


def zone_label(us: int | None = None) -> str:
    """The name of the zone times are shown in (at ``us``, for daylight saving): ``UTC``, ``CET``, ``+0530``."""
    if _utc:
        return "UTC"
    moment = _when(us if us is not None else time.time_ns() // 1000)
    if moment is None:
        return "UTC"
    name = moment.tzname() or ""
    # Some zones have no abbreviation (tzdata writes "+0530" or "-03"): show the offset then.
    return name if name.isalpha() else moment.strftime("%z")


def timestamp(us: int | None, *, with_date: bool = True, zone: bool = False) -> str:
    """``2026-11-20 14:03:11`` (or ``14:03:11.123`` without the date), in the shown zone, named if ``zone``."""
    if us is None:
        return "-"
    moment = _when(us)
    if moment is None:
        return str(us)
    text = moment.strftime("%Y-%m-%d %H:%M:%S") if with_date else moment.strftime("%H:%M:%S.%f")[:12]
    return f"{text} {zone_label(us)}" if zone else text


def clock(us: int) -> str:
    """``14:03:11`` in the shown zone."""
    moment = _when(us)
    return "--:--:--" if moment is None else moment.strftime("%H:%M:%S")


def day(us: int | None) -> str:
    """``2026-11-20`` in the shown zone (the calendar day ``us`` falls on there)."""
    if us is None:
        return "-"
    moment = _when(us)
    return str(us) if moment is None else moment.strftime("%Y-%m-%d")


def day_of(us: int) -> int:
    """A number that changes exactly when the shown calendar day does (for "the date changed here" marks)."""
    moment = _when(us)
    return 0 if moment is None else moment.toordinal()


def relative(us: int | None, now_us: int) -> str:
    """'3m ago' style age of ``us`` relative to an injected ``now`` (the largest whole unit)."""
    if us is None:
        return "-"
    delta = max(0, now_us - us) // 1_000_000
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h"), (60, "m")):
        if delta >= size:
            return f"{delta // size}{unit} ago"
    return f"{delta}s ago"


def relative_changes_in(us: int | None, now_us: int) -> float:
    """Seconds until :func:`relative` gives another text for ``us`` (when to repaint it)."""
    if us is None:
        return float("inf")
    delta = max(0, now_us - us)
    second = 1_000_000
    for size in (86400 * 365, 86400 * 30, 86400, 3600, 60, 1):
        unit = size * second
        if delta >= unit or size == 1:
            return (unit - delta % unit) / second
    return 1.0  # pragma: no cover


# ---------------------------------------------------------------------------------------------- numbers
#
# One rule for every count (events, tokens, tool calls...) in the TUI and the CLI: the whole number with
# thousands separators (``200,002``); where a column is too narrow for it, the compact form (``200k``,
# ``1.9M``), never a bare ``200002``.


def number(n: int | float, width: int | None = None) -> str:
    """``n`` as ``1,912,345``; if that is wider than ``width`` cells, as ``1.9M``."""
    whole = f"{int(n):,}"
    if width is None or len(whole) <= width:
        return whole
    return compact(n)


def compact(n: int | float) -> str:
    """``n`` in at most 5 cells: ``950``, ``12.3k``, ``200k``, ``1.9M``, ``3.4G``."""
    n = int(n)
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n < 1000:
        return f"{sign}{n}"
    for size, unit in ((1000, "k"), (1_000_000, "M"), (1_000_000_000, "G"), (1_000_000_000_000, "T")):
        value = n / size
        if value < 99.95:
            return f"{sign}{value:.1f}".rstrip("0").rstrip(".") + unit
        if value < 999.5 or unit == "T":
            return f"{sign}{value:.0f}{unit}"
    return f"{sign}{n}"  # pragma: no cover


def _count(value: Any) -> str:
    """A count from a payload: ``845,822`` when it is an integer, else shown as it is (payloads are untrusted)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return number(value)
    return _s(value)


def tokens(n: int) -> str:
    """A token count (the same rule as every other count: :func:`number`)."""
    return number(n)


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 event``, ``200,002 events``."""
    return f"{number(n)} {one if n == 1 else (many or one + 's')}"


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
            text += f" · {_count(usage.get('prompt_tokens', 0))} in / {_count(usage.get('completion_tokens', 0))} out"
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
