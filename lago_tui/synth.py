"""A synthetic journal of realistic shape, for benchmarks and scale tests.

``python -m lago_tui.synth OUT.duckdb [--sessions N] [--events N] [--big N] [--seed S]``

Everything is derived from one seeded :class:`random.Random` and a fixed base timestamp, so the same
arguments always give the same event ids, timestamps and payloads. Events are written as JSON Lines in
Lago's wire format (``seq`` 0, ``SessionCreated`` first, ``BranchCreated`` on the parent branch with a
fork point at or before the parent's head) and imported through :meth:`Journal.import_file`, the journal's
bulk path, one file of about ``chunk`` events at a time. Sessions are never split across files, except the
big one, which gets files of its own, imported in order.

The shape: ``sessions`` sessions holding ``events`` events in all; session sizes are skewed (most are small,
a few are large); one session of ``big`` events has a chain of nested branches (a branch of a branch of a
branch..., each forked in the middle of its parent) plus a few side branches, with work interleaved between
them. Every payload family appears: messages by role with token usage, tool calls requested / started /
completed / failed sharing call ids, runs and steps, file operations, policy and approvals, errors, state
patches, snapshots, Custom events and a kind no version knows. Payloads average a few hundred bytes; a few
tool results are about 100 KB.

This module never imports textual.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# 2026-11-01 00:00:00 UTC; sessions start in the 30 days before it.
BASE_TS_US = 1_793_491_200_000_000
SPAN_US = 30 * 24 * 3600 * 1_000_000

RARE_WORD = "xenolithic"  # in a handful of messages across the whole journal (search benchmark)
BIG_NEEDLE = "zeppelinmarker"  # only late in the deepest branch of the big session (Timeline.find benchmark)
UNKNOWN_KIND = "QuantumFluxObserved"


_WORDS = (
    "the a an and or but if then else when while for with without into onto from to of in on at by as is "
    "are was were be been being it this that these those we you they he she i me my our your their "
    "test tests failing flaky passes fails error errors exception traceback stack frame module package "
    "function method class object instance attribute variable constant parameter argument return value "
    "token tokens refresh rotation expiry timeout retry backoff jitter latency throughput cache caching "
    "database query index table column row migration schema transaction commit rollback lock deadlock "
    "request response header payload body status code endpoint route handler middleware session cookie "
    "auth login logout user users account permission role admin config configuration setting settings "
    "file files path directory folder read write delete rename copy move open close buffer stream pipe "
    "build compile link binary release version upgrade downgrade dependency dependencies lockfile vendor "
    "docker container image volume network port host service deploy rollout canary staging production "
    "log logs logging metric metrics trace tracing span alert dashboard monitor incident outage on-call "
    "async await thread threads process worker queue job scheduler cron event events handler callback "
    "parse parser lexer token grammar syntax semantic type types typing generic interface protocol trait "
    "refactor rename extract inline simplify cleanup remove add update fix patch change diff review merge "
    "branch fork rebase conflict resolve cherry-pick bisect regression benchmark profile optimise memory "
    "cpu disk io allocation leak garbage collector heap pointer reference ownership borrow lifetime "
    "should could would might must will can may need needs try tries found find look looks looking seems "
    "likely probably actually because since so therefore however although also again still already now "
    "first second next last before after during between across around through over under about above "
    "small large fast slow simple complex correct wrong broken stable unstable random deterministic "
    "clock time date timezone utc offset epoch millisecond microsecond second minute hour day week "
    "pytest cargo npm pip make cmake gradle maven go rust python typescript javascript java kotlin sql"
).split()

_TOOLS = (
    ("read_file", "fs"), ("write_file", "fs"), ("edit_file", "fs"), ("list_dir", "fs"), ("grep", "search"),
    ("run_tests", "exec"), ("shell", "exec"), ("git_diff", "vcs"), ("git_commit", "vcs"), ("web_fetch", "net"),
)
_MODELS = ("claude-sonnet-4", "claude-opus-4", "gpt-4.1", "gpt-4o-mini", "gemini-2.5-pro", "llama-3.3-70b")
_PROVIDERS = {"claude": "anthropic", "gpt": "openai", "gemini": "google", "llama": "meta"}
_NAME_A = ("fix", "add", "refactor", "investigate", "migrate", "speed-up", "document", "review", "port", "debug")
_NAME_B = ("auth", "billing", "search", "cache", "parser", "scheduler", "exporter", "cli", "api", "ui", "db",
           "ingest", "metrics", "sync", "upload", "webhooks", "reports", "i18n", "payments", "queue")
_NAME_C = ("flaky-test", "timeout", "memory-leak", "endpoint", "pagination", "retry-logic", "config",
           "error-handling", "logging", "tests", "schema", "rate-limit", "docs", "perf", "race")
_EXTS = (".py", ".rs", ".ts", ".go", ".md", ".toml", ".json", ".sql")
_STOP = ("end_turn", "tool_use", "max_tokens", "stop_sequence")


_PAIRS = [a + b for a in "0123456789ABCDEFGHJKMNPQRSTVWXYZ" for b in "0123456789ABCDEFGHJKMNPQRSTVWXYZ"]
_TIME_CACHE: dict[int, str] = {}


def ulid(ms: int, rand80: int) -> str:
    """A ULID (48-bit ms time + 80 random bits, Crockford base32) from two-character table lookups."""
    t = _TIME_CACHE.get(ms)
    if t is None:
        if len(_TIME_CACHE) > 4096:
            _TIME_CACHE.clear()
        v = ms & 0xFFFF_FFFF_FFFF
        t = _TIME_CACHE[ms] = (_PAIRS[v >> 40] + _PAIRS[(v >> 30) & 1023] + _PAIRS[(v >> 20) & 1023]
                               + _PAIRS[(v >> 10) & 1023] + _PAIRS[v & 1023])
    p = _PAIRS
    r = rand80
    return (t + p[r >> 70] + p[(r >> 60) & 1023] + p[(r >> 50) & 1023] + p[(r >> 40) & 1023]
            + p[(r >> 30) & 1023] + p[(r >> 20) & 1023] + p[(r >> 10) & 1023] + p[r & 1023])


@dataclass
class BranchPlan:
    name: str
    branch_id: str
    parent: str | None  # parent branch id
    fork_point_seq: int
    depth: int
    events: int = 0


@dataclass
class Manifest:
    """What a generated journal holds, for benchmarks and tests to find their way around it."""

    seed: int
    sessions: int
    events: int
    big: int
    files: list[str] = field(default_factory=list)
    big_session_id: str = ""
    big_session_name: str = ""
    big_branches: list[dict[str, Any]] = field(default_factory=list)  # BranchPlan as dicts, creation order
    deepest_branch: str = ""  # name
    rare_word: str = RARE_WORD
    rare_word_events: int = 0
    needle: str = BIG_NEEDLE
    needle_events: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    payload_bytes_avg: float = 0.0
    payload_bytes_max: int = 0
    payloads_over_64k: int = 0
    generate_s: float = 0.0
    import_s: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls(**json.loads(text))


class _Gen:
    """Shared state: the random stream, a pool of sentences, statistics."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        r = self.rng
        self.sentences = []
        for _ in range(3000):
            words = r.choices(_WORDS, k=r.randint(6, 22))
            s = " ".join(words)
            self.sentences.append(s[0].upper() + s[1:] + r.choice((".", ".", ".", "?", ":")))
        self.kinds: dict[str, int] = {}
        self.payload_bytes = 0
        self.payload_max = 0
        self.payload_big = 0
        self.rare_left = 0
        self.rare_count = 0
        self.needle_count = 0

    def text(self, lo: int, hi: int) -> str:
        return " ".join(self.rng.choices(self.sentences, k=self.rng.randint(lo, hi)))

    def big_text(self, size: int) -> str:
        parts, n = [], 0
        r = self.rng
        line = 0
        while n < size:
            line += 1
            s = f"{line:5d}  {r.choice(self.sentences)}"
            parts.append(s)
            n += len(s) + 1
        return "\n".join(parts)


class _Session:
    """Emits one session's events as JSON Lines, tracking each branch's head the way the journal assigns seq."""

    def __init__(self, g: _Gen, start_ts: int, budget: int, *, name: str | None = None) -> None:
        self.g = g
        self.r = g.rng
        self.ts = start_ts
        self.budget = budget
        self.cap = budget - 1  # one event is kept back for SessionClosed
        self.lines: list[str] = []
        self.heads: dict[str, int] = {"main": 0}
        self.model = self.r.choice(_MODELS)
        self.session_id = self._id()
        self.name = name or f"{self.r.choice(_NAME_A)}-{self.r.choice(_NAME_B)}-{self.r.choice(_NAME_C)}"
        self.needle_branch: str | None = None
        self.needle_after = 0
        self.current_branch = "main"

    # ------------------------------------------------------------------ primitives

    def _id(self) -> str:
        return ulid(self.ts // 1000, self.r.getrandbits(80))

    @property
    def left(self) -> int:
        return self.budget - len(self.lines)

    def emit(self, branch: str, payload: dict[str, Any], *, run_id: str | None = None,
             parent_id: str | None = None, metadata: str = "{}", schema_version: int = 1) -> str:
        r = self.r
        self.ts += int(r.expovariate(1 / 1_500_000)) + 1000  # ~1.5 s apart on average
        event_id = self._id()
        if len(self.lines) >= self.cap:  # over budget: the run is cut short here (as a live session would be)
            return event_id
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        n = len(body)
        g = self.g
        g.payload_bytes += n
        if n > g.payload_max:
            g.payload_max = n
        if n > 65536:
            g.payload_big += 1
        kind = payload["type"]
        g.kinds[kind] = g.kinds.get(kind, 0) + 1
        run = f'"run_id":"{run_id}",' if run_id else ""
        parent = f'"parent_id":"{parent_id}",' if parent_id else ""
        self.lines.append(
            f'{{"event_id":"{event_id}","session_id":"{self.session_id}","branch_id":"{branch}",{run}"seq":0,'
            f'"timestamp":{self.ts},{parent}"payload":{body},"metadata":{metadata},"schema_version":{schema_version}}}'
        )
        self.heads[branch] += 1
        return event_id

    # ------------------------------------------------------------------ structure

    def create(self) -> None:
        r = self.r
        params = {"temperature": f"{r.choice((0, 0.2, 0.5, 0.7, 1.0))}", "max_tokens": str(r.choice((4096, 8192, 16384)))}
        if r.random() < 0.6:
            params["repo"] = f"acme/{r.choice(_NAME_B)}-service"
        self.ts -= 1_500_000
        self.emit("main", {"type": "SessionCreated", "name": self.name, "config": {"model": self.model, "params": params}},
                  metadata=json.dumps({"client": "lago-cli/0.9.2", "user": f"user{r.randint(1, 40)}"}, separators=(",", ":")))

    def branch(self, parent: str, name: str, *, fork: int | None = None) -> str:
        """BranchCreated on ``parent``: fork in the middle of the parent's events (at most its head now)."""
        head = self.heads[parent]
        if fork is None:
            fork = self.r.randint(max(1, head // 3), max(1, (2 * head) // 3)) if head else 0
        fork = min(fork, head)
        branch_id = self._id()
        self.emit(parent, {"type": "BranchCreated", "new_branch_id": branch_id, "fork_point_seq": fork, "name": name})
        self.heads[branch_id] = 0
        return branch_id

    def run(self, branch: str) -> None:
        """One agent run: steps of messages and tool calls, with the occasional policy, file, error..."""
        r, g = self.r, self.g
        run_id = self._id()
        self.emit(branch, {"type": "RunStarted", "provider": _PROVIDERS[self.model.split("-")[0]],
                           "max_iterations": r.choice((10, 20, 30, 50))}, run_id=run_id)
        steps = r.randint(1, 6)
        tin = tout = 0
        for step in range(steps):
            if self.left <= 0:
                return
            self.emit(branch, {"type": "StepStarted", "index": step}, run_id=run_id)
            if step == 0:
                content = g.text(1, 6)
                if len(self.lines) >= self.cap:
                    return
                if g.rare_left > 0:
                    content += f" Also check the {RARE_WORD} fixture."
                    g.rare_left -= 1
                    g.rare_count += 1
                self.emit(branch, {"type": "Message", "role": "user", "content": content}, run_id=run_id)
            if r.random() < 0.05:
                for i in range(r.randint(2, 5)):
                    self.emit(branch, {"type": "TextDelta", "delta": r.choice(g.sentences), "index": i}, run_id=run_id)
            p, c = r.randint(800, 60000), r.randint(20, 1500)
            tin, tout = tin + p, tout + c
            content = g.text(1, 5)
            if self.needle_branch == branch and len(self.lines) >= self.needle_after and g.needle_count < 3 \
                    and len(self.lines) < self.cap:
                content += f" Marker {BIG_NEEDLE} reached."
                g.needle_count += 1
            self.emit(branch, {"type": "Message", "role": "assistant", "content": content, "model": self.model,
                               "token_usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}},
                      run_id=run_id)
            calls = r.choice((0, 1, 1, 2, 2, 3))
            for _ in range(calls):
                self.tool_call(branch, run_id)
            roll = r.random()
            if roll < 0.03:
                self.emit(branch, {"type": "StatePatched", "index": step, "revision": r.randint(1, 500),
                                   "patch": [{"op": "replace", "path": f"/plan/{step}", "value": r.choice(g.sentences)}]},
                          run_id=run_id)
            elif roll < 0.04:
                self.emit(branch, {"type": "ErrorRaised", "message": f"provider returned 529 overloaded: {r.choice(g.sentences)}"},
                          run_id=run_id)
            elif roll < 0.05:
                self.emit(branch, {"type": "Custom", "event_type": r.choice(("eval.score", "ci.status", "note")),
                                   "data": {"score": round(r.random(), 3), "note": r.choice(g.sentences)}}, run_id=run_id)
            elif roll < 0.053:
                self.emit(branch, {"type": UNKNOWN_KIND, "flux": round(r.uniform(0, 9), 2), "unit": "mWb",
                                   "probe": {"id": f"qf-{r.randint(1, 9)}", "calibrated": r.random() < 0.5}},
                          run_id=run_id, schema_version=2)
            elif roll < 0.058:
                self.emit(branch, {"type": "ContextCompacted", "dropped_count": r.randint(3, 40),
                                   "tokens_before": r.randint(90000, 190000), "tokens_after": r.randint(20000, 60000)},
                          run_id=run_id)
            elif roll < 0.06:
                self.emit(branch, {"type": "SnapshotCreated", "snapshot_id": self._id(), "snapshot_type": "full",
                                   "covers_through_seq": self.heads[branch], "data_hash": f"{r.getrandbits(128):032x}",
                                   "size_bytes": r.randint(1000, 10**6)}, run_id=run_id)
            self.emit(branch, {"type": "StepFinished", "index": step, "stop_reason": r.choice(_STOP),
                               "directive_count": calls}, run_id=run_id)
        if r.random() < 0.04:
            self.emit(branch, {"type": "RunErrored", "error": f"tool loop aborted: {r.choice(g.sentences)}"}, run_id=run_id)
        else:
            self.emit(branch, {"type": "RunFinished", "reason": "completed", "total_iterations": steps,
                               "final_answer": g.text(1, 3),
                               "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}},
                      run_id=run_id)

    def tool_call(self, branch: str, run_id: str) -> None:
        r, g = self.r, self.g
        tool, category = r.choice(_TOOLS)
        call_id = "toolu_" + ulid(self.ts // 1000, r.getrandbits(80))
        path = f"src/{r.choice(_NAME_B)}/{r.choice(_NAME_C).replace('-', '_')}{r.choice(_EXTS)}"
        if tool in ("run_tests", "shell"):
            args: Any = {"command": f"pytest tests/{r.choice(_NAME_B)} -q -k {r.choice(_WORDS)}", "cwd": "/workspace",
                         "timeout_s": 600}
        elif tool == "grep":
            args = {"pattern": r.choice(_WORDS), "path": "src/"}
        elif tool == "web_fetch":
            args = {"url": f"https://docs.example.com/{r.choice(_NAME_B)}/{r.choice(_WORDS)}"}
        else:
            args = {"path": path}
        if r.random() < 0.08:
            decision = "deny" if r.random() < 0.1 else "allow"
            self.emit(branch, {"type": "PolicyEvaluated", "tool_name": tool, "decision": decision,
                               "rule_matches": [f"rule-{r.randint(1, 30)}"], "explanation": r.choice(g.sentences)},
                      run_id=run_id)
            if category in ("exec", "vcs", "net") and r.random() < 0.5:
                approval_id = self._id()
                self.emit(branch, {"type": "ApprovalRequested", "approval_id": approval_id, "call_id": call_id,
                                   "tool_name": tool, "arguments": args, "risk": r.choice(("low", "medium", "high"))},
                          run_id=run_id)
                self.emit(branch, {"type": "ApprovalResolved", "approval_id": approval_id,
                                   "decision": r.choice(("approved", "approved", "denied")), "reason": r.choice(g.sentences)},
                          run_id=run_id)
        req = self.emit(branch, {"type": "ToolCallRequested", "call_id": call_id, "tool_name": tool, "arguments": args,
                                 "category": category}, run_id=run_id)
        tool_run = self._id()
        self.emit(branch, {"type": "ToolCallStarted", "tool_run_id": tool_run, "tool_name": tool}, run_id=run_id, parent_id=req)
        if r.random() < 0.04:
            self.emit(branch, {"type": "ToolCallFailed", "call_id": call_id, "tool_name": tool,
                               "error": f"exit status 1: {r.choice(g.sentences)}"}, run_id=run_id, parent_id=req)
            return
        roll = r.random()
        if roll < 0.0015:
            result: Any = {"content": g.big_text(r.randint(90_000, 110_000))}  # a big file read
        elif roll < 0.02:
            result = {"content": g.big_text(r.randint(3000, 20000))}
        elif tool in ("run_tests", "shell"):
            result = {"exit_code": r.choice((0, 0, 0, 1)), "stdout": g.text(1, 4)}
        else:
            result = {"content": g.text(1, 3)}
        self.emit(branch, {"type": "ToolCallCompleted", "tool_run_id": tool_run, "call_id": call_id, "tool_name": tool,
                           "result": result, "duration_ms": r.randint(5, 90_000),
                           "status": "ok" if r.random() < 0.95 else "error"}, run_id=run_id, parent_id=req)
        if tool in ("write_file", "edit_file"):
            self.emit(branch, {"type": "FileWrite", "path": path, "blob_hash": f"{r.getrandbits(160):040x}",
                               "size_bytes": r.randint(100, 50_000), "content_type": "text/plain"}, run_id=run_id)
        elif tool == "shell" and r.random() < 0.2:
            if r.random() < 0.5:
                self.emit(branch, {"type": "FileDelete", "path": path}, run_id=run_id)
            else:
                self.emit(branch, {"type": "FileRename", "old_path": path, "new_path": path + ".bak"}, run_id=run_id)

    def showcase(self, branch: str) -> None:
        """One run holding every rarer family once, so even a tiny journal has them all."""
        r, g = self.r, self.g
        run_id = self._id()
        self.emit(branch, {"type": "RunStarted", "provider": "anthropic", "max_iterations": 5}, run_id=run_id)
        self.emit(branch, {"type": "StepStarted", "index": 0}, run_id=run_id)
        self.emit(branch, {"type": "Message", "role": "system", "content": "You are a careful coding agent."}, run_id=run_id)
        for i in range(3):
            self.emit(branch, {"type": "TextDelta", "delta": r.choice(g.sentences), "index": i}, run_id=run_id)
        self.emit(branch, {"type": "PolicyEvaluated", "tool_name": "shell", "decision": "allow",
                           "rule_matches": ["rule-1"], "explanation": "shell is allowed in the sandbox"}, run_id=run_id)
        approval_id, call_id = self._id(), "toolu_" + self._id()
        self.emit(branch, {"type": "ApprovalRequested", "approval_id": approval_id, "call_id": call_id,
                           "tool_name": "shell", "arguments": {"command": "rm -rf build/"}, "risk": "high"}, run_id=run_id)
        self.emit(branch, {"type": "ApprovalResolved", "approval_id": approval_id, "decision": "approved",
                           "reason": "build output only"}, run_id=run_id)
        req = self.emit(branch, {"type": "ToolCallRequested", "call_id": call_id, "tool_name": "shell",
                                 "arguments": {"command": "rm -rf build/"}, "category": "exec"}, run_id=run_id)
        self.emit(branch, {"type": "ToolCallStarted", "tool_run_id": self._id(), "tool_name": "shell"},
                  run_id=run_id, parent_id=req)
        self.emit(branch, {"type": "ToolCallFailed", "call_id": call_id, "tool_name": "shell",
                           "error": "exit status 1: permission denied"}, run_id=run_id, parent_id=req)
        self.emit(branch, {"type": "FileWrite", "path": "src/app.py", "blob_hash": f"{r.getrandbits(160):040x}",
                           "size_bytes": 1234, "content_type": "text/x-python"}, run_id=run_id)
        self.emit(branch, {"type": "FileRename", "old_path": "src/app.py", "new_path": "src/main.py"}, run_id=run_id)
        self.emit(branch, {"type": "FileDelete", "path": "src/old.py"}, run_id=run_id)
        self.emit(branch, {"type": "StatePatched", "index": 0, "revision": 1,
                           "patch": [{"op": "add", "path": "/plan", "value": ["read", "fix", "test"]}]}, run_id=run_id)
        self.emit(branch, {"type": "ContextCompacted", "dropped_count": 12, "tokens_before": 150000,
                           "tokens_after": 40000}, run_id=run_id)
        self.emit(branch, {"type": "SnapshotCreated", "snapshot_id": self._id(), "snapshot_type": "full",
                           "covers_through_seq": self.heads[branch], "data_hash": f"{r.getrandbits(128):032x}",
                           "size_bytes": 52000}, run_id=run_id)
        self.emit(branch, {"type": "ErrorRaised", "message": "provider returned 529 overloaded"}, run_id=run_id)
        self.emit(branch, {"type": "Custom", "event_type": "eval.score", "data": {"score": 0.82}}, run_id=run_id)
        self.emit(branch, {"type": UNKNOWN_KIND, "flux": 3.2, "unit": "mWb", "probe": {"id": "qf-7", "calibrated": False}},
                  run_id=run_id, metadata='{"host":"eval-runner-1"}', schema_version=2)
        self.emit(branch, {"type": "StepFinished", "index": 0, "stop_reason": "end_turn", "directive_count": 1},
                  run_id=run_id)
        self.emit(branch, {"type": "RunErrored", "error": "tool loop aborted after a denied command"}, run_id=run_id)
        self.emit(branch, {"type": "SessionClosed", "reason": "paused"})
        self.emit(branch, {"type": "SessionResumed"})

    def finish(self) -> list[str]:
        """The session's last event: most sessions are closed, the rest are left waiting for the user."""
        r = self.r
        self.cap = self.budget
        while self.left > 0:
            if r.random() < 0.6:
                self.emit(self.current_branch, {"type": "SessionClosed", "reason": r.choice(("done", "user closed", "idle"))})
            else:
                self.emit(self.current_branch, {"type": "Message", "role": "user", "content": self.g.text(1, 2)})
        return self.lines


def _small_session(g: _Gen, start_ts: int, budget: int) -> list[str]:
    s = _Session(g, start_ts, budget)
    r = s.r
    s.create()
    branches = ["main"]
    fork_at = budget * r.uniform(0.3, 0.7) if budget >= 30 and r.random() < 0.15 else None
    while s.left > 1:
        if fork_at is not None and len(s.lines) >= fork_at:
            branches.append(s.branch("main", f"try-{r.choice(_NAME_C)}"))
            s.current_branch = branches[-1]
            fork_at = None
        s.run(s.current_branch)
        if len(branches) > 1 and r.random() < 0.3:
            s.current_branch = r.choice(branches)
    if len(branches) > 1 and s.left > 1 and r.random() < 0.3:
        s.emit("main", {"type": "BranchMerged", "source_branch_id": branches[1], "merge_seq": s.heads[branches[1]]})
    return s.finish()


def _big_session(g: _Gen, start_ts: int, budget: int, levels: int) -> tuple[list[str], _Session, list[BranchPlan]]:
    """Nested branches: each level forks the previous one in its middle; work is interleaved between them."""
    s = _Session(g, start_ts, budget, name="big-refactor-monorepo")
    r = s.r
    s.create()
    s.run("main")
    s.showcase("main")
    plans = [BranchPlan("main", "main", None, 0, 0)]
    chain = ["main"]
    phase = budget // (levels + 2)
    side = 0
    for level in range(levels + 1):
        if level > 0:
            parent = chain[-1]
            name = ".".join(["explore"] + [f"l{k}" for k in range(2, level + 1)])
            bid = s.branch(parent, name)
            plans.append(BranchPlan(name, bid, parent, int(json.loads(s.lines[-1])["payload"]["fork_point_seq"]), level))
            chain.append(bid)
            if level == levels:
                s.needle_branch = bid
        target = (level + 1) * phase if level < levels else budget
        if level == levels:
            s.needle_after = len(s.lines) + int((budget - len(s.lines)) * 0.7)
        first = True  # every level gets at least one run of its own before the next fork
        while s.left > 1 and (first or len(s.lines) < target):
            roll = 0.0 if first else r.random()
            first = False
            if roll < 0.65:
                br = chain[-1]
            elif roll < 0.97 or side >= 4:
                br = r.choice(chain)
            else:
                side += 1
                parent = r.choice(chain)
                name = f"side-{side}"
                bid = s.branch(parent, name)
                plans.append(BranchPlan(name, bid, parent,
                                        int(json.loads(s.lines[-1])["payload"]["fork_point_seq"]), -1))
                chain_side = bid
                for _ in range(r.randint(2, 8)):
                    s.run(chain_side)
                    if len(s.lines) >= target:
                        break
                continue
            for _ in range(r.randint(3, 15)):  # a burst of runs on one branch
                s.run(br)
                if s.left <= 1 or len(s.lines) >= target:
                    break
        s.current_branch = chain[-1]
    lines = s.finish()
    for p in plans:
        p.events = s.heads[p.branch_id]
    return lines, s, plans


def _sizes(r: random.Random, n: int, total: int) -> list[int]:
    """``n`` skewed session sizes (lognormal, at least 3) summing to exactly ``total``."""
    if n <= 0:
        return []
    w = [r.lognormvariate(0, 1.1) for _ in range(n)]
    scale = max(0, total - 3 * n) / sum(w)
    sizes = [3 + int(x * scale) for x in w]
    diff = total - sum(sizes)
    i = 0
    while diff != 0 and n:
        step = 1 if diff > 0 else -1
        if sizes[i % n] + step >= 3:
            sizes[i % n] += step
            diff -= step
        i += 1
        if i > 10 * n + abs(diff) * 2 and diff < 0:
            break
    return sizes


def generate_files(out_dir: Path, *, sessions: int = 10_000, events: int = 1_000_000, big: int = 200_000,
                   seed: int = 7, chunk: int = 100_000, levels: int = 5) -> tuple[Manifest, Any]:
    """A generator of JSONL file paths (written lazily, one chunk at a time) and the manifest it fills."""
    out_dir.mkdir(parents=True, exist_ok=True)
    m = Manifest(seed=seed, sessions=sessions, events=events, big=big)
    g = _Gen(seed)
    r = g.rng
    big = min(big, events) if sessions > 0 else 0
    others = _sizes(r, sessions - 1, events - big) if big else _sizes(r, sessions, events)
    starts = sorted(BASE_TS_US - r.randint(0, SPAN_US) for _ in range(len(others) + (1 if big else 0)))
    big_index = len(starts) // 3 if big else -1  # the big session starts early: it runs for days
    rare_sessions = set(r.sample(range(len(others)), min(6, len(others)))) if others else set()

    def files():
        nonlocal m
        buf: list[str] = []
        nfile = 0

        def flush():
            nonlocal nfile, buf
            path = out_dir / f"synth-{nfile:04d}.jsonl"
            path.write_text("\n".join(buf) + "\n", encoding="utf-8")
            m.files.append(path.name)
            nfile += 1
            buf = []
            return path

        k = 0
        for i, start in enumerate(starts):
            if i == big_index:
                if buf:
                    yield flush()
                lines, s, plans = _big_session(g, start, big, levels)
                m.big_session_id, m.big_session_name = s.session_id, s.name
                m.big_branches = [asdict(p) for p in plans]
                m.deepest_branch = max((p for p in plans if p.depth >= 0), key=lambda p: p.depth).name
                for off in range(0, len(lines), chunk):  # the big session alone, in order, over its own files
                    buf = lines[off:off + chunk]
                    yield flush()
                continue
            if k in rare_sessions:
                g.rare_left = 1
            buf.extend(_small_session(g, start, others[k]))
            g.rare_left = 0
            k += 1
            if len(buf) >= chunk:
                yield flush()
        if buf:
            yield flush()
        total = sum(g.kinds.values())
        m.kinds = dict(sorted(g.kinds.items()))
        m.payload_bytes_avg = round(g.payload_bytes / max(1, total), 1)
        m.payload_bytes_max = g.payload_max
        m.payloads_over_64k = g.payload_big
        m.rare_word_events = g.rare_count
        m.needle_events = g.needle_count

    return m, files()


def build(out: str | os.PathLike[str], *, sessions: int = 10_000, events: int = 1_000_000, big: int = 200_000,
          seed: int = 7, chunk: int = 100_000, levels: int = 5, work_dir: str | os.PathLike[str] | None = None,
          keep_files: bool = False, log=None) -> Manifest:  # noqa: ANN001
    """Generate the JSONL files and import them into the journal at ``out`` (which must not exist yet).

    Generation of the next file overlaps with the import of the previous one (DuckDB works outside the GIL).
    The manifest is also written beside the journal as ``OUT.synth.json``.
    """
    from .journal import Journal

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; remove it first")
    tmp = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="lago-synth-"))
    manifest, paths = generate_files(tmp, sessions=sessions, events=events, big=big, seed=seed, chunk=chunk,
                                     levels=levels)
    journal = Journal(out)
    q: queue.Queue[Path | None] = queue.Queue(maxsize=2)
    errors: list[BaseException] = []
    import_s = [0.0]

    def importer() -> None:
        while True:
            path = q.get()
            if path is None:
                return
            if errors:
                continue
            try:
                t = time.perf_counter()
                res = journal.import_file(path)
                dt = time.perf_counter() - t
                import_s[0] += dt
                if log:
                    log(f"  imported {path.name}: {res.events} events in {dt:.2f}s ({res.events / dt:,.0f}/s)")
            except BaseException as exc:  # noqa: BLE001 - reported by the caller
                errors.append(exc)

    worker = threading.Thread(target=importer, name="synth-import", daemon=True)
    worker.start()
    t0 = time.perf_counter()
    gen_s = 0.0
    try:
        while True:
            t = time.perf_counter()
            try:
                path = next(paths)
            except StopIteration:
                gen_s += time.perf_counter() - t
                break
            gen_s += time.perf_counter() - t
            q.put(path)
            if errors:
                break
    finally:
        q.put(None)
        worker.join()
        journal.close()
        if not keep_files and not work_dir:
            shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        raise errors[0]
    manifest.generate_s = round(gen_s, 3)
    manifest.import_s = round(import_s[0], 3)
    Path(str(out) + ".synth.json").write_text(manifest.to_json(), encoding="utf-8")
    if log:
        total = time.perf_counter() - t0
        log(f"built {out}: {manifest.events:,} events in {total:.1f}s (generate {gen_s:.1f}s, import "
            f"{import_s[0]:.1f}s = {manifest.events / max(import_s[0], 1e-9):,.0f} events/s)")
    return manifest


def load_manifest(out: str | os.PathLike[str]) -> Manifest:
    return Manifest.from_json(Path(str(out) + ".synth.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lago_tui.synth", description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the journal to create (must not exist)")
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=200_000, help="events of the one big session with nested branches")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--chunk", type=int, default=100_000, help="events per imported JSONL file")
    ap.add_argument("--levels", type=int, default=5, help="nesting depth of the big session's branches")
    ap.add_argument("--jsonl-dir", help="write (and keep) the JSONL files here")
    args = ap.parse_args(argv)
    if args.events < args.sessions * 3 + args.big:
        ap.error("--events must be at least 3 per session plus --big")
    try:
        m = build(args.out, sessions=args.sessions, events=args.events, big=args.big, seed=args.seed,
                  chunk=args.chunk, levels=args.levels, work_dir=args.jsonl_dir, keep_files=bool(args.jsonl_dir),
                  log=lambda s: print(s, flush=True))
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"big session {m.big_session_id} ({m.big_session_name}); deepest branch {m.deepest_branch}; "
          f"payload avg {m.payload_bytes_avg} B, max {m.payload_bytes_max} B, {m.payloads_over_64k} over 64 KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
