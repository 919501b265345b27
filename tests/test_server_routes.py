"""Every Lago route against a real ``lago-tui serve`` process: shapes, status codes, the error split."""

from __future__ import annotations

import pytest

from server_support import Server, message

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = Server(tmp_path_factory.mktemp("routes") / "journal.duckdb")
    yield srv
    assert srv.stop() == 0


@pytest.fixture
def client(server: Server):
    c = server.client()
    yield c
    c.close()


def error_of(r) -> tuple[int, str]:
    body = r.json
    assert set(body) == {"error", "message"} and body["message"], r
    return r.status, body["error"]


# --------------------------------------------------------------------------------------------- sessions


def test_create_session_answers_201_with_lago_fields(client) -> None:
    r = client.post("/v1/sessions", {"name": "agent:planner", "model": "gpt-x", "params": {"temperature": "0.2"}})
    assert r.status == 201 and r.headers["content-type"] == "application/json"
    body = r.json
    assert body["branch_id"] == "main" and body["session_type"] == "agent" and len(body["session_id"]) == 26
    assert "location" not in r.headers
    first = client.get(f"/v1/sessions/{body['session_id']}/events/read").json
    assert [e["seq"] for e in first] == [1]
    assert first[0]["payload"] == {"type": "SessionCreated", "name": "agent:planner",
                                   "config": {"name": "agent:planner", "model": "gpt-x",
                                              "params": {"temperature": "0.2"}}}


@pytest.mark.parametrize("name,kind", [("vault:u1", "vault"), ("site-assets:pub", "site_assets"),
                                       ("site-content:x", "site_content"), ("plain", "default"),
                                       ("agent", "default")])
def test_session_type_comes_from_the_name_prefix(client, name: str, kind: str) -> None:
    assert client.post("/v1/sessions", {"name": name}).json["session_type"] == kind


@pytest.mark.parametrize("name", ["agent:", "vault:", "site-assets:", "site-content:"])
def test_a_typed_name_with_nothing_after_the_colon_is_400(client, name: str) -> None:
    assert error_of(client.post("/v1/sessions", {"name": name})) == (400, "bad_request")


@pytest.mark.parametrize("body", [{}, {"name": 3}, {"name": "x", "params": {"a": 1}}, {"name": "x", "params": []},
                                  {"name": "x", "model": 5}, [{"name": "x"}], "x"])
def test_create_session_of_the_wrong_shape_is_422(client, body) -> None:
    assert error_of(client.post("/v1/sessions", body)) == (422, "unprocessable_entity")


def test_get_and_list_sessions(client) -> None:
    sid = client.new_session("agent:lister")
    other = client.new_session("plain-one")
    got = client.get(f"/v1/sessions/{sid}")
    assert got.status == 200
    body = got.json
    assert {k: body[k] for k in ("session_id", "name", "model", "branches", "session_type")} == {
        "session_id": sid, "name": "agent:lister", "model": "", "branches": ["main"], "session_type": "agent"}
    assert isinstance(body["created_at"], int) and body["created_at"] > 1_600_000_000_000_000
    everything = client.get("/v1/sessions").json
    ids = [s["session_id"] for s in everything]
    assert sid in ids and other in ids and ids.index(sid) < ids.index(other)  # creation order
    agents = client.get("/v1/sessions?type=agent").json
    assert sid in [s["session_id"] for s in agents] and other not in [s["session_id"] for s in agents]
    assert all(s["session_type"] == "agent" for s in agents)
    assert other in [s["session_id"] for s in client.get("/v1/sessions?type=default").json]
    assert error_of(client.get("/v1/sessions?type=robots")) == (400, "bad_request")


def test_unknown_session_is_404_by_exact_id(client) -> None:
    sid = client.new_session("exact")
    r = client.get("/v1/sessions/NOSUCHSESSION")
    assert error_of(r) == (404, "not_found") and r.json["message"] == "session not found: NOSUCHSESSION"
    assert client.get(f"/v1/sessions/{sid[:20]}").status == 404  # a prefix is not an id
    assert client.get("/v1/sessions/exact").status == 404  # nor is a name


# --------------------------------------------------------------------------------------------- events


def test_append_assigns_contiguous_seqs_and_ignores_incoming_ones(client) -> None:
    sid = client.new_session("appends")
    seqs = [client.append(sid, message(f"m{i}", seq=999, session_id="SOMEONE-ELSE")).json["seq"] for i in range(3)]
    assert seqs == [2, 3, 4]
    events = client.get(f"/v1/sessions/{sid}/events/read").json
    assert [e["seq"] for e in events] == [1, 2, 3, 4] and {e["session_id"] for e in events} == {sid}
    assert client.get(f"/v1/sessions/{sid}/events/head").json == {"seq": 4}


def test_batch_extension_answers_seqs_all_or_nothing(client) -> None:
    sid = client.new_session("batches")
    r = client.append(sid, message("a"), message("b"), {"payload": {"type": "TextDelta", "delta": "c"}})
    assert r.status == 200 and r.json == {"seqs": [2, 3, 4]}
    bad = client.append(sid, message("d"), {"payload": {"type": "Message", "role": "user"}}, message("e"))
    assert error_of(bad) == (422, "unprocessable_entity") and "event 2" in bad.json["message"]
    assert client.get(f"/v1/sessions/{sid}/events/head").json == {"seq": 4}  # nothing of the bad batch
    assert client.post(f"/v1/sessions/{sid}/events", {"events": []}).json == {"seqs": []}


def test_known_event_id_is_idempotent(client) -> None:
    sid = client.new_session("idempotent")
    event = message("once", event_id="EVT-IDEMPOTENT-1", timestamp=1_700_000_000_000_000)
    assert client.append(sid, event).json == {"seq": 2}
    assert client.append(sid, event).json == {"seq": 2}
    assert client.append(sid, message("next")).json == {"seq": 3}


def test_unknown_kinds_are_kept_verbatim(client) -> None:
    sid = client.new_session("verbatim")
    payload = {"type": "SandboxCreated", "sandbox_id": "sbx", "config": {"tier": [1, {"x": None}]}}
    event = {"event_id": "EVT-VERBATIM", "timestamp": 1_700_000_000_000_001, "payload": payload,
             "metadata": {"k": "v"}, "run_id": "run-1", "parent_id": "p"}
    assert client.append(sid, event).status == 200
    got = client.get(f"/v1/sessions/{sid}/events/read?after_seq=2").json
    assert got == [{**event, "session_id": sid, "branch_id": "main", "seq": 2, "schema_version": 1}]


@pytest.mark.parametrize("event,status", [
    ({"payload": {"type": "Message", "role": "user"}}, 422),
    ({"payload": {"type": "Message", "role": 1, "content": "x"}}, 422),
    ({"payload": "Message"}, 422),
    ({"timestamp": "yesterday", "payload": {"type": "Custom", "event_type": "x"}}, 422),
    ({"metadata": {"n": 1}, "payload": {"type": "Custom", "event_type": "x"}}, 422),
    ({"branch_id": "no-such-branch", "payload": {"type": "Custom", "event_type": "x"}}, 404),
])
def test_bad_events(client, event, status) -> None:
    sid = client.new_session("bad-events")
    assert error_of(client.append(sid, event))[0] == status
    assert client.get(f"/v1/sessions/{sid}/events/head").json == {"seq": 1}


def test_append_to_an_unknown_session_is_404(client) -> None:
    assert error_of(client.append("NOSUCHSESSION", message())) == (404, "not_found")


@pytest.mark.parametrize("raw,content_type,status", [
    (b'{"event": {}}', "text/plain", 415),
    (b'{"event": {}}', None, 415),
    (b"", "application/json", 400),
    (b"{not json", "application/json", 400),
    (b'{"event": {"payload": {"type": "Message"}}} trailing', "application/json", 400),
    (b'{"event": {"payload": {"type": "Custom", "event_type": "x", "data": NaN}}}', "application/json", 400),
    (b'{"event": "\xff\xfe"}', "application/json", 400),
    (b"[]", "application/json", 422),
    (b'{"evnt": {}}', "application/json", 422),
    (b'{"event": [1]}', "application/json", 422),
    (b'{"events": {"a": 1}}', "application/json", 422),
    (b'{"events": [1, 2]}', "application/json", 422),
])
def test_the_415_400_422_split(server: Server, raw: bytes, content_type: str | None, status: int) -> None:
    c = server.client()
    sid = c.new_session("split")
    r = c.request("POST", f"/v1/sessions/{sid}/events", raw=raw, content_type=content_type)
    assert r.status == status and r.json["error"] and r.json["message"], r
    assert c.get(f"/v1/sessions/{sid}/events/head").json == {"seq": 1}
    c.close()


def test_json_content_type_variants_are_accepted(client) -> None:
    sid = client.new_session("ctype")
    for ctype in ("application/json; charset=utf-8", "application/vnd.lago+json", "APPLICATION/JSON"):
        r = client.request("POST", f"/v1/sessions/{sid}/events", {"event": message()}, content_type=ctype)
        assert r.status == 200, (ctype, r)


def test_read_is_inclusive_and_limited(client) -> None:
    sid = client.new_session("reads")
    client.append(sid, *[message(f"m{i}") for i in range(2, 8)])  # seqs 2..7
    base = f"/v1/sessions/{sid}/events/read"
    assert [e["seq"] for e in client.get(base).json] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["seq"] for e in client.get(base + "?after_seq=0").json] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["seq"] for e in client.get(base + "?after_seq=1").json] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["seq"] for e in client.get(base + "?after_seq=5").json] == [5, 6, 7]
    assert [e["seq"] for e in client.get(base + "?after_seq=3&limit=2").json] == [3, 4]
    assert client.get(base + "?after_seq=8").json == []
    assert client.get(base + f"?after_seq={2**64 - 1}").json == []  # Lago's largest u64
    assert client.get(base + "?limit=0").json == []
    assert client.get("/v1/sessions/NOSUCH/events/read").json == []
    assert client.get(base + "?branch=nosuch").json == []
    for bad in ("after_seq=abc", "after_seq=-1", "limit=x", "limit=1.5", f"after_seq={2**64}"):
        assert error_of(client.get(f"{base}?{bad}")) == (400, "bad_request"), bad


def test_head(client) -> None:
    sid = client.new_session("heads")
    assert client.get(f"/v1/sessions/{sid}/events/head").json == {"seq": 1}
    branch = client.post(f"/v1/sessions/{sid}/branches", {"name": "b"}).json["branch_id"]
    assert client.get(f"/v1/sessions/{sid}/events/head?branch={branch}").json == {"seq": 0}
    assert client.get(f"/v1/sessions/{sid}/events/head?branch=b").json == {"seq": 0}
    assert client.get("/v1/sessions/NOSUCH/events/head").json == {"seq": 0}


# --------------------------------------------------------------------------------------------- branches


def test_create_and_list_branches(client) -> None:
    sid = client.new_session("branching")
    client.append(sid, message("a"), message("b"))  # main head 3
    r = client.post(f"/v1/sessions/{sid}/branches", {"name": "explore"})
    assert r.status == 201
    made = r.json
    assert made["name"] == "explore" and made["fork_point_seq"] == 3 and len(made["branch_id"]) == 26
    at2 = client.post(f"/v1/sessions/{sid}/branches", {"name": "early", "fork_point_seq": 2}).json
    assert at2["fork_point_seq"] == 2
    listed = client.get(f"/v1/sessions/{sid}/branches").json
    assert [(b["branch_id"], b["name"], b["fork_point_seq"]) for b in listed] == [
        ("main", "main", 0), (made["branch_id"], "explore", 3), (at2["branch_id"], "early", 2)]
    main = client.get(f"/v1/sessions/{sid}/events/read").json
    assert main[3]["payload"] == {"type": "BranchCreated", "new_branch_id": made["branch_id"],
                                  "fork_point_seq": 3, "name": "explore"}
    assert set(client.get(f"/v1/sessions/{sid}").json["branches"]) == {"main", made["branch_id"], at2["branch_id"]}


def test_branch_errors(client) -> None:
    sid = client.new_session("branch-errors")
    assert client.post(f"/v1/sessions/{sid}/branches", {"name": "dup"}).status == 201
    assert error_of(client.post(f"/v1/sessions/{sid}/branches", {"name": "dup"})) == (409, "conflict")
    assert error_of(client.post(f"/v1/sessions/{sid}/branches", {"name": "far", "fork_point_seq": 99})) == (
        400, "bad_request")
    assert error_of(client.post(f"/v1/sessions/{sid}/branches", {"name": "main"}))[0] in (400, 409)
    assert error_of(client.post(f"/v1/sessions/{sid}/branches", {"fork_point_seq": 1})) == (422, "unprocessable_entity")
    assert error_of(client.post(f"/v1/sessions/{sid}/branches", {"name": "x", "fork_point_seq": -1}))[0] == 422
    assert error_of(client.post(f"/v1/sessions/{sid}/branches", {"name": "x", "fork_point_seq": True}))[0] == 422
    assert error_of(client.post("/v1/sessions/NOSUCH/branches", {"name": "x"})) == (404, "not_found")
    assert error_of(client.get("/v1/sessions/NOSUCH/branches")) == (404, "not_found")


def test_fast_forward_merge(client) -> None:
    sid = client.new_session("merging")
    client.append(sid, message("before"))  # main: 1, 2
    branch = client.post(f"/v1/sessions/{sid}/branches", {"name": "feature"}).json["branch_id"]  # main 3
    client.append(sid, message("on feature 1", branch_id=branch), message("on feature 2", branch_id=branch))
    r = client.post(f"/v1/sessions/{sid}/branches/feature/merge", {"target": "main"})
    assert r.status == 200
    assert {k: r.json[k] for k in ("merged", "strategy", "events_merged")} == {
        "merged": True, "strategy": "fast-forward", "events_merged": 2}
    main = client.get(f"/v1/sessions/{sid}/events/read").json
    assert [e["payload"].get("content") for e in main[3:5]] == ["on feature 1", "on feature 2"]
    assert main[5]["payload"] == {"type": "BranchMerged", "source_branch_id": branch, "merge_seq": 2}
    source_ids = {e["event_id"] for e in client.get(f"/v1/sessions/{sid}/events/read?branch={branch}").json}
    assert not source_ids & {e["event_id"] for e in main}  # copies get new event ids
    again = client.post(f"/v1/sessions/{sid}/branches/feature/merge", {"target": "main"})
    assert error_of(again) == (409, "conflict") and "fast-forward not possible" in again.json["message"]


def test_merge_errors(client) -> None:
    sid = client.new_session("merge-errors")
    client.post(f"/v1/sessions/{sid}/branches", {"name": "side"})
    client.append(sid, message("main moved on"))
    diverged = client.post(f"/v1/sessions/{sid}/branches/side/merge", {"target": "main"})
    assert error_of(diverged) == (409, "conflict")
    assert error_of(client.post(f"/v1/sessions/{sid}/branches/nosuch/merge", {"target": "main"}))[0] == 404
    assert error_of(client.post(f"/v1/sessions/{sid}/branches/side/merge", {"target": "nosuch"}))[0] == 404
    assert error_of(client.post(f"/v1/sessions/{sid}/branches/side/merge", {}))[0] == 422
    assert error_of(client.post("/v1/sessions/NOSUCH/branches/side/merge", {"target": "main"}))[0] == 404


# --------------------------------------------------------------------------------------------- health, routing


def test_health_routes(client) -> None:
    h = client.get("/health")
    assert h.status == 200 and h.json["status"] == "ok" and h.json["service"] == "lago-tui"
    assert isinstance(h.json["uptime_seconds"], int) and h.json["version"]
    assert client.get("/health/ready").json == {"ready": True, "checks": {"journal": True}}
    assert client.get("/v1/health").json == {"status": "ok"}


def test_unknown_path_and_wrong_method_are_json(client) -> None:
    assert error_of(client.get("/v2/sessions")) == (404, "not_found")
    assert error_of(client.get("/v1/sessions/x/y/z")) == (404, "not_found")
    r = client.request("DELETE", "/v1/sessions")
    assert error_of(r) == (405, "method_not_allowed") and "GET" in r.headers["allow"]
    assert error_of(client.request("PUT", "/health")) == (405, "method_not_allowed")


@pytest.mark.parametrize("name", ["simple-chat.json", "tool-round-trip.json", "branch-fork.json"])
def test_lago_golden_sessions_posted_over_http_read_back_as_imported(client, tmp_path, name: str) -> None:
    """Lago's golden fixtures sent as an agent would (its events, in order) read back exactly as the same
    file imported locally: same ids, seqs, payloads, on every branch."""
    import json
    from pathlib import Path

    from lago_tui.journal import Journal

    path = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "lago-golden" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    events = json.loads(path.read_text(encoding="utf-8"))
    sid = events[0]["session_id"]
    r = client.post(f"/v1/sessions/{sid}/events", {"events": events})
    assert r.status == 200 and len(r.json["seqs"]) == len(events), r
    with Journal(tmp_path / "imported.duckdb") as local:
        local.import_file(path)
        for branch in local.list_branches(sid):
            want = [e.to_wire() for e in local.read_events(sid, branch.branch_id)]
            assert client.get(f"/v1/sessions/{sid}/events/read?branch={branch.branch_id}").json == want
    assert r.json["seqs"] == [e["seq"] for e in sorted(
        (e for b in client.get(f"/v1/sessions/{sid}/branches").json
         for e in client.get(f"/v1/sessions/{sid}/events/read?branch={b['branch_id']}").json),
        key=lambda e: [x["event_id"] for x in events].index(e["event_id"]))]
