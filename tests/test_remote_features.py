"""The query language, session management, runs and the issue-10 analyses answer the same through a server
as on the file (issue 9: one interface, two implementations, same behaviour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lago_tui.journal import Journal, NotFound
from lago_tui.journal.query import QueryError


@pytest.fixture(scope="module")
def both(demo_server, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    """(the demo journal as a file, the same journal through a server): read only."""
    from conftest import demo_template

    path = tmp_path_factory.mktemp("features-file") / "journal.duckdb"
    path.write_bytes(Path(demo_template(tmp_path_factory)).read_bytes())
    local = Journal(path)
    remote = demo_server.client()
    yield local, remote
    remote.close()
    local.close()


SESSION = "migrate-billing-to-pydantic-v2"


@pytest.mark.parametrize("query", ["", "incident", "model:claude branches:>1", "-state:open", "events:>50 tokens:>1k"])
def test_list_queries_answer_the_same(both, query: str) -> None:  # noqa: ANN001
    local, remote = both
    assert remote.count_sessions(query) == local.count_sessions(query)
    ids = [s.session_id for s in local.list_sessions(query, sort="name", descending=False)]
    assert [s.session_id for s in remote.list_sessions(query, sort="name", descending=False)] == ids
    if ids:
        assert remote.session_index(ids[-1], query, sort="name", descending=False) == len(ids) - 1


@pytest.mark.parametrize("hide", [None, "kind:tool", "role:assistant -approval"])
def test_timeline_queries_answer_the_same(both, hide: str | None) -> None:  # noqa: ANN001
    local, remote = both
    lt = local.timeline(SESSION, "codemod-plus-manual-fixes", query=hide)
    rt = remote.timeline(SESSION, "codemod-plus-manual-fixes", query=hide)
    assert rt.length == lt.length > 0
    assert (rt.query.text or None) == (lt.query.text or None)
    assert [e.event_id for e in rt.window(0, rt.length)] == [e.event_id for e in lt.window(0, lt.length)]
    for q in ("status:error", "pytest", "kind:message seq:>10"):
        assert rt.count_matches(q) == lt.count_matches(q)
        assert rt.match_positions(q) == lt.match_positions(q)
        assert rt.find(q, 0) == lt.find(q, 0)
        assert rt.find(q, rt.length - 1, forward=False) == lt.find(q, lt.length - 1, forward=False)


def test_a_bad_query_keeps_its_place_over_http(both) -> None:  # noqa: ANN001
    local, remote = both
    for journal in (local, remote):
        with pytest.raises(QueryError) as err:
            journal.list_sessions("events:>>3")
        with pytest.raises(QueryError) as terr:
            journal.timeline(SESSION).find("knd:tool", 0)
        if journal is local:
            expected = (err.value.start, err.value.end, terr.value.start, terr.value.end, str(err.value))
    assert (err.value.start, err.value.end, terr.value.start, terr.value.end, str(err.value)) == expected


def test_runs_and_analyses_answer_the_same(both) -> None:  # noqa: ANN001
    local, remote = both
    assert [r.to_json() for r in remote.runs(SESSION)] == [r.to_json() for r in local.runs(SESSION)]
    assert remote.state_at(SESSION, "attempt-codemod", 10).to_json() == local.state_at(SESSION, "attempt-codemod", 10).to_json()
    assert (remote.compare_branches(SESSION, "main", "attempt-codemod").contract_json()
            == local.compare_branches(SESSION, "main", "attempt-codemod").contract_json())
    assert [p.to_json() for p in remote.problems()] == [p.to_json() for p in local.problems()]
    assert (list(remote.export(SESSION, branch="attempt-codemod", from_seq=3, to_seq=9))
            == list(local.export(SESSION, branch="attempt-codemod", from_seq=3, to_seq=9)))


def test_session_management_through_a_server(demo_api_rw, backend: str) -> None:  # noqa: ANN001
    journal = demo_api_rw
    session_id = journal.resolve_session("docs-qa-onboarding")
    journal.rename_session(session_id, "docs-qa-onboarding-v2")
    assert journal.session(session_id).summary.name == "docs-qa-onboarding-v2"
    journal.close_session(session_id, "done")
    assert journal.session(session_id).summary.closed
    deleted = journal.delete_session(session_id)
    assert deleted["session_id"] == session_id and deleted["events"] > 0
    with pytest.raises(NotFound):
        journal.session(session_id)
