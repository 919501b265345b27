"""Generate the README's SVG screenshots from the demo data.

    python screenshots/make_screenshots.py        # writes screenshots/*.svg

Each screenshot runs the real app headless on a fresh copy of the demo journal with a fixed clock, so the
files change only when the UI does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from lago_tui.app import LagoApp
from lago_tui.journal import Journal
from lago_tui.paths import demo_source

HERE = Path(__file__).resolve().parent
SIZE = (140, 40)
FIXED_NOW_US = 1_795_262_400_000_000  # 2026-11-21 12:00 UTC, the day after the last demo session


async def settle(pilot) -> None:  # noqa: ANN001 - textual.pilot.Pilot
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.15)


async def shoot(journal_path: Path, name: str, steps: Callable[[object, Journal], Awaitable[None]]) -> Path:
    journal = Journal(journal_path)
    app = LagoApp(journal, clock=lambda: FIXED_NOW_US)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await steps(pilot, journal)
        await settle(pilot)
        target = HERE / f"{name}.svg"
        app.save_screenshot(filename=target.name, path=str(HERE))
    journal.close()
    return target


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HOME"] = tmp  # the header shows the journal as ~/…, the same on every machine
        os.environ["LAGO_TUI_CONFIG_DIR"] = str(Path(tmp) / "config")  # default theme, not the user's
        os.environ["TZ"] = "UTC"  # times show in the local zone: the same on every machine
        time.tzset()
        path = Path(tmp) / "demo.duckdb"
        with Journal(path) as journal:
            journal.import_file(demo_source())
            billing = journal.resolve_session("migrate-billing-to-pydantic-v2")
            nested = journal.session(billing).branch("codemod-plus-manual-fixes")
            auth = journal.resolve_session("fix-flaky-auth-test")

        async def nothing(pilot, journal) -> None:  # noqa: ANN001
            pass

        async def filtered(pilot, journal) -> None:  # noqa: ANN001
            await pilot.press("slash", *"incident")

        async def detail(pilot, journal) -> None:  # noqa: ANN001
            pilot.app.open_session(auth)
            await settle(pilot)
            for _ in range(12):
                await pilot.press("j")

        async def nested_branch(pilot, journal) -> None:  # noqa: ANN001
            pilot.app.open_session(billing, branch_id=nested.branch_id)
            await settle(pilot)
            for _ in range(3):
                await pilot.press("j")

        async def new_session(pilot, journal) -> None:  # noqa: ANN001
            await pilot.press("n")
            await settle(pilot)
            await pilot.press(*"triage-flaky-e2e")
            await pilot.press("tab", *"claude-sonnet-4")

        async def help_screen(pilot, journal) -> None:  # noqa: ANN001
            await pilot.press("question_mark")

        shots = [
            ("01-session-list", nothing),
            ("02-session-list-filtered", filtered),
            ("03-session-detail", detail),
            ("04-nested-branch", nested_branch),
            ("05-new-session", new_session),
            ("06-help", help_screen),
        ]
        for name, steps in shots:
            copy = Path(tmp) / name / "journal.duckdb"
            copy.parent.mkdir()
            copy.write_bytes(path.read_bytes())
            print(await shoot(copy, name, steps), file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
