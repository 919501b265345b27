"""Commands that manage sessions: close, rename (a session or a branch), delete."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ..journal import JournalAPI, JournalError, NotFound
from .output import PROG, one_line, plural


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("close", help="close a session (appends SessionClosed)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--reason", metavar="TEXT", help="why (kept in the event)")

    p = sub.add_parser("rename", help="rename a session, or a branch with --branch (recorded as an event)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("new_name", metavar="NEW_NAME")
    p.add_argument("--branch", metavar="B", help="rename this branch of the session instead")

    p = sub.add_parser("delete", help="delete a session with all its branches and events")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask (required when not on a terminal)")
    return {"close": cmd_close, "rename": cmd_rename, "delete": cmd_delete}


def _label(name: str, session_id: str) -> str:
    return f"{one_line(name)} ({one_line(session_id)})"


def cmd_close(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    journal.check()
    detail = journal.session(args.session)
    journal.close_session(detail.summary.session_id, args.reason)
    out.write(f"closed {_label(detail.summary.name, detail.summary.session_id)}\n")
    return 0


def cmd_rename(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    from ..journal import InvalidSpec

    journal.check()
    detail = journal.session(args.session)
    sid = detail.summary.session_id
    try:
        if args.branch is not None:
            info = detail.branch(args.branch)
            if info is None:
                raise NotFound(f"no branch {args.branch!r} in session {detail.summary.name}")
            journal.rename_branch(sid, info.branch_id, args.new_name)
            out.write(f"renamed branch {one_line(info.name)} to {one_line(args.new_name)} in "
                      f"{_label(detail.summary.name, sid)}\n")
            return 0
        journal.rename_session(sid, args.new_name)
    except InvalidSpec as exc:
        raise JournalError(f"cannot rename: {exc}") from None
    out.write(f"renamed {_label(detail.summary.name, sid)} to {one_line(args.new_name)}\n")
    twins = journal.count_sessions(_exact_name(args.new_name)) - 1
    if twins > 0:  # allowed (Lago allows it), but worth knowing: the name no longer picks one session
        sys.stderr.write(f"{PROG}: note: {plural(twins, 'other session')} also named {one_line(args.new_name)}; "
                         f"refer to this one by its id\n")
    return 0


def _exact_name(name: str) -> str:
    return 'name:="' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cmd_delete(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    journal.check()
    detail = journal.session(args.session)
    s = detail.summary
    what = f"{_label(s.name, s.session_id)}: {plural(detail.totals.events, 'event')}, {_branches(len(detail.branches))}"
    if not args.yes:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise JournalError("delete needs --yes when not run on a terminal (nothing was deleted)")
        sys.stderr.write(f"Delete {what}? This cannot be undone. [y/N] ")
        sys.stderr.flush()
        try:
            answer = sys.stdin.readline()
        except KeyboardInterrupt:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            sys.stderr.write("nothing deleted\n")
            return 1
    result = journal.delete_session(s.session_id)
    out.write(f"deleted {_label(result['name'], result['session_id'])}: {plural(result['events'], 'event')}, "
              f"{_branches(result['branches'])}\n")
    return 0


def _branches(n: int) -> str:
    return f"{n} branch" if n == 1 else f"{n} branches"
