"""Safe by default: token, loopback, body limit, CORS, hostile content, the log, and bad requests of every
kind (each a 4xx, after which the server keeps serving)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import pytest

from hostile_corpus import CORPUS, SMALL_CORPUS
from lago_tui.server.security import is_loopback
from server_support import REPO, Server, message

TOKEN = "s3cret-token-\u00e9-x"
ORIGIN = "http://localhost:3000"
PRINTABLE = re.compile(rb"^[\x20-\x7e\n]*$")


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory):
    srv = Server(tmp_path_factory.mktemp("plain") / "journal.duckdb", "--header-timeout", "0.5")
    yield srv
    assert srv.stop() == 0


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory):
    srv = Server(tmp_path_factory.mktemp("guarded") / "journal.duckdb", "--max-body", "20000", "--cors", ORIGIN,
                 env={"LAGO_TOKEN": TOKEN})
    yield srv
    assert srv.stop() == 0
    assert TOKEN not in srv.stderr() and "s3cret" not in srv.stderr()


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lago_tui", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=str(REPO))


# --------------------------------------------------------------------------------------------- token


def test_token_is_required_everywhere_but_health(guarded: Server) -> None:
    anon = guarded.client()
    for path in ("/v1/sessions", "/health/ready", "/v1/health", "/v1/sessions/x/events", "/nope"):
        r = anon.get(path)
        assert r.status == 401 and r.json["error"] == "unauthorized", (path, r)
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert anon.post("/v1/sessions", {"name": "x"}).status == 401
    assert anon.get("/health").status == 200
    for wrong in ("Bearer nope", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", TOKEN):
        assert anon.get("/v1/sessions", headers={"Authorization": wrong.encode().decode("latin-1")}).status == 401
    authed = guarded.client(token=TOKEN.encode().decode("latin-1"))  # http.client sends headers as latin-1
    assert authed.get("/v1/sessions").status == 200
    assert authed.get("/v1/sessions", headers={"Authorization": "bearer " + TOKEN.encode().decode("latin-1")}).status == 200
    anon.close()
    authed.close()


def test_non_loopback_without_token_is_refused(tmp_path) -> None:
    r = cli("--journal", str(tmp_path / "j.duckdb"), "serve", "--host", "0.0.0.0", "--port", "0", timeout=30)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("lago-tui: error: refusing to serve on 0.0.0.0 without a token")
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "j.duckdb").exists()


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True),
                                           ("localhost", True), ("0.0.0.0", False), ("::", False),
                                           ("10.1.2.3", False), ("192.168.0.10", False)])
def test_loopback_check(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --------------------------------------------------------------------------------------------- limits, CORS


def test_body_limit_is_413_and_the_server_keeps_serving(guarded: Server) -> None:
    c = guarded.client(token=TOKEN.encode().decode("latin-1"))
    sid = c.new_session("limits")
    big = {"event": message("x" * 30_000)}
    r = c.post(f"/v1/sessions/{sid}/events", big)
    assert r.status == 413 and r.json["error"] == "payload_too_large"
    # chunked, no Content-Length: counted as it arrives
    with socket.create_connection((guarded.host, guarded.port), timeout=10) as sock:
        head = (f"POST /v1/sessions/{sid}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        chunk = b"a" * 8000
        sock.sendall(head + b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)))
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413")
    assert c.append(sid, message("small")).json == {"seq": 2}
    c.close()


def test_no_cors_unless_asked(plain: Server, guarded: Server) -> None:
    c = plain.client()
    r = c.get("/v1/sessions", headers={"Origin": "http://evil.example"})
    assert r.status == 200 and not any(h.startswith("access-control-") for h in r.headers)
    pre = c.request("OPTIONS", "/v1/sessions", headers={"Origin": "http://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert pre.status == 405 and not any(h.startswith("access-control-") for h in pre.headers)
    c.close()
    g = guarded.client(token=TOKEN.encode().decode("latin-1"))
    ok = g.get("/v1/sessions", headers={"Origin": ORIGIN})
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    other = g.get("/v1/sessions", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    anon = guarded.client()  # a preflight carries no token; it must still be answered
    pre = anon.request("OPTIONS", "/v1/sessions", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status == 200 and pre.headers["access-control-allow-origin"] == ORIGIN
    g.close()
    anon.close()


# --------------------------------------------------------------------------------------------- hostile content


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def test_hostile_content_round_trips_exactly_as_escaped_json(plain: Server) -> None:
    c = plain.client()
    storable = [case for case in CORPUS if not _has_lone_surrogate(case.text)]
    refused = [case for case in CORPUS if _has_lone_surrogate(case.text)]
    small = [case for case in storable if len(case.text) < 100_000]
    huge = [case for case in storable if len(case.text) >= 100_000]
    assert refused and huge and len(small) > 50
    sid = c.new_session("hostile")
    events = []
    for case in small:  # as message text, metadata value, key and value of an unknown payload kind
        events.append(message(case.text, metadata={"m": case.text}))
        events.append({"payload": {"type": "Weird", case.text: case.text, "n": [case.text]}})
    assert c.append(sid, *events).status == 200
    for case in huge:  # 1 MB each, one request each
        assert c.append(sid, message(case.text)).status == 200, case.id
    for case in refused:  # not valid Unicode: refused as invalid JSON, as Lago does
        r = c.append(sid, message(case.text))
        assert r.status == 400 and r.json["error"] == "bad_request", case.id
    r = c.get(f"/v1/sessions/{sid}/events/read")
    assert PRINTABLE.match(r.body) and b"\n" not in r.body
    got = r.json[1:]
    assert len(got) == 2 * len(small) + len(huge)
    for k, case in enumerate(small):
        assert got[2 * k]["payload"]["content"] == case.text, case.id
        assert got[2 * k]["metadata"] == {"m": case.text}, case.id
        assert got[2 * k + 1]["payload"] == {"type": "Weird", case.text: case.text, "n": [case.text]}, case.id
    for k, case in enumerate(huge):
        assert got[2 * len(small) + k]["payload"]["content"] == case.text, case.id


def test_hostile_session_and_branch_names(plain: Server) -> None:
    names = [case.text for case in SMALL_CORPUS if not _has_lone_surrogate(case.text) and case.text.strip()]
    created: dict[str, str] = {}
    lock = threading.Lock()

    def create(chunk: list[str]) -> None:  # concurrent creates share the group commit's transactions
        c = plain.client()
        for name in chunk:
            r = c.post("/v1/sessions", {"name": name, "params": {"p": name}})
            assert r.status == 201, (name, r)
            with lock:
                created[name] = r.json["session_id"]
        c.close()

    threads = [threading.Thread(target=create, args=(names[k::16],)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c = plain.client()
    listed = c.get("/v1/sessions")
    assert PRINTABLE.match(listed.body)
    by_id = {s["session_id"]: s for s in listed.json}
    assert all(by_id[sid]["name"] == name and by_id[sid]["params"] == {"p": name} for name, sid in created.items())
    sid = created[names[0]]
    for name in names[:6]:  # the branch route, a few
        r = c.post(f"/v1/sessions/{sid}/branches", {"name": name})
        assert r.status == 201 and r.json["name"] == name, (name, r)
    forks = [{"payload": {"type": "BranchCreated", "new_branch_id": f"B{k}", "fork_point_seq": 1, "name": name}}
             for k, name in enumerate(names[6:])]  # the rest as BranchCreated events, one transaction
    assert c.append(sid, *forks).status == 200
    listed = [b["name"] for b in c.get(f"/v1/sessions/{sid}/branches").json]
    assert listed[:7] == ["main", *names[:6]] and sorted(listed[7:]) == sorted(names[6:])
    c.append(sid, message("\x1b]52;c;aGVsbG8=\x07\u202e\x00"))
    raw = socket.create_connection((plain.host, plain.port), timeout=10)
    raw.sendall(f"GET /v1/sessions/{sid}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    body = b""
    deadline = time.monotonic() + 10
    while b"aGVsbG8" not in body and time.monotonic() < deadline:
        body += raw.recv(65536)
    raw.close()
    stream_text = body.split(b"\r\n\r\n", 1)[1]
    assert re.match(rb"^[\x20-\x7e\r\n]*$", stream_text)
    assert b'"content":"\\u001b]52;c;aGVsbG8=\\u0007\\u202e\\u0000"' in stream_text
    c.close()


def test_access_log_is_one_escaped_line_per_request(plain: Server) -> None:
    c = plain.client()
    marker = "log-marker-\x1b[2J\u202e"
    c.get("/v1/sessions/" + quote(marker))
    c.post("/v1/sessions", {"name": "secret body text \x1b[31m"})
    time.sleep(0.2)
    log = plain.log_path.read_bytes()
    assert PRINTABLE.match(log), [ch for ch in set(log) if ch < 0x20 and ch != 0x0A or ch > 0x7E][:5]
    lines = log.decode().splitlines()
    assert any(re.fullmatch(r"GET /v1/sessions/log-marker-%1b%5b2J%e2%80%ae 404 \d+\.\dms", line, re.IGNORECASE)
               for line in lines), lines[-5:]
    assert any(re.fullmatch(r"POST /v1/sessions 201 \d+\.\dms", line) for line in lines)
    assert "secret body text" not in log.decode()
    c.close()


# --------------------------------------------------------------------------------------------- bad requests


def _raw(server: Server, data: bytes, *, wait: float = 5) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=wait) as sock:
        sock.sendall(data)
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


def test_a_head_that_never_ends_gets_431_at_once_and_the_server_keeps_serving(plain: Server) -> None:
    from lago_tui.server.runner import MAX_HEAD_BYTES

    with socket.create_connection((plain.host, plain.port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        try:
            while sent < 400 * MAX_HEAD_BYTES:  # in pieces (19 MiB at most), as a hostile client sends it
                sock.sendall(b"a" * 4096)
                sent += 4096
        except OSError:
            pass  # closed by the server while still sending: what should happen
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 431 "), reply[:80]
    assert b'"error":"request_header_fields_too_large"' in reply
    # refused long before the client gave up (httptools alone read 100 MB); what was sent beyond the limit
    # sat in the loopback socket buffers (a few MiB) when the server closed
    assert sent < 300 * MAX_HEAD_BYTES
    assert plain.client().get("/health").status == 200


def test_bad_requests_of_every_kind_get_4xx_and_the_server_keeps_serving(plain: Server) -> None:
    c = plain.client()
    sid = c.new_session("abuse")
    path = f"/v1/sessions/{sid}/events"
    cases = [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /\x1b[31m HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n[[[[".encode(), 0),
    ]
    for data, status in cases:
        reply = _raw(plain, data, wait=3 if status else 0.5)
        if status:
            assert reply.startswith(f"HTTP/1.1 {status}".encode()), (data[:40], reply[:80])
    bodies = [
        ("[" * 100_000, 400),
        ('{"event": {"timestamp": 1e400, "payload": {"type": "Custom", "event_type": "x"}}}', 422),
        ('{"event": {"timestamp": 1000000000000000000000000000000, "payload": {"type": "Custom", "event_type": "x"}}}', 422),
        ('{"event": {"event_id": 7, "payload": {"type": "Custom", "event_type": "x"}}}', 422),
        ('{"event": {"event_id": "", "payload": {"type": "Custom", "event_type": "x"}}}', 422),
        ('{"event": {"payload": {"type": "BranchCreated", "new_branch_id": "b", "name": "main", "fork_point_seq": 0}}}', 422),
        ('{"event": {"payload": {"type": "ToolCallCompleted", "tool_name": "t", "status": "ok", "duration_ms": -1}}}', 422),
        ('{"event": {"payload": {}}}', 422),
        ('{"event": {"payload": {"type": null}}}', 422),
        ('{"event": null}', 422),
        ('"just a string"', 422),
        ('{"event": {"payload": {"type": "Message", "role": "user", "content": "x"}}}' * 2, 400),
    ]
    for body, status in bodies:
        r = c.request("POST", path, raw=body.encode())
        assert r.status == status and r.json["error"] and r.json["message"], (body[:60], r)
    # a client that stops sending half way through its body, and one that never finishes its head
    with socket.create_connection((plain.host, plain.port), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 1000\r\n\r\n{{\"event\":".encode())
    slow = socket.create_connection((plain.host, plain.port), timeout=5)
    slow.sendall(b"GET /v1/sessions HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    assert slow.recv(100) == b"" and time.monotonic() - started < 4  # dropped after --header-timeout 0.5
    slow.close()
    assert c.get("/health").status == 200
    assert c.append(sid, message("still serving")).json == {"seq": 2}
    assert "Traceback" not in plain.stderr() and " 500 " not in plain.stderr()
    c.close()


def test_cli_refusals_are_one_line(tmp_path, plain: Server) -> None:
    (tmp_path / "dir.duckdb").mkdir()
    (tmp_path / "text.duckdb").write_text("not a journal")
    cases = [
        (["--journal", str(tmp_path / "dir.duckdb"), "serve", "--port", "0"], "is a directory"),
        (["--journal", str(tmp_path / "text.duckdb"), "serve", "--port", "0"], "not a DuckDB file"),
        (["--journal", str(tmp_path / "j.duckdb"), "serve", "--port", str(plain.port)], "cannot listen on"),
        (["--journal", str(tmp_path / "j.duckdb"), "serve", "--cors", "*"], "expected an origin"),
    ]
    procs = [subprocess.Popen([sys.executable, "-m", "lago_tui", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=str(REPO)) for args, _ in cases]
    for (args, words), proc in zip(cases, procs):
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2 and words in err and "Traceback" not in err, (args, err)
        assert err.strip().splitlines()[-1].startswith("lago-tui: error: ")
    assert not (tmp_path / "j.duckdb").exists()


def test_option_values() -> None:
    import argparse

    from lago_tui.cli.serving import _port, _size

    assert [_size(v) for v in ("1000", "16M", "16MiB", "2k", "1 G")] == [1000, 16 << 20, 16 << 20, 2048, 1 << 30]
    assert [_port(v) for v in ("0", "8080", "65535")] == [0, 8080, 65535]
    for bad in ("lots", "0", "-5", "1T", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            _size(bad)
    for bad in ("70000", "-1", "http", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            _port(bad)
