"""The app's full garbage collections wait for a pause in the input (lago_tui/idle_gc.py)."""

from __future__ import annotations

import gc

import pytest

from lago_tui import idle_gc


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def collector():  # noqa: ANN201
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    clock = Clock()
    c = idle_gc.IdleCollector(clock)
    c.start()
    yield c, clock
    c.stop()
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == frozen


def _reach_the_oldest_generation() -> None:
    for _ in range(3):
        Cycle()
        gc.collect(1)  # what survives a middle-generation pass moves to the oldest one


def test_a_full_collection_waits_for_a_pause_then_runs_once(collector) -> None:  # noqa: ANN001
    c, clock = collector
    assert gc.get_freeze_count() > 0  # what was alive at start is out of every later pass
    _reach_the_oldest_generation()
    c.saw_input()
    clock.now += idle_gc.IDLE / 2
    assert not c.tick()  # typing: no pause long enough
    clock.now += idle_gc.IDLE
    assert c.tick() and c.collections == 1 and gc.get_count()[2] == 0
    _reach_the_oldest_generation()
    clock.now += 10
    assert not c.tick()  # one per pause
    c.saw_input()
    clock.now += idle_gc.IDLE
    assert c.tick() and c.collections == 2


def test_nothing_to_collect_means_no_pass(collector) -> None:  # noqa: ANN001
    c, clock = collector
    gc.collect()
    clock.now += 10
    assert gc.get_count()[2] == 0 and not c.tick()
