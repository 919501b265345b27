"""Commands that read: sessions, show, log, export."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from ..journal import JournalAPI, JournalError
from .output import clean, table


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("export", help="export one session (all branches) or a branch's timeline")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--branch", metavar="B", help="only this branch's timeline, inherited events included "
                   "(default: all branches for jsonl, main for a range or another format)")
    p.add_argument("--from", dest="from_seq", metavar="SEQ", type=int, help="from this seq of the branch itself")
    p.add_argument("--to", dest="to_seq", metavar="SEQ", type=int, help="up to this seq of the branch itself")
    p.add_argument("--format", choices=("jsonl", "md", "openai"), default="jsonl",
                   help="jsonl (wire format), md (transcript) or openai (chat messages as a JSON array)")
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
    return {"export": cmd_export, "sessions": cmd_sessions, "show": cmd_show, "log": cmd_log}


def cmd_export(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    journal.check()
    lines = _export_lines(journal, args)
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


def _export_lines(journal: JournalAPI, args: argparse.Namespace):  # noqa: ANN202 - an iterator of text
    """The export as text chunks; everything that can be refused is checked before the first one."""
    ranged = args.from_seq is not None or args.to_seq is not None
    if args.branch is None and args.format == "jsonl" and not ranged:
        return (json.dumps(event, ensure_ascii=False) + "\n" for event in journal.export(args.session))
    from ..journal.formats import render

    detail = journal.session(args.session)
    branch = args.branch or "main"
    events = journal.export(detail.summary.session_id, branch=branch, from_seq=args.from_seq, to_seq=args.to_seq)
    info = detail.branch(branch)
    title = f"{detail.summary.name} · {info.name if info else branch}"
    return render(events, args.format, title=title, branch_names={b.branch_id: b.name for b in detail.branches})


def cmd_sessions(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    from .. import summary as fmt

    journal.check()
    sessions = journal.list_sessions()
    if args.json:
        json.dump([s.to_json() for s in sessions], out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    rows = [
        [
            s.session_id,
            clean(s.name)[:48],
            clean(s.model)[:24],
            str(s.branch_count),
            str(s.event_count),
            fmt.tokens(s.tokens),
            fmt.timestamp(s.last_activity),
            "closed" if s.closed else "open",
        ]
        for s in sessions
    ]
    table(rows, ["ID", "NAME", "MODEL", "BRANCHES", "EVENTS", "TOKENS", "LAST ACTIVITY", "STATE"], {3, 4, 5}, out)
    return 0


def cmd_show(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    from .. import summary as fmt

    journal.check()
    detail = journal.session(args.session)
    if args.json:
        json.dump(detail.to_json(), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    s, t = detail.summary, detail.totals
    names = {b.branch_id: b.name for b in detail.branches}
    out.write(f"{clean(s.name)}  ({s.session_id})\n")
    out.write(f"  model    {clean(s.model) or '-'}\n")
    for key, value in s.params.items():
        out.write(f"  param    {clean(key)}={clean(value)}\n")
    out.write(f"  created  {fmt.timestamp(s.created_at)}   state {'closed' if s.closed else 'open'}\n")
    out.write(
        f"  events {t.events}  tokens {t.tokens_in} in / {t.tokens_out} out  tool calls {t.tool_calls}"
        f"  failures {t.failures}  wall {fmt.duration(t.wall_time_us / 1000)}\n\n"
    )
    rows = []
    for b in detail.branches:
        merged = ", ".join(f"{clean(names.get(m.target_branch_id, m.target_branch_id))}@{m.at_seq}" for m in b.merges)
        rows.append([
            clean(b.name), b.branch_id, clean(names.get(b.parent_branch_id, b.parent_branch_id or "")) or "-",
            str(b.fork_point_seq) if b.parent_branch_id else "-", str(b.head_seq), str(b.event_count), merged or "-",
        ])
    table(rows, ["BRANCH", "ID", "PARENT", "FORK", "HEAD", "EVENTS", "MERGED INTO"], {3, 4, 5}, out)
    return 0


def cmd_log(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    from .. import summary as fmt

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
                    f"{clean(fmt.summarize(ev, 300))}\n"
                )
        position = events[-1].position + 1
    return 0
