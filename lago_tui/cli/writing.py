"""Commands that write: import, new, branch, demo."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ..journal import JournalAPI, JournalError
from ..journal.models import params_from_pairs
from .output import clean, plural


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


def cmd_import(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    for name in args.files:
        result = journal.import_file(name)
        out.write(
            f"{clean(name)}: {plural(result.sessions, 'session')}, {plural(result.events, 'event')} imported"
            + (f", {result.skipped} already present" if result.skipped else "")
            + "\n"
        )
    return 0


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


def cmd_new(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    from ..journal import InvalidSpec

    params = _parse_params(args.param)
    try:
        session_id = journal.create_session({"name": args.name, "model": args.model, "params": params})
    except InvalidSpec as exc:
        raise JournalError(f"invalid session: {exc}") from None
    out.write(session_id + "\n")
    return 0


def cmd_branch(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    journal.check()
    spec: dict[str, Any] = {"name": args.name, "parent": args.parent, "fork_point_seq": args.at}
    out.write(journal.create_branch(args.session, spec) + "\n")
    return 0


def cmd_demo(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    from ..paths import demo_source

    source = demo_source()
    result = journal.import_file(source)
    out.write(
        f"demo: {plural(result.sessions, 'session')}, {plural(result.events, 'event')} added to {clean(journal.location)}\n"
    )
    return 0
