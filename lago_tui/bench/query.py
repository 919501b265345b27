"""Query-language measures (issue 13): typed list queries, typed timeline queries on the big session.

"To updated list" is what the list screen waits for after a keystroke: the count and the first 100 rows of
the filtered, sorted list. "To first match" is Timeline.find from the start of the deepest branch of the
big session (its timeline runs through five ancestors); the no-match rows read the whole timeline, the
worst case of a search.
"""

from __future__ import annotations

from pathlib import Path

from .. import synth
from .common import Result, _timed

LIST_QUERIES = ("model:gpt tokens:>10k -state:closed", "failures:>0 branches:>1 since:30d", "param:temperature=0.2 big")
TIMELINE_QUERIES = ("status:error", "kind:tool dur:>5s", "kind:assistant", "tool:bash -status:ok")


def query_level(db: Path, m: synth.Manifest, runs: int, log) -> list[Result]:  # noqa: ANN001
    from ..journal import Journal

    out: list[Result] = []
    j = Journal(db, idle_release=30)
    try:
        j.list_sessions(limit=1)  # open the file outside the measures

        def updated_list(query: str) -> None:
            j.count_sessions(query)
            j.list_sessions(query, limit=100)

        for query in LIST_QUERIES:
            r = Result("query", f"typed list query to updated list ({query!r})", "ms", target="<= 150")
            for _ in range(max(runs, 5)):
                r.values.append(_timed(updated_list, query)[0])
            r.note = f"{j.count_sessions(query):,} of {m.sessions:,} sessions"
            out.append(r)
        typing = "model:gpt-4.1 -state:closed"
        r = Result("query", f"list query typed key by key ({typing!r}), per key", "ms", target="<= 150",
                   note="prefixes that do not parse yet cost nothing")
        for k in range(1, len(typing) + 1):
            try:
                r.values.append(_timed(updated_list, typing[:k])[0])
            except Exception:  # noqa: BLE001 - a half-typed query is a QueryError, shown inline
                pass
        out.append(r)

        tl_ms, tl = _timed(j.timeline, m.big_session_id, m.deepest_branch)
        log(f"  query: timeline {m.deepest_branch} ({tl.length:,} events) in {tl_ms:.0f} ms")
        # Each run on a fresh Timeline: a newly typed query reads the tool outcomes it needs once (later
        # n/N presses reuse them), and that first read is part of what the user waits for.
        def first_match(query: str) -> tuple[float, int | None]:
            fresh = j.timeline(m.big_session_id, m.deepest_branch)
            return _timed(fresh.find, query, 0)

        for query in (*TIMELINE_QUERIES, m.needle):
            r = Result("query", f"typed timeline query to first match ({query!r})", "ms", target="<= 400")
            pos = None
            for _ in range(runs):
                ms, pos = first_match(query)
                r.values.append(ms)
            r.note = f"{tl.length:,}-event timeline of the {m.big:,}-event session; match at {pos}"
            out.append(r)
        r = Result("query", "typed timeline query, no match (whole timeline read)", "ms", target="<= 400")
        for _ in range(runs):
            r.values.append(first_match("nosuchwordanywhere")[0])
        out.append(r)
        r = Result("query", "next match (n) with the same query, no match", "ms", target="<= 400")
        for _ in range(runs):
            r.values.append(_timed(tl.find, "nosuchwordanywhere", 0)[0])
        out.append(r)
        r = Result("query", "count_matches('status:error') over the timeline", "ms")
        for _ in range(runs):
            ms, n = _timed(tl.count_matches, "status:error")
            r.values.append(ms)
        r.note = f"{n:,} matches"
        out.append(r)
        r = Result("query", "timeline(query='status:error') built (hide mode)", "ms")
        for _ in range(runs):
            ms, hidden = _timed(j.timeline, m.big_session_id, m.deepest_branch, query="status:error")
            r.values.append(ms)
        r.note = f"{hidden.length:,} events shown; a 100-event window {_timed(hidden.window, 0, 100)[0]:.0f} ms"
        out.append(r)
        r = Result("query", f"runs() of the big session's main ({m.big:,}-event session)", "ms")
        for _ in range(runs):
            ms, figures = _timed(j.runs, m.big_session_id)
            r.values.append(ms)
        r.note = f"{len(figures):,} runs, {sum(len(f.steps) for f in figures):,} steps"
        out.append(r)
    finally:
        j.close()
    return out
