"""Timelines with a query: hide mode across appends, kinds and query together, empty and bad searches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lago_tui.journal import Journal
from lago_tui.journal.query import QueryError

T0 = 1_790_000_000_000_000


def ev(sid: str, kind: str, n: int, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"{sid}-{n}", "session_id": sid, "timestamp": T0 + n * 1_000_000,
            "payload": {"type": kind, **fields}}


@pytest.fixture
def j(tmp_path: Path):
    journal = Journal(tmp_path / "journal.duckdb", idle_release=0.2)
    yield journal
    journal.close()


def test_hide_mode_follows_appends_including_outcomes_of_earlier_requests(j: Journal) -> None:
    sid = j.create_session({"name": "live"})
    j.append([ev(sid, "ToolCallRequested", 1, call_id="c1", tool_name="bash"),
              ev(sid, "ToolCallCompleted", 2, call_id="c1", tool_name="bash", status="ok", duration_ms=5)])
    failing = j.timeline(sid, query="status:error")
    slow = j.timeline(sid, query="dur:>1s")
    assert (failing.length, slow.length) == (0, 0)
    j.append([ev(sid, "ToolCallRequested", 3, call_id="c2", tool_name="bash")])
    assert failing.refresh() == 0  # no outcome yet
    j.append([ev(sid, "ToolCallFailed", 9, call_id="c2", tool_name="bash", error="boom")])
    assert failing.refresh() == 2  # the request (its outcome failed) and the failure
    assert [(e.kind, e.outcome.status if e.outcome else None) for e in failing.window(0, 10)] == [
        ("ToolCallRequested", "failed"), ("ToolCallFailed", None)]
    assert slow.refresh() == 1 and slow.window(0, 1)[0].seq == 4  # 6 s between request and failure


def test_kinds_and_query_together_and_searches_within(j: Journal) -> None:
    sid = j.create_session({"name": "mixed"})
    j.append([ev(sid, "Message", 1, role="user", content="alpha"),
              ev(sid, "Message", 2, role="assistant", content="alpha beta"),
              ev(sid, "TextDelta", 3, delta="alpha"),
              ev(sid, "Message", 4, role="assistant", content="gamma")])
    tl = j.timeline(sid, kinds=["assistant", "TextDelta"], query="-gamma")
    assert [e.seq for e in tl.window(0, 10)] == [3, 4]
    assert tl.kinds == ("TextDelta", "assistant") and tl.query.text == "-gamma"
    assert tl.count_matches("beta") == 1 and tl.find("beta", 0) == 0 and tl.find("beta", 1) is None and tl.match_positions("alpha") == [0, 1]
    assert tl.match_positions("alpha", 1, 1) == [1] and tl.match_positions("alpha", 5) == []
    for empty in ("", "   "):
        assert (tl.find(empty, 0), tl.count_matches(empty), tl.match_positions(empty)) == (None, 0, [])
    with pytest.raises(QueryError) as err:
        tl.find("seq:>", 0)
    assert (err.value.start, err.value.end) == (0, 5)
    with pytest.raises(QueryError, match="unknown kind 'Nope'"):
        j.timeline(sid, query="kind:Nope")
