"""App-level measures: the real app driven headless in child processes (textual imported only there)."""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import synth
from .common import RESULT_TAG, Result


def _spawn(args: list[str], *, timeout: float = 600) -> tuple[float, dict[str, Any] | None, str]:
    """Run a child; returns (wall time at spawn, its result JSON, its stderr tail)."""
    env = dict(os.environ)
    env.setdefault("LAGO_TUI_CONFIG_DIR", tempfile.mkdtemp(prefix="lago-bench-cfg-"))
    t = time.time()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
    lines = proc.stderr.strip().splitlines()
    tail = lines[-1] if lines else f"exit status {proc.returncode}"
    return t, result, tail


def _child(kind: str, db: Path, manifest: Path, runs: int) -> list[str]:
    return [sys.executable, "-m", "lago_tui.bench", "--child", kind, "--db", str(db), "--manifest", str(manifest),
            "--runs", str(runs)]


_STARTUP_CODE = """
import sys, time
from lago_tui.bench.app_level import child_startup
child_startup(sys.argv[1])
"""


def _fill(r: Result, res: dict[str, Any] | None, err: str, key: str, rss: dict[str, float]) -> None:
    if res is None:
        r.missing = f"child failed: {err}"
        return
    r.values = res.get(key, [])
    r.note = res.get("note", "")
    rss[key] = res["rss_mb"]
    if not r.values:
        r.missing = res.get("missing") or res.get("error") or "no sample"
    elif res.get("error"):
        r.note = (r.note + "; " if r.note else "") + "stopped early: " + res["error"]


def app_level(db: Path, m: synth.Manifest, runs: int, scratch: Path, log) -> list[Result]:  # noqa: ANN001
    manifest = Path(str(db) + ".synth.json")
    out: list[Result] = []
    rss: dict[str, float] = {}

    # ---------------------------------------------------------------- process start to a painted list
    r = Result("app", "process start to first painted session list", "ms", target="<= 1,200")
    for _ in range(runs):
        t, res, err = _spawn([sys.executable, "-c", _STARTUP_CODE, str(db)], timeout=120)
        if res is None:
            r.missing = f"child failed: {err}"
            break
        r.values.append((res["painted_wall"] - t) * 1000)
        rss["startup"] = max(rss.get("startup", 0), res["rss_mb"])
        r.note = f"import of lago_tui.app {res['import_ms']:.0f} ms"
    out.append(r)
    log("  startup done")

    # ---------------------------------------------------------------- navigation (one child, several runs)
    _, res, err = _spawn(_child("nav", db, manifest, runs))
    names = [
        ("filter", "filter keystroke to updated list", "<= 100", "includes the screen's 80 ms debounce"),
        ("open", f"enter on the {m.big:,}-event session to painted timeline", "<= 200", ""),
        ("last", "G (last event) to painted", "<= 100", ""),
        ("pagedown", "PageDown to painted", "<= 30", ""),
        ("jump", "jump to a random position to painted", "<= 100", "move_cursor(pos), as a goto would"),
        ("branch", "switch to a nested branch to painted", "<= 100", ""),
        ("search", "search first match (enter to painted match)", "<= 600", ""),
        ("keys_idle", "key latency (down), nothing else running", "<= 50", ""),
        ("keys_during_search", "key latency (down) while a search runs", "<= 50", ""),
    ]
    for key, label, target, note in names:
        r = Result("app", label, "ms", target=target, note=note)
        if res is None:
            r.missing = f"child failed: {err}"
        elif key in res.get("missing", {}):
            r.missing = res["missing"][key]
        else:
            r.values = res.get(key, [])
            extra = "; ".join(filter(None, [res.get("notes", {}).get(key), res.get("notes", {}).get(key + "_breakdown")]))
            if extra:
                r.note = (r.note + "; " if r.note else "") + extra
            if not r.values:
                r.missing = res.get("error") or "no sample"
        out.append(r)
    if res is not None:
        rss["nav"] = res["rss_mb"]
        if res.get("error") or res.get("timeouts"):
            log(f"  navigation child: {res.get('error', '')} timeouts: {res.get('timeouts', [])}")
    log("  navigation done")

    # ---------------------------------------------------------------- live update and create form (on a copy)
    copy = scratch / "app-writes.duckdb"
    shutil.copyfile(db, copy)
    shutil.copyfile(manifest, str(copy) + ".synth.json")
    _, res, err = _spawn(_child("live", copy, Path(str(copy) + ".synth.json"), runs))
    r = Result("app", "live: event appended by another process to on screen", "ms", target="<= 1,500")
    _fill(r, res, err, "live", rss)
    out.append(r)
    log("  live done")
    _, res, err = _spawn(_child("create", copy, Path(str(copy) + ".synth.json"), runs))
    r = Result("app", "create-session form submit to detail screen painted", "ms", target="")
    _fill(r, res, err, "create", rss)
    out.append(r)
    log("  create done")

    # ---------------------------------------------------------------- baseline: a plain DataTable, all rows
    _, res, err = _spawn(_child("datatable", db, manifest, 1))
    base = Result("app", "baseline: plain DataTable, all rows loaded, to painted", "ms")
    if res is None:
        base.missing = f"child failed: {err}"
    else:
        base.values = res["datatable"]
        base.note = res.get("note", "")
        rss["datatable baseline"] = res["rss_mb"]
    out.append(base)
    opened = next(x for x in out if x.name.startswith("enter on the"))
    ratio = Result("app", "baseline / lago-tui (open to painted)", "x", target=">= 50")
    if base.median and opened.median:
        ratio.values = [base.median / opened.median]
        ratio.note = f"{base.median:,.0f} ms vs {opened.median:,.0f} ms"
    else:
        ratio.missing = "a side is missing"
    out.append(ratio)
    log("  baseline done")

    r = Result("app", "peak RSS of the app process (browsing the big session)", "MB", target="<= 200")
    if "nav" in rss:
        r.values = [rss["nav"]]
    r.note = ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items())
    if not r.values:
        r.missing = "navigation child failed"
    out.append(r)
    return out


# --------------------------------------------------------------------------------------------- children


PAINTS: dict[int, tuple[list[float], list[int]]] = {}  # table -> (times, rows) of every paint, in time order
TIMEOUTS: list[str] = []  # waits that never saw a painted row (left out of the numbers)


def _add(values: list[float], ms: float | None) -> None:
    if ms is not None:
        values.append(ms)


_KEY_TASKS: set[asyncio.Task[None]] = set()


def _send_key(app: Any, key: str) -> None:
    """Press a key as Pilot.press does, without waiting here for the app to go idle."""
    task = asyncio.ensure_future(app._press_keys([key]))
    _KEY_TASKS.add(task)
    task.add_done_callback(_KEY_TASKS.discard)


def _instrument() -> None:
    """Record when each real row (not a placeholder) of a VirtualTable is painted: every line the table
    produces for a loaded row counts, whether its strip was rendered now or taken from the strip cache
    (a row seen before, such as after ``g`` then PageDown again, is painted from the cache)."""
    from ..widgets.virtual_list import VirtualTable

    orig = VirtualTable.render_line
    if getattr(orig, "_bench", False):
        return

    def wrapped(self, y):  # noqa: ANN001, ANN202
        strip = orig(self, y)
        index = (self.scroll_offset.y + y - (1 if self._show_header else 0)) // getattr(self, "row_height", 1)
        if index >= 0 and self.get_row(index) is not None:
            times, rows = PAINTS.setdefault(id(self), ([], []))
            times.append(time.perf_counter())
            rows.append(index)
        return strip

    wrapped._bench = True  # type: ignore[attr-defined]
    VirtualTable.render_line = wrapped


PROBES: list[tuple[str, float, float]] = []  # (what, start, end) of journal and screen calls, for breakdowns


def _probe(owner: Any, name: str, label: str) -> None:  # noqa: ANN401
    """Record the start and end of every call of ``owner.name`` (any thread) in PROBES."""
    orig = getattr(owner, name, None)
    if orig is None:  # renamed or gone: measured without it
        return

    def wrapped(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        t = time.perf_counter()
        try:
            return orig(*a, **kw)
        finally:
            PROBES.append((label, t, time.perf_counter()))

    setattr(owner, name, wrapped)


def _probes_since(t0: float, t1: float | None = None) -> dict[str, list[tuple[float, float]]]:
    """{label: [(start ms after t0, duration ms)]} of the probes that started in [t0, t1]."""
    out: dict[str, list[tuple[float, float]]] = {}
    for label, a, b in list(PROBES):
        if a >= t0 and (t1 is None or a <= t1):
            out.setdefault(label, []).append(((a - t0) * 1000, (b - a) * 1000))
    return out


def _breakdown(t0: float, t1: float) -> str:
    parts = []
    for label, calls in _probes_since(t0, t1).items():
        start, dur = calls[0]
        parts.append(f"{label} @{start:.0f}+{dur:.0f}" + (f" (x{len(calls)})" if len(calls) > 1 else ""))
    return ", ".join(parts)


def _rss_mb() -> float:
    """Peak RSS of this process image. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking
    parent across exec, so a child spawned by a big parent would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _until(cond, timeout: float = 30.0, step: float = 0.001) -> bool:  # noqa: ANN001
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if cond():
            return True
        await asyncio.sleep(step)
    return False


def _painted_since(table: Any, t0: float, index: int | None = None) -> float | None:
    """The first time after t0 that a real row (``index``, or any) of ``table`` was painted."""
    times, rows = PAINTS.get(id(table), ([], []))
    for i in range(bisect.bisect_left(times, t0), len(times)):
        if index is None or rows[i] == index:
            return times[i]
    return None


async def _wait_painted(pilot: Any, table: Any, t0: float, index: int | None = None,
                        timeout: float = 30.0) -> float | None:
    """ms from t0 until ``table`` painted ``index`` (or any row). A row whose strip was cached does not re-render:
    then the row being loaded and one more refresh counts as painted."""
    found: list[float] = []

    def cond() -> bool:
        t = _painted_since(table, t0, index)
        if t is not None:
            found.append(t)
            return True
        return False

    ok = await _until(lambda: cond() or (not table.is_loading and table.row_count > 0 and index is not None
                                         and table.get_row(index) is not None and _loaded_long(table, index, t0)),
                      timeout)
    if not ok:
        TIMEOUTS.append(f"{type(table).__name__} row {index}: loading={table.is_loading} rows={table.row_count} "
                        f"loaded={index is not None and table.get_row(index) is not None}")
        return None
    if found:
        return (found[0] - t0) * 1000
    await pilot.pause()
    # The row was loaded before it was painted: the paint (if it happened since) is the answer; only a
    # row whose rendering was cached is timed by the pause.
    painted = _painted_since(table, t0, index)
    return ((painted if painted is not None else time.perf_counter()) - t0) * 1000


def _loaded_long(table: Any, index: int, t0: float) -> bool:
    # a row already loaded and cached: allow a frame (1/60 s) for a repaint that may not re-render it
    return time.perf_counter() - t0 > 0.02 and table.get_row(index) is not None


def _run_child(go: Any, res: dict[str, Any]) -> None:  # noqa: ANN401
    """Run the child's coroutine; whatever happens, print what was measured (and why it stopped)."""
    try:
        asyncio.run(go())
    except BaseException as exc:  # noqa: BLE001 - reported in the table
        res["error"] = f"{type(exc).__name__}: {exc}"[:300]
    _result(res)


def _result(data: dict[str, Any]) -> None:
    if TIMEOUTS:
        data["timeouts"] = TIMEOUTS[:20]
    data["rss_mb"] = round(_rss_mb(), 1)
    print(RESULT_TAG + json.dumps(data), flush=True)


def _make_app(db: str, **kw) -> Any:  # noqa: ANN401
    from ..app import LagoApp
    from ..connect import open_journal
    from ..journal import Journal

    journal = open_journal(db) if "://" in db else Journal(db)  # a URL: the remote rows (bench/remote.py)
    return LagoApp(journal, settings_path=Path(tempfile.mkdtemp(prefix="lago-bench-")) / "settings.json", **kw)


async def _query_when_mounted(app: Any, screen_name: str, widget: Any, timeout: float = 30) -> Any:  # noqa: ANN401
    """``widget`` on the screen named ``screen_name``, once that screen is active and composed (else None)."""
    found: list[Any] = []

    def cond() -> bool:
        if type(app.screen).__name__ != screen_name:
            return False
        try:
            found.append(app.screen.query_one(widget))
        except Exception:  # noqa: BLE001 - not composed yet
            return False
        return True

    return found[0] if await _until(cond, timeout) else None


async def _session_list_table(app: Any, pilot: Any) -> Any:
    from ..widgets.virtual_list import VirtualTable

    await _until(lambda: type(app.screen).__name__ == "SessionListScreen", 30)
    return app.screen.query_one("#sl-table", VirtualTable)


def child_startup(db: str) -> None:
    t = time.perf_counter()
    from ..app import LagoApp  # noqa: F401

    import_ms = (time.perf_counter() - t) * 1000
    _instrument()
    app = _make_app(db)

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = await _session_list_table(app, pilot)
            await _until(lambda: _painted_since(table, 0) is not None, 60)
            painted = time.time() - (time.perf_counter() - _painted_since(table, 0))
            _result({"painted_wall": painted, "import_ms": import_ms})
            app.exit()

    asyncio.run(go())


def child_nav(db: str, m: synth.Manifest, runs: int) -> None:
    _instrument()
    from textual.widgets import Input

    from ..journal import Journal, Timeline
    try:
        from ..screens.session_detail import SessionDetailScreen
        from ..widgets.timeline import TimelineSource

        _probe(Journal, "session", "session()")
        _probe(TimelineSource, "count", "count")
        _probe(TimelineSource, "fetch", "fetch")
        _probe(Timeline, "window", "window")
        _probe(Timeline, "find", "find")
        _probe(SessionDetailScreen, "_opened", "session shown")
        _probe(SessionDetailScreen, "_detail_loaded", "detail shown")  # (before the detail screen's rework)
        _probe(SessionDetailScreen, "_timeline_built", "timeline set")
        from ..widgets.inspector import Inspector
        from ..widgets.timeline import TimelineView

        _probe(TimelineView, "render_lines", "timeline render")
        _probe(Inspector, "show_event", "inspector")
        _probe(Inspector, "build", "inspector build")
    except (ImportError, AttributeError):
        pass

    app = _make_app(db)
    res: dict[str, Any] = {k: [] for k in ("filter", "open", "last", "pagedown", "jump", "branch", "search",
                                            "keys_idle", "keys_during_search")}
    res["missing"] = {}
    res["notes"] = {}
    rng = random.Random(99)

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = await _session_list_table(app, pilot)
            await _until(lambda: _painted_since(table, 0) is not None, 60)
            # ---------------------------------------------------- filter keystrokes
            term = m.big_session_name[:9]
            for run in range(runs):
                await pilot.press("slash")
                await pilot.pause()
                for ch in term:
                    t0 = time.perf_counter()
                    _send_key(app, ch)
                    # the list is updated once the new source has loaded and a row painted
                    await _until(lambda: table.is_loading, 1.0)
                    await _until(lambda: not table.is_loading, 10)
                    # the cursor stays on the highlighted session when it is still listed: wait for its row
                    _add(res["filter"], await _wait_painted(pilot, table, t0, max(0, table.cursor), 5))
                if run < runs - 1:
                    await pilot.press("escape")
                    await _until(lambda: not table.is_loading, 30)
                    await pilot.pause()
            await pilot.press("enter")  # submit the filter: focus goes to the table
            await _until(lambda: not table.is_loading and table.row_count >= 1, 30)
            await pilot.pause()
            row = table.highlighted_row
            if row is None or row.session_id != m.big_session_id:
                for i in range(table.row_count):
                    if (table.get_row(i) is not None and table.get_row(i).session_id == m.big_session_id):
                        table.move_cursor(i)
                await pilot.pause()
            # ---------------------------------------------------- open the big session
            try:
                from ..widgets.timeline import TimelineView
            except ImportError:
                res["missing"].update({k: "n/a (screen missing)" for k in res if k not in ("filter", "missing", "notes")})
                return
            view = None
            for run in range(runs):
                table.focus()
                await pilot.pause()
                t0 = time.perf_counter()
                _send_key(app, "enter")
                view = await _query_when_mounted(app, "SessionDetailScreen", TimelineView)
                if view is None:
                    res["missing"]["open"] = "n/a (screen missing)"
                    return
                ms = await _wait_painted(pilot, view, t0, None, 60)
                _add(res["open"], ms)
                if ms is not None and run == runs - 1:
                    res["notes"]["open_breakdown"] = f"last open, ms after enter: {_breakdown(t0, t0 + ms / 1000)}"
                if run < runs - 1:
                    await _until(lambda: not view.is_loading, 30)
                    await pilot.pause()
                    await pilot.press("escape")
                    await _until(lambda: type(app.screen).__name__ == "SessionListScreen", 30)
                    await pilot.pause()
            screen = app.screen
            await _until(lambda: not view.is_loading and view.row_count > 0, 60)
            res["notes"]["open"] = f"{view.row_count:,} rows in the timeline (main)"
            view.focus()
            await pilot.pause()
            # ---------------------------------------------------- G, PageDown, jump
            t_nav = time.perf_counter()
            for _ in range(runs):
                await pilot.press("g")
                await _until(lambda: view.cursor == 0, 10)
                await pilot.pause()
                await asyncio.sleep(0.05)
                t0 = time.perf_counter()
                _send_key(app, "G")
                _add(res["last"], await _wait_painted(pilot, view, t0, view.row_count - 1))
                await pilot.press("g")
                await _until(lambda: view.cursor == 0, 10)
                await pilot.pause()
                await asyncio.sleep(0.05)
                for _ in range(3):
                    before = view.cursor
                    t0 = time.perf_counter()
                    _send_key(app, "pagedown")
                    await _until(lambda: view.cursor != before, 10)
                    _add(res["pagedown"], await _wait_painted(pilot, view, t0, view.cursor))
                for _ in range(3):
                    pos = rng.randrange(0, view.row_count)
                    t0 = time.perf_counter()
                    view.move_cursor(pos)
                    _add(res["jump"], await _wait_painted(pilot, view, t0, pos))
                    await asyncio.sleep(0.05)
            fetches = [d for _, d in _probes_since(t_nav).get("fetch", [])]
            if fetches:
                res["notes"]["last"] = (f"page fetches while navigating: median {statistics.median(fetches):.0f} ms, "
                                        f"max {max(fetches):.0f} ms (n={len(fetches)})")
            # ---------------------------------------------------- switch to a nested branch
            branches = [b for b in m.big_branches if b["depth"] >= 2]
            if not hasattr(screen, "select_branch"):
                res["missing"]["branch"] = "n/a (no select_branch on the detail screen)"
            for k in range(runs if hasattr(screen, "select_branch") else 0):
                b = branches[k % len(branches)]
                old_source = view.source
                t0 = time.perf_counter()
                screen.select_branch(b["branch_id"])
                await _until(lambda: view.source is not old_source and not view.is_loading, 30)
                _add(res["branch"], await _wait_painted(pilot, view, t0, None))
                await asyncio.sleep(0.05)
            # the deepest branch, for search
            deepest = next(b for b in m.big_branches if b["name"] == m.deepest_branch)
            old_source = view.source
            screen.select_branch(deepest["branch_id"])
            await _until(lambda: view.source is not old_source and not view.is_loading, 30)
            await pilot.pause()
            res["notes"]["branch"] = f"branches at depth 2..{max(b['depth'] for b in branches)}; deepest timeline {view.row_count:,} rows"
            # ---------------------------------------------------- search: first match
            try:
                search = screen.query_one("#sd-search", Input)
            except Exception:  # noqa: BLE001
                res["missing"]["search"] = res["missing"]["keys_during_search"] = "n/a (no search input)"
                return
            t_search = time.perf_counter()
            for _ in range(runs):
                view.move_cursor(0)
                await pilot.pause()
                await pilot.press("slash")
                await pilot.pause()
                search.value = m.needle
                t0 = time.perf_counter()
                _send_key(app, "enter")
                ok = await _until(lambda: view.cursor > 0, 30)
                if not ok:
                    res["missing"]["search"] = "no match found"
                    break
                _add(res["search"], await _wait_painted(pilot, view, t0, view.cursor))
            finds = [d for _, d in _probes_since(t_search).get("find", [])]
            res["notes"]["search"] = (f"match at position {view.cursor:,} of {view.row_count:,}"
                                      + (f"; Timeline.find median {statistics.median(finds):.0f} ms" if finds else ""))
            # ---------------------------------------------------- keys with nothing else running
            view.move_cursor(0)
            await pilot.pause()
            await asyncio.sleep(0.2)
            for _ in range(10 * runs):
                before = view.cursor
                t0 = time.perf_counter()
                _send_key(app, "down")
                await _until(lambda: view.cursor != before, 5)
                _add(res["keys_idle"], await _wait_painted(pilot, view, t0, view.cursor, 5))
                await asyncio.sleep(0.02)
            # ---------------------------------------------------- keys while a search runs
            for _ in range(runs):
                view.move_cursor(0)
                await pilot.pause()
                await pilot.press("slash")
                await pilot.pause()
                search.value = "nosuchwordanywhere"  # no match: the search scans the whole branch, twice
                _send_key(app, "enter")
                await _until(lambda: getattr(screen, "searching", False), 5)
                n = 0
                while getattr(screen, "searching", False) and n < 10:
                    before = view.cursor
                    t0 = time.perf_counter()
                    _send_key(app, "down")
                    await _until(lambda: view.cursor != before, 5)
                    ms = await _wait_painted(pilot, view, t0, view.cursor, 5)
                    if ms is not None:
                        res["keys_during_search"].append(ms)
                    n += 1
                    await asyncio.sleep(0.01)
                await _until(lambda: not getattr(screen, "searching", False), 60)
                await pilot.pause()
            if not res["keys_during_search"]:
                res["missing"]["keys_during_search"] = "the search finished before a key could be pressed"
            app.exit()

    _run_child(go, res)


def _append_code(db: str, session_id: str) -> str:
    return (
        "import time, json\n"
        "from lago_tui.journal import Journal\n"
        "from lago_tui.bench.common import _message\n"
        f"j = Journal({db!r})\n"
        f"j.append([_message({session_id!r}, text='live update from another process')])\n"
        "print('COMMITTED', time.time(), flush=True)\n"
        "j.close()\n"
    )


def child_live(db: str, m: synth.Manifest, runs: int) -> None:
    _instrument()
    app = _make_app(db)
    res: dict[str, Any] = {"live": []}

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            table = await _session_list_table(app, pilot)
            await _until(lambda: _painted_since(table, 0) is not None, 60)
            try:
                from ..widgets.timeline import TimelineView
            except ImportError:
                res["missing"] = "n/a (screen missing)"
                return
            sid = app.journal.list_sessions(limit=1)[0].session_id  # the most recently active session
            app.call_later(app.open_session, sid)  # from a handler, as the list's enter would
            view = await _query_when_mounted(app, "SessionDetailScreen", TimelineView)
            if view is None:
                res["missing"] = "n/a (the detail screen did not open)"
                return
            await _until(lambda: not view.is_loading and view.row_count > 0, 60)
            if hasattr(app.screen, "action_toggle_follow") and not getattr(app.screen, "following", False):
                app.screen.action_toggle_follow()
            await pilot.pause()
            for _ in range(runs):
                n = view.row_count
                proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _append_code(db, sid),
                                                            stdout=asyncio.subprocess.PIPE,
                                                            stderr=asyncio.subprocess.PIPE)
                ok = await _until(lambda: view.row_count > n, 30)
                seen_perf = time.perf_counter()
                if ok:
                    await _until(lambda: _painted_since(view, seen_perf - 1, n) is not None or
                                 view.get_row(n) is not None, 10)
                seen_wall = time.time()
                out, err = await proc.communicate()
                committed = [float(line.split()[1]) for line in out.decode().splitlines() if line.startswith("COMMITTED")]
                if not ok or not committed:
                    res["missing"] = f"the append did not show up ({err.decode()[-300:]})"
                    break
                res["live"].append((seen_wall - committed[0]) * 1000)
                await asyncio.sleep(0.3)
            res["note"] = (f"journal polled every {app.watch_interval:.1f} s; the writer waits for the app to "
                           "release its read connection (DuckDB: one writer process or many readers)")
            app.exit()

    _run_child(go, res)


def child_create(db: str, m: synth.Manifest, runs: int) -> None:
    _instrument()
    app = _make_app(db)
    res: dict[str, Any] = {"create": []}

    async def go() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            from textual.widgets import Input

            table = await _session_list_table(app, pilot)
            await _until(lambda: _painted_since(table, 0) is not None, 60)
            try:
                from ..screens.create_session import CreateSessionScreen  # noqa: F401
                from ..widgets.timeline import TimelineView
            except ImportError:
                res["missing"] = "n/a (screen missing)"
                return
            for k in range(runs):
                await pilot.press("n")
                if await _query_when_mounted(app, "CreateSessionScreen", "#name", 10) is None:
                    res["missing"] = "n/a (the create form did not open)"
                    return
                await pilot.pause()
                app.screen.query_one("#name", Input).value = f"bench-created-{k}-{time.time_ns()}"
                app.screen.query_one("#model", Input).value = "claude-sonnet-4"
                await pilot.pause()
                t0 = time.perf_counter()
                _send_key(app, "ctrl+s")
                view = await _query_when_mounted(app, "SessionDetailScreen", TimelineView)
                if view is None:
                    res["missing"] = "n/a (no detail screen after submit)"
                    return
                _add(res["create"], await _wait_painted(pilot, view, t0, None, 30))
                await pilot.pause()
                await pilot.press("escape")
                await _until(lambda: type(app.screen).__name__ == "SessionListScreen", 10)
                await pilot.pause()
            app.exit()

    _run_child(go, res)


def child_datatable(db: str, m: synth.Manifest, rows_wanted: int = 100_000) -> None:
    """Baseline: the same timeline through a plain Textual DataTable with all rows loaded."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from ..journal import Journal

    class Baseline(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="dt")

    timings: dict[str, float] = {}

    async def go() -> None:
        app = Baseline()
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one(DataTable)
            t0 = time.perf_counter()
            j = Journal(db)
            tl = j.timeline(m.big_session_id, m.deepest_branch)
            n = min(rows_wanted, tl.length)
            rows = []
            for start in range(0, n, 5000):
                for ev in tl.window(start, min(5000, n - start)):
                    rows.append((ev.position + 1, ev.ts, ev.branch_id[:8], ev.kind, ev.payload_json[:80]))
            t1 = time.perf_counter()
            table.add_columns("#", "time", "branch", "kind", "summary")
            table.add_rows(rows)
            await pilot.pause()
            await _until(lambda: table.row_count == n, 120)
            await pilot.pause()
            t2 = time.perf_counter()
            timings.update(load_ms=(t1 - t0) * 1000, table_ms=(t2 - t1) * 1000, rows=n)
            j.close()
            app.exit()

    asyncio.run(go())
    _result({"datatable": [timings["load_ms"] + timings["table_ms"]],
             "note": f"{timings['rows']:,} rows: journal {timings['load_ms']:,.0f} ms + DataTable "
                     f"{timings['table_ms']:,.0f} ms"})


def child_main(kind: str, db: str, manifest: str, runs: int) -> int:
    m = synth.Manifest.from_json(Path(manifest).read_text(encoding="utf-8"))
    if kind == "nav":
        child_nav(db, m, runs)
    elif kind == "live":
        child_live(db, m, runs)
    elif kind == "create":
        child_create(db, m, runs)
    elif kind == "datatable":
        child_datatable(db, m)
    elif kind == "detail":
        from .detail import child_detail

        child_detail(db, m, runs)
    else:
        raise SystemExit(f"unknown child {kind}")
    return 0
