"""Commands that analyse a run: state (at an event), diff (two branches), check (integrity).

Exit status: 0 on success; ``check`` exits 1 when it finds problems; every error is one line and exit 2.
Journal strings in plain output go through :func:`.output.one_line` (one line, control characters escaped).
"""

from __future__ import annotations

import argparse
import json
import shutil
from typing import Any

from ..journal import JournalAPI
from .output import Output, one_line, plural

__all__ = ["register"]

DIFF_WIDTH = 160  # columns of the side-by-side diff when stdout is not a terminal
_MARK = {"same": " ", "changed": "~", "left": "-", "right": "+"}


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("state", help="a branch's state as of one of its events (messages, tools, runs, files, tokens)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--branch", metavar="B", default="main", help="branch name or id (default: main)")
    p.add_argument("--at", metavar="SEQ", type=int, help="a seq of the branch itself (default: its head; 0: its fork point)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("diff", help="compare two branches: their events after the common fork point, aligned")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("left", metavar="A", help="branch name or id")
    p.add_argument("right", metavar="B", help="branch name or id")
    p.add_argument("--json", action="store_true", help="print {fork, rows, totals} as JSON")

    p = sub.add_parser("check", help="integrity check of one session or all; exit 1 when problems are found")
    p.add_argument("session", metavar="SESSION", nargs="?")
    p.add_argument("--json", action="store_true", help="print a JSON array of problems")
    return {"state": cmd_state, "diff": cmd_diff, "check": cmd_check}


# ---------------------------------------------------------------------------------------------- state


def cmd_state(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    journal.check()
    detail = journal.session(args.session)
    state = journal.state_at(detail.summary.session_id, args.branch, args.at)
    if args.json:
        json.dump(state.to_json(), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    names = {b.branch_id: b.name for b in detail.branches}
    info = detail.branch(state.branch_id)
    head = info.head_seq if info else state.at_seq
    out.write(f"{one_line(detail.summary.name)}  branch {one_line(names.get(state.branch_id, state.branch_id))}"
              f"  at seq {state.at_seq} of {head}\n")
    out.write(f"  tokens      {state.tokens_in:,} in / {state.tokens_out:,} out\n")
    counts = state.tool_counts()
    out.write(f"  tool calls  {len(state.tool_calls):,}"
              + (" (" + ", ".join(f"{n:,} {k}" for k, n in counts.items() if n) + ")" if state.tool_calls else "")
              + "\n")
    runs: dict[str, int] = {}
    for run in state.runs:
        runs[run.status] = runs.get(run.status, 0) + 1
    out.write(f"  runs        {len(state.runs):,}"
              + (" (" + ", ".join(f"{n:,} {k}" for k, n in runs.items()) + ")" if runs else "") + "\n")
    out.write(f"  files       {len(state.files):,}\n  messages    {len(state.messages):,}\n")

    unfinished = [c for c in state.tool_calls if c.status == "pending"]
    if unfinished:
        out.write("\npending tool calls\n")
        out.table([[str(c.seq), one_line(c.tool_name)[:40], one_line(c.call_id)[:40]] for c in unfinished],
                  ["SEQ", "TOOL", "CALL"], {0})
    running = [r for r in state.runs if r.status == "running"]
    if running:
        out.write("\nrunning\n")
        for r in running:
            out.write(f"  {one_line(r.run_id)}\n")
    if state.files:
        out.write("\nfiles\n")
        out.table([[one_line(path), "" if f.size_bytes is None else f"{f.size_bytes:,}",
                    one_line(f.blob_hash or "-")[:16]]
                   for path, f in state.files.items()], ["PATH", "BYTES", "BLOB"], {1})
    if state.state not in ({}, None):
        out.write("\nagent state\n")
        for line in json.dumps(state.state, ensure_ascii=False, indent=2).splitlines():
            out.write("  " + one_line(line) + "\n")
    if state.messages:
        out.write("\nmessages\n")
        for m in state.messages:
            mark = " " if m.branch_id == state.branch_id else "^"
            out.write(f"{mark}{m.seq:>6}  {one_line(m.role)[:10]:<10}  {one_line(m.content)[:200]}\n")
    return 0


# ---------------------------------------------------------------------------------------------- diff


def cmd_diff(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    from .. import summary as fmt

    journal.check()
    detail = journal.session(args.session)
    cmp = journal.compare_branches(detail.summary.session_id, args.left, args.right)
    if args.json:
        json.dump(cmp.contract_json(), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    names = {b.branch_id: b.name for b in detail.branches}

    def name(branch_id: str) -> str:
        return one_line(names.get(branch_id, branch_id))

    lt, rt = cmp.left_totals, cmp.right_totals
    out.write(f"fork {name(cmp.fork_branch_id)} @{cmp.fork_seq}   "
              f"left {name(cmp.left_branch_id)} ({plural(lt.events, 'event')} after it)   "
              f"right {name(cmp.right_branch_id)} ({plural(rt.events, 'event')})\n")
    counts = cmp.counts()
    out.write(f"{counts['same']:,} same, {counts['changed']:,} changed, {counts['left']:,} only left, "
              f"{counts['right']:,} only right\n\n")
    width = shutil.get_terminal_size((DIFF_WIDTH, 24)).columns if out.isatty() else DIFF_WIDTH
    half = max(30, (width - 5) // 2)

    def side(s: Any) -> str:
        if s is None:
            return " " * half
        text = f"{s.seq:>6} {one_line(s.kind)[:17]:<17} {one_line(s.summary)}"
        return text[:half].ljust(half)

    def header(branch_id: str | None) -> str:
        return " " * half if branch_id is None else f"{'── ' + name(branch_id) + ' ':─<{half}}"[:half]

    shown = [None, None]  # the branch each side is on: a header line when one enters another branch
    for row in cmp.rows:
        entering = [None, None]
        for k, s in enumerate((row.left, row.right)):
            if s is not None and s.branch_id != shown[k]:
                entering[k] = shown[k] = s.branch_id
        if entering != [None, None]:
            out.write(f"  {header(entering[0])} │ {header(entering[1])}".rstrip() + "\n")
        out.write(f"{_MARK[row.status]} {side(row.left)} │ {side(row.right)}".rstrip() + "\n")

    def signed(n: int, unit: str = "") -> str:
        if unit == "time":
            return ("+" if n >= 0 else "-") + fmt.duration(abs(n) / 1000)
        return f"{n:+,}"

    rows = []
    diff = rt.minus(lt)
    for label, key in (("events", "events"), ("tokens in", "tokens_in"), ("tokens out", "tokens_out"),
                       ("tool calls", "tool_calls"), ("failures", "failures"), ("wall time", "wall_time_us")):
        a, b = getattr(lt, key), getattr(rt, key)
        if key == "wall_time_us":
            rows.append([label, fmt.duration(a / 1000) or "0ms", fmt.duration(b / 1000) or "0ms",
                         signed(diff[key], "time")])
        else:
            rows.append([label, f"{a:,}", f"{b:,}", signed(diff[key])])
    out.write("\n")
    out.table(rows, ["", "LEFT", "RIGHT", "RIGHT-LEFT"], {1, 2, 3})
    return 0


# ---------------------------------------------------------------------------------------------- check


def cmd_check(journal: JournalAPI, args: argparse.Namespace, out: Output) -> int:
    journal.check()
    session = journal.resolve_session(args.session) if args.session else None
    problems = journal.problems(session)
    if args.json:
        json.dump([p.to_json() for p in problems], out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 1 if problems else 0
    if not problems:
        checked = "1 session" if session else plural(journal.count_sessions(), "session")
        out.write(f"no problems found ({checked} checked)\n")
        return 0
    sessions = sorted({p.session_id for p in problems})
    names: dict[str, str] = {}
    branch_names: dict[tuple[str, str], str] = {}
    if len(sessions) <= 50:  # names read per session: for a few sessions only
        for sid in sessions:
            detail = journal.session(sid)
            names[sid] = detail.summary.name
            branch_names.update({(sid, b.branch_id): b.name for b in detail.branches})
    rows = [
        [one_line(names.get(p.session_id, p.session_id))[:40],
         one_line(branch_names.get((p.session_id, p.branch_id), p.branch_id))[:30],
         str(p.seq), p.code, one_line(p.message)[:160]]
        for p in problems
    ]
    out.table(rows, ["SESSION", "BRANCH", "SEQ", "CODE", "PROBLEM"], {2})
    out.write(f"\n{plural(len(problems), 'problem')} in {plural(len(sessions), 'session')}\n")
    return 1
