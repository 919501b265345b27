"""How a rename is recorded: an event, so the journal's history, its export and a re-import all carry it.

Lago has no rename event, and its readers only know the payload kinds of its own enum, so a new kind
would break them. A rename is therefore a ``Custom`` event, the kind Lago itself uses for its own
markers (its merge writes ``Custom {event_type: "BranchMerged"}``):

- a session rename, on the session's ``main`` branch::

      {"type": "Custom", "event_type": "lago-tui.session.renamed", "data": {"name": NEW, "previous": OLD}}

- a branch rename, on the renamed branch itself::

      {"type": "Custom", "event_type": "lago-tui.branch.renamed", "data": {"name": NEW, "previous": OLD}}

The write path (:mod:`.ingest`) applies them: the last rename of a session or branch (in write order)
names it. Branch names stay unique within a session at every point of the history, so a branch can be
renamed and its old name given to a new branch, and an export of that history imports again.

The write path calls :func:`check` once the batch's new events (``_new``) and branches
(``_new_branches``) are known, and :func:`apply` once they are inserted, inside its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SESSION_RENAMED = "lago-tui.session.renamed"
BRANCH_RENAMED = "lago-tui.branch.renamed"

# The batch's renames: (idx, session, branch, scope, new name); a bad one has a problem.
STAGE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _renames AS
SELECT idx, session_id, branch_id,
       CASE payload->>'$.event_type' WHEN '{SESSION_RENAMED}' THEN 'session' ELSE 'branch' END AS scope,
       payload->>'$.data.name' AS name,
       CASE
           WHEN coalesce(json_type(payload, '$.data.name') <> 'VARCHAR', true)
                OR trim(payload->>'$.data.name') = ''
               THEN (payload->>'$.event_type') || ' needs data.name, a non-empty string'
           WHEN payload->>'$.event_type' = '{BRANCH_RENAMED}' AND branch_id = 'main'
               THEN 'main is the session''s first branch; it cannot be renamed'
           WHEN payload->>'$.event_type' = '{BRANCH_RENAMED}' AND payload->>'$.data.name' = 'main'
               THEN 'no branch can be renamed main (the session''s first branch)'
       END AS problem
FROM _new
WHERE kind = 'Custom' AND payload->>'$.event_type' IN ('{SESSION_RENAMED}', '{BRANCH_RENAMED}')
"""

BAD_RENAME_SQL = "SELECT idx, problem FROM _renames WHERE problem IS NOT NULL ORDER BY idx LIMIT 1"

# Branch names are unique in a session at every point of its history: each claim of a name (a
# BranchCreated, a branch rename) is refused while another branch holds it. A branch holds the name of its
# latest assignment before the claim (journal branches count as assigned before the batch).
BRANCH_NAMES_SQL = """
WITH nb AS ({new_branches}), assign AS (
    SELECT session_id, branch_id, name, -1 AS idx FROM branches
    WHERE session_id IN (SELECT session_id FROM nb UNION SELECT session_id FROM _renames)
    UNION ALL SELECT session_id, branch_id, name, created_idx FROM nb
    UNION ALL SELECT session_id, branch_id, name, idx FROM _renames WHERE scope = 'branch'
), held AS (
    SELECT c.idx AS claim_idx, c.session_id, c.name AS claimed, a.branch_id,
           arg_max(a.name, a.idx) AS name, max(a.idx) AS since
    FROM assign c JOIN assign a
        ON a.session_id = c.session_id AND a.branch_id <> c.branch_id AND a.idx < c.idx
    WHERE c.idx >= 0
    GROUP BY ALL
)
SELECT claim_idx,
       'branch name ' || claimed || CASE WHEN since < 0 THEN ' already exists in session ' ELSE ' is used twice in session ' END
       || session_id
FROM held WHERE name = claimed ORDER BY claim_idx LIMIT 1
"""

_NO_BRANCHES = (
    "SELECT NULL::VARCHAR AS session_id, NULL::VARCHAR AS branch_id, NULL::VARCHAR AS name, "
    "NULL::BIGINT AS created_idx WHERE false"
)


def check(con: Any, fail: Callable[[str], None], *, new_branches: bool) -> None:
    """Refuse (through ``fail``, which raises for the first bad row a query returns) malformed renames and
    any branch name claimed while another branch holds it. ``new_branches``: ``_new_branches`` holds this
    batch's BranchCreated (else there are none)."""
    con.execute(STAGE_SQL)
    renamed = con.execute("SELECT count(*) FROM _renames").fetchone()[0]
    if not renamed and not new_branches:
        return
    fail(BAD_RENAME_SQL)
    source = "SELECT session_id, branch_id, name, created_idx FROM _new_branches" if new_branches else _NO_BRANCHES
    fail(BRANCH_NAMES_SQL.format(new_branches=source))


def apply(con: Any) -> None:
    """After the batch's rows are inserted: the last rename of each session and branch names it."""
    if con.execute("SELECT count(*) FROM _renames").fetchone()[0]:
        for sql in APPLY_SQL:
            con.execute(sql)


# After the batch's rows are inserted: the last rename wins.
APPLY_SQL = (
    """
    UPDATE sessions AS s SET name = r.name
    FROM (SELECT session_id, arg_max(name, idx) AS name FROM _renames WHERE scope = 'session' GROUP BY session_id) r
    WHERE s.session_id = r.session_id
    """,
    """
    UPDATE branches AS b SET name = r.name
    FROM (SELECT session_id, branch_id, arg_max(name, idx) AS name FROM _renames WHERE scope = 'branch'
          GROUP BY session_id, branch_id) r
    WHERE b.session_id = r.session_id AND b.branch_id = r.branch_id
    """,
)
