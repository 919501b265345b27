"""Session management as journal operations: close, rename (session or branch), delete, and run figures.

Closing and renaming append events (so history, export and import carry them; see :mod:`.renames`);
deleting removes a session's rows, all branches and events, in one transaction.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import ids
from .errors import InvalidSpec, NotFound
from .renames import BRANCH_RENAMED, SESSION_RENAMED
from .runs import runs as _runs
from .views import RunFigures

if TYPE_CHECKING:
    from .store import Journal


def _now(now_us: int | None) -> int:
    return now_us if now_us is not None else time.time_ns() // 1000


def _event(session_id: str, branch_id: str, payload: dict[str, Any], now_us: int | None) -> dict[str, Any]:
    return {"event_id": ids.new_ulid(), "session_id": session_id, "branch_id": branch_id,
            "timestamp": _now(now_us), "payload": payload}


def close_session(journal: Journal, session: str, reason: str | None, now_us: int | None) -> str:
    detail = journal.session(session)
    if detail.summary.closed:
        raise InvalidSpec(f"session {detail.summary.name} is already closed")
    payload: dict[str, Any] = {"type": "SessionClosed"}
    if reason:
        payload["reason"] = reason
    event = _event(detail.summary.session_id, "main", payload, now_us)
    journal.append([event])
    return event["event_id"]


def _checked_name(spec_cls: str, name: str) -> str:
    from pydantic import ValidationError

    from . import models

    cls = getattr(models, spec_cls)
    try:
        return cls.model_validate({"name": name}).name
    except ValidationError as exc:
        msg = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        raise InvalidSpec(msg) from None


def rename_session(journal: Journal, session: str, name: str, now_us: int | None) -> str:
    name = _checked_name("SessionSpec", name)
    detail = journal.session(session)
    if name == detail.summary.name:
        raise InvalidSpec(f"the session is already named {name}")
    data = {"name": name, "previous": detail.summary.name}
    event = _event(detail.summary.session_id, "main",
                   {"type": "Custom", "event_type": SESSION_RENAMED, "data": data}, now_us)
    journal.append([event])
    return event["event_id"]


def rename_branch(journal: Journal, session: str, branch: str, name: str, now_us: int | None) -> str:
    from .errors import InvalidEvent

    name = _checked_name("BranchSpec", name)
    detail = journal.session(session)
    info = detail.branch(branch)
    if info is None:
        raise NotFound(f"no branch {branch!r} in session {detail.summary.name}")
    if info.branch_id == "main":
        raise InvalidSpec("main is the session's first branch; it cannot be renamed")
    if name == "main":
        raise InvalidSpec("no branch can be renamed main (the session's first branch)")
    if name == info.name:
        raise InvalidSpec(f"the branch is already named {name}")
    if detail.branch(name) is not None:
        raise InvalidSpec(f"a branch named {name!r} already exists in this session")
    data = {"name": name, "previous": info.name}
    event = _event(detail.summary.session_id, info.branch_id,
                   {"type": "Custom", "event_type": BRANCH_RENAMED, "data": data}, now_us)
    try:
        journal.append([event])
    except InvalidEvent as exc:  # lost a race with another writer: same rule, clearer words
        raise InvalidSpec(exc.problem) from None
    return event["event_id"]


def delete_session(journal: Journal, session: str) -> dict[str, Any]:
    session_id = journal.resolve_session(session)
    with journal._conn.writer() as con:
        row = con.execute("SELECT name FROM sessions WHERE session_id = ?", [session_id]).fetchone()
        if row is None:  # deleted by another process since it was resolved
            raise NotFound(f"no session {session!r}")
        events = con.execute("SELECT count(*) FROM events WHERE session_id = ?", [session_id]).fetchone()[0]
        branches = con.execute("SELECT count(*) FROM branches WHERE session_id = ?", [session_id]).fetchone()[0]
        con.execute("DELETE FROM events WHERE session_id = ?", [session_id])
        con.execute("DELETE FROM branches WHERE session_id = ?", [session_id])
        con.execute("DELETE FROM sessions WHERE session_id = ?", [session_id])
    return {"session_id": session_id, "name": row[0], "events": events, "branches": branches}


def runs(journal: Journal, session: str, branch: str) -> list[RunFigures]:
    detail = journal.session(session)
    info = detail.branch(branch)
    if info is None:
        raise NotFound(f"no branch {branch!r} in session {detail.summary.name}")
    with journal._read() as con:
        if con is None:
            return []
        return _runs(con, detail, info.branch_id)
