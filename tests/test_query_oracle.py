"""The query language's SQL against a brute-force Python oracle, on generated journals.

The oracle evaluates each term in Python over what the journal returns (events with their paired tool
outcomes, session summaries) and what the timeline shows (``summary.role_label`` and ``summarize``), so a
disagreement is a bug in the SQL (or in the oracle's reading of the documented semantics).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lago_tui.journal import Journal
from lago_tui.journal.ingest import TEXT_FIELDS
from lago_tui.journal.kinds import FAMILIES, KNOWN_KINDS, ROLES, TOOL_KINDS
from lago_tui.journal.query import parse_timeline, session_matches
from lago_tui.summary import role_label, summarize

T0 = 1_790_000_000_000_000
NOW = T0 + 40 * 86400 * 1_000_000
WORDS = ["alpha", "Beta", "gamma", "delta_x", "50%", "c:\\tmp", "ünï", "denied", "ok", "boom", "late"]
TOOLS = ["bash", "read_file", "web_search", "Bash_Extra"]
STATUSES = ["ok", "ok", "ok", "error", "timeout", "success"]
SEED = 20261121


class Gen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0
        self.ts = T0

    def words(self, k: int = 3) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(k))

    def ev(self, sid: str, branch: str, payload: dict[str, Any], run: str | None) -> dict[str, Any]:
        self.n += 1
        self.ts += self.rng.choice([1, 400, 3000, 70_000, 900_000]) * 1000
        out = {"event_id": f"E{self.n:06d}", "session_id": sid, "branch_id": branch, "timestamp": self.ts,
               "payload": payload}
        if run:
            out["run_id"] = run
        return out

    def batch(self, sid: str, branch: str, size: int) -> list[dict[str, Any]]:
        r = self.rng
        out: list[dict[str, Any]] = []
        run: str | None = None
        step = 0
        while len(out) < size:
            roll = r.random()
            if run is None or roll < 0.08:
                run = f"R{sid[-2:]}{self.n:05d}{r.choice('abc')}"
                step = 0
                out.append(self.ev(sid, branch, {"type": "RunStarted", **({"provider": r.choice(["anthropic", "local"])} if r.random() < .7 else {})}, run))
                continue
            if roll < 0.16:
                out.append(self.ev(sid, branch, {"type": "StepStarted", "index": step}, run))
                out.append(self.ev(sid, branch, {"type": "StepFinished", "index": step, **({"stop_reason": self.words(1)} if r.random() < .5 else {})}, run))
                step += 1
            elif roll < 0.36:
                role = r.choice(ROLES)
                body: dict[str, Any] = {"type": "Message", "role": role, "content": self.words()}
                if role == "assistant":
                    body["token_usage"] = {"prompt_tokens": r.randrange(50), "completion_tokens": r.randrange(20)}
                out.append(self.ev(sid, branch, body, run))
            elif roll < 0.56:
                call = f"call-{self.n}"
                tool = r.choice(TOOLS)
                out.append(self.ev(sid, branch, {"type": "ToolCallRequested", "call_id": call, "tool_name": tool,
                                                 "arguments": {"q": r.choice(WORDS)}}, run))
                if r.random() < .5:
                    out.append(self.ev(sid, branch, {"type": "ToolCallStarted", "tool_name": tool}, run))
                fate = r.random()
                if fate < 0.6:
                    out.append(self.ev(sid, branch, {"type": "ToolCallCompleted", "call_id": call, "tool_name": tool,
                                                     "status": r.choice(STATUSES), "result": {"r": r.choice(WORDS)},
                                                     "duration_ms": r.choice([3, 999, 1000, 1250, 5000, 5001, 59_999, 61_000, 3_700_000])}, run))
                elif fate < 0.85:
                    out.append(self.ev(sid, branch, {"type": "ToolCallFailed", "call_id": call, "tool_name": tool,
                                                     "error": self.words(2)}, run))
            elif roll < 0.62:
                out.append(self.ev(sid, branch, {"type": "RunFinished", "reason": r.choice(["completed", "max"]),
                                                 **({"usage": {"prompt_tokens": r.randrange(99), "completion_tokens": 7}} if r.random() < .5 else {})}, run))
                run = None
            elif roll < 0.65:
                out.append(self.ev(sid, branch, {"type": "RunErrored", "error": self.words(2)}, run))
                run = None
            else:
                out.append(self.ev(sid, branch, self.misc(), run if r.random() < .5 else None))
        return out

    def misc(self) -> dict[str, Any]:
        r = self.rng
        w = r.choice(WORDS)
        return r.choice([
            {"type": "TextDelta", "delta": self.words(2)},
            {"type": "FileWrite", "path": f"src/{w}.py", **({"size_bytes": r.randrange(5000)} if r.random() < .6 else {})},
            {"type": "FileDelete", "path": f"old/{w}"},
            {"type": "FileRename", "old_path": "a", "new_path": f"b/{w}"},
            {"type": "PolicyEvaluated", "tool_name": r.choice(TOOLS), "decision": r.choice(["allow", "denied"]),
             "explanation": w},
            {"type": "ApprovalRequested", "approval_id": "a1", "tool_name": r.choice(TOOLS), "risk": r.choice(["low", "high"])},
            {"type": "ApprovalResolved", "approval_id": "a1", "decision": r.choice(["approved", "denied"]), "reason": w},
            {"type": "ErrorRaised", "message": self.words(2)},
            {"type": "Custom", "event_type": f"note.{w}", "data": {"k": w}},
            {"type": "StatePatched", "revision": r.randrange(9), "patch": {"k": w}},
            {"type": "ContextCompacted", "dropped_count": 3, "tokens_before": 900, "tokens_after": 120},
            {"type": "SnapshotCreated", "snapshot_id": "s1", "snapshot_type": "full", "covers_through_seq": 12},
            {"type": "SandboxExecuted", "command": w},
            {"type": "SessionResumed"},
        ])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Journal:
    rng = random.Random(SEED)
    g = Gen(rng)
    path: Path = tmp_path_factory.mktemp("oracle") / "journal.duckdb"
    j = Journal(path, idle_release=5)
    for s in range(8):
        name = f"{rng.choice(WORDS)}-{s}"
        params = {"temperature": rng.choice(["0.2", "0.7"]), **({"repo/x~y": "a/b"} if s % 3 == 0 else {})}
        sid = j.create_session({"name": name, "model": rng.choice(["gpt-4.1", "gpt-4.1-mini", "claude-sonnet-4", ""]),
                                "params": params}, now_us=T0 + s * 5 * 86400 * 1_000_000)
        j.append(g.batch(sid, "main", rng.randrange(10, 70)))
        if s % 2 == 0:
            b1 = j.create_branch(sid, {"name": f"alt-{rng.choice(WORDS)}", "fork_point_seq": rng.randrange(1, 8)})
            j.append(g.batch(sid, b1, rng.randrange(5, 30)) + g.batch(sid, "main", 5))
            b2 = j.create_branch(sid, {"name": "deeper", "parent": b1, "fork_point_seq": 3})
            j.append(g.batch(sid, b2, rng.randrange(5, 25)))
        if s % 4 == 1:
            j.close_session(sid, "done", now_us=g.ts)
    yield j
    j.close()


# ------------------------------------------------------------------------------------------- oracle


def _text(ev) -> str:
    """The payload's text as the journal indexes it (ingest.TEXT_FIELDS; other kinds: the payload)."""
    p = ev.payload
    if ev.kind not in TEXT_FIELDS:
        return "" if ev.kind in KNOWN_KINDS else ev.payload_json
    parts = []
    for f in TEXT_FIELDS[ev.kind]:
        v = p.get(f)
        if v is None:
            continue
        parts.append(v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False))
    return " ".join(parts)


def _failure(kind: str, p: dict[str, Any]) -> bool:
    return kind in ("ToolCallFailed", "RunErrored", "ErrorRaised") or (
        kind == "ToolCallCompleted" and p.get("status") not in ("ok", "success"))


class Oracle:
    def __init__(self, j: Journal, sid: str, branch: str) -> None:
        self.sid = sid
        detail = j.session(sid)
        self.branch_ids = {b.name: b.branch_id for b in detail.branches} | {b.branch_id: b.branch_id for b in detail.branches}
        tl = j.timeline(sid, branch)
        self.events = tl.window(0, tl.length)
        wire = list(j.export(sid))
        requests = {e["payload"]["call_id"]: e for e in wire if e["payload"]["type"] == "ToolCallRequested"}
        self.outcome: dict[str, dict[str, Any]] = {}
        for e in wire:
            p = e["payload"]
            if p["type"] in ("ToolCallCompleted", "ToolCallFailed") and p.get("call_id") in requests:
                req = requests[p["call_id"]]
                ms = p.get("duration_ms")
                self.outcome[p["call_id"]] = {
                    "status": p.get("status"), "failure": _failure(p["type"], p),
                    "ms": ms if ms is not None else max(0, (e["timestamp"] - req["timestamp"]) // 1000),
                }

    def out(self, ev) -> dict[str, Any] | None:
        return self.outcome.get(ev.payload.get("call_id")) if ev.kind == "ToolCallRequested" else None

    def term(self, field: str, value: Any, exact: bool, ev) -> bool:
        p, k = ev.payload, ev.kind
        o = self.out(ev)
        if field == "text":
            w = value.lower()
            return w in _text(ev).lower() or w in f"{role_label(ev)} {summarize(ev, 10**6)}".lower()
        if field == "kind":
            return any(self.kind(v.name, ev) for v in value)
        if field == "role":
            return k == "Message" and str(p.get("role")).lower() in {v.lower() for v in value}
        if field == "tool":
            named = k in TOOL_KINDS or k not in KNOWN_KINDS
            name = str(p.get("tool_name", "")).lower() if "tool_name" in p and named else None
            return name is not None and any((name == v.lower()) if exact else (v.lower() in name) for v in value)
        if field == "seq":
            return (value.lo is None or ev.seq >= value.lo) and (value.hi is None or ev.seq <= value.hi)
        if field == "run":
            return ev.run_id is not None and any(ev.run_id.lower().startswith(v.lower()) for v in value)
        if field == "branch":
            return ev.branch_id in {self.branch_ids[v] for v in value}
        if field == "status":
            return any(self.status(v.lower(), ev, o) for v in value)
        if field in ("since", "before"):
            at = value.resolve(NOW)
            return ev.ts >= at if field == "since" else ev.ts < at
        if field == "dur":
            ms = p.get("duration_ms") if k == "ToolCallCompleted" else (o["ms"] if o else None)
            return ms is not None and (value.lo is None or ms >= value.lo) and (value.hi is None or ms <= value.hi)
        raise AssertionError(field)

    def kind(self, name: str, ev) -> bool:
        if name in KNOWN_KINDS:
            return ev.kind == name
        low = name.lower()
        if low == "error":
            return ev.kind in FAMILIES["error"] or _failure(ev.kind, ev.payload)
        if low in FAMILIES:
            return ev.kind in FAMILIES[low]
        if low in ROLES:
            return ev.kind == "Message" and str(ev.payload.get("role")).lower() == low
        if low in {k.lower() for k in KNOWN_KINDS}:
            return ev.kind.lower() == low
        return ev.kind == name

    def status(self, v: str, ev, o) -> bool:
        p = ev.payload
        if v in ("error", "errors", "failed", "failure", "failures", "fail"):
            return _failure(ev.kind, p) or bool(o and o["failure"])
        if v in ("ok", "success", "succeeded"):
            return (ev.kind == "ToolCallCompleted" and not _failure(ev.kind, p)) or bool(o and not o["failure"])
        if v == "pending":
            return ev.kind == "ToolCallRequested" and o is None
        return (str(p.get("status")).lower() == v or str(p.get("decision")).lower() == v
                or bool(o and str(o["status"]).lower() == v))

    def matches(self, text: str) -> list[int]:
        q = parse_timeline(text)
        out = []
        for ev in self.events:
            if all(self.term(t.field, t.value, t.exact, ev) != t.negated for t in q.terms):
                out.append(ev.position)
        return out


def _timeline_queries(rng: random.Random, branch_names: list[str], custom: list[str]) -> list[str]:
    gens: list[Callable[[], str]] = [
        lambda: rng.choice(WORDS + TOOLS + ["run", "started", "step", "done", "in", "failed", "→", "B", "r3", "2s",
                                            "1.2s", "1m01s", "999ms", "1h01m", "Tool", "toolcall", "approve", "risk",
                                            "write", "@", "session", "fork", "closed", "tokens", "assistant", "xyz"]),
        lambda: '"' + rng.choice(["run started", "step 1 done", "in 5.0s", "→ ok", "failed: boom", "? risk high"]) + '"',
        lambda: "kind:" + ",".join(rng.sample(["tool", "message", "error", "assistant", "user", "ToolCallFailed",
                                               "RunStarted", "Message", "custom", "toolcallcompleted", "file",
                                               "policy", "run", "session", "branch", *custom], rng.randint(1, 2))),
        lambda: "role:" + rng.choice(["assistant", "USER", "tool,system"]),
        lambda: "tool:" + rng.choice(["bash", "=bash", "READ", "web_search,bash", "=Bash_Extra", "nope"]),
        lambda: "seq:" + rng.choice([">10", "<=5", "3..9", "20..", "..4", "7"]),
        lambda: "run:" + rng.choice(["R", "r0", "nosuchrun"]),
        lambda: "status:" + rng.choice(["error", "ok", "pending", "denied", "timeout", "approved", "failed,ok"]),
        lambda: "dur:" + rng.choice([">5s", "<1s", "1s..60s", ">=1h", "=1250ms", ">1m"]),
        lambda: "branch:" + rng.choice(branch_names),
        lambda: rng.choice(["since:", "before:"]) + rng.choice(["2026-09-21T14:20Z", "2026-09-21T15:00Z", "2026-09-22"]),
    ]
    out = []
    for _ in range(32):
        terms = [rng.choice(gens)() for _ in range(rng.choice([1, 1, 2, 3]))]
        out.append(" ".join(("-" + t) if rng.random() < 0.25 else t for t in terms))
    return out


def test_timeline_queries_match_the_oracle(generated: Journal) -> None:
    rng = random.Random(SEED + 1)
    sessions = generated.list_sessions(sort="name", descending=False)
    checked = 0
    for s in sessions[:4]:
        detail = generated.session(s.session_id)
        branch = detail.branches[-1]  # the deepest when there are branches: inherited segments
        oracle = Oracle(generated, s.session_id, branch.branch_id)
        tl = generated.timeline(s.session_id, branch.branch_id)
        custom = sorted({e.kind for e in oracle.events} - set(KNOWN_KINDS))
        for q in _timeline_queries(rng, [b.name for b in detail.branches], custom):
            expected = oracle.matches(q)
            assert tl.match_positions(q, 0, tl.length) == expected, q
            assert tl.count_matches(q) == len(expected), q
            for start in (0, tl.length // 2):
                assert tl.find(q, start) == next((p for p in expected if p >= start), None), (q, start)
                assert tl.find(q, start, forward=False) == next((p for p in reversed(expected) if p <= start), None), (q, start)
            hidden = generated.timeline(s.session_id, branch.branch_id, query=q)
            assert [e.event_id for e in hidden.window(0, hidden.length + 1)] == [
                oracle.events[p].event_id for p in expected], q
            checked += bool(expected)
    assert checked > 50  # most queries match something: the comparison is not vacuous


def test_every_word_shown_is_found(generated: Journal) -> None:
    """Issue 12.10: each word a timeline row shows (label, summary, a request's outcome) finds that row."""
    rng = random.Random(SEED + 3)
    for s in generated.list_sessions(sort="events")[:2]:
        tl = generated.timeline(s.session_id)
        events = tl.window(0, tl.length)
        words: dict[str, set[int]] = {}
        for ev in events:
            for w in re.findall(r"\w+", f"{role_label(ev)} {summarize(ev, 10**6)}"):
                words.setdefault(w, set()).add(ev.position)
        for w in rng.sample(sorted(words), min(len(words), 90)):
            positions = words[w]
            found = set(tl.match_positions(f'"{w}"', 0, tl.length))
            assert positions <= found, (w, sorted(positions - found)[:5])


FAILURES: dict[str, int] = {}


def test_list_queries_match_the_oracle(generated: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    import lago_tui.journal.query as query_module

    monkeypatch.setattr(query_module.time, "time_ns", lambda: NOW * 1000)
    everything = generated.list_sessions(sort="name", descending=False)
    FAILURES.update({s.session_id: generated.session(s.session_id).totals.failures for s in everything})
    rng = random.Random(SEED + 2)
    pool = ["alpha", "BETA", "5", "gpt", "model:gpt-4.1", "model:=gpt-4.1", "model:claude,mini", "state:open",
            "state:closed", "tokens:>100", "tokens:0..50", "events:>40", "branches:>1", "branches:1",
            "param:temperature=0.2", "param:temperature", 'param:"repo/x~y=a/b"', "param:repo/x~y", "since:20d",
            "since:2026-09-10", "before:2026-09-20T12:00", "before:30d", "failures:>2", "failures:0", "name:alpha", "name:=alpha-0", "id:" +
            everything[0].session_id[:5], '"a-"', "50%", "delta_x", "_", "%"]
    nonempty = 0
    for _ in range(60):
        text = " ".join(("-" if rng.random() < .25 else "") + rng.choice(pool) for _ in range(rng.choice([1, 2, 3])))
        # The oracle: the library's Python evaluation (what journals without SQL use), term by term.
        expected = [s.session_id for s in everything
                    if session_matches(text, s, now_us=NOW, failures=FAILURES[s.session_id])]
        got = [s.session_id for s in generated.list_sessions(text, sort="name", descending=False)]
        assert got == expected, text
        assert generated.count_sessions(text) == len(expected), text
        for sid in expected[:2]:
            assert generated.session_index(sid, text, sort="name", descending=False) == expected.index(sid)
        nonempty += bool(expected) and len(expected) < len(everything)
    assert nonempty >= 15
