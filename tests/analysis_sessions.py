"""Generated branching sessions for the analysis tests, and brute-force oracles that read them naively.

The oracles fold a timeline event by event from its wire objects, with no SQL, no index and no
checkpoint: what the engine computes by cleverer means must equal them at every seq.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from lago_tui.journal import Journal

T0 = 1_700_000_000_000_000
TOOLS = ("read_file", "shell", "grep")
ROLES = ("user", "assistant", "system")


class SessionWriter:
    """Writes one session event by event (API appends), keeping each branch's head as the journal does."""

    def __init__(self, journal: Journal, name: str, prefix: str) -> None:
        self.j = journal
        self.prefix = prefix
        self.n = 0
        self.ts = T0
        self.session_id = f"{prefix}-session"
        self.heads: dict[str, int] = {"main": 0}
        self.buffer: list[dict[str, Any]] = []
        self.emit("main", {"type": "SessionCreated", "name": name})

    def emit(self, branch: str, payload: dict[str, Any], *, run_id: str | None = None, parent_id: str | None = None,
             ts: int | None = None) -> str:
        self.n += 1
        self.ts += 1000
        event_id = f"{self.prefix}-e{self.n:05d}"
        event: dict[str, Any] = {"event_id": event_id, "session_id": self.session_id, "branch_id": branch,
                                 "timestamp": self.ts if ts is None else ts, "payload": payload}
        if run_id is not None:
            event["run_id"] = run_id
        if parent_id is not None:
            event["parent_id"] = parent_id
        self.buffer.append(event)
        self.heads[branch] += 1
        return event_id

    def branch(self, parent: str, name: str, fork: int) -> str:
        branch_id = f"{self.prefix}-{name}"
        self.emit(parent, {"type": "BranchCreated", "new_branch_id": branch_id, "fork_point_seq": fork, "name": name})
        self.heads[branch_id] = 0
        return branch_id

    def flush(self) -> None:
        if self.buffer:
            self.j.append(self.buffer)
            self.buffer = []


def random_session(journal: Journal, seed: int, *, events: int = 140, branches: int = 4) -> str:
    """A session with nested branches and every state-changing kind, including awkward cases: results
    without requests, duplicate call ids, renames of missing paths, patches that fail, null run ids."""
    r = random.Random(seed)
    w = SessionWriter(journal, f"gen-{seed}", f"s{seed}")
    names = ["main"]
    calls: dict[str, list[str]] = {"main": []}
    runs: dict[str, list[str]] = {"main": []}
    paths = ["a.py", "b.py", "c/d.py", "e.md"]
    made = 0
    for _ in range(events):
        if made < branches - 1 and r.random() < 0.04:
            parent = r.choice(names)
            made += 1
            bid = w.branch(parent, f"b{made}", r.randint(0, w.heads[parent]))
            names.append(bid)
            calls[bid] = list(calls[parent])
            runs[bid] = list(runs[parent])
            continue
        br = r.choice(names)
        run_id = r.choice(runs[br]) if runs[br] and r.random() < 0.8 else None
        roll = r.random()
        if roll < 0.08:
            rid = f"run{w.n}"
            runs[br].append(rid)
            w.emit(br, {"type": "RunStarted"}, run_id=rid if r.random() < 0.9 else None)
        elif roll < 0.12 and runs[br]:
            rid = r.choice(runs[br])
            if r.random() < 0.7:
                usage = {"prompt_tokens": r.randint(0, 50), "completion_tokens": r.randint(0, 20)}
                w.emit(br, {"type": "RunFinished", "reason": "done", "usage": usage}, run_id=rid)
            else:
                w.emit(br, {"type": "RunErrored", "error": "boom"}, run_id=rid)
        elif roll < 0.35:
            payload: dict[str, Any] = {"type": "Message", "role": r.choice(ROLES), "content": f"text {w.n} \x1b[1m"}
            if r.random() < 0.5:
                payload["token_usage"] = {"prompt_tokens": r.randint(0, 100), "completion_tokens": r.randint(0, 40)}
            w.emit(br, payload, run_id=run_id)
        elif roll < 0.5:
            call_id = f"c{w.n}" if r.random() < 0.9 or not calls[br] else r.choice(calls[br])  # some duplicates
            calls[br].append(call_id)
            w.emit(br, {"type": "ToolCallRequested", "call_id": call_id, "tool_name": r.choice(TOOLS),
                        "arguments": {"n": w.n}}, run_id=run_id)
        elif roll < 0.62:
            call_id = r.choice(calls[br]) if calls[br] and r.random() < 0.85 else f"nope{w.n}"
            if r.random() < 0.75:
                status = r.choice(("ok", "ok", "success", "error", "timeout"))
                w.emit(br, {"type": "ToolCallCompleted", "call_id": call_id, "tool_name": r.choice(TOOLS),
                            "result": {"ok": status}, "duration_ms": r.randint(0, 99), "status": status}, run_id=run_id)
            else:
                w.emit(br, {"type": "ToolCallFailed", "call_id": call_id, "tool_name": r.choice(TOOLS),
                            "error": "failed"}, run_id=run_id)
        elif roll < 0.72:
            kind = r.choice(("FileWrite", "FileWrite", "FileDelete", "FileRename"))
            if kind == "FileWrite":
                body: dict[str, Any] = {"type": kind, "path": r.choice(paths)}
                if r.random() < 0.8:
                    body["blob_hash"] = f"h{w.n}"
                if r.random() < 0.8:
                    body["size_bytes"] = r.randint(0, 999)
            elif kind == "FileDelete":
                body = {"type": kind, "path": r.choice(paths)}
            else:
                body = {"type": kind, "old_path": r.choice(paths), "new_path": r.choice(paths)}
            w.emit(br, body, run_id=run_id)
        elif roll < 0.85:
            choice = r.random()
            if choice < 0.45:
                patch: Any = {"k": r.randint(0, 3), "nest": {"x": r.choice((None, 1, "y"))}, r.choice("pq"): None}
            elif choice < 0.9:
                ops = r.choice((
                    [{"op": "add", "path": "/list", "value": []}],
                    [{"op": "add", "path": "/list/-", "value": w.n}],
                    [{"op": "replace", "path": "/list/0", "value": "first"}],
                    [{"op": "remove", "path": "/k"}],
                    [{"op": "test", "path": "/k", "value": 1}, {"op": "add", "path": "/t", "value": True}],
                    [{"op": "copy", "from": "/nest", "path": "/copy"}],
                    [{"op": "move", "from": "/copy", "path": "/moved"}],
                    [{"op": "add", "path": "/a~1b", "value": {"~": 1}}],
                ))
                patch = ops
            else:
                patch = r.choice((None, 5, "text"))
            body = {"type": "StatePatched", "revision": w.n}
            if patch is not None or r.random() < 0.5:
                body["patch"] = patch
            w.emit(br, body, run_id=run_id)
        else:
            w.emit(br, {"type": r.choice(("StepStarted", "TextDelta", "Custom")), "index": 1, "delta": "d",
                        "event_type": "x"}, run_id=run_id)
        if r.random() < 0.04:  # a few appends per session, as an agent writes them
            w.flush()
    w.flush()
    return w.session_id


# ---------------------------------------------------------------------------------------------- oracles


def timeline_events(journal: Journal, session: str, branch: str) -> list[dict[str, Any]]:
    tl = journal.timeline(session, branch)
    return [ev.to_wire() for ev in tl.window(0, tl.length)]


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def _tokens(path: str) -> list[str]:
    return [] if path == "" else [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _json_patch(doc: Any, ops: list[Any]) -> Any:
    """A plain, mutating RFC 6902 on a deep copy; raises on any failure."""
    doc = copy.deepcopy(doc)

    def parent_of(path: str) -> tuple[Any, str]:
        tokens = _tokens(path)
        node = doc
        for t in tokens[:-1]:
            node = node[int(t)] if isinstance(node, list) else node[t]
        return node, tokens[-1]

    def get(path: str) -> Any:
        node = doc
        for t in _tokens(path):
            if isinstance(node, list):
                assert t.isdigit() and int(t) < len(node)
                node = node[int(t)]
            else:
                node = node[t]
        return node

    def add(path: str, value: Any) -> None:
        nonlocal doc
        if path == "":
            doc = value
            return
        node, last = parent_of(path)
        if isinstance(node, list):
            node.insert(len(node) if last == "-" else _idx(last, len(node) + 1), value)
        else:
            assert isinstance(node, dict)
            node[last] = value

    def remove(path: str) -> None:
        node, last = parent_of(path)
        if isinstance(node, list):
            del node[_idx(last, len(node))]
        else:
            del node[last]

    def _idx(t: str, limit: int) -> int:
        assert t.isdigit() and int(t) < limit
        return int(t)

    for op in ops:
        name = op["op"]
        if name == "add":
            add(op["path"], copy.deepcopy(op["value"]))
        elif name == "remove":
            remove(op["path"])
        elif name == "replace":
            get(op["path"])
            remove(op["path"]) if op["path"] else None
            add(op["path"], copy.deepcopy(op["value"]))
        elif name == "test":
            value = get(op["path"])
            assert type(value) is type(op["value"]) and value == op["value"]
        elif name == "copy":
            add(op["path"], copy.deepcopy(get(op["from"])))
        elif name == "move":
            value = get(op["from"])
            remove(op["from"])
            add(op["path"], value)
        else:
            raise AssertionError(name)
    return doc


def oracle_state(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The state after ``events`` (a timeline prefix), in the shape of StateAt.to_json() minus ids."""
    messages, files, calls, runs = [], {}, [], {}
    state: Any = {}
    per_run: dict[Any, list[int]] = {}
    for ev in events:
        p = ev["payload"]
        kind = p["type"]
        if kind == "Message":
            messages.append({"seq": ev["seq"], "branch_id": ev["branch_id"], "role": p["role"], "content": p["content"]})
            usage = p.get("token_usage") or {}
            acc = per_run.setdefault(ev.get("run_id"), [0, 0, 0, 0])
            acc[0] += usage.get("prompt_tokens", 0)
            acc[1] += usage.get("completion_tokens", 0)
        elif kind == "RunFinished":
            usage = p.get("usage") or {}
            acc = per_run.setdefault(ev.get("run_id"), [0, 0, 0, 0])
            acc[2] += usage.get("prompt_tokens", 0)
            acc[3] += usage.get("completion_tokens", 0)
        if kind == "ToolCallRequested":
            calls.append({"call_id": p["call_id"], "tool_name": p["tool_name"], "status": "pending", "seq": ev["seq"]})
        elif kind in ("ToolCallCompleted", "ToolCallFailed"):
            for call in calls:  # the earliest pending request with this call id
                if call["call_id"] == p.get("call_id") and call["status"] == "pending":
                    if kind == "ToolCallFailed":
                        call["status"] = "failed"
                    else:
                        call["status"] = "ok" if p["status"] in ("ok", "success") else "error"
                    break
        elif kind in ("RunStarted", "RunFinished", "RunErrored") and ev.get("run_id") is not None:
            status = {"RunStarted": "running", "RunFinished": "finished", "RunErrored": "errored"}[kind]
            runs.setdefault(ev["run_id"], status)
            runs[ev["run_id"]] = status
        elif kind == "FileWrite":
            files.pop(p["path"], None)
            files[p["path"]] = {"blob_hash": p.get("blob_hash"), "size_bytes": p.get("size_bytes")}
        elif kind == "FileDelete":
            files.pop(p["path"], None)
        elif kind == "FileRename":
            if p["old_path"] in files and p["old_path"] != p["new_path"]:
                files[p["new_path"]] = files.pop(p["old_path"])
        elif kind == "StatePatched":
            patch = p.get("patch")
            if isinstance(patch, dict):
                state = _merge(state, patch)
            elif isinstance(patch, list):
                try:
                    state = _json_patch(state, patch)
                except (AssertionError, KeyError, IndexError, TypeError, ValueError):
                    pass
    t_in = sum(a[0] if a[0] + a[1] else a[2] for a in per_run.values())
    t_out = sum(a[1] if a[0] + a[1] else a[3] for a in per_run.values())
    return {
        "messages": messages,
        "files": dict(sorted(files.items())),
        "tokens": {"in": t_in, "out": t_out},
        "tool_calls": calls,
        "runs": [{"run_id": k, "status": v} for k, v in runs.items()],
        "state": state,
    }
