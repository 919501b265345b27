#!/usr/bin/env python3
"""Generate ``assets/demo.jsonl``: deterministic demo data for lago-tui.

The output is a journal export in the wire format of Lago (the open-source Rust
event-sourcing project): one ``EventEnvelope`` JSON object per line, with
``seq`` always 0 (the journal assigns sequence numbers per (session, branch),
starting at 1, in file order, when the file is imported).

It contains a dozen made-up but realistic AI-agent sessions spread over
2026-11-01 .. 2026-11-20 UTC: coding agents fixing bugs and migrating code,
research agents summarising papers and drafting a threat model, ops agents
triaging incidents (with policy checks and human approvals), a data-analysis
agent, a nightly eval run, a docs Q&A bot and a tiny local smoke test. Several
sessions have branches (including a branch of a branch and a merge back into
main), one run errors out, and the file contains a ``Custom`` event plus event
types this project does not know (kept verbatim by the importer), one of them
with ``schema_version`` 2.

Everything is derived from fixed seeds and fixed start times, and the script
uses only the standard library, so running it twice gives byte-identical output.

Regenerate with::

    python assets/make_demo.py            # writes assets/demo.jsonl
    python assets/make_demo.py -o out.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import textwrap
from datetime import datetime, timezone
from pathlib import Path

SEED = 20261101
MAIN = "main"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DEFAULT_OUT = Path(__file__).resolve().parent / "demo.jsonl"


# --------------------------------------------------------------------------- helpers


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """UTC wall-clock time -> microseconds since the epoch."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc).timestamp()) * 1_000_000


def tok(text: str) -> int:
    """Rough token estimate (4 characters a token)."""
    return max(1, (len(text) + 3) // 4)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hhmm(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1_000_000, tz=timezone.utc).strftime("%H:%M")


def iso(micros: int) -> str:
    return datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


class Session:
    """Builds the events of one session, keeping per-branch seq counts so that
    fork points and merge seqs are valid for the importer's numbering."""

    def __init__(
        self,
        name: str,
        *,
        model: str,
        provider: str,
        params: dict[str, str],
        start: int,
        system_tokens: int = 900,
        reasoning: tuple[int, int] | None = None,
        metadata: dict[str, str] | None = None,
        created_metadata: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.rng = random.Random(f"{SEED}:{name}")
        self.model = model
        self.provider = provider
        self.t = start + self.rng.randrange(0, 999_999)
        self.events: list[dict] = []
        self.meta = dict(metadata or {})
        self.branch = MAIN
        self.count: dict[str, int] = {MAIN: 0}
        self.branch_names: dict[str, str] = {MAIN: "main"}
        self.parent: dict[str, str | None] = {MAIN: None}
        self.ctx: dict[str, int] = {MAIN: 0}
        self.rev: dict[str, int] = {MAIN: 0}
        self.system_tokens = system_tokens
        self.reasoning = reasoning
        self.run: dict | None = None
        self.step_index = 0
        self.sid = self.new_id()
        self.emit(
            {"type": "SessionCreated", "name": name, "config": {"model": model, "params": params}},
            gap=0,
            meta=created_metadata,
        )

    # -- ids / time

    def new_id(self) -> str:
        n = ((self.t // 1000) << 80) | self.rng.getrandbits(80)
        return "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in range(25, -1, -1))

    def call_id(self) -> str:
        r = self.rng
        if self.provider == "anthropic":
            return "toolu_01" + "".join(r.choice(BASE62) for _ in range(22))
        if self.provider in ("openai", "google"):
            return "call_" + "".join(r.choice(BASE62) for _ in range(24))
        return "chatcmpl-tool-" + "".join(r.choice("0123456789abcdef") for _ in range(32))

    def wait(self, gap) -> None:
        if isinstance(gap, tuple):
            secs = self.rng.uniform(*gap)
        else:
            secs = float(gap)
        self.t += max(1, int(secs * 1_000_000))

    # -- raw emission

    def emit(self, payload: dict, *, gap=(0.05, 0.6), parent: str | None = None,
             meta: dict[str, str] | None = None, schema_version: int = 1) -> str:
        self.wait(gap)
        ev: dict = {
            "event_id": self.new_id(),
            "session_id": self.sid,
            "branch_id": self.branch,
        }
        if self.run is not None:
            ev["run_id"] = self.run["id"]
        ev["seq"] = 0
        ev["timestamp"] = self.t
        if parent:
            ev["parent_id"] = parent
        ev["payload"] = payload
        m = dict(self.meta)
        m.update(meta or {})
        ev["metadata"] = m
        ev["schema_version"] = schema_version
        self.count[self.branch] += 1
        self.events.append(ev)
        return ev["event_id"]

    # -- session lifecycle

    def close(self, reason: str | None = "completed", gap=(5, 40)) -> None:
        assert self.run is None
        p = {"type": "SessionClosed"}
        if reason:
            p["reason"] = reason
        self.emit(p, gap=gap)

    def resume(self, when: int) -> None:
        """SessionResumed at wall-clock time ``when`` (plus a little jitter)."""
        assert self.run is None and when > self.t
        self.t = when
        self.emit({"type": "SessionResumed"}, gap=(0.5, 40))

    # -- branches

    def fork(self, name: str, *, fork_point: int | None = None, gap=(3, 30)) -> str:
        assert self.run is None, "fork outside runs"
        assert name not in self.branch_names.values(), f"duplicate branch name {name}"
        parent = self.branch
        fp = self.count[parent] if fork_point is None else fork_point
        assert 1 <= fp <= self.count[parent], (name, fp, self.count[parent])
        self.wait(gap)
        bid = self.new_id()
        self.emit(
            {"type": "BranchCreated", "new_branch_id": bid, "fork_point_seq": fp, "name": name},
            gap=0,
        )
        self.count[bid] = 0
        self.branch_names[bid] = name
        self.parent[bid] = parent
        self.ctx[bid] = self.ctx[parent]
        self.rev[bid] = self.rev[parent]
        return bid

    def on(self, branch: str) -> None:
        assert self.run is None, "switch branches outside runs"
        self.branch = branch

    def merge(self, source: str, gap=(5, 60)) -> None:
        assert self.run is None
        assert self.count[source] >= 1
        self.emit(
            {"type": "BranchMerged", "source_branch_id": source, "merge_seq": self.count[source]},
            gap=gap,
        )

    # -- runs and steps

    def run_start(self, max_iterations: int | None = None, gap=(0.2, 1.5)) -> None:
        assert self.run is None
        self.wait(gap)
        self.run = {"id": self.new_id(), "p": 0, "c": 0, "max": max_iterations}
        self.step_index = 0
        p = {"type": "RunStarted", "provider": self.provider}
        if max_iterations is not None:
            p["max_iterations"] = max_iterations
        self.emit(p, gap=(0.001, 0.01))

    def run_finish(self, final_answer: str | None = None, reason: str = "completed") -> None:
        r = self.run
        assert r["max"] is None or self.step_index <= r["max"]
        assert reason != "max_iterations" or self.step_index == r["max"]
        p = {"type": "RunFinished", "reason": reason, "total_iterations": self.step_index}
        if final_answer:
            p["final_answer"] = final_answer
        p["usage"] = {"prompt_tokens": r["p"], "completion_tokens": r["c"], "total_tokens": r["p"] + r["c"]}
        self.emit(p, gap=(0.05, 0.3))
        self.run = None

    def run_error(self, error: str) -> None:
        self.emit({"type": "RunErrored", "error": error}, gap=(0.05, 0.3))
        self.run = None

    def step(self) -> int:
        idx = self.step_index
        self.step_index += 1
        self.emit({"type": "StepStarted", "index": idx}, gap=(0.01, 0.2))
        return idx

    def step_end(self, stop_reason: str = "end_turn", directives: int = 0) -> None:
        self.emit(
            {"type": "StepFinished", "index": self.step_index - 1, "stop_reason": stop_reason,
             "directive_count": directives},
            gap=(0.01, 0.1),
        )

    # -- messages

    def user(self, text: str, gap=(3, 25), meta=None) -> str:
        self.ctx[self.branch] += tok(text) + 4
        return self.emit({"type": "Message", "role": "user", "content": text}, gap=gap, meta=meta)

    def system(self, text: str, gap=(0.01, 0.05)) -> str:
        self.ctx[self.branch] += tok(text) + 4
        return self.emit({"type": "Message", "role": "system", "content": text}, gap=gap)

    def tool_message(self, text: str) -> str:
        self.ctx[self.branch] += tok(text) + 4
        return self.emit({"type": "Message", "role": "tool", "content": text}, gap=(0.01, 0.05))

    def say(self, text: str, *, calls: int = 0, gap_extra: float = 0.0) -> str:
        completion = tok(text) + calls * self.rng.randint(30, 90)
        if self.reasoning:
            completion += self.rng.randint(*self.reasoning)
        prompt = self.system_tokens + self.ctx[self.branch]
        latency = (self.rng.uniform(0.5, 2.2) + prompt / 30_000 + completion / self.rng.uniform(45, 95)
                   + gap_extra)
        self.ctx[self.branch] += tok(text) + calls * 60
        if self.run is not None:
            self.run["p"] += prompt
            self.run["c"] += completion
        return self.emit(
            {"type": "Message", "role": "assistant", "content": text, "model": self.model,
             "token_usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}},
            gap=latency,
        )

    def stream(self, text: str, pieces: int) -> str:
        """TextDelta events followed by the complete assistant Message."""
        cuts = sorted(self.rng.sample(range(1, len(text)), pieces - 1))
        bounds = [0, *cuts, len(text)]
        first = True
        for i in range(pieces):
            self.emit({"type": "TextDelta", "delta": text[bounds[i]:bounds[i + 1]], "index": i},
                      gap=(0.4, 1.2) if first else (0.05, 0.4))
            first = False
        return self.say(text, gap_extra=-0.5)

    # -- tools

    def tool(self, name: str, args: dict, result: dict, ms: int, *, status: str = "ok",
             category: str | None = None, policy: tuple | None = None, ctx: int | None = None) -> str:
        """Requested -> (PolicyEvaluated allow) -> Started -> Completed. ``ctx`` overrides how many
        tokens the result adds to the context window (for results summarised in the event)."""
        call_id = self.call_id()
        p = {"type": "ToolCallRequested", "call_id": call_id, "tool_name": name, "arguments": args}
        if category:
            p["category"] = category
        req = self.emit(p, gap=(0.02, 0.2))
        if policy is not None:
            rules, explanation = policy
            self.emit({"type": "PolicyEvaluated", "tool_name": name, "decision": "allow",
                       "rule_matches": rules, "explanation": explanation}, gap=(0.002, 0.02))
        self._run_tool(req, call_id, name, result, ms, status, ctx)
        return call_id

    def _run_tool(self, req: str, call_id: str, name: str, result: dict, ms: int, status: str,
                  ctx: int | None = None) -> None:
        self.wait((0.01, 0.12))
        run_id = self.new_id()
        self.emit({"type": "ToolCallStarted", "tool_run_id": run_id, "tool_name": name},
                  gap=0, parent=req)
        self.emit({"type": "ToolCallCompleted", "tool_run_id": run_id, "call_id": call_id,
                   "tool_name": name, "result": result, "duration_ms": ms, "status": status},
                  gap=ms / 1000, parent=req)
        self.ctx[self.branch] += (tok(json.dumps(result)) if ctx is None else ctx) + 8

    def tool_fail(self, name: str, args: dict, error: str, *, ms: int | None = None,
                  category: str | None = None) -> str:
        """A tool call that fails (started, then failed after ``ms``)."""
        call_id = self.call_id()
        p = {"type": "ToolCallRequested", "call_id": call_id, "tool_name": name, "arguments": args}
        if category:
            p["category"] = category
        req = self.emit(p, gap=(0.02, 0.2))
        if ms is not None:
            self.wait((0.01, 0.12))
            self.emit({"type": "ToolCallStarted", "tool_run_id": self.new_id(), "tool_name": name},
                      gap=0, parent=req)
            self.wait(ms / 1000)
        self.emit({"type": "ToolCallFailed", "call_id": call_id, "tool_name": name, "error": error},
                  gap=(0.001, 0.05), parent=req)
        self.ctx[self.branch] += tok(error) + 8
        return call_id

    def tool_denied(self, name: str, args: dict, *, rules: list[str], explanation: str,
                    category: str | None = None) -> str:
        call_id = self.call_id()
        p = {"type": "ToolCallRequested", "call_id": call_id, "tool_name": name, "arguments": args}
        if category:
            p["category"] = category
        req = self.emit(p, gap=(0.02, 0.2))
        self.emit({"type": "PolicyEvaluated", "tool_name": name, "decision": "deny",
                   "rule_matches": rules, "explanation": explanation}, gap=(0.002, 0.02))
        self.emit({"type": "ToolCallFailed", "call_id": call_id, "tool_name": name,
                   "error": f"denied by policy: {explanation}"}, gap=(0.001, 0.01), parent=req)
        self.ctx[self.branch] += tok(explanation) + 12
        return call_id

    def gated_tool(self, name: str, args: dict, *, risk: str, rules: list[str], explanation: str,
                   decision: str, reason: str | None, wait_s: float, approver: str,
                   result: dict | None = None, ms: int = 0, category: str | None = None) -> str:
        call_id = self.call_id()
        p = {"type": "ToolCallRequested", "call_id": call_id, "tool_name": name, "arguments": args}
        if category:
            p["category"] = category
        req = self.emit(p, gap=(0.02, 0.2))
        self.emit({"type": "PolicyEvaluated", "tool_name": name, "decision": "require_approval",
                   "rule_matches": rules, "explanation": explanation}, gap=(0.002, 0.02))
        approval_id = self.new_id()
        areq = self.emit({"type": "ApprovalRequested", "approval_id": approval_id, "call_id": call_id,
                          "tool_name": name, "arguments": args, "risk": risk}, gap=(0.01, 0.05))
        res = {"type": "ApprovalResolved", "approval_id": approval_id, "decision": decision}
        if reason:
            res["reason"] = reason
        self.emit(res, gap=wait_s, parent=areq, meta={"approver": approver})
        if decision == "approved":
            self._run_tool(req, call_id, name, result or {}, ms, "ok")
        else:
            self.emit({"type": "ToolCallFailed", "call_id": call_id, "tool_name": name,
                       "error": f"approval {decision}" + (f": {reason}" if reason else "")},
                      gap=(0.01, 0.05), parent=req)
            self.ctx[self.branch] += 30
        return call_id

    # -- files, state, misc

    def write(self, path: str, content: str | None = None, *, size: int | None = None,
              content_type: str | None = None) -> None:
        if content is None:
            content = f"{self.name}:{path}:{self.t}"
        p = {"type": "FileWrite", "path": path, "blob_hash": sha256(content),
             "size_bytes": size if size is not None else len(content.encode("utf-8"))}
        if content_type:
            p["content_type"] = content_type
        self.emit(p, gap=(0.005, 0.05))

    def delete(self, path: str) -> None:
        self.emit({"type": "FileDelete", "path": path}, gap=(0.005, 0.05))

    def rename(self, old: str, new: str) -> None:
        self.emit({"type": "FileRename", "old_path": old, "new_path": new}, gap=(0.005, 0.05))

    def patch(self, patch: dict, *, with_index: bool = True) -> None:
        self.rev[self.branch] += 1
        p = {"type": "StatePatched"}
        if with_index and self.run is not None:
            p["index"] = self.step_index - 1
        p["patch"] = patch
        p["revision"] = self.rev[self.branch]
        self.emit(p, gap=(0.005, 0.05))

    def compact(self, dropped: int, keep: float) -> None:
        before = self.system_tokens + self.ctx[self.branch]
        after = self.system_tokens + int(self.ctx[self.branch] * keep)
        self.emit({"type": "ContextCompacted", "dropped_count": dropped, "tokens_before": before,
                   "tokens_after": after}, gap=(2.0, 6.0))
        self.ctx[self.branch] = after - self.system_tokens

    def snapshot(self, kind: str = "full") -> None:
        covers = self.count[self.branch]
        sid = self.new_id()
        self.emit({"type": "SnapshotCreated", "snapshot_id": sid, "snapshot_type": kind,
                   "covers_through_seq": covers,
                   "data_hash": sha256(f"{self.sid}/{self.branch}/{covers}"),
                   "size_bytes": 2048 + covers * self.rng.randint(600, 1400)}, gap=(0.2, 1.0))

    def error(self, message: str) -> None:
        self.emit({"type": "ErrorRaised", "message": message}, gap=(0.01, 0.3))

    def custom(self, event_type: str, data: dict, meta=None) -> None:
        self.emit({"type": "Custom", "event_type": event_type, "data": data}, gap=(0.01, 0.2), meta=meta)


# --------------------------------------------------------------------------- sessions


def fix_flaky_auth_test() -> Session:
    s = Session(
        "fix-flaky-auth-test", model="claude-sonnet-4", provider="anthropic",
        params={"temperature": "0.2", "max_tokens": "8192", "repo": "acme/identity-service",
                "base_branch": "main"},
        start=at(2026, 11, 2, 9, 14, 7), created_metadata={"client": "lago-cli/0.9.2", "user": "m.kowalski"},
    )
    ws = "/workspace/identity-service"
    s.run_start(max_iterations=30)
    s.step()
    s.user(
        "test_refresh_token_rotation in tests/auth/test_tokens.py has been failing on CI roughly one run "
        "in twenty since last week (builds #8812, #8820 and #8831). It never fails for me locally. Can you "
        "find out why and fix it properly? Please don't change the production token TTLs.",
        gap=(1, 3))
    s.say("I'll start by trying to reproduce the flake: run the test a few hundred times in a row with "
          "random ordering disabled, then look at how token expiry is computed.", calls=1)
    s.tool("run_tests", {"command": "pytest tests/auth/test_tokens.py -k test_refresh_token_rotation "
                                    "--count=200 -q -p no:randomly", "cwd": ws, "timeout_s": 600},
           {"exit_code": 1, "stdout_tail": dedent("""
                ....................F........................................................
                =================================== FAILURES ===================================
                ___________________ test_refresh_token_rotation[137-200] ___________________

                    def test_refresh_token_rotation(client, user, short_ttl):
                        old = issue_refresh_token(user)
                >       new = rotate_refresh_token(old)

                tests/auth/test_tokens.py:86:
                _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
                src/identity/tokens.py:71: in rotate_refresh_token
                    _ensure_not_expired(token)
                E   identity.errors.TokenExpired: refresh token 8c1f0e2d expired at 1793610847 (now=1793610847.0031)
                =========================== short test summary info ============================
                FAILED tests/auth/test_tokens.py::test_refresh_token_rotation[137-200]
                FAILED tests/auth/test_tokens.py::test_refresh_token_rotation[151-200]
                FAILED tests/auth/test_tokens.py::test_refresh_token_rotation[188-200]
                3 failed, 197 passed in 41.27s""")},
           41_862, category="exec")
    s.step_end("tool_use", 1)
    s.step()
    s.say("Reproduced: 3 failures in 200 runs, and the token is reported expired only ~3 ms after it "
          "was issued. `expires_at` is an integer, so I suspect the expiry is truncated to whole seconds. "
          "Let me read the test and the token module.", calls=2)
    s.tool("read_file", {"path": "tests/auth/test_tokens.py", "start_line": 60, "end_line": 95},
           {"content": dedent("""
                @pytest.fixture
                def short_ttl(settings):
                    # keep the suite fast: tokens live for one second in these tests
                    settings.REFRESH_TTL_SECONDS = 1
                    yield settings


                def test_refresh_token_rotation(client, user, short_ttl):
                    old = issue_refresh_token(user)
                    new = rotate_refresh_token(old)
                    assert new.jti != old.jti
                    assert new.expires_at >= old.expires_at
                    with pytest.raises(TokenRevoked):
                        rotate_refresh_token(old)"""), "total_lines": 214},
           14, category="fs")
    s.tool("read_file", {"path": "src/identity/tokens.py", "start_line": 30, "end_line": 80},
           {"content": dedent("""
                def issue_refresh_token(user: User) -> RefreshToken:
                    now = int(time.time())
                    token = RefreshToken(
                        jti=secrets.token_hex(4),
                        user_id=user.id,
                        issued_at=now,
                        expires_at=now + settings.REFRESH_TTL_SECONDS,
                    )
                    _store.save(token)
                    return token


                def _ensure_not_expired(token: RefreshToken) -> None:
                    if time.time() >= token.expires_at:
                        raise TokenExpired(
                            f"refresh token {token.jti} expired at {token.expires_at} (now={time.time():.4f})"
                        )


                def rotate_refresh_token(token: RefreshToken) -> RefreshToken:
                    _ensure_not_revoked(token)
                    _ensure_not_expired(token)
                    _store.revoke(token.jti)
                    return issue_refresh_token(_users.get(token.user_id))"""), "total_lines": 131},
           11, category="fs")
    s.step_end("tool_use", 2)
    s.step()
    s.say(dedent("""
        Found the root cause. `issue_refresh_token` computes

            now = int(time.time())
            expires_at = now + settings.REFRESH_TTL_SECONDS

        `int()` truncates, so a token issued at 12:00:06.970 gets `expires_at` = 12:00:07 with a 1 s TTL:
        it effectively lives only 30 ms. `_ensure_not_expired` compares against the *float* `time.time()`,
        so if the test issues the token in the last few milliseconds of a wall-clock second, the immediate
        rotation already sees it as expired.

        The probability of hitting this is roughly (time between issue and rotate) / 1 s. Locally that is
        ~2-5 ms (in-memory store), on CI the Postgres-backed store makes it ~40-60 ms, which matches the
        ~1 in 20 failure rate you're seeing.

        In production the TTL is 14 days, so the truncation only shaves up to a second off — harmless but
        still wrong. The proper fix is to stop truncating: keep sub-second precision for `issued_at` /
        `expires_at` (or round the expiry *up*). The test's 1 s TTL is also fragile on its own; a
        deterministic regression test using a frozen clock would pin the behaviour down.

        Two other call sites use the same pattern: I'll grep for them before changing anything."""), calls=1)
    s.tool("grep", {"pattern": r"int\(time\.time\(\)\)", "path": "src/", "glob": "*.py"},
           {"matches": [
               {"file": "src/identity/tokens.py", "line": 31, "text": "    now = int(time.time())"},
               {"file": "src/identity/tokens.py", "line": 97, "text": "    revoked_at = int(time.time())"},
               {"file": "src/identity/sessions.py", "line": 112, "text": "    expires = int(time.time()) + ttl"},
               {"file": "src/identity/mfa/totp.py", "line": 29, "text": "    counter = int(time.time()) // TOTP_STEP"},
           ], "truncated": False}, 63, category="fs")
    s.step_end("tool_use", 1)
    s.step()
    s.say("Three of the four hits have the same bug; `mfa/totp.py` is correct as it is (TOTP counters are "
          "*supposed* to be floor(unix_time / 30)). I'll wait for your go-ahead on the approach: fix the "
          "expiry arithmetic in `tokens.py` and `sessions.py`, plus add a frozen-clock regression test.")
    s.step_end("end_turn", 0)
    s.run_finish("Root cause: int(time.time()) truncation shortens token lifetime by up to 1 s; with the "
                 "1 s test TTL the immediate rotation sometimes sees an expired token.")

    # Branch: deterministic regression test with freezegun, forked after the diagnosis.
    fz = s.fork("try-freezegun", gap=(60, 140))
    s.on(fz)
    s.run_start(max_iterations=10)
    s.step()
    s.user("On a side branch: write a deterministic regression test with freezegun that issues the token "
           "at hh:mm:06.999 and rotates it 2 ms later. It should fail on the current code.", gap=(2, 6))
    s.say("Adding `test_refresh_token_issued_at_second_boundary` using `freezegun.freeze_time` with a "
          "manually ticked clock.", calls=1)
    s.tool("edit_file", {"path": "tests/auth/test_tokens.py", "edits": [{
        "old": "def test_refresh_token_rotation(client, user, short_ttl):",
        "new": dedent("""
            @freeze_time("2026-11-02 09:14:06.999", tick=False)
            def test_refresh_token_issued_at_second_boundary(client, user, short_ttl, freezer):
                old = issue_refresh_token(user)
                freezer.tick(timedelta(milliseconds=2))
                new = rotate_refresh_token(old)  # must not raise TokenExpired
                assert new.expires_at - old.expires_at == pytest.approx(0.002, abs=1e-6)


            def test_refresh_token_rotation(client, user, short_ttl):""")}]},
           {"ok": True, "replacements": 1, "diff_stat": "+9 -0"}, 22, category="fs")
    s.write("tests/auth/test_tokens.py", size=7431, content_type="text/x-python")
    s.step_end("tool_use", 1)
    s.step()
    s.say("Running it against the unfixed code; it should fail every time.", calls=1)
    s.tool("run_tests", {"command": "pytest tests/auth/test_tokens.py -k second_boundary --count=20 -q",
                         "cwd": ws, "timeout_s": 300},
           {"exit_code": 1, "stdout_tail": "E   identity.errors.TokenExpired: refresh token 3ab9e771 expired at "
                                           "1793610847 (now=1793610847.0010)\n20 failed in 3.02s"},
           3_911, category="exec")
    s.step_end("tool_use", 1)
    s.step()
    s.say("Deterministic: 20/20 failures with the clock frozen at the second boundary. This test will go "
          "green once the truncation is fixed on main; merge this branch after that.")
    s.step_end("end_turn", 0)
    s.run_finish("Added a deterministic freezegun regression test that fails 20/20 on the buggy code.")

    # Back on main: the actual fix.
    s.on(MAIN)
    s.run_start(max_iterations=30, gap=(40, 120))
    s.step()
    s.user("Looks right. Go ahead with the fix on main.", gap=(0.05, 0.3))
    s.say("Switching `issued_at`/`expires_at` to float seconds (the column is already `double precision`), "
          "and doing the same in `sessions.py`.", calls=2)
    s.tool("edit_file", {"path": "src/identity/tokens.py", "edits": [
        {"old": "    now = int(time.time())", "new": "    now = time.time()"},
        {"old": "    revoked_at = int(time.time())", "new": "    revoked_at = time.time()"}]},
        {"ok": True, "replacements": 2, "diff_stat": "+2 -2"}, 19, category="fs")
    s.write("src/identity/tokens.py", size=4388, content_type="text/x-python")
    s.tool("edit_file", {"path": "src/identity/sessions.py", "edits": [
        {"old": "    expires = int(time.time()) + ttl", "new": "    expires = time.time() + ttl"}]},
        {"ok": True, "replacements": 1, "diff_stat": "+1 -1"}, 17, category="fs")
    s.write("src/identity/sessions.py", size=6902, content_type="text/x-python")
    s.step_end("tool_use", 2)
    s.step()
    s.say("Running the auth suite.", calls=1)
    s.tool("run_tests", {"command": "pytest tests/auth -q -n 4", "cwd": ws, "timeout_s": 900},
           {"exit_code": 1, "stdout_tail": dedent("""
                FAILED tests/auth/test_sessions.py::test_session_cookie_max_age - AssertionError: assert 'Max-Age=3599.998' == 'Max-Age=3600'
                1 failed, 187 passed in 28.44s""")},
           29_310, category="exec")
    s.step_end("tool_use", 1)
    s.step()
    s.say("The cookie `Max-Age` is now derived from a float expiry and renders with decimals. Cookies need "
          "an integer there, so I'll round up when formatting the header instead of truncating the stored "
          "expiry.", calls=1)
    s.tool("edit_file", {"path": "src/identity/sessions.py", "edits": [
        {"old": "    max_age = expires - time.time()",
         "new": "    max_age = math.ceil(expires - time.time())"}]},
        {"ok": True, "replacements": 1, "diff_stat": "+2 -1"}, 15, category="fs")
    s.write("src/identity/sessions.py", size=6921, content_type="text/x-python")
    s.tool("run_tests", {"command": "pytest tests/auth -q -n 4", "cwd": ws, "timeout_s": 900},
           {"exit_code": 0, "stdout_tail": "188 passed in 27.91s"}, 28_702, category="exec")
    s.tool("run_tests", {"command": "pytest tests/auth/test_tokens.py -k test_refresh_token_rotation "
                                    "--count=500 -q -p no:randomly", "cwd": ws, "timeout_s": 1200},
           {"exit_code": 0, "stdout_tail": "500 passed in 98.13s"}, 98_944, category="exec")
    s.step_end("tool_use", 3)
    s.step()
    s.say("Auth suite green, and 500/500 runs of the previously flaky test pass. Ready to merge the "
          "regression test from `try-freezegun`.")
    s.step_end("end_turn", 0)
    s.run_finish("Fixed expiry truncation in tokens.py and sessions.py; cookie Max-Age rounds up.")

    s.merge(fz, gap=(30, 90))
    s.run_start(max_iterations=5)
    s.step()
    s.say("Merged. Running the full suite once more with the regression test included.", calls=1)
    s.tool("run_tests", {"command": "pytest -q -n auto", "cwd": ws, "timeout_s": 1800},
           {"exit_code": 0, "stdout_tail": "413 passed, 2 skipped in 71.06s"}, 72_415, category="exec")
    s.step_end("tool_use", 1)
    s.step()
    s.say(dedent("""
        All green: 413 passed, 2 skipped.

        Summary of the change:
        - `src/identity/tokens.py`: `issued_at`, `expires_at` and `revoked_at` keep sub-second precision
          instead of `int(time.time())`.
        - `src/identity/sessions.py`: same fix; `Max-Age` is rounded up with `math.ceil` when rendering
          the cookie.
        - `tests/auth/test_tokens.py`: new `test_refresh_token_issued_at_second_boundary` (freezegun),
          which failed 20/20 before the fix.

        Production TTLs are unchanged. `mfa/totp.py` intentionally still floors the time."""))
    s.step_end("end_turn", 0)
    s.run_finish("Flaky test fixed; full suite green (413 passed).")
    s.close("completed")
    return s


RAG_SUMMARY = dedent("""
    # Retrieval-augmented generation, 2020-2024: what matters for the support bot

    This is a reading guide to ten papers that shaped RAG, written for the team that runs our support
    bot (hybrid BM25 + embedding retrieval over ~40k help-centre articles, gpt-4.1 as the generator).
    For every paper: the problem, the core idea, and what it means for us. Recommendations are at the end.

    ## 1. RAG: Lewis et al., 2020 (arXiv:2005.11401)
    **Problem.** Purely parametric language models store knowledge in their weights: it is hard to
    update, hard to inspect, and they hallucinate when they don't know.
    **Idea.** Pair a pre-trained seq2seq generator (BART) with a dense passage retriever (DPR) over a
    Wikipedia index, and treat the retrieved passage as a latent variable: marginalise over the top-k
    passages either once for the whole answer (RAG-Sequence) or per generated token (RAG-Token). The
    query encoder and the generator are fine-tuned end to end; the document index is left fixed, so the
    knowledge can be swapped by re-indexing.
    **For us.** This is the architecture we already run. The lesson that still matters: the index is
    the knowledge, so freshness and coverage of the help-centre index beat model upgrades.

    ## 2. REALM: Guu et al., 2020 (arXiv:2002.08909)
    **Idea.** Put retrieval inside *pre-training*: a masked language model learns to retrieve documents
    that help it fill in masked spans, backpropagating through the retriever and refreshing the index
    asynchronously.
    **For us.** Not actionable (we don't pre-train), but it is the origin of the "retriever trained by
    the reader's loss" idea that Atlas later made practical.

    ## 3. Fusion-in-Decoder: Izacard & Grave, 2020 (arXiv:2007.01282)
    **Idea.** Encode each (question, passage) pair independently, then let the decoder attend over
    the concatenation of all encoded passages. Cost grows linearly with the number of passages, and
    answer quality keeps improving as more passages are added.
    **For us.** Evidence that recall matters more than precision *if the reader can cope*. With a
    long-context generator we can afford to pass 20-30 chunks instead of our current 5.

    ## 4. RETRO: Borgeaud et al., 2021 (arXiv:2112.04426)
    **Idea.** A decoder that attends (via chunked cross-attention) to neighbours retrieved from a
    database of trillions of tokens; a much smaller model with retrieval matches far larger models
    without it.
    **For us.** Architectural, not applicable to a hosted API model. Useful as an argument that
    retrieval can substitute for parameters, i.e. a smaller, cheaper generator may be fine.

    ## 5. Atlas: Izacard et al., 2022 (arXiv:2208.03299)
    **Idea.** Jointly pre-train and fine-tune retriever and reader; show strong few-shot results on
    knowledge-intensive tasks with far fewer parameters than closed-book models. The paper compares
    several ways of training the retriever from the reader's signal.
    **For us.** The retriever is the component worth adapting. We can't train gpt-4.1, but we *can*
    fine-tune the embedding model on our own (query, clicked article) and (ticket, resolving article) pairs.

    ## 6. HyDE: Gao et al., 2022 (arXiv:2212.10496)
    **Idea.** For zero-shot dense retrieval without relevance labels, ask an LLM to write a
    *hypothetical* answer document, embed that, and retrieve real documents near it.
    **For us.** Cheap to try for short or vague queries ("sync broken after update") where the raw
    query embeds poorly. Costs one extra LLM call; gate it on query length.

    ## 7. Self-RAG: Asai et al., 2023 (arXiv:2310.11511)
    **Idea.** Train the LM to emit reflection tokens: decide *whether* to retrieve, judge whether each
    passage is relevant, and whether its own output is supported by the passages.
    **For us.** We can emulate the critique step with a grading prompt: "is every claim in this answer
    supported by the cited articles?" and refuse or escalate when it isn't.

    ## 8. CRAG: Yan et al., 2024 (arXiv:2401.15884)
    **Idea.** Corrective RAG: a lightweight retrieval evaluator labels the retrieved set correct,
    incorrect or ambiguous. Correct passages are refined (decompose into strips, filter, recompose);
    incorrect ones trigger a fallback (web search in the paper).
    **For us.** The most directly useful paper. Our fallback should not be web search but "I don't
    know" plus a hand-off to a human agent. A relevance gate would have prevented most of the bad
    answers in last quarter's escalation review.

    ## 9. RAPTOR: Sarthi et al., 2024 (arXiv:2401.18059)
    **Idea.** Recursively embed, cluster and summarise chunks into a tree; retrieve from all levels
    so that questions needing information spread across many chunks can be answered.
    **For us.** Helpful for broad questions ("what changed in billing this year?"), which are rare in
    support traffic. Medium priority.

    ## 10. GraphRAG: Edge et al., 2024 (arXiv:2404.16130)
    **Idea.** Use an LLM to extract an entity/relationship graph from the corpus, detect communities
    (Leiden), pre-summarise each community, and answer *global* questions by map-reduce over the
    community summaries.
    **For us.** Indexing is expensive and the benefit is for corpus-level sense-making, not for
    "how do I reset my 2FA". Skip for now.

    ## How they relate
    - *Where retrieval happens:* pre-training (REALM, RETRO, Atlas) vs. fine-tuning (RAG, FiD) vs.
      inference-time only (HyDE, CRAG, RAPTOR, GraphRAG, and our system).
    - *What is trained:* retriever + reader jointly (RAG, REALM, Atlas), reader only (FiD), the LM's
      own retrieval decisions (Self-RAG), or nothing (HyDE, CRAG's fallback logic, RAPTOR, GraphRAG).
    - *The recurring lesson:* retrieval quality dominates. Most gains come from better recall, better
      ranking, and knowing when the retrieved context is not good enough.

    ## Recommendations
    1. **Measure first.** Build a 300-question eval set from resolved tickets, with the resolving
       article as ground truth. Track recall@20 for retrieval and answer faithfulness separately.
    2. **Retrieve more, then rerank.** Raise k from 5 to 30 and add a cross-encoder reranker before
       passing the top 8-10 chunks to the generator (FiD lesson, cheap to try).
    3. **Add a relevance gate (CRAG-style).** If the reranker's top score is below a threshold, answer
       "I'm not sure" and offer a human hand-off instead of improvising.
    4. **Try HyDE on short queries** (fewer than 6 words), behind a flag, and compare recall@20.
    5. **Fine-tune the embedding model** on click and ticket-resolution pairs (Atlas lesson).
    6. **Faithfulness check (Self-RAG-style)** as an offline metric first, online later if latency allows.
    7. **Not now:** REALM/RETRO-style training, GraphRAG. Revisit RAPTOR if broad questions grow.
    """)

RAG_PAPERS = [
    ("2005.11401", "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks", 19),
    ("2002.08909", "REALM: Retrieval-Augmented Language Model Pre-Training", 12),
    ("2007.01282", "Leveraging Passage Retrieval with Generative Models for Open Domain Question Answering", 8),
    ("2112.04426", "Improving language models by retrieving from trillions of tokens", 43),
    ("2208.03299", "Atlas: Few-shot Learning with Retrieval Augmented Language Models", 30),
    ("2212.10496", "Precise Zero-Shot Dense Retrieval without Relevance Labels", 12),
    ("2310.11511", "Self-RAG: Learning to Retrieve, Generate, and Critique through Self-Reflection", 30),
    ("2401.15884", "Corrective Retrieval Augmented Generation", 16),
    ("2401.18059", "RAPTOR: Recursive Abstractive Processing for Tree-Organized Retrieval", 23),
    ("2404.16130", "From Local to Global: A Graph RAG Approach to Query-Focused Summarization", 21),
]


def summarise_rag_papers() -> Session:
    s = Session(
        "summarise-rag-papers", model="gpt-4.1", provider="openai",
        params={"temperature": "0.3", "max_tokens": "16000", "top_p": "1.0"},
        start=at(2026, 11, 3, 15, 41, 22), system_tokens=420,
    )
    s.run_start(max_iterations=40)
    s.step()
    s.system("You are a careful research assistant. Cite the arXiv id for every claim about a paper. "
             "Prefer primary sources. Answer in GitHub-flavoured Markdown.")
    s.user("I need a summary of the key retrieval-augmented generation papers from 2020-2024 for the team "
           "wiki. For each one: what problem it tackles, the core idea, and what it means for us. We run a "
           "support bot over ~40k help-centre articles with a hybrid BM25 + embedding retriever and gpt-4.1 "
           "as the generator. End with concrete recommendations.", gap=(1, 2))
    s.say("I'll search arXiv for the canonical RAG papers first, then read the ten most relevant ones.", calls=1)
    s.tool("arxiv_search", {"query": "retrieval-augmented generation", "max_results": 25, "sort": "relevance",
                            "date_from": "2020-01-01", "date_to": "2024-12-31"},
           {"total": 25, "results": [{"id": pid, "title": title} for pid, title, _ in RAG_PAPERS]
            + [{"id": "2312.10997", "title": "Retrieval-Augmented Generation for Large Language Models: A Survey"},
               {"id": "2305.06983", "title": "Active Retrieval Augmented Generation"}]},
           1_843, category="web")
    s.step_end("tool_use", 1)
    failed_once = False
    for chunk_start in range(0, len(RAG_PAPERS), 4):
        chunk = RAG_PAPERS[chunk_start:chunk_start + 4]
        s.step()
        s.say("Fetching full text: " + ", ".join(f"arXiv:{pid}" for pid, _, _ in chunk) + ".", calls=len(chunk))
        n = 0
        for pid, title, pages in chunk:
            if pid == "2401.15884" and not failed_once:
                failed_once = True
                s.tool_fail("fetch_pdf", {"arxiv_id": pid, "max_chars": 80000},
                            "HTTP 429 Too Many Requests from export.arxiv.org (Retry-After: 15)",
                            ms=612, category="web")
                s.wait((15, 17))
                n += 1
            chars = min(80000, pages * s.rng.randint(3600, 4400))
            s.tool("fetch_pdf", {"arxiv_id": pid, "max_chars": 80000},
                   {"arxiv_id": pid, "title": title, "pages": pages, "chars": chars,
                    "truncated": chars == 80000},
                   s.rng.randint(1800, 9400), category="web", ctx=chars // 4)
            n += 1
        s.step_end("tool_use", n)
    s.compact(dropped=s.rng.randint(14, 18), keep=0.19)
    s.step()
    s.say(RAG_SUMMARY, calls=0)
    s.step_end("end_turn", 0)
    s.step()
    s.say("Saving it to the wiki repo.", calls=1)
    s.tool("write_file", {"path": "docs/wiki/rag-landscape-2020-2024.md", "bytes": len(RAG_SUMMARY.encode())},
           {"ok": True}, 9, category="fs")
    s.write("docs/wiki/rag-landscape-2020-2024.md", RAG_SUMMARY, content_type="text/markdown")
    s.step_end("tool_use", 1)
    s.run_finish("Wrote docs/wiki/rag-landscape-2020-2024.md: ten papers summarised, seven recommendations.")

    s.run_start(max_iterations=10, gap=(300, 900))
    s.step()
    s.user("Great, thanks. Could you add a compact comparison table at the top (when retrieval happens, "
           "what is trained, cost to adopt for us)?", gap=(0.05, 0.3))
    table = dedent("""
        | Paper | Retrieval during | Trained | Cost to adopt for us |
        |---|---|---|---|
        | RAG (2005.11401) | fine-tuning + inference | retriever query encoder + generator | n/a (already our design) |
        | REALM (2002.08909) | pre-training | retriever + LM | not feasible |
        | FiD (2007.01282) | inference | reader | low: raise k, rerank |
        | RETRO (2112.04426) | pre-training + inference | LM with chunked cross-attention | not feasible |
        | Atlas (2208.03299) | pre-training + fine-tuning | retriever + reader | medium: fine-tune embedder |
        | HyDE (2212.10496) | inference | nothing | low: one extra LLM call |
        | Self-RAG (2310.11511) | inference (adaptive) | LM with reflection tokens | low as offline metric |
        | CRAG (2401.15884) | inference | small evaluator | low-medium: relevance gate |
        | RAPTOR (2401.18059) | inference | nothing (index-time summaries) | medium |
        | GraphRAG (2404.16130) | inference | nothing (index-time graph) | high |""")
    s.say("Here is the table; I've inserted it below the introduction.\n\n" + table, calls=1)
    s.tool("edit_file", {"path": "docs/wiki/rag-landscape-2020-2024.md",
                         "insert_after_line": 5, "text": table},
           {"ok": True, "lines_inserted": 12}, 11, category="fs")
    s.write("docs/wiki/rag-landscape-2020-2024.md", RAG_SUMMARY + "\n" + table, content_type="text/markdown")
    s.step_end("tool_use", 1)
    s.run_finish("Added comparison table.")
    s.custom("feedback.rating", {"rating": "thumbs_up", "user": "lena.h", "comment": "exactly what I needed"})
    s.close("completed", gap=(60, 200))
    return s


def incident_2231_db_latency() -> Session:
    s = Session(
        "incident-2231-db-latency", model="o3-mini", provider="openai",
        params={"reasoning_effort": "high", "max_tokens": "4096", "incident": "INC-2231",
                "cluster": "prod-eu-west-1", "runbook": "runbooks/db-latency.md"},
        start=at(2026, 11, 5, 2, 25, 51), reasoning=(400, 2600), system_tokens=1800,
        metadata={"host": "ops-bot-2"}, created_metadata={"trigger": "pagerduty-webhook"},
    )
    ro = (["ops.read_only"], "read-only observability call")
    s.run_start(max_iterations=40)
    s.step()
    s.user("[PagerDuty] INC-2231 triggered (P2): orders-api p99 latency > 2s for 10m in prod-eu-west-1. "
           "Primary DB: orders-pg-primary (Postgres 16.4). On-call: r.okafor. Please triage.", gap=(0.5, 1))
    s.patch({"incident": {"id": "INC-2231", "status": "investigating", "severity": "P2"}})
    s.say("Checking latency and error rates for orders-api, and the DB's connection and lock metrics.", calls=2)
    s.tool("query_metrics", {"promql": "histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket"
                                       "{service=\"orders-api\"}[5m])))", "range": "1h", "step": "60s"},
           {"unit": "s", "points": 60, "summary": {"min": 0.21, "max": 4.87, "last": 3.92},
            "change_point": "2026-11-05T02:14:00Z"}, 412, category="observability", policy=ro)
    s.tool("query_metrics", {"promql": "sum by (wait_event_type) (pg_stat_activity_count{instance=\"orders-pg-primary\"})",
                             "range": "1h", "step": "60s"},
           {"series": {"Lock": {"last": 61, "max": 74}, "Client": {"last": 12, "max": 19},
                       "IO": {"last": 3, "max": 9}, "null": {"last": 18, "max": 25}}}, 388,
           category="observability", policy=ro)
    s.step_end("tool_use", 2)
    s.step()
    s.say("p99 jumped at 02:14 UTC and ~60 backends are waiting on locks. Looking at who holds them.", calls=1)
    s.tool("pg_query", {"instance": "orders-pg-primary", "database": "orders", "sql": dedent("""
            SELECT pid, usename, application_name, state, wait_event_type,
                   now() - xact_start AS xact_age, left(query, 80) AS query
            FROM pg_stat_activity
            WHERE state <> 'idle' ORDER BY xact_start LIMIT 5""")},
           {"columns": ["pid", "usename", "application_name", "state", "wait_event_type", "xact_age", "query"],
            "rows": [
                [48213, "etl_reader", "reporting-etl", "idle in transaction", "Client", "00:47:12",
                 "SELECT * FROM order_events WHERE created_at >= '2026-11-04' FOR UPDATE"],
                [51877, "postgres", "autovacuum worker", "active", "Lock", "00:10:21",
                 "autovacuum: VACUUM public.order_events (to prevent wraparound)"],
                [52310, "orders_app", "orders-api", "active", "Lock", "00:00:03",
                 "UPDATE order_events SET status = $1 WHERE id = $2"],
                [52311, "orders_app", "orders-api", "active", "Lock", "00:00:03",
                 "UPDATE order_events SET status = $1 WHERE id = $2"],
                [52318, "orders_app", "orders-api", "active", "Lock", "00:00:02",
                 "INSERT INTO order_events (order_id, status, payload) VALUES ($1, $2, $3)"]],
            "row_count": 5}, 96, category="db", policy=ro)
    s.step_end("tool_use", 1)
    s.step()
    s.say(dedent("""
        Two candidate explanations:
        1. A `reporting-etl` transaction (pid 48213) has been *idle in transaction* for 47 minutes holding
           row locks from a `SELECT ... FOR UPDATE` on `order_events`; app writes queue behind it.
        2. An anti-wraparound autovacuum on `order_events` started at 02:16 and is itself waiting.

        Also ruling out connection-pool exhaustion in PgBouncer. I'll explore the hypotheses on separate
        branches so the timeline on main stays clean."""))
    s.step_end("end_turn", 0)
    s.run_finish(reason="completed", final_answer="Two hypotheses: idle-in-transaction ETL lock holder; "
                                                   "anti-wraparound autovacuum. Pool exhaustion to rule out.")

    triage_head = s.count[MAIN]
    pool = s.fork("hypothesis-connection-pool", gap=(5, 15))
    vac = s.fork("hypothesis-autovacuum", fork_point=triage_head, gap=(1, 4))

    s.on(pool)
    s.run_start(max_iterations=10)
    s.step()
    s.say("Checking PgBouncer pool saturation.", calls=1)
    s.tool("pgbouncer_show", {"instance": "orders-pgbouncer-0", "command": "SHOW POOLS"},
           {"rows": [{"database": "orders", "user": "orders_app", "cl_active": 118, "cl_waiting": 0,
                      "sv_active": 80, "sv_idle": 14, "sv_used": 0, "maxwait": 0, "pool_mode": "transaction"}]},
           57, category="db", policy=ro)
    s.step_end("tool_use", 1)
    s.step()
    s.say("No clients waiting (`cl_waiting` 0, `maxwait` 0) and 14 idle server connections: the pool is "
          "not the bottleneck. Ruling this hypothesis out.")
    s.step_end("end_turn", 0)
    s.run_finish("Ruled out: PgBouncer has idle server connections and no waiting clients.")

    s.on(vac)
    s.run_start(max_iterations=10)
    s.step()
    s.say("Checking vacuum progress and what it is waiting on.", calls=2)
    s.tool("pg_query", {"instance": "orders-pg-primary", "database": "orders",
                        "sql": "SELECT pid, phase, heap_blks_scanned, heap_blks_total FROM pg_stat_progress_vacuum"},
           {"columns": ["pid", "phase", "heap_blks_scanned", "heap_blks_total"],
            "rows": [[51877, "scanning heap", 4102933, 6019422]], "row_count": 1}, 31, category="db", policy=ro)
    s.tool("pg_query", {"instance": "orders-pg-primary", "database": "orders",
                        "sql": "SELECT pg_blocking_pids(51877) AS blockers"},
           {"columns": ["blockers"], "rows": [["{48213}"]], "row_count": 1}, 18, category="db", policy=ro)
    s.step_end("tool_use", 2)
    s.step()
    s.say("The vacuum is 68% through the heap but is itself blocked by pid 48213, the same idle ETL "
          "transaction. So the autovacuum is a victim, not the cause: both hypotheses collapse into #1.")
    s.step_end("end_turn", 0)
    s.run_finish("Autovacuum is blocked by pid 48213 as well; root cause is the idle-in-transaction ETL session.")

    s.on(MAIN)
    s.run_start(max_iterations=20, gap=(40, 90))
    s.step()
    s.user("Branches agree it's the ETL session. Mitigate.", gap=(0.05, 0.3), meta={"author": "r.okafor"})
    t_cause = s.t
    s.patch({"incident": {"status": "identified", "root_cause": "reporting-etl idle in transaction (pid 48213)"}})
    s.say("Terminating backend 48213. This is a write action on a production database, so it needs approval.",
          calls=1)
    s.gated_tool("pg_terminate_backend", {"instance": "orders-pg-primary", "pid": 48213},
                 risk="high", rules=["db.prod.write", "db.terminate_backend"],
                 explanation="terminating a backend on a production primary requires on-call approval",
                 decision="approved", reason="ETL owner (data-platform) notified in #inc-2231; go ahead",
                 wait_s=164.2, approver="r.okafor",
                 result={"terminated": True, "pid": 48213}, ms=12, category="db")
    t_kill = s.t
    s.step_end("tool_use", 1)
    s.step()
    s.say("Backend terminated. Watching recovery for a few minutes.", calls=1)
    s.wait((170, 200))
    s.tool("query_metrics", {"promql": "histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket"
                                       "{service=\"orders-api\"}[1m])))", "range": "15m", "step": "15s"},
           {"error": "query timed out in expression evaluation after 30s"}, 30_000,
           status="timeout", category="observability", policy=ro)
    s.error("Prometheus query exceeded the 30s budget (prometheus-eu-1 under load); retrying at 60s resolution")
    s.tool("query_metrics", {"promql": "histogram_quantile(0.99, sum by (le) (rate(http_server_duration_seconds_bucket"
                                       "{service=\"orders-api\"}[1m])))", "range": "15m", "step": "60s"},
           {"unit": "s", "points": 15, "summary": {"min": 0.19, "max": 3.71, "last": 0.23}}, 2_210,
           category="observability", policy=ro)
    s.tool("pg_query", {"instance": "orders-pg-primary", "database": "orders",
                        "sql": "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waits FROM pg_stat_activity"},
           {"columns": ["lock_waits"], "rows": [[0]], "row_count": 1}, 22, category="db", policy=ro)
    t_ok = s.t
    s.step_end("tool_use", 3)
    s.step()
    s.patch({"incident": {"status": "mitigated", "mitigated_at": iso(t_ok)}})
    timeline = dedent(f"""
        # INC-2231 orders-api p99 latency (prod-eu-west-1)

        - 02:14 p99 latency for orders-api rises from ~0.2 s to > 2 s
        - 02:16 anti-wraparound autovacuum starts on order_events, immediately blocked
        - 02:25 PagerDuty P2 triggered; ops-bot starts triage
        - {hhmm(t_cause)} root cause: reporting-etl session (pid 48213) idle in transaction since ~01:39, holding row locks
        - {hhmm(t_kill)} pg_terminate_backend(48213) approved by r.okafor and executed
        - {hhmm(t_ok)} lock waits at 0, p99 back to 0.23 s; autovacuum proceeding

        ## Follow-ups
        - data-platform: reporting-etl must not use SELECT ... FOR UPDATE against the primary; read from the replica
        - set idle_in_transaction_session_timeout = '5min' for role etl_reader
        - alert on transactions older than 10 min on orders-pg-primary""")
    s.say("Recovered: p99 is 0.23 s, no lock waits, and the vacuum is progressing. I've drafted the timeline "
          "and follow-ups for the post-mortem.\n\n" + timeline, calls=1)
    s.tool("write_file", {"path": "incidents/INC-2231/timeline.md", "bytes": len(timeline)}, {"ok": True}, 8,
           category="fs")
    s.write("incidents/INC-2231/timeline.md", timeline, content_type="text/markdown")
    s.step_end("tool_use", 1)
    s.run_finish("Mitigated: terminated idle-in-transaction ETL backend 48213; p99 back to 0.23 s.")
    s.patch({"incident": {"status": "resolved"}}, with_index=False)
    s.close("incident resolved", gap=(600, 900))
    return s


def weekly_churn_analysis() -> Session:
    s = Session(
        "weekly-churn-analysis", model="gpt-4.1", provider="openai",
        params={"temperature": "0", "max_tokens": "6000", "warehouse": "analytics.duckdb",
                "week": "2026-W45"},
        start=at(2026, 11, 6, 10, 5, 0), system_tokens=650,
    )
    s.run_start(max_iterations=25)
    s.step()
    s.user("Weekly churn report for 2026-W45 please: churn rate by plan vs. the previous four weeks, anything "
           "unusual, and a chart for the Monday deck.", gap=(1, 2))
    s.say("Querying cancellations by plan for the last five weeks.", calls=1)
    s.tool("run_sql", {"engine": "duckdb", "sql": dedent("""
            SELECT plan, date_trunc('week', cancelled_at) AS week, count(*) AS cancels
            FROM subscriptions
            WHERE cancelled_at >= DATE '2026-10-05'
            GROUP BY ALL ORDER BY week, plan""")},
           {"error": "Binder Error: Referenced column \"cancelled_at\" not found in FROM clause!\n"
                     "Candidate bindings: \"subscriptions.canceled_at\", \"subscriptions.created_at\""},
           38, status="error", category="data")
    s.step_end("tool_use", 1)
    s.step()
    s.say("The column is spelled `canceled_at`. Retrying, and computing the rate against active subscriptions "
          "at the start of each week.", calls=1)
    rows = []
    rates = {"starter": [3.1, 2.9, 3.3, 3.0, 3.2], "team": [1.6, 1.7, 1.5, 1.6, 2.9],
             "business": [0.8, 0.7, 0.9, 0.8, 0.8], "enterprise": [0.2, 0.1, 0.2, 0.2, 0.1]}
    weeks = ["2026-W41", "2026-W42", "2026-W43", "2026-W44", "2026-W45"]
    for plan, rs in rates.items():
        for w, r in zip(weeks, rs):
            rows.append([plan, w, r])
    s.tool("run_sql", {"engine": "duckdb", "sql": dedent("""
            WITH active AS (
              SELECT plan, week, count(*) AS n FROM weekly_active_subscriptions
              WHERE week BETWEEN '2026-W41' AND '2026-W45' GROUP BY ALL),
            cancels AS (
              SELECT plan, strftime(canceled_at, '%G-W%V') AS week, count(*) AS c
              FROM subscriptions WHERE canceled_at >= DATE '2026-10-05' GROUP BY ALL)
            SELECT a.plan, a.week, round(100.0 * coalesce(c.c, 0) / a.n, 1) AS churn_pct
            FROM active a LEFT JOIN cancels c USING (plan, week) ORDER BY plan, week""")},
           {"columns": ["plan", "week", "churn_pct"], "rows": rows, "row_count": len(rows)},
           214, category="data")
    s.step_end("tool_use", 1)
    s.patch({"findings": {"team_w45_churn_pct": 2.9, "team_baseline_pct": 1.6}})
    s.step()
    s.say("Team-plan churn nearly doubled in W45 (2.9% vs. a 1.6% baseline); the other plans are flat. "
          "Breaking down the team-plan cancellations by reason and by signup cohort.", calls=2)
    s.tool("run_sql", {"engine": "duckdb", "sql": "SELECT cancel_reason, count(*) AS n FROM subscriptions "
                                                  "WHERE plan = 'team' AND strftime(canceled_at, '%G-W%V') = '2026-W45' "
                                                  "GROUP BY ALL ORDER BY n DESC"},
           {"columns": ["cancel_reason", "n"],
            "rows": [["price_increase", 71], ["switched_to_competitor", 18], ["too_expensive", 16],
                     ["missing_feature", 9], ["other", 7]], "row_count": 5}, 96, category="data")
    s.tool("run_sql", {"engine": "duckdb", "sql": "SELECT billing_interval, count(*) AS n FROM subscriptions "
                                                  "WHERE plan = 'team' AND strftime(canceled_at, '%G-W%V') = '2026-W45' "
                                                  "GROUP BY ALL"},
           {"columns": ["billing_interval", "n"], "rows": [["monthly", 112], ["annual", 9]], "row_count": 2},
           71, category="data")
    s.step_end("tool_use", 2)
    s.step()
    s.say("Plotting the five-week trend per plan.", calls=1)
    code = dedent("""
        import matplotlib.pyplot as plt
        df = con.sql(CHURN_SQL).df().pivot(index="week", columns="plan", values="churn_pct")
        ax = df.plot(marker="o", figsize=(8, 4.5), title="Weekly churn by plan (%)")
        ax.axvline(3.5, ls="--", c="grey"); ax.annotate("team price change", (3.6, 2.7))
        plt.tight_layout(); plt.savefig("reports/churn/2026-W45/churn_by_plan.png", dpi=160)""")
    s.tool("python", {"code": code, "kernel": "churn_weekly"},
           {"stdout": "", "files": ["reports/churn/2026-W45/churn_by_plan.png"]}, 2_874, category="exec")
    s.write("reports/churn/2026-W45/churn_by_plan.png", code, size=48_211, content_type="image/png")
    s.step_end("tool_use", 1)
    s.step()
    report = dedent("""
        ## Churn, 2026-W45

        | Plan | W41 | W42 | W43 | W44 | **W45** |
        |---|---|---|---|---|---|
        | starter | 3.1 | 2.9 | 3.3 | 3.0 | **3.2** |
        | team | 1.6 | 1.7 | 1.5 | 1.6 | **2.9** |
        | business | 0.8 | 0.7 | 0.9 | 0.8 | **0.8** |
        | enterprise | 0.2 | 0.1 | 0.2 | 0.2 | **0.1** |

        **What's unusual.** Team-plan churn almost doubled (2.9% vs. ~1.6%). 59% of those cancellations
        cite `price_increase`, and 93% are monthly subscribers: this lines up with the team-plan price
        change that reached monthly customers at their W45 renewal. Annual customers renew later, so expect
        a second wave in January unless the offer changes.

        **Suggested follow-ups.** Win-back offer for monthly team customers who cancelled with
        `price_increase`; check whether downgrades to starter rose in the same week (not included here).""")
    s.say(report + "\n\nChart: `reports/churn/2026-W45/churn_by_plan.png`.", calls=1)
    s.tool("write_file", {"path": "reports/churn/2026-W45/summary.md"}, {"ok": True}, 6, category="fs")
    s.write("reports/churn/2026-W45/summary.md", report, content_type="text/markdown")
    s.step_end("tool_use", 1)
    s.run_finish("Team-plan churn 2.9% in W45 (baseline 1.6%), driven by the price change for monthly plans.")
    s.close("completed", gap=(30, 120))
    return s


# The big one: a long, two-day migration session.

BILLING_FILES = [
    ("billing/models/invoice.py", "Invoice", ["validator", "orm_mode", "regex", "dict"]),
    ("billing/models/line_item.py", "LineItem", ["validator", "orm_mode"]),
    ("billing/models/customer.py", "Customer", ["root_validator", "orm_mode", "optional"]),
    ("billing/models/subscription.py", "Subscription", ["validator", "orm_mode", "const"]),
    ("billing/models/plan.py", "Plan", ["orm_mode", "allow_mutation"]),
    ("billing/models/coupon.py", "Coupon", ["root_validator", "optional"]),
    ("billing/models/payment_intent.py", "PaymentIntent", ["validator", "const", "dict"]),
    ("billing/models/refund.py", "Refund", ["validator", "orm_mode", "parse_obj"]),
    ("billing/models/credit_note.py", "CreditNote", ["validator", "orm_mode", "optional"]),
    ("billing/models/currency.py", "Money", ["json_encoders", "allow_mutation", "regex"]),
    ("billing/schemas/common.py", "ErrorBody", ["root", "update_forward_refs"]),
    ("billing/schemas/pagination.py", "Page", ["root", "dict"]),
    ("billing/schemas/errors.py", "ProblemDetail", ["optional", "dict"]),
    ("billing/settings.py", "Settings", ["settings"]),
    ("billing/api/deps.py", "RequestContext", ["parse_obj", "dict"]),
    ("billing/events/serializers.py", "EventEnvelope", ["json_encoders", "dict", "parse_obj"]),
    ("billing/integrations/stripe_payloads.py", "StripeWebhook", ["root_validator", "parse_obj", "const"]),
    ("billing/webhooks/outbound.py", "OutboundWebhook", ["validator", "json_encoders", "dict"]),
]

CHANGES = {
    "validator": ("`@validator` → `@field_validator` + `@classmethod`",
                  '    @validator("{f}")\n    def check_{f}(cls, v):',
                  '    @field_validator("{f}")\n    @classmethod\n    def check_{f}(cls, v):'),
    "root_validator": ("`@root_validator(pre=True)` → `@model_validator(mode=\"before\")`",
                       "    @root_validator(pre=True)\n    def _normalise(cls, values):",
                       '    @model_validator(mode="before")\n    @classmethod\n    def _normalise(cls, data):'),
    "orm_mode": ("`class Config: orm_mode = True` → `model_config = ConfigDict(from_attributes=True)`",
                 "    class Config:\n        orm_mode = True",
                 "    model_config = ConfigDict(from_attributes=True)"),
    "regex": ("`Field(regex=...)` → `Field(pattern=...)`",
              '    currency: str = Field(..., regex=r"^[A-Z]{{3}}$")',
              '    currency: str = Field(..., pattern=r"^[A-Z]{{3}}$")'),
    "dict": ("`.dict()` → `.model_dump()`", ".dict(exclude_none=True)", ".model_dump(exclude_none=True)"),
    "parse_obj": ("`parse_obj` → `model_validate`", "{cls}.parse_obj(payload)", "{cls}.model_validate(payload)"),
    "optional": ("`Optional[X]` fields get an explicit `= None` (no implicit default in v2)",
                 "    {f}: Optional[str]", "    {f}: Optional[str] = None"),
    "const": ("`Field(const=True)` → `Literal[...]`",
              '    object: str = Field("{lower}", const=True)',
              '    object: Literal["{lower}"] = "{lower}"'),
    "allow_mutation": ("`allow_mutation = False` → `model_config = ConfigDict(frozen=True)`",
                       "    class Config:\n        allow_mutation = False",
                       "    model_config = ConfigDict(frozen=True)"),
    "json_encoders": ("`json_encoders` → `@field_serializer`",
                      "        json_encoders = {{Decimal: str}}",
                      '    @field_serializer("amount")\n    def _ser_amount(self, v: Decimal) -> str:\n        return str(v)'),
    "root": ("`__root__` model → `RootModel`",
             "class {cls}List(BaseModel):\n    __root__: list[{cls}]",
             "class {cls}List(RootModel[list[{cls}]]):\n    pass"),
    "update_forward_refs": ("`update_forward_refs()` → `model_rebuild()`",
                            "{cls}.update_forward_refs()", "{cls}.model_rebuild()"),
    "settings": ("`BaseSettings` moves to `pydantic-settings`",
                 "from pydantic import BaseSettings, validator",
                 "from pydantic_settings import BaseSettings, SettingsConfigDict\nfrom pydantic import field_validator"),
}

FIELDS = ["currency", "amount", "email", "period_end", "quantity", "country", "status", "external_id"]


def _billing_file(s: Session, path: str, cls: str, changes: list[str]) -> tuple[str, int]:
    imports = sorted({"BaseModel", "Field"} | {"validator" for c in changes if c == "validator"}
                     | {"root_validator" for c in changes if c == "root_validator"})
    f = s.rng.choice(FIELDS)
    lines = [f"from decimal import Decimal", "from typing import Optional", "",
             f"from pydantic import {', '.join(imports)}", "", "", f"class {cls}(BaseModel):",
             "    id: str", f"    {f}: str"]
    for c in changes:
        _, old, _ = CHANGES[c]
        lines.append(old.format(f=f, cls=cls, lower=cls.lower()))
    content = "\n".join(lines)
    total = s.rng.randint(60, 420)
    return content, total


def migrate_one(s: Session, path: str, cls: str, changes: list[str]) -> None:
    content, total = _billing_file(s, path, cls, changes)
    s.step()
    s.say(s.rng.choice(["Next: `{p}`.", "Moving on to `{p}`.", "Reading `{p}`.", "Now `{p}`."]).format(p=path),
          calls=1)
    s.tool("read_file", {"path": path}, {"content": content + f"\n# … {total - 9} more lines", "total_lines": total},
           s.rng.randint(8, 30), category="fs", ctx=total * 15)
    s.step_end("tool_use", 1)
    s.step()
    desc = "; ".join(CHANGES[c][0] for c in changes)
    s.say(f"`{cls}` needs: {desc}.", calls=1)
    f = s.rng.choice(FIELDS)
    edits = [{"old": CHANGES[c][1].format(f=f, cls=cls, lower=cls.lower()),
              "new": CHANGES[c][2].format(f=f, cls=cls, lower=cls.lower())} for c in changes]
    added = sum(e["new"].count("\n") + 1 for e in edits)
    removed = sum(e["old"].count("\n") + 1 for e in edits)
    s.tool("edit_file", {"path": path, "edits": edits},
           {"ok": True, "replacements": len(edits), "diff_stat": f"+{added} -{removed}"},
           s.rng.randint(12, 40), category="fs")
    s.write(path, content + "\n# migrated", size=total * s.rng.randint(28, 38), content_type="text/x-python")
    s.step_end("tool_use", 1)


def run_pytest(s: Session, target: str, stdout: str, exit_code: int, ms: int, *, fail_fast: bool = False) -> None:
    cmd = " ".join(x for x in ["pytest", target, "-q", "-x" if fail_fast else "", "-n 8" if not target else ""] if x)
    s.tool("run_tests", {"command": cmd, "cwd": "/workspace/billing-api",
                         "timeout_s": 1200},
           {"exit_code": exit_code, "stdout_tail": stdout}, ms, category="exec")


def migrate_billing_to_pydantic_v2() -> Session:
    s = Session(
        "migrate-billing-to-pydantic-v2", model="claude-sonnet-4", provider="anthropic",
        params={"temperature": "0.1", "max_tokens": "16384", "repo": "acme/billing-api",
                "base_branch": "main", "work_branch": "chore/pydantic-v2"},
        start=at(2026, 11, 9, 13, 20, 11), system_tokens=12_400,
        created_metadata={"client": "lago-cli/0.9.2", "user": "d.ferreira"},
    )
    n_files = len(BILLING_FILES)
    s.run_start(max_iterations=28)
    s.step()
    s.user(dedent("""
        We need to move billing-api from pydantic 1.10 to pydantic 2 (and pydantic-settings). Constraints:
        - no behaviour changes in the public API (the OpenAPI schema and JSON responses must stay identical,
          apart from things we explicitly agree on)
        - keep the commits reviewable: models first, then schemas, then the rest
        - the full test suite must pass at the end
        Start with a plan, then go file by file."""), gap=(1, 2))
    s.say("I'll find every pydantic v1 idiom in the repo first, then establish a baseline test run.", calls=2)
    s.tool("grep", {"pattern": r"from pydantic import|@validator|@root_validator|orm_mode|parse_obj|\.dict\(|__root__",
                    "path": "billing/", "glob": "*.py", "count_only": True},
           {"files": n_files, "matches": 137, "by_file": {p: s.rng.randint(2, 12) for p, _, _ in BILLING_FILES}},
           211, category="fs")
    run_pytest(s, "", "1284 passed, 3 skipped, 41 warnings in 96.40s", 0, 97_113)
    s.step_end("tool_use", 2)
    s.step()
    plan = dedent(f"""
        Baseline: 1284 passed, 3 skipped on pydantic 1.10.17. {n_files} files use v1 APIs (137 occurrences).

        Plan:
        1. Bump `pydantic>=2.9,<3` and add `pydantic-settings>=2.5` in `pyproject.toml`; re-lock.
        2. Models (`billing/models/*`, 10 files): validators, `Config` classes, `const`, `regex`, implicit
           `Optional` defaults. Run `tests/models` after every few files.
        3. Schemas (`billing/schemas/*`): `__root__` → `RootModel`, `update_forward_refs` → `model_rebuild`.
        4. Settings → `pydantic-settings`; API deps, events, integrations, reports, webhooks.
        5. Full suite + OpenAPI schema diff against `main`.

        Known behaviour differences to watch: v2 serialises UTC datetimes with `Z` instead of `+00:00`,
        and `Decimal` as a string in JSON mode. Both would change our API responses.""")
    s.say(plan)
    s.patch({"plan": {"files_total": n_files, "files_done": 0, "phase": "deps"}})
    s.step_end("end_turn", 0)
    s.step()
    s.say("Bumping the dependencies.", calls=2)
    s.tool("edit_file", {"path": "pyproject.toml", "edits": [
        {"old": '    "pydantic>=1.10,<2",', "new": '    "pydantic>=2.9,<3",\n    "pydantic-settings>=2.5,<3",'}]},
        {"ok": True, "replacements": 1, "diff_stat": "+2 -1"}, 14, category="fs")
    s.write("pyproject.toml", size=3_214, content_type="application/toml")
    s.tool("shell", {"command": "uv lock --upgrade-package pydantic && uv sync", "cwd": "/workspace/billing-api"},
           {"exit_code": 0, "stdout_tail": "Resolved 87 packages in 1.92s\n - pydantic==1.10.17\n + pydantic==2.9.2\n"
                                           " + pydantic-core==2.23.4\n + pydantic-settings==2.6.1"},
           13_870, category="exec")
    s.write("uv.lock", size=412_904, content_type="text/plain")
    s.step_end("tool_use", 2)
    s.patch({"plan": {"phase": "models"}})

    done = 0
    day1 = BILLING_FILES[:10]
    for i, (path, cls, changes) in enumerate(day1):
        migrate_one(s, path, cls, changes)
        done += 1
        if i % 3 == 2:
            s.patch({"plan": {"files_done": done, "last_file": path}})
        if i == 3:
            s.step()
            s.say("Checkpoint: running the model tests.", calls=1)
            run_pytest(s, "tests/models", dedent("""
                FAILED tests/models/test_customer.py::test_customer_from_crm_payload - pydantic_core._pydantic_core.ValidationError: 1 validation error for Customer
                tax_id
                  Field required [type=missing, input_value={'id': 'cus_9f2', 'email': 'ops@example.com'}, input_type=dict]
                    For further information visit https://errors.pydantic.dev/2.9/v/missing
                !!!!!!!!!!!!!!!!!!!!!!!!!! stopping after 1 failures !!!!!!!!!!!!!!!!!!!!!!!!!!
                1 failed, 212 passed in 9.12s"""), 1, 10_204, fail_fast=True)
            s.step_end("tool_use", 1)
            s.step()
            s.say("`Customer.tax_id: Optional[str]` had an implicit `None` default in v1; v2 makes it required. "
                  "Adding `= None` there and to the two other `Optional` fields in the file I missed.", calls=2)
            s.tool("edit_file", {"path": "billing/models/customer.py", "edits": [
                {"old": "    tax_id: Optional[str]", "new": "    tax_id: Optional[str] = None"},
                {"old": "    vat_number: Optional[str]", "new": "    vat_number: Optional[str] = None"},
                {"old": "    phone: Optional[str]", "new": "    phone: Optional[str] = None"}]},
                {"ok": True, "replacements": 3, "diff_stat": "+3 -3"}, 18, category="fs")
            s.write("billing/models/customer.py", size=5_870, content_type="text/x-python")
            run_pytest(s, "tests/models", "232 passed in 8.87s", 0, 9_541)
            s.step_end("tool_use", 2)
        if i == 7:
            s.step()
            s.say("Checkpoint: model tests again.", calls=1)
            run_pytest(s, "tests/models", dedent("""
                tests/models/test_subscription.py:14: in <module>
                    from billing.models.payment_intent import PaymentIntent
                billing/models/payment_intent.py:22: in <module>
                    class PaymentIntent(BaseModel):
                E   pydantic.errors.PydanticUserError: `const` is removed, use `Literal` instead
                E
                E   For further information visit https://errors.pydantic.dev/2.9/u/removed-kwargs
                !!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
                1 error in 2.31s"""), 2, 3_477, fail_fast=True)
            s.step_end("tool_use", 1)
            s.step()
            s.say("A second `const=True` in `PaymentIntent` (`capture_method`) that my edit didn't cover. "
                  "Converting it to `Literal[\"automatic\"]`.", calls=2)
            s.tool("edit_file", {"path": "billing/models/payment_intent.py", "edits": [
                {"old": '    capture_method: str = Field("automatic", const=True)',
                 "new": '    capture_method: Literal["automatic"] = "automatic"'}]},
                {"ok": True, "replacements": 1, "diff_stat": "+1 -1"}, 16, category="fs")
            s.write("billing/models/payment_intent.py", size=4_102, content_type="text/x-python")
            run_pytest(s, "tests/models", "301 passed in 11.02s", 0, 11_760)
            s.step_end("tool_use", 2)
            s.compact(dropped=s.rng.randint(38, 52), keep=0.22)
            s.snapshot("full")
    s.step()
    s.say("All 10 model files are migrated and `tests/models` passes (last run: 301 passed). I'm at the "
          "iteration budget for this run; the schemas and the rest are next.")
    s.step_end("max_iterations", 0)
    s.run_finish(f"Models migrated (10/{n_files} files); tests/models green.", reason="max_iterations")
    main_seq_before_codemod = s.count[MAIN]

    # Side quest: would the bump-pydantic codemod do the rest faster?
    cm = s.fork("attempt-codemod", gap=(120, 300))
    s.on(cm)
    s.run_start(max_iterations=20, gap=(5, 20))
    s.step()
    s.user(f"Before you continue by hand: try bump-pydantic on the remaining {len(BILLING_FILES) - 10} files "
           "and see how far it gets.",
           gap=(0.05, 0.3))
    s.say("Running `bump-pydantic` on the not-yet-migrated paths.", calls=1)
    rest = [p for p, _, _ in BILLING_FILES[10:]]
    def clock(offset_s: float) -> str:
        return datetime.fromtimestamp(s.t / 1e6 + offset_s, tz=timezone.utc).strftime("%H:%M:%S")

    s.tool("shell", {"command": "uvx bump-pydantic " + " ".join(rest), "cwd": "/workspace/billing-api"},
           {"exit_code": 0, "stdout_tail": f"[{clock(0.3)}] Start bump-pydantic.\n[{clock(2.1)}] Found {len(rest)} "
                                           f"files to process.\n[{clock(9.9)}] Refactored 7 files.\n"
                                           f"[{clock(10.0)}] Run successfully!"},
           9_880, category="exec")
    for p in rest[:7]:
        s.write(p, f"codemod:{p}", size=s.rng.randint(2_000, 9_000), content_type="text/x-python")
    run_pytest(s, "", dedent("""
        FAILED tests/api/test_pagination.py::test_page_links - TypeError: Page.__init__() takes 1 positional argument but 2 were given
        FAILED tests/api/test_errors.py::test_problem_detail_shape - AssertionError: assert {...'type': None...} == {...}
        ... 39 more failures
        41 failed, 1241 passed, 3 skipped in 92.66s"""), 1, 93_401)
    s.step_end("tool_use", 1)
    s.step()
    s.say("The codemod handled validators and `Config` classes but left `__root__` models and custom "
          "`json_encoders` with `# TODO[pydantic]` markers; 41 failures, mostly `Page` (RootModel) and the "
          "error schemas. I'll fix those on a sub-branch so this one keeps the raw codemod output for comparison.")
    s.step_end("end_turn", 0)
    s.run_finish(f"bump-pydantic refactored 7/{len(rest)} files; 41 test failures remain (RootModel, json_encoders).")
    cm_fix = s.fork("codemod-plus-manual-fixes", gap=(10, 40))
    s.on(cm_fix)
    s.run_start(max_iterations=20)
    for p, cls, ch in [("billing/schemas/pagination.py", "Page", ["root"]),
                       ("billing/schemas/common.py", "ErrorBody", ["root", "update_forward_refs"]),
                       ("billing/events/serializers.py", "EventEnvelope", ["json_encoders"])]:
        s.step()
        s.say(f"Resolving the codemod TODOs in `{p}`.", calls=1)
        f = s.rng.choice(FIELDS)
        s.tool("edit_file", {"path": p, "edits": [{"old": CHANGES[c][1].format(f=f, cls=cls, lower=cls.lower()),
                                                   "new": CHANGES[c][2].format(f=f, cls=cls, lower=cls.lower())}
                                                  for c in ch]},
               {"ok": True, "replacements": len(ch)}, s.rng.randint(12, 30), category="fs")
        s.write(p, f"codemod-fix:{p}", size=s.rng.randint(2_000, 7_000), content_type="text/x-python")
        s.step_end("tool_use", 1)
    s.step()
    s.say("Re-running the suite.", calls=1)
    run_pytest(s, "", dedent("""
        FAILED tests/webhooks/test_outbound.py::test_signature_stable - AssertionError: signature mismatch (payload bytes differ)
        FAILED tests/api/test_invoices.py::test_invoice_json_shape - AssertionError: assert '2026-11-09T13:20:11Z' == '2026-11-09T13:20:11+00:00'
        ... 7 more failures
        9 failed, 1273 passed, 3 skipped in 94.02s"""), 1, 94_880)
    s.step_end("tool_use", 1)
    s.step()
    s.say(dedent("""
        Down to 9 failures, but they are the subtle ones: the codemod rewrote `json_encoders` into a
        generic `model_serializer` that changes datetime and Decimal output, which breaks webhook
        signatures (payload bytes differ). Fixing that properly means rewriting those serializers by
        hand anyway, so the codemod saves little for the remaining files. I recommend abandoning this branch
        and continuing manually on main, where each change is explicit and reviewable."""))
    s.step_end("end_turn", 0)
    s.run_finish("Codemod approach abandoned: serializer rewrites change payload bytes (9 failures).")

    # Next morning: resume on main.
    s.on(MAIN)
    s.resume(at(2026, 11, 10, 9, 2, 0))
    s.run_start(max_iterations=60, gap=(20, 60))
    s.step()
    s.user("Agreed, let's not use the codemod. Continue on main by hand.", gap=(0.05, 0.3))
    s.say("Continuing with the schemas.", calls=0)
    s.step_end("end_turn", 0)
    s.patch({"plan": {"phase": "schemas"}})
    for i, (path, cls, changes) in enumerate(BILLING_FILES[10:]):
        migrate_one(s, path, cls, changes)
        done += 1
        if i % 3 == 2:
            s.patch({"plan": {"files_done": done, "last_file": path}})
        if path == "billing/schemas/errors.py":
            s.patch({"plan": {"phase": "app"}})
        if path == "billing/settings.py":
            s.step()
            s.say("`billing/utils/pydantic_compat.py` only existed to paper over v1/v2 differences for the "
                  "settings module. Nothing imports it any more, so deleting it; and the v1-specific "
                  "validator tests get a neutral name.", calls=3)
            s.tool("grep", {"pattern": "pydantic_compat", "path": ".", "glob": "*.py"},
                   {"matches": [], "truncated": False}, 48, category="fs")
            s.tool("shell", {"command": "git rm billing/utils/pydantic_compat.py"}, {"exit_code": 0}, 61,
                   category="exec")
            s.delete("billing/utils/pydantic_compat.py")
            s.tool("shell", {"command": "git mv tests/models/test_validators_v1.py tests/models/test_validators.py"},
                   {"exit_code": 0}, 55, category="exec")
            s.rename("tests/models/test_validators_v1.py", "tests/models/test_validators.py")
            s.step_end("tool_use", 3)
        if i == 4:
            s.compact(dropped=s.rng.randint(40, 55), keep=0.2)
    s.step()
    s.say(f"All {n_files} files migrated. Running the full suite.", calls=1)
    run_pytest(s, "", dedent("""
        FAILED tests/api/test_invoices.py::test_invoice_json_shape - AssertionError: assert '2026-11-09T13:20:11Z' == '2026-11-09T13:20:11+00:00'
        FAILED tests/api/test_invoices.py::test_invoice_amounts - AssertionError: assert {'amount_due': '12.50'} == {'amount_due': 12.5}
        FAILED tests/webhooks/test_outbound.py::test_signature_stable - AssertionError: signature mismatch (payload bytes differ)
        FAILED tests/api/test_openapi.py::test_schema_unchanged - AssertionError: 3 differences in components.schemas
        ... 2 more failures
        6 failed, 1276 passed, 3 skipped in 97.85s"""), 1, 98_610)
    s.step_end("tool_use", 1)
    s.step()
    s.say(dedent("""
        Six failures, all from the two known serialisation differences:

        1. **Datetimes.** v2 emits `2026-11-09T13:20:11Z`; our API (and webhook signatures) use `+00:00`.
        2. **Decimals.** v2's JSON mode emits `"12.50"` (string); v1 with our encoder emitted `12.5`.

        Since the API must not change, I'll add two annotated types in `billing/models/types.py`,
        `UtcDatetime` and `JsonDecimal`, with `PlainSerializer`s that reproduce the v1 output, and use
        them in the affected models. That is explicit and easy to remove later if we decide to change the
        wire format."""), calls=1)
    types_py = dedent("""
        from datetime import datetime
        from decimal import Decimal
        from typing import Annotated

        from pydantic import PlainSerializer

        UtcDatetime = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), when_used="json")]
        JsonDecimal = Annotated[Decimal, PlainSerializer(lambda v: float(v), return_type=float, when_used="json")]""")
    s.tool("write_file", {"path": "billing/models/types.py", "content": types_py}, {"ok": True}, 9, category="fs")
    s.write("billing/models/types.py", types_py, content_type="text/x-python")
    s.step_end("tool_use", 1)
    s.step()
    s.say("Switching the affected fields to the new types.", calls=4)
    for p in ["billing/models/invoice.py", "billing/models/line_item.py", "billing/models/refund.py",
              "billing/webhooks/outbound.py"]:
        s.tool("edit_file", {"path": p, "edits": [
            {"old": "    created_at: datetime", "new": "    created_at: UtcDatetime"},
            {"old": "    amount_due: Decimal", "new": "    amount_due: JsonDecimal"}]},
            {"ok": True, "replacements": 2, "diff_stat": "+3 -2"}, s.rng.randint(12, 30), category="fs")
        s.write(p, f"types:{p}", size=s.rng.randint(3_000, 8_000), content_type="text/x-python")
    s.step_end("tool_use", 4)
    s.step()
    s.say("Full suite again.", calls=1)
    run_pytest(s, "", "1284 passed, 3 skipped, 2 warnings in 91.37s", 0, 92_048)
    s.step_end("tool_use", 1)
    s.step()
    s.say("Green. Last check: diff the generated OpenAPI schema against `main`.", calls=1)
    s.tool("shell", {"command": "python -m billing.openapi > /tmp/openapi.v2.json && "
                                "git show main:openapi.json | diff - /tmp/openapi.v2.json | head -40"},
           {"exit_code": 1, "stdout": dedent("""
                412c412,415
                <         "nullable": true
                ---
                >         "anyOf": [
                >           {"type": "string"},
                >           {"type": "null"}
                >         ]""")}, 4_312, category="exec")
    s.step_end("tool_use", 1)
    s.step()
    s.snapshot("incremental")
    final = dedent(f"""
        Migration complete: billing-api now runs on pydantic 2.9.2 + pydantic-settings 2.6.1.

        - {n_files} files migrated by hand (models, schemas, settings, API deps, events, integrations,
          reports, outbound webhooks); `billing/utils/pydantic_compat.py` deleted;
          `tests/models/test_validators_v1.py` renamed to `test_validators.py`.
        - JSON output is unchanged thanks to `UtcDatetime` / `JsonDecimal` in `billing/models/types.py`;
          webhook signatures are stable.
        - Full suite: 1284 passed, 3 skipped (same as the v1 baseline).
        - One OpenAPI difference that needs your decision: optional fields are now described with
          `anyOf: [{{type}}, {{"type": "null"}}]` instead of `nullable: true` (OpenAPI 3.1 style). Clients
          generated with openapi-generator < 7 don't understand that. We can either accept it or add a
          `GenerateJsonSchema` subclass that emits `nullable`.

        The abandoned `attempt-codemod` branch (and its `codemod-plus-manual-fixes` sub-branch) is kept in
        the session for reference only.""")
    s.say(final)
    s.step_end("end_turn", 0)
    s.patch({"plan": {"phase": "done", "files_done": n_files}})
    s.run_finish(final)
    s.close("completed", gap=(120, 600))
    assert main_seq_before_codemod > 0
    return s


def triage_ci_timeouts() -> Session:
    s = Session(
        "triage-ci-timeouts", model="llama-3.1-70b", provider="vllm",
        params={"temperature": "0.1", "max_tokens": "4096", "repo": "acme/web-frontend", "ci": "buildkite",
                "context_window": "131072"},
        start=at(2026, 11, 11, 16, 48, 30), system_tokens=1200,
        metadata={"host": "ci-runner-3"},
    )
    s.run_start(max_iterations=30)
    s.step()
    s.user("The `e2e-playwright-chromium` job has been hitting the 30 min timeout on ~40% of builds since "
           "Tuesday. Find out what changed.", gap=(1, 3))
    s.say("Listing recent builds of the pipeline with their e2e job durations.", calls=1)
    builds = []
    for n in range(9120, 9140):
        timed_out = n == 9127 or (n > 9127 and s.rng.random() < 0.45)
        builds.append({"number": n, "state": "failed" if timed_out else "passed",
                       "e2e_minutes": 30.0 if timed_out else round(s.rng.uniform(11.5, 14.2), 1),
                       "commit": "".join(s.rng.choice("0123456789abcdef") for _ in range(7))})
    s.tool("buildkite_list_builds", {"pipeline": "web-frontend", "branch": "main", "per_page": 20},
           {"builds": builds}, 1_214, category="ci")
    s.step_end("tool_use", 1)
    s.step()
    s.say("Timeouts start at build 9127. Fetching the e2e log of the first timed-out build.", calls=1)
    first_fail = next((b for b in builds if b["state"] == "failed"), builds[-1])
    s.tool("buildkite_job_log", {"pipeline": "web-frontend", "build": first_fail["number"],
                                 "job": "e2e-playwright-chromium", "tail_lines": 400},
           {"truncated": True, "lines": 400, "excerpt": dedent("""
                [chromium] › checkout/payment.spec.ts:41:5 › pays with saved card
                  Test timeout of 60000ms exceeded.
                  waiting for locator('iframe[name^="__privateStripeFrame"]')
                [chromium] › checkout/payment.spec.ts:67:5 › shows 3DS challenge
                  Test timeout of 60000ms exceeded.
                Retrying (2/3)…""")}, 3_902, category="ci", ctx=10_400)
    s.step_end("tool_use", 1)
    s.step()
    s.say("Every slow test waits on the Stripe iframe. Checking what changed around the checkout page "
          "between builds 9126 and 9127.", calls=1)
    s.tool("git_log", {"range": f"{builds[6]['commit']}..{builds[7]['commit']}", "paths": ["src/checkout", "e2e"]},
           {"commits": [
               {"sha": "3e1d9a0", "author": "p.nguyen", "subject": "checkout: lazy-load Stripe.js on first interaction"},
               {"sha": "b77c210", "author": "renovate[bot]", "subject": "chore(deps): update @playwright/test to 1.49.0"}]},
           402, category="vcs")
    s.step_end("tool_use", 1)
    s.compact(dropped=9, keep=0.35)
    s.step()
    s.say("Two suspects: lazy-loading Stripe.js (the iframe only appears after a click the tests may never "
          "make) and the Playwright bump. Pulling the full logs of all failing builds to correlate.", calls=1)
    # The agent pulls far too much log text into its context: the next prompt no longer fits.
    overflow = 134_115 - s.system_tokens - s.ctx[s.branch] - 8
    s.tool("buildkite_job_log", {"pipeline": "web-frontend", "build": "9127..9139", "job": "e2e-playwright-chromium",
                                 "all_lines": True},
           {"truncated": False, "lines": 48_210, "bytes": 6_311_420, "note": "full logs of 13 builds attached"},
           21_377, category="ci", ctx=overflow)
    s.step_end("tool_use", 1)
    s.step()
    prompt = s.system_tokens + s.ctx[s.branch]
    s.error(f"prompt would exceed the model context window ({prompt} + 4096 > 131072 tokens)")
    s.run_error(f"provider error: vLLM returned 400 Bad Request: This model's maximum context length is 131072 "
                f"tokens. However, you requested {prompt + 4096} tokens ({prompt} in the messages, 4096 in the "
                f"completion). Please reduce the length of the messages or completion.")
    return s


def refactor_cli_arg_parsing() -> Session:
    s = Session(
        "refactor-cli-arg-parsing", model="gpt-4.1", provider="openai",
        params={"temperature": "0.2", "max_tokens": "8192", "repo": "oss/tidyfmt", "language": "rust"},
        start=at(2026, 11, 13, 13, 52, 40), system_tokens=1100,
    )
    ws = "/workspace/tidyfmt"
    s.run_start(max_iterations=25)
    s.step()
    s.user("src/args_legacy.rs is a ~600-line clap builder-API setup. Port it to clap's derive API. Every "
           "existing flag must keep working, including the hidden `--legacy-tabs`, and `--help` output "
           "should change as little as possible.", gap=(1, 3))
    s.say("Reading the current argument setup and how main.rs consumes it.", calls=2)
    s.tool("read_file", {"path": "src/args_legacy.rs"},
           {"content": dedent("""
                pub fn build_cli() -> Command {
                    Command::new("tidyfmt")
                        .version(crate_version!())
                        .arg(Arg::new("check").long("check").action(ArgAction::SetTrue)
                             .help("Exit with 1 if any file would be reformatted"))
                        .arg(Arg::new("indent").long("indent").short('i').value_parser(value_parser!(u8))
                             .default_value("4"))
                        .arg(Arg::new("legacy-tabs").long("legacy-tabs").hide(true).action(ArgAction::SetTrue))
                        .arg(Arg::new("paths").num_args(1..).value_parser(value_parser!(PathBuf)))
                        // … 19 more args and 3 subcommands …"""), "total_lines": 612}, 12, category="fs")
    s.tool("grep", {"pattern": "matches\\.(get_one|get_flag|get_many)", "path": "src/"},
           {"matches_count": 47, "files": ["src/main.rs", "src/config.rs", "src/cli.rs"]}, 35, category="fs")
    s.step_end("tool_use", 2)
    s.step()
    s.say("Plan: a `Cli` struct with `#[derive(Parser)]` in `src/cli/args.rs`, subcommands as an enum, and "
          "`src/cli.rs` becomes `src/cli/mod.rs`. 47 `ArgMatches` lookups in main.rs/config.rs become field "
          "accesses. I'd do this on a branch since it touches most of the crate.")
    s.step_end("end_turn", 0)
    s.run_finish("Plan ready: derive-based Cli struct in src/cli/args.rs.")

    br = s.fork("clap-derive", gap=(20, 60))
    s.on(br)
    s.run_start(max_iterations=30)
    s.step()
    s.say("Restructuring the module and writing the derive struct.", calls=3)
    s.tool("shell", {"command": "git mv src/cli.rs src/cli/mod.rs", "cwd": ws}, {"exit_code": 0}, 48,
           category="exec")
    s.rename("src/cli.rs", "src/cli/mod.rs")
    args_rs = dedent("""
        #[derive(Debug, Parser)]
        #[command(name = "tidyfmt", version, about = "An opinionated formatter for config files")]
        pub struct Cli {
            /// Exit with 1 if any file would be reformatted
            #[arg(long)]
            pub check: bool,
            #[arg(short, long, default_value_t = 4)]
            pub indent: u8,
            #[arg(long, hide = true)]
            pub legacy_tabs: bool,
            pub paths: Vec<PathBuf>,
            #[command(subcommand)]
            pub command: Option<Commands>,
        }""")
    s.tool("write_file", {"path": "src/cli/args.rs", "content": args_rs}, {"ok": True}, 7, category="fs")
    s.write("src/cli/args.rs", args_rs, content_type="text/rust")
    s.tool("shell", {"command": "git rm src/args_legacy.rs", "cwd": ws}, {"exit_code": 0}, 44, category="exec")
    s.delete("src/args_legacy.rs")
    s.step_end("tool_use", 3)
    s.step()
    s.say("Updating the call sites and building.", calls=2)
    s.tool("edit_file", {"path": "src/main.rs", "edits": [
        {"old": "let matches = build_cli().get_matches();", "new": "let cli = Cli::parse();"},
        {"old": "matches.get_flag(\"check\")", "new": "cli.check"}]},
        {"ok": True, "replacements": 31, "diff_stat": "+38 -52"}, 21, category="fs")
    s.write("src/main.rs", size=9_877, content_type="text/rust")
    s.tool("cargo", {"args": ["build", "--locked"], "cwd": ws},
           {"exit_code": 101, "stderr_tail": dedent("""
                error[E0277]: the trait bound `LineEnding: Clone` is not satisfied
                  --> src/cli/args.rs:31:9
                   |
                31 |     pub line_ending: Option<LineEnding>,
                   |         ^^^^^^^^^^^ the trait `Clone` is not implemented for `LineEnding`
                   = help: see issue #… for `ValueEnum` requirements
                error: could not compile `tidyfmt` (bin "tidyfmt") due to 1 previous error""")},
           38_512, category="exec")
    s.step_end("tool_use", 2)
    s.step()
    s.say("`ValueEnum` needs `Clone`. Deriving `Clone, Copy, ValueEnum` on `LineEnding`.", calls=2)
    s.tool("edit_file", {"path": "src/config.rs", "edits": [
        {"old": "#[derive(Debug, PartialEq, Eq)]\npub enum LineEnding {",
         "new": "#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]\npub enum LineEnding {"}]},
        {"ok": True, "replacements": 1}, 15, category="fs")
    s.write("src/config.rs", size=6_140, content_type="text/rust")
    s.tool("cargo", {"args": ["test", "--locked"], "cwd": ws},
           {"exit_code": 101, "stdout_tail": dedent("""
                test cli_tests::help_output ... FAILED
                ---- cli_tests::help_output stdout ----
                Testing tests/cmd/help.trycmd:2: failed
                  -  -i, --indent <INDENT>   [default: 4]
                  +  -i, --indent <INDENT>   Indent width [default: 4]
                test result: FAILED. 142 passed; 1 failed; 0 ignored""")},
           64_220, category="exec")
    s.step_end("tool_use", 2)
    s.step()
    s.say("Only the help snapshot differs: derive picks up the doc comment as help text. That's an "
          "improvement, so updating the trycmd snapshot rather than hiding it.", calls=2)
    s.tool("shell", {"command": "TRYCMD=overwrite cargo test --test cli_tests", "cwd": ws},
           {"exit_code": 0, "stdout_tail": "test result: ok. 143 passed; 0 failed; 0 ignored"}, 41_870,
           category="exec")
    s.write("tests/cmd/help.trycmd", size=1_912, content_type="text/plain")
    # A payload kind from upstream Lago's sandbox events that lago-tui does not model: kept verbatim.
    s.emit({"type": "SandboxExecuted", "sandbox_id": "sbx-tidyfmt-7f3a", "command": "cargo test --test cli_tests",
            "exit_code": 0, "duration_ms": 41_702}, gap=(0.01, 0.05))
    s.tool("shell", {"command": "./target/debug/tidyfmt --legacy-tabs --check examples/", "cwd": ws},
           {"exit_code": 0, "stdout": "3 files checked, 0 would be reformatted"}, 212, category="exec")
    s.step_end("tool_use", 2)
    s.step()
    s.say("Done on `clap-derive`: 143 tests pass, `--legacy-tabs` still works, and the only `--help` "
          "change is the new `Indent width` description. Leaving the branch unmerged for review.")
    s.step_end("end_turn", 0)
    s.run_finish("Ported to clap derive on branch clap-derive; tests green; awaiting review.")

    s.on(MAIN)
    s.run_start(max_iterations=5, gap=(60, 200))
    s.step()
    s.user("While that's in review: on main, just bump clap from 4.4 to 4.5 so the branch rebases cleanly.",
           gap=(0.05, 0.3))
    s.say("Bumping clap and running the tests.", calls=2)
    s.tool("cargo", {"args": ["update", "-p", "clap", "--precise", "4.5.20"], "cwd": ws},
           {"exit_code": 0, "stderr_tail": "    Updating clap v4.4.18 -> v4.5.20\n    Updating clap_builder v4.4.18 -> v4.5.20"},
           5_310, category="exec")
    s.write("Cargo.lock", size=48_822, content_type="text/plain")
    s.tool("cargo", {"args": ["test", "--locked"], "cwd": ws},
           {"exit_code": 0, "stdout_tail": "test result: ok. 139 passed; 0 failed; 0 ignored"}, 58_004,
           category="exec")
    s.step_end("tool_use", 2)
    s.step()
    s.say("clap 4.5.20 on main, 139 tests pass.")
    s.step_end("end_turn", 0)
    s.run_finish("Bumped clap to 4.5.20 on main.")
    s.close("completed", gap=(30, 90))
    return s


def draft_threat_model_payments() -> Session:
    s = Session(
        "draft-threat-model-payments", model="claude-opus-4", provider="anthropic",
        params={"temperature": "0.5", "max_tokens": "12000", "framework": "STRIDE"},
        start=at(2026, 11, 13, 13, 57, 5), system_tokens=1500,
    )
    s.run_start(max_iterations=20)
    s.step()
    s.user("Draft a STRIDE threat model for the new payments service (design doc in docs/design/payments-v2.md, "
           "and the Confluence page 'Payments v2 architecture'). Focus on the card-vaulting flow.", gap=(1, 3))
    s.say("Reading the design doc and the Confluence page.", calls=2)
    s.tool("read_file", {"path": "docs/design/payments-v2.md"},
           {"content": "# Payments v2\n\nComponents: checkout-web → payments-api → vault-svc (PCI zone) → "
                       "PSP (Adyen). Card data is tokenised in the browser via the PSP's hosted fields; "
                       "payments-api never sees PANs. vault-svc stores PSP tokens keyed by customer…",
            "total_lines": 288}, 15, category="fs", ctx=3_900)
    s.tool_denied("fetch_url", {"url": "https://acme.atlassian.net/wiki/spaces/PAY/pages/77102/Payments+v2+architecture"},
                  rules=["net.egress.allowlist", "net.egress.internal_hosts"],
                  explanation="acme.atlassian.net is not on the research agent's egress allowlist",
                  category="web")
    s.step_end("tool_use", 2)
    s.step()
    s.say("I can't reach Confluence from this sandbox (blocked by the egress policy), so I'll work from the "
          "repo: the design doc plus the infra definitions for the PCI zone.", calls=2)
    s.tool("read_file", {"path": "infra/terraform/pci/network.tf"},
           {"content": "resource \"aws_security_group\" \"vault_svc\" {\n  ingress { from_port = 8443 "
                       "to_port = 8443 security_groups = [aws_security_group.payments_api.id] }\n  egress  "
                       "{ cidr_blocks = [\"0.0.0.0/0\"] }  # TODO restrict to PSP ranges\n}",
            "total_lines": 141}, 12, category="fs")
    s.tool("web_search", {"query": "Adyen hosted fields client-side encryption token replay mitigation", "k": 5},
           {"results": [{"title": "Adyen docs: Secured Fields", "url": "https://docs.adyen.com/payment-methods/cards/custom-card-integration"},
                        {"title": "PCI DSS v4.0 requirement 6.4.3 (payment page scripts)",
                         "url": "https://www.pcisecuritystandards.org/"}]}, 1_622, category="web")
    s.step_end("tool_use", 2)
    s.step()
    doc = dedent("""
        # Threat model: payments v2, card-vaulting flow (draft)

        Scope: checkout-web (hosted fields) → payments-api → vault-svc (PCI zone) → PSP. PANs never leave
        the PSP's iframe; our systems handle PSP tokens and customer ids only.

        ## Spoofing
        - **S1** Attacker calls payments-api with a stolen session to attach their card to a victim.
          *Mitigation:* re-authentication for vault mutations; bind vault writes to the session's customer id.
        - **S2** A compromised internal service calls vault-svc directly. *Mitigation:* mTLS with SPIFFE ids;
          the security group already restricts ingress to payments-api.

        ## Tampering
        - **T1** Malicious script on the checkout page alters the hosted-fields configuration
          (PCI DSS 4.0 req. 6.4.3). *Mitigation:* strict CSP, SRI on our bundles, script inventory.
        - **T2** Replay of a PSP token to charge a different amount. *Mitigation:* amounts are set
          server-side; idempotency keys bound to (customer, order).

        ## Repudiation
        - **R1** Disputed card attachment with no audit trail. *Mitigation:* append-only audit log of vault
          operations with actor, IP, and request id.

        ## Information disclosure
        - **I1** vault-svc egress is `0.0.0.0/0` (see `infra/terraform/pci/network.tf`, TODO in code): a
          compromised vault could exfiltrate tokens. *Mitigation:* restrict egress to PSP IP ranges. **High.**
        - **I2** PSP tokens in application logs. *Mitigation:* log scrubbing rule for `tok_` / `pm_` prefixes.

        ## Denial of service
        - **D1** Card-testing attacks via the attach endpoint. *Mitigation:* rate limits per customer and IP,
          PSP risk scoring, CAPTCHA after failures.

        ## Elevation of privilege
        - **E1** Support tooling can read vault records. *Mitigation:* just-in-time access with approval,
          masked display.

        ## Open questions
        - The Confluence page could not be read from the agent sandbox; please check it for components not
          in the design doc (e.g. the refunds path).""")
    s.say(doc, calls=0)
    s.step_end("end_turn", 0)
    s.step()
    s.say("Writing the draft to the repo.", calls=1)
    s.tool("write_file", {"path": "docs/security/threat-model-payments-v2.md"}, {"ok": True}, 8, category="fs")
    s.write("docs/security/threat-model-payments-v2.md", doc, content_type="text/markdown")
    s.step_end("tool_use", 1)
    s.run_finish("Draft STRIDE threat model written; one high finding (vault-svc unrestricted egress).")
    s.close("completed", gap=(40, 120))
    return s


GSM_ITEMS = [
    ("gsm-0007", "A bakery sells muffins for $3 each and cookies for $1.25 each. Priya buys 4 muffins and 6 "
                 "cookies and pays with a $20 bill. How much change does she get?", "0.5", "0.5"),
    ("gsm-0013", "A train travels 180 km in 2.5 hours, then 120 km in 1.5 hours. What is its average speed "
                 "for the whole trip in km/h?", "75", "75"),
    ("gsm-0021", "Tom has three times as many stamps as Ana. Together they have 96 stamps. Tom gives Ana 12 "
                 "stamps. How many stamps does Tom have now?", "60", "60"),
    ("gsm-0034", "A tank holds 240 litres. It is 35% full. A pump adds 18 litres per minute. How many minutes "
                 "until the tank is full?", "8.67", "9"),
    ("gsm-0042", "A shirt costs $40. It is discounted by 25%, then the discounted price is increased by 10%. "
                 "What is the final price?", "33", "33"),
    ("gsm-0058", "Lena reads 12 pages on Monday and each day reads 3 more pages than the day before. How many "
                 "pages has she read after Friday?", "90", "90"),
]


def eval_gsm_nightly() -> Session:
    s = Session(
        "eval-gsm-arith-nightly", model="o3-mini", provider="openai",
        params={"reasoning_effort": "medium", "max_tokens": "2048", "dataset": "arith-word-problems-v3",
                "harness": "lago-eval 0.4.1", "subset": "6"},
        start=at(2026, 11, 15, 1, 0, 0), reasoning=(200, 1400), system_tokens=300,
        metadata={"host": "eval-runner-1", "git_sha": "4be1c9e"},
    )
    s.run_start(max_iterations=len(GSM_ITEMS))
    correct = 0
    for item_id, question, expected, predicted in GSM_ITEMS:
        s.step()
        s.user(question + "\nAnswer with a number only.", gap=(0.2, 0.8))
        t0 = s.t
        s.say(predicted)
        ok = expected == predicted
        correct += ok
        s.custom("eval.score", {"item_id": item_id, "expected": expected, "predicted": predicted,
                                "correct": ok, "latency_ms": (s.t - t0) // 1000})
        s.step_end("end_turn", 0)
    s.emit({"type": "QuantumFluxObserved", "flux": 3.2, "unit": "mWb",
            "note": "emitted by the experimental telemetry plugin (schema v2); importers must keep it verbatim",
            "probe": {"id": "qf-7", "calibrated": False}},
           gap=(0.1, 0.3), schema_version=2)
    s.custom("eval.summary", {"dataset": "arith-word-problems-v3", "n": len(GSM_ITEMS), "correct": correct,
                              "accuracy": round(correct / len(GSM_ITEMS), 4),
                              "notes": "gsm-0034: model rounded up a fractional answer"})
    s.run_finish(f"accuracy {correct}/{len(GSM_ITEMS)}")
    s.snapshot("full")
    return s


def incident_2240_cert_expiry() -> Session:
    s = Session(
        "incident-2240-cert-expiry", model="gemini-2.5-pro", provider="google",
        params={"temperature": "0.2", "max_tokens": "8192", "incident": "INC-2240", "cluster": "prod-us-east-2"},
        start=at(2026, 11, 16, 7, 55, 12), system_tokens=1700,
        metadata={"host": "ops-bot-1"}, created_metadata={"trigger": "alertmanager"},
    )
    ro = (["ops.read_only"], "read-only cluster inspection")
    s.run_start(max_iterations=25)
    s.step()
    s.user("[Alertmanager] CertificateExpiringSoon: api.partner-gw.acme.io expires in 6d 3h "
           "(namespace partner-gw). cert-manager renewal has been failing for 24h.", gap=(0.5, 1))
    s.patch({"incident": {"id": "INC-2240", "status": "investigating", "severity": "P3"}})
    s.say("Inspecting the Certificate and its current ACME challenge.", calls=2)
    s.tool("kubectl", {"args": ["-n", "partner-gw", "get", "certificate", "partner-gw-tls", "-o", "wide"]},
           {"stdout": "NAME             READY   SECRET           ISSUER             STATUS                                          AGE\n"
                      "partner-gw-tls   True    partner-gw-tls   letsencrypt-prod   Renewing certificate as renewal was scheduled   84d"},
           611, category="k8s", policy=ro)
    s.tool("kubectl", {"args": ["-n", "partner-gw", "describe", "challenge", "-l", "acme.cert-manager.io/order-name"]},
           {"stdout": dedent("""
                Reason:      Waiting for HTTP-01 challenge propagation: wrong status code '403', expected '200'
                Presented:   true
                Processing:  true
                State:       pending
                Type:        HTTP-01
                URL:         http://api.partner-gw.acme.io/.well-known/acme-challenge/zQ1…""")},
           748, category="k8s", policy=ro)
    s.step_end("tool_use", 2)
    s.step()
    s.say("The HTTP-01 challenge URL returns 403. The old certificate is still valid and being served. "
          "Checking whether something in front of the ingress blocks `/.well-known/acme-challenge/`.", calls=1)
    s.tool("waf_list_rules", {"web_acl": "partner-gw-prod", "changed_since": "2026-11-13T00:00:00Z"},
           {"rules": [{"name": "block-non-partner-paths", "priority": 5, "action": "BLOCK",
                       "changed_at": "2026-11-14T17:02:11Z", "changed_by": "terraform (PR #2281)",
                       "statement": "NOT path starts_with /v1/partner/"}]}, 1_310, category="cloud", policy=ro)
    s.step_end("tool_use", 1)
    s.step()
    s.say("Found it: WAF rule `block-non-partner-paths` (PR #2281, 14 Nov) blocks everything outside "
          "`/v1/partner/`, including the ACME challenge path. Fastest way to get a fresh certificate would be "
          "deleting the TLS secret to force a DNS-01 re-issue via the fallback issuer.", calls=1)
    s.gated_tool("kubectl", {"args": ["-n", "partner-gw", "delete", "secret", "partner-gw-tls"]},
                 risk="critical", rules=["k8s.prod.delete", "k8s.secrets.write"],
                 explanation="deleting a TLS secret in a production namespace requires on-call approval",
                 decision="denied",
                 reason="No: deleting the secret drops TLS for partners until re-issue. Fix the WAF rule instead.",
                 wait_s=412.6, approver="s.ibrahim", category="k8s")
    s.step_end("tool_use", 1)
    s.step()
    s.say("Understood. Amending the WAF rule in Terraform to exempt `/.well-known/acme-challenge/` and "
          "opening a PR.", calls=3)
    tf = dedent("""
        statement {
          and_statement {
            statement { not_statement { statement { byte_match_statement {
              search_string = "/v1/partner/"  positional_constraint = "STARTS_WITH" field_to_match { uri_path {} } } } } }
            statement { not_statement { statement { byte_match_statement {
              search_string = "/.well-known/acme-challenge/"  positional_constraint = "STARTS_WITH" field_to_match { uri_path {} } } } } }
          }
        }""")
    s.tool("edit_file", {"path": "infra/waf/partner-gw.tf", "edits": [{"old": "# statement: non-partner paths", "new": tf}]},
           {"ok": True, "replacements": 1, "diff_stat": "+9 -4"}, 17, category="fs")
    s.write("infra/waf/partner-gw.tf", tf, content_type="text/x-terraform")
    s.tool("terraform", {"args": ["plan", "-target=aws_wafv2_web_acl.partner_gw"], "cwd": "infra/waf"},
           {"exit_code": 0, "stdout_tail": "Plan: 0 to add, 1 to change, 0 to destroy."}, 18_402, category="cloud",
           policy=(["iac.plan"], "terraform plan is read-only"))
    s.tool("create_pull_request", {"repo": "acme/infra", "title": "waf(partner-gw): allow ACME HTTP-01 challenges",
                                   "head": "ops-bot/inc-2240-waf-acme", "base": "main",
                                   "body": "Fixes INC-2240. PR #2281 blocked /.well-known/acme-challenge/."},
           {"number": 2297, "url": "https://github.com/acme/infra/pull/2297"}, 2_118, category="vcs",
           policy=(["vcs.pr.create"], "opening pull requests is allowed"))
    s.step_end("tool_use", 3)
    s.step()
    s.patch({"incident": {"status": "fix_proposed", "pr": "acme/infra#2297"}})
    s.say("PR acme/infra#2297 is open with a clean plan (1 resource changed). Once it's applied, "
          "cert-manager will retry the challenge on its own; the current certificate is valid for 6 more days.")
    s.step_end("end_turn", 0)
    s.run_finish("WAF rule blocked ACME HTTP-01; fix in acme/infra#2297. Secret deletion was denied.")

    s.run_start(max_iterations=5, gap=(3000, 4200))
    s.step()
    s.user("#2297 is merged and applied. Verify.", gap=(0.05, 0.3), meta={"author": "s.ibrahim"})
    s.say("Checking the certificate.", calls=1)
    s.tool("kubectl", {"args": ["-n", "partner-gw", "get", "certificate", "partner-gw-tls",
                                "-o", "jsonpath={.status.notAfter}"]},
           {"stdout": "2027-02-14T08:51:37Z"}, 540, category="k8s", policy=ro)
    s.step_end("tool_use", 1)
    s.step()
    s.patch({"incident": {"status": "resolved"}})
    s.say("Renewed: new certificate valid until 2027-02-14. Resolving INC-2240.")
    s.step_end("end_turn", 0)
    s.run_finish("Certificate renewed (notAfter 2027-02-14).")
    s.close("incident resolved", gap=(20, 60))
    return s


def docs_qa_onboarding() -> Session:
    s = Session(
        "docs-qa-onboarding", model="llama-3.1-70b", provider="together",
        params={"temperature": "0.7", "max_tokens": "1024", "index": "eng-handbook-2026-11"},
        start=at(2026, 11, 18, 10, 12, 44), system_tokens=800,
        created_metadata={"user": "new-hire-jchen", "channel": "slack:#eng-onboarding"},
    )
    qa = [
        ("How do I get access to the staging Kubernetes cluster?",
         {"query": "staging kubernetes access", "k": 3},
         "Access to staging is granted via the `eng-staging` Okta group. Request it in #it-help…",
         "Request the `eng-staging` Okta group in #it-help (your manager approves). Then run "
         "`acme login --cluster staging`, which writes your kubeconfig. Source: handbook › Infra › Clusters."),
        ("What's the on-call rotation like for new people?",
         {"query": "on-call new engineers shadow", "k": 3},
         "New engineers shadow two on-call weeks before joining the primary rotation…",
         "You shadow two rotations first (no pages to you), then join as secondary for a month before "
         "becoming primary. Rotations are weekly, Tuesday to Tuesday. Source: handbook › On-call."),
        ("Where do I find the coding standards for Python?",
         {"query": "python style guide", "k": 3},
         "Python code follows PEP 8 as enforced by ruff; see `styleguides/python.md`…",
         "`styleguides/python.md` in the handbook repo. In practice: ruff + mypy in pre-commit, type hints "
         "on public functions, and pytest for tests."),
    ]
    for i, (q, args, hit, answer) in enumerate(qa):
        if i == 2:
            s.resume(at(2026, 11, 19, 9, 47, 0))
        s.run_start(max_iterations=4, gap=(40, 300) if i == 1 else (0.5, 2))
        s.step()
        s.user(q, gap=(0.05, 0.3))
        s.tool("search_docs", args, {"hits": [{"doc": "handbook", "score": round(s.rng.uniform(0.71, 0.93), 3),
                                               "snippet": hit}]}, s.rng.randint(80, 400), category="retrieval")
        s.tool_message(hit)
        s.step_end("tool_use", 1)
        s.step()
        s.say(answer)
        s.step_end("end_turn", 0)
        s.run_finish()
    return s


def local_llama_smoke_test() -> Session:
    s = Session(
        "local-llama-smoke-test", model="llama-3.1-8b", provider="ollama",
        params={"base_url": "http://localhost:11434", "temperature": "0.8", "num_ctx": "8192"},
        start=at(2026, 11, 20, 17, 45, 3), system_tokens=40,
    )
    s.run_start(max_iterations=1)
    s.step()
    s.user("Say hello in three languages, one per line.", gap=(1, 2))
    s.stream("Hello!\nBonjour !\n¡Hola! 👋", pieces=4)
    s.step_end("end_turn", 0)
    s.run_finish()
    return s


SESSIONS = [
    fix_flaky_auth_test,
    summarise_rag_papers,
    incident_2231_db_latency,
    weekly_churn_analysis,
    migrate_billing_to_pydantic_v2,
    triage_ci_timeouts,
    refactor_cli_arg_parsing,
    draft_threat_model_payments,
    eval_gsm_nightly,
    incident_2240_cert_expiry,
    docs_qa_onboarding,
    local_llama_smoke_test,
]


def build() -> list[dict]:
    events: list[dict] = []
    for make in SESSIONS:
        events.extend(make().events)
    # One journal-wide stream in time order. Timestamps strictly increase within a session, so the
    # stable sort keeps every session's own order (and thus its seq numbering) intact.
    events.sort(key=lambda e: e["timestamp"])
    return events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    out = ap.parse_args().output
    lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in build()]
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} events to {out}")


if __name__ == "__main__":
    main()
