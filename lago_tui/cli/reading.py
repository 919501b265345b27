"""Commands that read: sessions, show, log, export."""

from __future__ import annotations

import argparse

from ..journal import JournalAPI
from .output import Output, json_text, output_file


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> dict:
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
    p.add_argument("--limit", metavar="N", type=non_negative, help="only the last N events")
    p.add_argument("--json", action="store_true", help="print EventEnvelopes as JSON Lines")
    return {"export": cmd_export, "sessions": cmd_sessions, "show": cmd_show, "log": cmd_log}


def cmd_export(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    journal.check()
    events = journal.export(args.session)
    first = next(events, None)  # an unknown session fails here, before any file is touched
    if not args.output:
        for event in ([first] if first is not None else []):
            out.json(event)
        for event in events:
            out.json(event)
        return 0
    with output_file(args.output, protected=journal.local_files()) as fh:
        pending: list[bytes] = []
        size = 0
        for event in ([first] if first is not None else []):
            pending.append((json_text(event) + "\n").encode("utf-8"))
        for event in events:
            data = (json_text(event) + "\n").encode("utf-8")
            pending.append(data)
            size += len(data)
            if size >= 1 << 20:
                fh.write(b"".join(pending))
                pending, size = [], 0
        fh.write(b"".join(pending))
    return 0


def cmd_sessions(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    from .. import summary as fmt

    journal.check()
    sessions = journal.list_sessions()
    if args.json:
        out.json([s.to_json() for s in sessions], indent=2)
        return 0
    rows = [
        [
            s.session_id,
            s.name,
            s.model,
            str(s.branch_count),
            str(s.event_count),
            fmt.tokens(s.tokens),
            fmt.timestamp(s.last_activity),
            "closed" if s.closed else "open",
        ]
        for s in sessions
    ]
    out.table(rows, ["ID", "NAME", "MODEL", "BRANCHES", "EVENTS", "TOKENS", "LAST ACTIVITY", "STATE"], {3, 4, 5},
              widths={1: 48, 2: 24})
    return 0


def cmd_show(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    from .. import summary as fmt

    journal.check()
    detail = journal.session(args.session)
    if args.json:
        out.json(detail.to_json(), indent=2)
        return 0
    s, t = detail.summary, detail.totals
    names = {b.branch_id: b.name for b in detail.branches}
    out.line(s.name, f"({s.session_id})")
    out.line("  model   ", s.model or "-", sep=" ")
    for key, value in s.params.items():
        out.line("  param   ", f"{key}={value}", sep=" ")
    out.line(f"  created  {fmt.timestamp(s.created_at)}   state {'closed' if s.closed else 'open'}")
    out.line(
        f"  events {t.events}  tokens {t.tokens_in} in / {t.tokens_out} out  tool calls {t.tool_calls}"
        f"  failures {t.failures}  wall {fmt.duration(t.wall_time_us / 1000)}"
    )
    out.write("\n")
    rows = []
    for b in detail.branches:
        merged = ", ".join(f"{names.get(m.target_branch_id, m.target_branch_id)}@{m.at_seq}" for m in b.merges)
        rows.append([
            b.name, b.branch_id, names.get(b.parent_branch_id, b.parent_branch_id or "") or "-",
            str(b.fork_point_seq) if b.parent_branch_id else "-", str(b.head_seq), str(b.event_count), merged or "-",
        ])
    out.table(rows, ["BRANCH", "ID", "PARENT", "FORK", "HEAD", "EVENTS", "MERGED INTO"], {3, 4, 5})
    return 0


LOG_PAGE_BYTES = 4 * 1024 * 1024  # of payload text per window read by `log` (fewer rows when events are large)


def cmd_log(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    from .. import summary as fmt

    journal.check()
    timeline = journal.timeline(args.session, args.branch, kinds=args.kind)
    start = 0 if args.limit is None else max(0, timeline.length - args.limit)
    position = start
    count = 200
    while position < timeline.length:
        events = timeline.window(position, count)
        if not events:
            break
        for ev in events:
            if args.json:
                out.json(ev.to_wire())
            else:
                out.line(f"{'^' if ev.inherited else ' '}{ev.seq:>6}", fmt.timestamp(ev.ts),
                         f"{fmt.role_label(ev)[:18]:<18}", fmt.summarize(ev, 300))
        position = events[-1].position + 1
        size = sum(len(ev.payload_json) for ev in events)
        count = max(1, min(2000, count * LOG_PAGE_BYTES // max(size, 1)))
    return 0
