"""Commands that write: import, new, branch, demo."""

from __future__ import annotations

import argparse
from typing import Any

from ..journal import JournalAPI, JournalError
from ..journal.models import params_from_pairs
from .output import Output, OutputError, plural


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("import", help="import JSON array / JSON Lines files of EventEnvelopes")
    p.add_argument("files", nargs="+", metavar="FILE")

    p = sub.add_parser("new", help="create a session; prints its id")
    p.add_argument("--name", required=True, metavar="N")
    p.add_argument("--model", default="", metavar="M")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("branch", help="fork a branch; prints its id")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--name", required=True, metavar="N")
    p.add_argument("--from", dest="parent", default="main", metavar="B", help="parent branch (default: main)")
    p.add_argument("--at", type=int, metavar="SEQ", help="fork point seq on the parent (default: its head)")

    sub.add_parser("demo", help="add the demo sessions to the journal")
    return {"import": cmd_import, "new": cmd_new, "branch": cmd_branch, "demo": cmd_demo}


def cmd_import(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    for name in args.files:
        result = journal.import_file(name)
        out.line(
            f"{name}: {plural(result.sessions, 'session')}, {plural(result.events, 'event')} imported"
            + (f", {result.skipped} already present" if result.skipped else "")
        )
        _written(out, f"{name} was imported")
    return 0


def _written(out: Output, done: str) -> None:
    """Flush what a command that changed the journal printed; if it cannot be, say what was done anyway."""
    try:
        out.flush()
    except OutputError as exc:
        if exc.broken_pipe:
            raise
        raise OutputError(f"{done}, but {str(exc)[0].lower()}{str(exc)[1:]}") from None


def _parse_params(items: list[str]) -> dict[str, str]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise JournalError(f"--param {item!r}: expected KEY=VALUE")
        pairs.append((key, value))
    try:
        return params_from_pairs(pairs)
    except ValueError as exc:
        raise JournalError(str(exc)) from None


def cmd_new(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    from ..journal import InvalidSpec

    params = _parse_params(args.param)
    try:
        session_id = journal.create_session({"name": args.name, "model": args.model, "params": params})
    except InvalidSpec as exc:
        raise JournalError(f"invalid session: {exc}") from None
    out.line(session_id)
    _written(out, f"session {session_id} was created")
    return 0


def cmd_branch(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    journal.check()
    spec: dict[str, Any] = {"name": args.name, "parent": args.parent, "fork_point_seq": args.at}
    branch_id = journal.create_branch(args.session, spec)
    out.line(branch_id)
    _written(out, f"branch {branch_id} was created")
    return 0


def cmd_demo(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    from ..paths import demo_source

    source = demo_source()
    result = journal.import_file(source)
    out.line(f"demo: {plural(result.sessions, 'session')}, {plural(result.events, 'event')} added to {journal.location}")
    _written(out, "the demo sessions were added")
    return 0
