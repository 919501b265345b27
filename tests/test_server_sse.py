"""Server-sent event streams: the four formats frame by frame, following, resume, keep-alive, the cap,
and the done frame at shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from server_support import REPO, Server, Stream, message, wait_until

TOOL_ARGS = {"path": "/tmp/x", "lines": [1, 2]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = Server(tmp_path_factory.mktemp("sse") / "journal.duckdb", "--ping", "0.5", "--max-streams", "3",
                 "--idle-release", "0.3")
    yield srv
    assert srv.stop() == 0


@pytest.fixture(scope="module")
def story(server: Server) -> tuple[str, list[dict]]:
    """A session whose main branch holds one event of each kind the formats care about."""
    c = server.client()
    sid = c.new_session("stream-story")
    c.append(sid,
             message("Hello \x1b[31mthere", role="assistant", event_id="E-MSG", timestamp=1_700_000_001_000_000,
                     **{"payload": {"type": "Message", "role": "assistant", "content": "Hello \x1b[31mthere",
                                    "model": "m-1", "token_usage": {"prompt_tokens": 7, "completion_tokens": 5,
                                                                    "total_tokens": 12}}}),
             {"event_id": "E-DELTA", "timestamp": 1_700_000_002_000_000,
              "payload": {"type": "TextDelta", "delta": "tok", "index": 2}},
             {"event_id": "E-FILE", "timestamp": 1_700_000_003_000_000, "payload": {"type": "FileWrite", "path": "a"}},
             {"event_id": "E-CALL", "timestamp": 1_700_000_004_000_000,
              "payload": {"type": "ToolCallRequested", "call_id": "c1", "tool_name": "read", "arguments": TOOL_ARGS}},
             {"event_id": "E-DONE", "timestamp": 1_700_000_005_000_000,
              "payload": {"type": "ToolCallCompleted", "call_id": "c1", "tool_name": "read", "result": {"ok": 1},
                          "duration_ms": 3, "status": "ok"}},
             {"event_id": "E-RUN", "timestamp": 1_700_000_006_000_000,
              "payload": {"type": "RunFinished", "reason": "MaxTokens", "final_answer": "42"}})
    events = c.get(f"/v1/sessions/{sid}/events/read").json
    c.close()
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6, 7]
    return sid, events


def open_stream(server: Server, sid: str, query: str = "", **headers: str) -> Stream:
    s = Stream(server.host, server.port, f"/v1/sessions/{sid}/events{query}", headers)
    return s


def data(frame: dict[str, str]) -> object:
    return json.loads(frame["data"])


def test_lago_format_sends_every_envelope(server: Server, story) -> None:
    sid, events = story
    s = open_stream(server, sid)
    assert s.status == 200 and s.headers["content-type"].startswith("text/event-stream")
    assert s.headers["cache-control"] == "no-cache"
    frames = s.events(7)
    s.close()
    assert [f["event"] for f in frames] == ["event"] * 7
    assert [int(f["id"]) for f in frames] == [1, 2, 3, 4, 5, 6, 7]
    assert [data(f) for f in frames] == events
    assert "\x1b" not in "".join(f["data"] for f in frames)  # escaped JSON only


def test_openai_format(server: Server, story) -> None:
    sid, _ = story
    s = open_stream(server, sid, "?format=openai&after_seq=1")
    frames = s.events(3)
    s.close()
    assert [f.get("id") for f in frames] == ["2", "3", "7"] and all("event" not in f for f in frames)
    msg, delta, run = (data(f) for f in frames)
    assert msg == {"id": "chatcmpl-E-MSG", "object": "chat.completion.chunk", "created": 1_700_000_001,
                   "model": "m-1", "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                      "content": "Hello \x1b[31mthere"},
                                                "finish_reason": "stop"}]}
    assert delta["choices"] == [{"index": 2, "delta": {"role": "assistant", "content": "tok"}, "finish_reason": None}]
    assert delta["model"] == "lago"
    assert run["choices"] == [{"index": 0, "delta": {"content": "42"}, "finish_reason": "length"}]


def test_anthropic_format(server: Server, story) -> None:
    sid, _ = story
    s = open_stream(server, sid, "?format=anthropic&after_seq=1")
    frames = s.events(6)
    s.close()
    assert [f["event"] for f in frames] == ["message_start", "content_block_start", "content_block_delta",
                                            "content_block_stop", "message_delta", "content_block_delta"]
    assert [f.get("id") for f in frames] == ["2", None, None, None, None, "3"]
    assert all(data(f)["type"] == f["event"] for f in frames)
    start = data(frames[0])["message"]
    assert start == {"id": "msg_E-MSG", "type": "message", "role": "assistant", "content": [], "model": "m-1",
                     "stop_reason": None, "usage": {"input_tokens": 7, "output_tokens": 0}}
    assert data(frames[2])["delta"] == {"type": "text_delta", "text": "Hello \x1b[31mthere"}
    assert data(frames[4]) == {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                               "usage": {"output_tokens": 5}}
    assert data(frames[5]) == {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "tok"}}


def test_vercel_format(server: Server, story) -> None:
    sid, _ = story
    s = open_stream(server, sid, "?format=vercel&after_seq=1")
    assert s.headers["x-vercel-ai-ui-message-stream"] == "v1"
    frames = s.events(10)
    s.close()
    parts = [data(f) for f in frames]
    assert [p["type"] for p in parts] == ["start-step", "text-start", "text-delta", "text-end", "finish-step",
                                          "text-delta", "tool-input-start", "tool-input-delta",
                                          "tool-input-available", "tool-output-available"]
    assert [f["id"] for f in frames] == ["2"] * 5 + ["3", "5", "5", "5", "6"]
    assert parts[2] == {"type": "text-delta", "id": "E-MSG", "delta": "Hello \x1b[31mthere"}
    assert parts[5] == {"type": "text-delta", "id": "E-DELTA", "delta": "tok"}
    assert parts[6] == {"type": "tool-input-start", "toolCallId": "c1", "toolName": "read"}
    assert json.loads(parts[7]["delta"]) == TOOL_ARGS
    assert parts[8] == {"type": "tool-input-available", "toolCallId": "c1", "toolName": "read", "input": TOOL_ARGS}
    assert parts[9] == {"type": "tool-output-available", "toolCallId": "c1", "toolName": "read", "output": {"ok": 1}}


def test_follows_new_appends_and_resumes_from_last_event_id(server: Server) -> None:
    c = server.client()
    sid = c.new_session("follow")
    s = open_stream(server, sid)
    assert int(s.events(1)[0]["id"]) == 1
    started = time.monotonic()
    assert c.append(sid, message("live")).json == {"seq": 2}
    live = s.events(1)[0]
    assert data(live)["payload"]["content"] == "live" and time.monotonic() - started < 5
    s.close()
    c.append(sid, message("while away 1"), message("while away 2"))  # 3, 4
    resumed = open_stream(server, sid, "?after_seq=0", **{"Last-Event-ID": "2"})  # the header wins
    assert [int(f["id"]) for f in resumed.events(2)] == [3, 4]
    resumed.close()
    by_query = open_stream(server, sid, "?after_seq=3", **{"Last-Event-ID": "not-a-number"})
    assert [int(f["id"]) for f in by_query.events(1)] == [4]
    by_query.close()
    beyond = open_stream(server, sid, "?after_seq=1", **{"Last-Event-ID": str(2**64 - 1)})  # after everything
    c.append(sid, message("after the huge id"))
    assert beyond.status == 200 and beyond.frames(1, timeout=1.5) == [{"comment": "ping"}]
    beyond.close()
    c.close()


def test_branch_streams_and_keep_alive_ping(server: Server) -> None:
    c = server.client()
    sid = c.new_session("branch-stream")
    branch = c.post(f"/v1/sessions/{sid}/branches", {"name": "side"}).json["branch_id"]
    s = open_stream(server, sid, "?branch=side")
    try:
        c.append(sid, message("main only"))
        c.append(sid, message("on side", branch_id=branch))
        frame = s.events(1)[0]
        assert data(frame)["payload"]["content"] == "on side" and data(frame)["branch_id"] == branch
        assert s.frames(1, timeout=5)[0] == {"comment": "ping"}  # --ping 0.5 in this module
    finally:
        s.close()
        c.close()


def test_streams_see_writes_by_other_processes(server: Server) -> None:
    """Another writer (here this test process, directly on the file) commits while the server is idle and
    has let go of the file: the bell cannot know, the stream's stat of the file does."""
    from lago_tui.journal import Journal

    c = server.client()
    sid = c.new_session("outside writer")
    s = open_stream(server, sid)
    try:
        assert [int(f["id"]) for f in s.events(1)] == [1]
        time.sleep(0.6)  # --idle-release 0.3
        with Journal(server.journal, busy_timeout=10) as j:
            j.append([{"event_id": "OUTSIDE-1", "session_id": sid, "timestamp": 1_700_000_000_000_000,
                       "payload": {"type": "Message", "role": "user", "content": "from outside"}}])
        frame = s.events(1, timeout=10)[0]
        assert data(frame)["event_id"] == "OUTSIDE-1" and frame["id"] == "2"
    finally:
        s.close()
        c.close()


def test_stream_errors(server: Server, story) -> None:
    sid, _ = story
    c = server.client()
    r = c.get("/v1/sessions/NOSUCH/events?format=xml")
    assert r.status == 400 and r.json["error"] == "bad_request"  # the format is checked first
    assert c.get("/v1/sessions/NOSUCH/events").status == 404
    assert c.get(f"/v1/sessions/{sid}/events?branch=nosuch").status == 404
    assert c.get(f"/v1/sessions/{sid}/events?after_seq=x").status == 400
    c.close()


def test_open_streams_are_capped_and_hold_no_file(server: Server, story) -> None:
    sid, _ = story
    c = server.client()
    assert wait_until(lambda: c.get("/health").json["writes"]["open_streams"] == 0)  # earlier tests' streams
    streams = [open_stream(server, sid) for _ in range(3)]
    assert all(s.status == 200 for s in streams)
    for s in streams:
        s.events(7)
    refused = c.get(f"/v1/sessions/{sid}/events")
    assert refused.status == 503 and refused.json["error"] == "unavailable"
    # Three idle streams, and another process reads the file: the server let go of it (--idle-release 0.3).
    time.sleep(0.6)
    cli = subprocess.run([sys.executable, "-m", "lago_tui", "--journal", str(server.journal), "sessions"],
                         capture_output=True, text=True, timeout=60, cwd=str(REPO))
    assert cli.returncode == 0 and "stream-story" in cli.stdout, cli.stderr
    streams[0].close()
    deadline = time.monotonic() + 10
    while True:
        s = open_stream(server, sid)
        if s.status == 200 or time.monotonic() > deadline:
            break
        s.close()
        time.sleep(0.05)
    assert s.status == 200
    for other in [s, *streams[1:]]:
        other.close()
    c.close()


def test_shutdown_sends_each_format_its_done_frame(tmp_path) -> None:
    srv = Server(tmp_path / "journal.duckdb")
    c = srv.client()
    sid = c.new_session("closing")
    c.close()
    done = {"lago": ("done", '{"type":"done"}'), "openai": (None, "[DONE]"),
            "anthropic": ("message_stop", '{"type":"message_stop"}'),
            "vercel": (None, '{"type":"finish","finishReason":"stop"}')}
    streams = {fmt: open_stream(srv, sid, f"?format={fmt}") for fmt in done}
    streams["lago"].events(1)
    started = time.monotonic()
    srv.send_signal(signal.SIGTERM)
    for fmt, (event, text) in done.items():
        frames = streams[fmt].events(1, timeout=10)
        assert frames and frames[-1].get("data") == text and frames[-1].get("event") == event, (fmt, frames)
        streams[fmt].close()
    assert srv.proc.wait(15) == 0
    assert time.monotonic() - started < 8
    srv.stop()
    from lago_tui.journal import Journal

    with Journal(srv.journal, busy_timeout=0.5) as j:  # the file was released: a writer gets it at once
        j.create_session({"name": "after the server"})
