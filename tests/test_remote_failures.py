"""Talking to something that is not a healthy lago-tui server: one clear line each, never a traceback.

These use small stand-in servers (closed ports, a web server, a socket that never answers, a
non-HTTP service), so they need no ``lago-tui serve``; the failures of a real server (restart, a
session that went away, the TUI's recovery) are in test_remote_server.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lago_tui.cli import run
from lago_tui.remote import NotALagoServer, RemoteJournal, ServerTimeout, ServerUnavailable, Unauthorized
from lago_tui.remote.transport import Transport

from served import free_port


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    assert err.startswith("lago-tui: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def http_stub() -> Iterator[callable]:
    """Start a stand-in HTTP server answering every request with (status, content type, body)."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, content_type: str, body: bytes, seen: list | None = None) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                if seen is not None:
                    seen.append((self.command, self.path, self.headers.get("Authorization")))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_socket() -> Iterator[callable]:
    """A TCP listener that accepts and then says nothing, or says something that is not HTTP."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(greeting: bytes = b"") -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        listeners.append(listener)
        held: list[socket.socket] = []

        def accept() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                held.append(conn)
                if greeting:
                    conn.sendall(greeting)
                    conn.close()

        threading.Thread(target=accept, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def test_server_down_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["sessions"], ["show", "x"], ["log", "x"], ["new", "--name", "n"], ["export", "x"]):
        code, out, err = cli(capsys, "--journal", url, *args)
        assert code == 2 and out == ""
        assert "connection refused (is `lago-tui serve` running?)" in one_line_error(err)
        assert url in err


def test_unknown_host_and_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "--journal", "http://no-such-host.invalid:8080", "sessions")
    assert code == 2 and "unknown host 'no-such-host.invalid'" in one_line_error(err)
    code, _, err = cli(capsys, "--journal", "http://127.0.0.1:99999", "sessions")
    assert code == 2 and "not a valid server URL" in one_line_error(err)


def test_env_journal_url_is_used(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAGO_JOURNAL", f"http://127.0.0.1:{free_port()}")
    code, _, err = cli(capsys, "sessions")
    assert code == 2 and "connection refused" in one_line_error(err)


def test_401_says_how_to_pass_a_token(
    http_stub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list = []
    url = http_stub(401, "application/json", b'{"error": "unauthorized", "message": "missing token"}', seen)
    monkeypatch.delenv("LAGO_TOKEN", raising=False)
    code, _, err = cli(capsys, "--journal", url, "sessions")
    assert code == 2 and "needs a token (401): set LAGO_TOKEN" in one_line_error(err)
    monkeypatch.setenv("LAGO_TOKEN", "s3cret-token-value")
    code, _, err = cli(capsys, "--journal", url, "sessions")
    assert code == 2 and "refused the token (401)" in one_line_error(err)
    assert "s3cret" not in err  # the token is never printed
    assert ("GET", "/lago-tui/v1/info", "Bearer s3cret-token-value") in seen


def test_a_web_page_is_not_a_lago_server(http_stub, capsys: pytest.CaptureFixture[str]) -> None:
    url = http_stub(404, "text/html", b"<html>Not Found</html>")
    code, _, err = cli(capsys, "--journal", url, "sessions")
    assert code == 2 and f"{url} is not a Lago server" in one_line_error(err)
    url = http_stub(200, "text/html", b"<html>hello</html>")
    with pytest.raises(NotALagoServer, match="is not a Lago server"):
        RemoteJournal(url).list_sessions()


def test_a_service_that_does_not_speak_http(silent_socket, capsys: pytest.CaptureFixture[str]) -> None:
    url = silent_socket(b"SSH-2.0-OpenSSH_9.6\r\n")
    code, _, err = cli(capsys, "--journal", url, "sessions")
    assert code == 2 and "does not speak HTTP" in one_line_error(err)


def test_a_server_that_never_answers_times_out(silent_socket) -> None:
    url = silent_socket()
    journal = RemoteJournal(url, read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ServerTimeout, match=r"did not answer within 0\.3 s"):
        journal.list_sessions()
    assert time.monotonic() - started < 3
    assert isinstance(ServerTimeout("x"), ServerUnavailable)  # the TUI retries it like a busy journal


def test_https_to_a_plain_http_server_says_so(http_stub) -> None:
    url = http_stub(200, "application/json", b"[]").replace("http://", "https://")
    with pytest.raises(NotALagoServer, match="did not answer HTTPS"):
        RemoteJournal(url, connect_timeout=2, read_timeout=2).list_sessions()


def test_token_never_in_repr_or_messages() -> None:
    transport = Transport("http://user:pw@127.0.0.1:1/base/", "tok-123")
    assert "tok-123" not in repr(transport) and "pw" not in transport.url
    assert transport.url == "http://127.0.0.1:1/base"
    with pytest.raises(ServerUnavailable) as caught:
        transport.request("GET", "/v1/sessions")
    assert "tok-123" not in str(caught.value)


def test_unauthorized_is_a_permission_error_for_the_tui() -> None:
    from lago_tui.journal.errors import JournalPermission, NotAJournal

    assert issubclass(Unauthorized, JournalPermission) and issubclass(NotALagoServer, NotAJournal)


def test_json_error_bodies_become_the_journal_errors() -> None:
    from lago_tui.journal.errors import InvalidEvent, NotFound
    from lago_tui.remote.protocol import error_body, error_from_body

    for exc in (NotFound("no session 'x'"), InvalidEvent("f.jsonl:2", "timestamp: bad")):
        status, body = error_body(exc)
        back = error_from_body(json.loads(json.dumps(body)))
        assert type(back) is type(exc) and str(back) == str(exc)
    assert error_body(NotFound("x"))[0] == 404
