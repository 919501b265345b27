"""Readers browse with a small buffer pool; operations over a whole session or journal get a larger one for
their duration (an integrity check of the 1M-event journal ran out of memory in the browsing pool)."""

from __future__ import annotations

from typing import Any

import pytest

from lago_tui.journal import integrity
from lago_tui.journal.store import Journal


def _limit(journal: Journal) -> str:
    with journal._read() as con:
        return str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])


def test_a_whole_journal_check_gets_the_roomy_pool_and_gives_it_back(demo_journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = integrity.find_problems

    def spying(read: Any, session: Any) -> Any:
        with read() as con:
            seen.append(str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0]))
        return original(read, session)

    monkeypatch.setattr(integrity, "find_problems", spying)
    small = _limit(demo_journal)  # the reader is open with the browsing pool...
    assert demo_journal.problems() == []
    assert seen and seen[0] != small and "MiB" in seen[0] and float(seen[0].split()[0]) > 400  # ...raised meanwhile
    assert _limit(demo_journal) == small  # ...and given back
    demo_journal.close()
    assert demo_journal.problems() == []  # opened during the check: opened roomy
    assert float(seen[1].split()[0]) > 400
    assert _limit(demo_journal) == small or float(_limit(demo_journal).split()[0]) < 100


class _FirstRunOutOfMemory:
    """A cursor whose first run of ``sql`` fails as if the pool were too small (then it runs for real)."""

    def __init__(self, con: Any, sql: str) -> None:
        self.con, self.sql, self.failed = con, sql, False

    def execute(self, sql: str, params: Any = None) -> Any:
        if sql == self.sql and not self.failed:
            import duckdb

            self.failed = True
            raise duckdb.OutOfMemoryException("could not allocate block")
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)


@pytest.mark.parametrize("inside_roomy", [False, True])
def test_a_statement_that_runs_out_of_memory_runs_again_roomy_and_the_pool_is_put_back(
    demo_journal: Journal, inside_roomy: bool
) -> None:
    from contextlib import nullcontext

    from lago_tui.journal.timeline import execute_roomy

    sql = "SELECT count(*) FROM events"
    with demo_journal._conn.roomy() if inside_roomy else nullcontext():
        with demo_journal._read() as con:
            flaky = _FirstRunOutOfMemory(con, sql)
            assert execute_roomy(flaky, sql, []).fetchone()[0] == 1043
            assert flaky.failed
        after = float(_limit(demo_journal).split()[0])
        assert (after > 400) if inside_roomy else (after < 100)  # an enclosing roomy() keeps its pool
    assert float(_limit(demo_journal).split()[0]) < 100


def test_an_export_page_duckdb_has_no_memory_for_is_fetched_again_smaller_until_one_row_fails() -> None:
    import duckdb

    from lago_tui.journal.store import _fetch_shrinking

    asked: list[int] = []

    def page(count: int) -> list[tuple[int]]:
        asked.append(count)
        if count > 16:
            raise duckdb.OutOfMemoryException("could not allocate block")
        return [(i,) for i in range(count)]

    rows, count = _fetch_shrinking(page, 256)
    assert (len(rows), count, asked) == (16, 16, [256, 64, 16])

    def never(count: int) -> list[tuple[int]]:
        raise duckdb.OutOfMemoryException("could not allocate block")

    with pytest.raises(duckdb.OutOfMemoryException):
        _fetch_shrinking(never, 5)


def test_a_server_pool_is_put_back_as_it_was_after_a_roomy_retry(demo_journal: Journal) -> None:
    """The server's one connection has 160 MB (DuckDB shows '152.5 MiB'): a retry must not leave it at 512."""
    from lago_tui.journal.timeline import execute_roomy

    sql = "SELECT count(*) FROM events"
    with demo_journal._read() as con:
        con.execute("SET memory_limit = '160MB'")
        flaky = _FirstRunOutOfMemory(con, sql)
        assert execute_roomy(flaky, sql, []).fetchone()[0] == 1043 and flaky.failed
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "152.5 MiB"
        con.execute("SET memory_limit = '48MB'")
