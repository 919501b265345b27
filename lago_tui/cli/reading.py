"""Commands that read: sessions, show, log, export."""

from __future__ import annotations

import argparse
import itertools
import json

from ..journal import JournalAPI, JournalError
from .output import Output, one_line, output_file, terminal_safe


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("export", help="export one session (all branches) or a branch's timeline")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--branch", metavar="B", help="only this branch's timeline, inherited events included "
                   "(default: all branches for jsonl, main for a range or another format)")
    p.add_argument("--from", dest="from_seq", metavar="SEQ", type=non_negative, help="from this seq of the branch itself")
    p.add_argument("--to", dest="to_seq", metavar="SEQ", type=non_negative, help="up to this seq of the branch itself")
    p.add_argument("--format", choices=("jsonl", "md", "openai"), default="jsonl",
                   help="jsonl (wire format), md (transcript) or openai (chat messages as a JSON array)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")

    p = sub.add_parser("sessions", help="list sessions", epilog=query_help("list"),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--where", metavar="QUERY", help="only sessions matching QUERY (fields below)")
    p.add_argument("--since", metavar="TIME", help="only sessions active at or after TIME (2d, 2026-11-01, ...)")
    p.add_argument("--until", metavar="TIME", help="only sessions started before TIME")
    p.add_argument("--limit", metavar="N", type=non_negative, help="at most N sessions (most recently active first)")
    p.add_argument("--json", action="store_true", help="print a JSON array (times also as ISO-8601, UTC)")

    p = sub.add_parser("show", help="a session and its branches")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--runs", action="store_true", help="also per-run and per-step figures (of --branch)")
    p.add_argument("--branch", metavar="B", default="main", help="the branch whose runs --runs shows (default: main)")
    p.add_argument("--json", action="store_true", help="print a JSON object with a branches array")

    p = sub.add_parser("log", help="a branch's timeline (inherited events included, marked)",
                       epilog=query_help("timeline"), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--branch", metavar="B", default="main", help="branch name or id (default: main)")
    p.add_argument("--kind", metavar="K", action="append",
                   help="only events of this kind, family (tool, run...) or role (assistant...); repeatable")
    p.add_argument("--where", metavar="QUERY", help="only events matching QUERY (fields below)")
    p.add_argument("--since", metavar="TIME", help="only events at or after TIME (10m, 2026-11-20T09:00, ...)")
    p.add_argument("--until", metavar="TIME", help="only events before TIME")
    p.add_argument("--limit", metavar="N", type=non_negative, help="only the last N events")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events until ctrl+c")
    p.add_argument("--json", action="store_true", help="print EventEnvelopes as JSON Lines")
    return {"export": cmd_export, "sessions": cmd_sessions, "show": cmd_show, "log": cmd_log}


def glue_option_values(argv: list[str]) -> list[str]:
    """``--where -state:closed`` as ``--where=-state:closed``: a query often starts with '-' (negation),
    which argparse would take for an option."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg == "--":
            out.append(arg)
            out.extend(it)
            break
        if arg == "--where":
            value = next(it, None)
            out.append(arg if value is None else f"{arg}={value}")
            continue
        out.append(arg)
    return out


def query_help(scope: str) -> str:
    """The query language in a few lines, for --help."""
    from ..journal.query import field_help

    lines = [f"  {line}" for line in field_help(scope).values()]  # type: ignore[arg-type]
    return (
        "QUERY: words (all must match, case-insensitive), \"quoted phrases\", field:value terms; -term negates.\n"
        + "\n".join(lines)
        + "\nTIME: an age (45s, 10m, 36h, 2d, 1w, today, yesterday) or an ISO date or time (local unless a zone is given)."
    )


def _query(args: argparse.Namespace, scope: str) -> str | None:
    """--where plus --since/--until as one query; errors name the option and the column."""
    from ..journal.query import QueryError, parse

    parts = []
    if args.where:
        try:
            parse(args.where, scope)  # type: ignore[arg-type]
        except QueryError as exc:
            raise JournalError(_where_error(args.where, exc)) from None
        parts.append(args.where)
    for option, field, value in (("--since", "since", args.since), ("--until", "before", args.until)):
        if value is None:
            continue
        try:
            q = parse(f"{field}:{value}", scope)  # type: ignore[arg-type]
            if len(q.terms) != 1 or q.terms[0].field != field:
                raise QueryError(f"{field}: expects one time, not {value!r}")
        except QueryError as exc:
            raise JournalError(f"{option}: {exc.message.partition(': ')[2]}") from None
        parts.append(f"{field}:{value}")
    return " ".join(parts) or None


def _where_error(query: str, exc: Exception) -> str:
    from ..journal.query import QueryError

    if not isinstance(exc, QueryError) or exc.query != query:
        return f"--where: {getattr(exc, 'message', exc)}"
    return f"--where: {exc.message} (at column {exc.start + 1}: {query[exc.start:exc.end]})"


def iso(us: int | None) -> str | None:
    """Microseconds since the epoch as ISO-8601 in UTC (``2026-11-20T10:34:07.195915Z``)."""
    if us is None:
        return None
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def with_iso(data: dict, *keys: str) -> dict:
    """``data`` with ``KEY_iso`` next to each microsecond time ``KEY`` (key order kept)."""
    out: dict = {}
    for key, value in data.items():
        out[key] = value
        if key in keys:
            out[f"{key}_iso"] = iso(value)
    return out


def cmd_export(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    journal.check()
    chunks = iter(_export_lines(journal, args))
    first = next(chunks, None)  # an unknown session or branch fails here, before any file is touched
    if first is not None:
        chunks = itertools.chain([first], chunks)
    if not args.output:
        out.writelines(chunks)  # escaped there
        return 0
    with output_file(args.output, protected=journal.local_files()) as fh:
        for chunk in chunks:
            fh.write(terminal_safe(chunk).encode("utf-8"))
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


def cmd_sessions(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    from .. import summary as fmt

    journal.check()
    sessions = journal.list_sessions(_query(args, "list"), limit=args.limit)
    if args.json:
        out.json([with_iso(s.to_json(), *_SESSION_TIMES) for s in sessions], indent=2)
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
    runs = journal.runs(detail.summary.session_id, args.branch) if args.runs else None
    if args.json:
        data = with_iso(detail.to_json(), *_SESSION_TIMES)
        data["branches"] = [with_iso(b, "created_at") for b in data["branches"]]
        if runs is not None:
            data["runs"] = [with_iso(r.to_json(), "started_ts", "ended_ts") for r in runs]
        out.json(data, indent=2)
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
    if runs is not None:
        out.write("\n")
        out.line(f"runs of {names.get(detail.branch(args.branch).branch_id, args.branch)}: {len(runs)}")  # type: ignore[union-attr]
        if runs:
            _runs_table(runs, out)
    return 0


_SESSION_TIMES = ("created_at", "first_ts", "last_ts")


def _runs_table(runs: list, out: Output) -> None:
    from .. import summary as fmt

    rows = []
    for r in runs:
        rows.append([r.run_id, r.status, fmt.timestamp(r.started_ts), fmt.duration(r.wall_time_us / 1000),
                     str(r.events), str(r.tokens_in), str(r.tokens_out), str(r.tool_calls), str(r.failures),
                     r.reason or ""])
        for st in r.steps:
            rows.append([f"  step {st.index}", "done" if st.finished else "open", fmt.timestamp(st.started_ts),
                         fmt.duration(st.wall_time_us / 1000), str(st.events), str(st.tokens_in), str(st.tokens_out),
                         str(st.tool_calls), str(st.failures), st.stop_reason or ""])
    out.table(rows, ["RUN", "STATUS", "STARTED", "WALL", "EVENTS", "TOKENS IN", "TOKENS OUT", "TOOL CALLS", "FAILURES",
                     "REASON"], {3, 4, 5, 6, 7, 8}, widths={9: 40})


def cmd_log(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    from ..journal.query import QueryError

    journal.check()
    query = _query(args, "timeline")
    detail = journal.session(args.session)
    kinds = [k for item in args.kind or () for k in item.split(",") if k] or None
    try:
        timeline = journal.timeline(detail.summary.session_id, args.branch, kinds=kinds, query=query, detail=detail)
    except QueryError as exc:
        raise JournalError(_where_error(query or "", exc) if exc.query else f"--kind: {exc.message}") from None
    # 12.9: a branch's timeline repeats seqs (each segment counts from 1), so lines say whose event it is.
    names = {b.branch_id: one_line(b.name, _BRANCH_WIDTH) for b in detail.branches}
    segments = [branch_id for branch_id, _ in timeline.segment_bounds]
    width = max(cell_len(names.get(b, one_line(b, _BRANCH_WIDTH))) for b in segments) if len(segments) > 1 else 0
    position = 0 if args.limit is None else max(0, timeline.length - args.limit)
    position = _print_events(timeline, position, args.json, names, width, out)
    if args.follow:
        return _follow(journal, timeline, position, args.json, names, width, out)
    return 0


_BRANCH_WIDTH = 40


LOG_PAGE_BYTES = 4 * 1024 * 1024  # of payload text per window `log` reads (fewer rows when events are large)


def _print_events(timeline, position: int, as_json: bool, names: dict, width: int, out: Output) -> int:  # noqa: ANN001
    """Print events from ``position`` to the end; returns the next position."""
    from .. import summary as fmt

    count = 200
    while position < timeline.length:
        events = timeline.window(position, count)
        if not events:
            break
        for ev in events:
            if as_json:
                out.json(ev.to_wire())
                continue
            mark = "^" if ev.inherited else " "
            branch = ""
            if width:
                name = names.get(ev.branch_id) or one_line(ev.branch_id, _BRANCH_WIDTH)
                branch = name + " " * (width - cell_len(name)) + "  "
            label = one_line(fmt.role_label(ev), 18)
            label += " " * (18 - cell_len(label))
            out.write(f"{mark}{ev.seq:>6}  {branch}{fmt.timestamp(ev.ts)}  {label}  {one_line(fmt.summarize(ev, 300))}\n")
        position = events[-1].position + 1
        size = sum(len(ev.payload_json) for ev in events)
        count = max(1, min(2000, count * LOG_PAGE_BYTES // max(size, 1)))
    return position


def _follow(journal: JournalAPI, timeline, position: int, as_json: bool, names: dict, width: int, out: Output) -> int:  # noqa: ANN001
    """Print new events as they are appended, until ctrl+c (then exit 0). The file is held only to read."""
    import time

    from ..journal import JournalBusy

    journal.idle_release = 0.05  # a writer must never wait on us between polls
    out.flush()
    token = journal.change_token()
    try:
        while True:
            time.sleep(0.2)
            current = journal.change_token()
            if current == token:
                continue
            try:
                timeline.refresh()
                position = _print_events(timeline, position, as_json, names, width, out)
            except JournalBusy:
                continue  # a long write: try again at the next change
            token = current
            out.flush()
    except KeyboardInterrupt:
        out.flush()
        return 0


def cell_len(text: str) -> int:
    from rich.cells import cell_len as _cell_len

    return _cell_len(text)
