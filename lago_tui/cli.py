"""The scriptable CLI over the journal. Expected failures print one line and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from .journal import Journal, JournalError
from .journal.models import params_from_pairs

PROG = "lago-tui"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, like every other failure
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{PROG}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Browse and create AI-agent sessions in a Lago event journal.")
    parser.add_argument("--journal", metavar="PATH", help="journal file (default: $LAGO_JOURNAL, else the user data dir)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("import", help="import JSON array / JSON Lines files of EventEnvelopes")
    p.add_argument("files", nargs="+", metavar="FILE")

    p = sub.add_parser("export", help="export one session (all branches) as JSON Lines")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")

    p = sub.add_parser("sessions", help="list sessions")
    p.add_argument("--json", action="store_true", help="print a JSON array")

    p = sub.add_parser("show", help="a session and its branches")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--json", action="store_true", help="print a JSON object with a branches array")

    p = sub.add_parser("log", help="a branch's timeline (inherited events included, marked)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--branch", metavar="B", default="main", help="branch name or id (default: main)")
    p.add_argument("--kind", metavar="K", action="append", help="only events of this kind (repeatable)")
    p.add_argument("--limit", metavar="N", type=int, help="only the last N events")
    p.add_argument("--json", action="store_true", help="print EventEnvelopes as JSON Lines")

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
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from .paths import default_journal

    path = Path(args.journal).expanduser() if args.journal else default_journal()
    if args.command is None:
        from .app import run_app

        return run_app(path)
    journal = Journal(path)
    try:
        return COMMANDS[args.command](journal, args, sys.stdout)
    except JournalError as exc:
        _error(str(exc))
        return 2
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        journal.close()


def _error(message: str) -> None:
    from .safe import visible

    sys.stderr.write(f"{PROG}: error: {visible(message)}\n")


def _clean(text: str) -> str:
    from .safe import one_line

    return one_line(text)


# ---------------------------------------------------------------------------------------------- commands


def cmd_import(journal: Journal, args: argparse.Namespace, out: TextIO) -> int:
    for name in args.files:
        result = journal.import_file(name)
        out.write(
            f"{_clean(name)}: {_plural(result.sessions, 'session')}, {_plural(result.events, 'event')} imported"
            + (f", {result.skipped} already present" if result.skipped else "")
            + "\n"
        )
    return 0


def cmd_export(journal: Journal, args: argparse.Namespace, out: TextIO) -> int:
    journal.check()
    lines = (json.dumps(event, ensure_ascii=False) + "\n" for event in journal.export(args.session))
    if args.output:
        target = Path(args.output)
        tmp = target.with_name(target.name + ".part")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.writelines(lines)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise JournalError(f"{args.output}: {exc.strerror or exc}") from None
        except BaseException:  # an unknown session, a journal error mid-way: leave no FILE.part behind
            tmp.unlink(missing_ok=True)
            raise
    else:
        out.writelines(lines)
    return 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _table(rows: Iterable[list[str]], header: list[str], right: set[int], out: TextIO) -> None:
    from rich.cells import cell_len

    rows = [header, *rows]
    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - cell_len(cell))
            cells.append(pad + cell if i in right else cell + pad)
        out.write("  ".join(cells).rstrip() + "\n")


def cmd_sessions(journal: Journal, args: argparse.Namespace, out: TextIO) -> int:
    from . import summary as fmt

    journal.check()
    sessions = journal.list_sessions()
    if args.json:
        json.dump([s.to_json() for s in sessions], out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    rows = [
        [
            s.session_id,
            _clean(s.name)[:48],
            _clean(s.model)[:24],
            str(s.branch_count),
            str(s.event_count),
            fmt.tokens(s.tokens),
            fmt.timestamp(s.last_activity),
            "closed" if s.closed else "open",
        ]
        for s in sessions
    ]
    _table(rows, ["ID", "NAME", "MODEL", "BRANCHES", "EVENTS", "TOKENS", "LAST ACTIVITY", "STATE"], {3, 4, 5}, out)
    return 0


def cmd_show(journal: Journal, args: argparse.Namespace, out: TextIO) -> int:
    from . import summary as fmt

    journal.check()
    detail = journal.session(args.session)
    if args.json:
        json.dump(detail.to_json(), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    s, t = detail.summary, detail.totals
    names = {b.branch_id: b.name for b in detail.branches}
    out.write(f"{_clean(s.name)}  ({s.session_id})\n")
    out.write(f"  model    {_clean(s.model) or '-'}\n")
    for key, value in s.params.items():
        out.write(f"  param    {_clean(key)}={_clean(value)}\n")
    out.write(f"  created  {fmt.timestamp(s.created_at)}   state {'closed' if s.closed else 'open'}\n")
    out.write(
        f"  events {t.events}  tokens {t.tokens_in} in / {t.tokens_out} out  tool calls {t.tool_calls}"
        f"  failures {t.failures}  wall {fmt.duration(t.wall_time_us / 1000)}\n\n"
    )
    rows = []
    for b in detail.branches:
        merged = ", ".join(f"{_clean(names.get(m.target_branch_id, m.target_branch_id))}@{m.at_seq}" for m in b.merges)
        rows.append([
            _clean(b.name), b.branch_id, _clean(names.get(b.parent_branch_id, b.parent_branch_id or "")) or "-",
            str(b.fork_point_seq) if b.parent_branch_id else "-", str(b.head_seq), str(b.event_count), merged or "-",
        ])
    _table(rows, ["BRANCH", "ID", "PARENT", "FORK", "HEAD", "EVENTS", "MERGED INTO"], {3, 4, 5}, out)
    return 0


def cmd_log(journal: Journal, args: argparse.Namespace, out: TextIO) -> int:
    from . import summary as fmt

    journal.check()
    timeline = journal.timeline(args.session, args.branch, kinds=args.kind)
    start = 0 if args.limit is None else max(0, timeline.length - args.limit)
    position = start
    while position < timeline.length:
        events = timeline.window(position, 1000)
        if not events:
            break
        for ev in events:
            if args.json:
                out.write(json.dumps(ev.to_wire(), ensure_ascii=False) + "\n")
            else:
                mark = "^" if ev.inherited else " "
                out.write(
                    f"{mark}{ev.seq:>6}  {fmt.timestamp(ev.ts)}  {fmt.role_label(ev)[:18]:<18}  "
                    f"{_clean(fmt.summarize(ev, 300))}\n"
                )
        position = events[-1].position + 1
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


def cmd_new(journal: Journal, args: argparse.Namespace, out: TextIO) -> int:
    from .journal import InvalidSpec

    params = _parse_params(args.param)
    try:
        session_id = journal.create_session({"name": args.name, "model": args.model, "params": params})
    except InvalidSpec as exc:
        raise JournalError(f"invalid session: {exc}") from None
    out.write(session_id + "\n")
    return 0


def cmd_branch(journal: Journal, args: argparse.Namespace, out: TextIO) -> int:
    journal.check()
    spec: dict[str, Any] = {"name": args.name, "parent": args.parent, "fork_point_seq": args.at}
    out.write(journal.create_branch(args.session, spec) + "\n")
    return 0


def cmd_demo(journal: Journal, args: argparse.Namespace, out: TextIO) -> int:
    from .paths import demo_source

    source = demo_source()
    result = journal.import_file(source)
    out.write(
        f"demo: {_plural(result.sessions, 'session')}, {_plural(result.events, 'event')} added to {_clean(str(journal.path))}\n"
    )
    return 0


COMMANDS = {
    "import": cmd_import,
    "export": cmd_export,
    "sessions": cmd_sessions,
    "show": cmd_show,
    "log": cmd_log,
    "new": cmd_new,
    "branch": cmd_branch,
    "demo": cmd_demo,
}
