"""Detail-screen measures (issues 12 and 13): the real app, headless, on the big session's deepest branch.

Each is from the key to the row it lands on being painted: a typed timeline query (``/`` ... enter) to its
first match, ``:`` to a seq, ``e`` to the next error, ``%`` to a tool call's result, ``&`` to the filtered
timeline, and ``u`` to the first row of the runs view. Same child-process scheme as :mod:`.app_level`.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from .. import synth
from .app_level import (
    _instrument,
    _make_app,
    _query_when_mounted,
    _run_child,
    _send_key,
    _spawn,
    _until,
    _wait_painted,
)
from .common import Result

QUERIES = ("kind:tool dur:>5s", "status:error")
LABELS = {
    "query": ("typed timeline query to first painted match", "<= 400"),
    "seq": (": to a seq, to painted", "<= 100"),
    "error": ("e (next error) to painted", "<= 100"),
    "partner": ("% (request to its result) to painted", "<= 100"),
    "filter": ("& (hide what does not match) to painted", "<= 400"),
    "runs": ("u (runs view) to its first painted row", ""),
}


def detail_level(db: Path, m: synth.Manifest, runs: int, log) -> list[Result]:  # noqa: ANN001
    manifest = Path(str(db) + ".synth.json")
    _, res, err = _spawn([sys.executable, "-m", "lago_tui.bench", "--child", "detail", "--db", str(db),
                          "--manifest", str(manifest), "--runs", str(runs)])
    out: list[Result] = []
    for key, (label, target) in LABELS.items():
        r = Result("detail", label, "ms", target=target)
        if res is None:
            r.missing = f"child failed: {err}"
        else:
            r.values = res.get(key, [])
            r.note = res.get("notes", {}).get(key, "")
            if not r.values:
                r.missing = res.get("error") or res.get("missing", {}).get(key) or "no sample"
        out.append(r)
    log("  detail screen done")
    return out


def child_detail(db: str, m: synth.Manifest, runs: int) -> None:
    _instrument()
    app = _make_app(db)
    res: dict[str, Any] = {key: [] for key in LABELS}
    res["notes"] = {}
    res["missing"] = {}
    rng = random.Random(13)

    async def go() -> None:
        from ..screens.session_detail import SessionDetailScreen
        from ..screens.session_detail.runs import RunsScreen, RunsTable
        from ..widgets.timeline import TimelineView

        async with app.run_test(size=(120, 40)) as pilot:
            await _until(lambda: type(app.screen).__name__ == "SessionListScreen", 60)
            app.call_later(app.open_session, m.big_session_id, branch_id=_branch_id(app, m))
            view = await _query_when_mounted(app, "SessionDetailScreen", TimelineView, 60)
            screen = app.screen
            assert isinstance(screen, SessionDetailScreen) and view is not None
            await _until(lambda: not view.is_loading and view.row_count > 0 and screen.timeline is not None, 60)
            await pilot.pause(0.5)
            length = view.row_count
            res["notes"]["query"] = f"{length:,}-event timeline ({m.deepest_branch})"

            async def landed(key: str, t0: float, moved: Any) -> None:  # noqa: ANN401
                if await _until(moved, 30):
                    ms = await _wait_painted(pilot, view, t0, view.cursor, 30)
                    if ms is not None:
                        res[key].append(ms)

            for _ in range(runs):
                for query in QUERIES:
                    view.move_cursor(0)
                    await pilot.pause()
                    await pilot.press("slash")
                    await pilot.pause()
                    screen.query_one("#sd-search").value = query
                    t0 = time.perf_counter()
                    _send_key(app, "enter")
                    await landed("query", t0, lambda: view.cursor > 0)
                    await _until(lambda: not screen.search.searching, 60)
                    await pilot.press("escape")
                    await pilot.pause(0.1)
                # : to a seq of the branch itself
                seqs = screen.timeline.segment_bounds[-1][1]
                seq = rng.randrange(1, max(2, seqs))
                await pilot.press("colon")
                await _until(lambda: app.screen.query_one("#seq-input").has_focus, 10)
                app.screen.query_one("#seq-input").value = str(seq)
                before = view.cursor
                t0 = time.perf_counter()
                _send_key(app, "enter")
                await landed("seq", t0, lambda: view.cursor != before)
                # e: the next error (positions read once, then from memory)
                before = view.cursor
                t0 = time.perf_counter()
                _send_key(app, "e")
                await landed("error", t0, lambda: view.cursor != before)
                # %: from a tool request to its result
                found = screen.timeline.find("kind:ToolCallRequested", view.cursor + 1)
                if found is not None:
                    view.move_cursor(found)
                    await _until(lambda: view.highlighted_row is not None
                                 and view.highlighted_row.ev.kind == "ToolCallRequested", 10)
                    await pilot.pause()
                    t0 = time.perf_counter()
                    _send_key(app, "percent_sign")
                    await landed("partner", t0, lambda: view.cursor != found)
                # &: hide what does not match, then back
                await pilot.press("slash")
                await pilot.pause()
                screen.query_one("#sd-search").value = "kind:RunStarted"
                await pilot.press("enter")
                await _until(lambda: screen.search.positions is not None, 60)
                old = view.source
                t0 = time.perf_counter()
                _send_key(app, "ampersand")
                await landed("filter", t0, lambda: view.source is not old and not view.is_loading)
                await pilot.press("escape")
                await _until(lambda: not screen.search.active and view.row_count == length, 60)
                await pilot.pause(0.2)
                # u: the runs view's first row
                t0 = time.perf_counter()
                _send_key(app, "u")
                runs_screen = await _query_when_mounted(app, "RunsScreen", RunsTable, 60)
                if runs_screen is not None:
                    if await _wait_painted(pilot, runs_screen, t0, 0, 60) is not None:
                        ms = await _wait_painted(pilot, runs_screen, t0, 0, 1)
                        res["runs"].append(ms)
                    shown = app.screen
                    if isinstance(shown, RunsScreen) and shown.runs is not None:
                        res["notes"]["runs"] = f"{len(shown.runs):,} runs"
                    await pilot.press("escape")
                    await _until(lambda: isinstance(app.screen, SessionDetailScreen), 10)
            app.exit()

    _run_child(go, res)


def _branch_id(app: Any, m: synth.Manifest) -> str | None:  # noqa: ANN401
    detail = app.journal.session(m.big_session_id)
    info = detail.branch(m.deepest_branch)
    return info.branch_id if info else None
