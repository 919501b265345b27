"""summary.py's one way of writing counts and times, and the list's pane and column plan (pure functions)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from lago_tui import summary
from lago_tui.screens.list_layout import COLUMN_ORDER, NAME_CAP, PREVIEW_MIN, next_preview_size, plan_layout

NOON_UTC = 1_795_262_400_000_000  # 2026-11-21 12:00:00 UTC
CET = "CET-1CEST,M3.5.0,M10.5.0/3"  # POSIX rule: no tzdata needed
NEW_YORK = "EST5EDT,M3.2.0,M11.1.0"


@pytest.fixture
def zone() -> Iterator[object]:
    """Set TZ for one test (and put UTC back after it)."""

    def use(tz: str) -> None:
        os.environ["TZ"] = tz
        time.tzset()

    yield use
    os.environ["TZ"] = "UTC"
    time.tzset()
    summary.set_utc(False)


# ---------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("n", "whole", "short"),
    [
        (0, "0", "0"),
        (999, "999", "999"),
        (1_000, "1,000", "1k"),
        (12_345, "12,345", "12.3k"),
        (99_960, "99,960", "100k"),
        (200_002, "200,002", "200k"),
        (999_999, "999,999", "1M"),
        (1_912_345, "1,912,345", "1.9M"),
        (3_400_000_000, "3,400,000,000", "3.4G"),
    ],
)
def test_one_rule_for_every_count(n: int, whole: str, short: str) -> None:
    assert summary.number(n) == whole
    assert summary.compact(n) == short
    assert summary.tokens(n) == whole  # tokens are counts like any other
    assert summary.number(n, len(whole)) == whole  # the whole number where it fits...
    if len(whole) > 1:
        assert summary.number(n, len(whole) - 1) == short  # ...the compact form only where it does not


def test_plural() -> None:
    assert summary.plural(1, "event") == "1 event"
    assert summary.plural(200_002, "event") == "200,002 events"
    assert summary.plural(2, "branch", "branches") == "2 branches"


# ---------------------------------------------------------------------------------------------- times


def test_times_are_local_with_the_zone_named(zone) -> None:
    zone(CET)
    assert summary.timestamp(NOON_UTC) == "2026-11-21 13:00:00"
    assert summary.timestamp(NOON_UTC, zone=True) == "2026-11-21 13:00:00 CET"
    assert summary.clock(NOON_UTC) == "13:00:00"
    assert summary.zone_label(NOON_UTC) == "CET"
    zone(NEW_YORK)
    assert summary.timestamp(NOON_UTC, zone=True) == "2026-11-21 07:00:00 EST"
    summer = NOON_UTC - 150 * 86_400 * 1_000_000
    assert summary.zone_label(summer) == "EDT"  # daylight saving at that moment


def test_utc_on_request(zone) -> None:
    zone(CET)
    summary.set_utc(True)
    assert summary.showing_utc()
    assert summary.timestamp(NOON_UTC, zone=True) == "2026-11-21 12:00:00 UTC"
    assert summary.zone_label() == "UTC"


def test_the_day_changes_where_the_zone_says(zone) -> None:
    late = NOON_UTC + 11 * 3600 * 1_000_000 + 30 * 60 * 1_000_000  # 23:30 UTC
    zone("UTC")
    assert summary.day(late) == "2026-11-21" and summary.day_of(late) == summary.day_of(NOON_UTC)
    zone(CET)  # 00:30 the next day in Paris
    assert summary.day(late) == "2026-11-22" and summary.day_of(late) == summary.day_of(NOON_UTC) + 1


def test_out_of_range_times_do_not_raise() -> None:
    assert summary.timestamp(10**20) == str(10**20)
    assert summary.timestamp(None) == "-" and summary.day(None) == "-"


@pytest.mark.parametrize(
    ("age_s", "shown", "changes_in"),
    [(59.5, "59s ago", 0.5), (60, "1m ago", 60), (3_000, "50m ago", 60), (7_200, "2h ago", 3_600)],
)
def test_relative_times_know_when_they_change(age_s: float, shown: str, changes_in: float) -> None:
    then = NOON_UTC - int(age_s * 1_000_000)
    assert summary.relative(then, NOON_UTC) == shown
    assert summary.relative_changes_in(then, NOON_UTC) == pytest.approx(changes_in)
    later = NOON_UTC + int(summary.relative_changes_in(then, NOON_UTC) * 1_000_000)
    assert summary.relative(then, later) != shown


# ---------------------------------------------------------------------------------------------- list layout

SIZES = [(40, 12), (80, 24), (100, 30), (120, 40), (140, 40), (160, 48), (200, 50)]
LABEL_ROOM = {key: len(label) + 2 for key, label, _, _ in COLUMN_ORDER}  # "label ▼"


def name_width(plan, scrollbar: int = 2) -> int:
    inner = plan.table_width - scrollbar
    fixed = sum(c.width or 0 for c in plan.columns)
    return inner - fixed - (len(plan.columns) - 1)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("name_want", [16, 32, 50])
def test_names_win_space_first(size: tuple[int, int], name_want: int) -> None:
    width, height = size
    plan = plan_layout(width, height, name_want=name_want, model_want=15)
    assert plan.columns[0].key == "name"
    if len(plan.columns) > 1 or plan.mode != "none":
        # whenever anything else is shown, the names are whole (or, when they cannot be, keep most of the room)
        whole = name_width(plan) >= min(name_want, NAME_CAP)
        assert whole or (name_want > plan.table_width - 2 and name_width(plan) >= 20), (plan, name_width(plan))
    for column in plan.columns[1:]:
        assert column.width is not None and column.width >= LABEL_ROOM[column.key], column
    if plan.mode == "beside":
        assert plan.preview - 1 >= PREVIEW_MIN


def test_bigger_terminals_show_more() -> None:
    shown = [plan_layout(w, h, name_want=32, model_want=15) for w, h in SIZES]
    assert [p.mode for p in shown] == ["none", "none", "below", "beside", "beside", "beside", "beside"]
    assert [c.key for c in shown[1].columns] == ["name", "model", "events", "tokens", "last_activity"]
    assert len(shown[-1].columns) == len(COLUMN_ORDER)
    # at 200 columns the preview gets what the full table leaves, far more than its minimum
    assert shown[-1].preview > 70


@pytest.mark.parametrize("sort_key", [key for key, *_ in COLUMN_ORDER])
def test_the_sorted_column_is_always_shown(sort_key: str) -> None:
    for width, height in SIZES[1:]:
        plan = plan_layout(width, height, name_want=32, model_want=15, sort_key=sort_key)
        assert sort_key in [c.key for c in plan.columns], (width, sort_key)


def test_zoom_and_chosen_sizes() -> None:
    plan = plan_layout(120, 40, name_want=32, zoom="table")
    assert plan.mode == "none" and plan.table_width == 120
    auto = plan_layout(120, 40, name_want=32)
    mode, size = next_preview_size(auto, 120, 40, -1)
    assert mode == "beside" and size > auto.preview
    bigger = plan_layout(120, 40, name_want=32, preview=size, orientation=mode)
    assert bigger.preview == size and bigger.table_width == 120 - size
    mode, size = next_preview_size(plan_layout(120, 40, name_want=32, preview=24, orientation="beside"), 120, 40, 1)
    assert size == 0 and plan_layout(120, 40, name_want=32, preview=size, orientation=mode).mode == "none"
    # from no preview (80x24), "<" opens one
    small = plan_layout(80, 24, name_want=32)
    mode, size = next_preview_size(small, 80, 24, -1)
    opened = plan_layout(80, 24, name_want=32, preview=size, orientation=mode)
    assert opened.mode != "none" and opened.preview > 0


def test_a_query_without_the_term_in_error() -> None:
    from lago_tui.screens.list_query import without_term

    assert without_term("state:open tokns:>5k", 11) == "state:open"  # the list keeps what the rest finds
    assert without_term('a "b c" d', 3) == "a d"  # a quoted phrase is one term
    assert without_term("x", 0) == "" and without_term("x y", 1) is None and without_term("ab", 9) is None


def _run_finished(usage: object) -> summary.TimelineEvent:
    payload = {"type": "RunFinished", "reason": "completed", "usage": usage}
    return summary.TimelineEvent(
        position=0, event_id="e", session_id="s", branch_id="main", seq=1, ts=0, kind="RunFinished",
        run_id=None, parent_id=None, payload_json=json.dumps(payload), metadata_json="{}", schema_version=1,
        inherited=False,
    )


def test_a_run_s_token_counts_follow_the_rule_and_odd_ones_are_shown_as_they_are() -> None:
    text = summary.summarize(_run_finished({"prompt_tokens": 845_822, "completion_tokens": 2_333}))
    assert "845,822 in / 2,333 out" in text
    odd = summary.summarize(_run_finished({"prompt_tokens": "lots", "completion_tokens": True}))
    assert "lots in / true out" in odd  # JSON as the payload has it, never a guessed number
