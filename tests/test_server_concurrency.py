"""Many clients at once, and the server killed under load: contiguous seqs, none lost, none acknowledged
that a crash could lose."""

from __future__ import annotations

import http.client
import signal
import threading
import time

import pytest

from lago_tui.journal import Journal
from server_support import Server, message


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = Server(tmp_path_factory.mktemp("concurrency") / "journal.duckdb")
    yield srv
    assert srv.stop(signal.SIGINT) == 0  # Ctrl+C stops as cleanly as SIGTERM


def test_many_clients_one_branch_contiguous_seqs_none_lost(server: Server) -> None:
    setup = server.client()
    sid = setup.new_session("contended")
    branch = setup.post(f"/v1/sessions/{sid}/branches", {"name": "side"}).json["branch_id"]
    acked: list[tuple[str, int, bool]] = []
    refused: list[int] = []
    lock = threading.Lock()

    def agent(k: int) -> None:
        c = server.client()
        for i in range(12):
            where = {"branch_id": branch} if k % 2 else {}
            if i % 4 == 3:  # a batch of three
                ids = [f"A{k}-{i}-{j}" for j in range(3)]
                r = c.append(sid, *[message(f"{k}:{i}:{j}", event_id=e, **where) for j, e in enumerate(ids)])
                assert r.status == 200, r
                pairs = list(zip(ids, r.json["seqs"]))
            else:
                eid = f"A{k}-{i}"
                r = c.append(sid, message(f"{k}:{i}", event_id=eid, **where))
                assert r.status == 200, r
                pairs = [(eid, r.json["seq"])]
            if i == 5:  # a bad request in the crowd fails alone
                bad = c.append(sid, {"payload": {"type": "Message"}, **where})
                with lock:
                    refused.append(bad.status)
            with lock:
                acked.extend((e, s, bool(where)) for e, s in pairs)
        c.close()

    threads = [threading.Thread(target=agent, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(refused) == {422}
    for on_side in (False, True):
        seqs = sorted(s for _, s, side in acked if side == on_side)
        first = 1 if on_side else 3  # main: SessionCreated, BranchCreated
        assert seqs == list(range(first, first + len(seqs)))  # contiguous, no duplicates
    assert len(acked) == 16 * (9 + 3 * 3)
    stored = {e["event_id"]: e["seq"] for b in ("main", branch)
              for e in setup.get(f"/v1/sessions/{sid}/events/read?branch={b}").json}
    assert all(stored[e] == s for e, s, _ in acked)
    setup.close()


def test_sigkill_under_load_keeps_every_acknowledged_event(tmp_path) -> None:
    srv = Server(tmp_path / "journal.duckdb")
    c = srv.client()
    sid = c.new_session("killed")
    c.close()
    acked: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def agent(k: int) -> None:
        c = srv.client()
        i = 0
        while not stop.is_set():
            ids = [f"K{k}-{i}-{j}" for j in range((i % 3) + 1)]
            try:
                r = c.append(sid, *[message(f"{k}:{i}", event_id=e) for e in ids])
            except (OSError, http.client.HTTPException):  # refused, reset, or killed mid-answer
                return  # the server is gone
            if r.status != 200:
                return
            seqs = [r.json["seq"]] if "seq" in r.json else r.json["seqs"]
            with lock:
                acked.update(zip(ids, seqs))
            i += 1

    threads = [threading.Thread(target=agent, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.send_signal(signal.SIGKILL)  # mid-load: requests are in flight, a group may be mid-commit
    stop.set()
    for t in threads:
        t.join(30)
    srv.stop()
    assert len(acked) >= 150
    with Journal(srv.journal) as j:
        stored = {e.event_id: e.seq for e in j.read_events(sid)}
    missing = [e for e in acked if e not in stored]
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:3]}"
    assert all(stored[e] == s for e, s in acked.items())
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))
