"""Building many small objects at once (a 100k-row comparison, a timeline index, an import's checking)."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["feeding_duckdb", "paused_gc"]

_lock = threading.Lock()
_depth = 0


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while the block builds objects (none of them forms a cycle).

    Each collection of the oldest generation walks every live object; building 300k tuples triggers
    several, which made a 100k-event comparison 3x slower. Nested and concurrent blocks are counted, and
    collection resumes (if it was on) when the last one ends.
    """
    global _depth
    with _lock:
        was_enabled = gc.isenabled() or _depth > 0
        _depth += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and was_enabled:
                gc.enable()


@contextmanager
def feeding_duckdb() -> Iterator[None]:
    """While a thread that checks input in Python feeds another thread's DuckDB statements (the imports).

    Short GIL turns: a DuckDB call takes the GIL back now and then, and at the default 5 ms switch interval
    each such moment waited for the busy checking thread (a 4 ms statement took 50 ms). No cyclic collection
    (:func:`paused_gc`): reading makes and drops a dict per event while the chunks' rows stay alive, and full
    passes over them cost some 10% of an import; nothing read forms a cycle.
    """
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, 0.0002))
    try:
        with paused_gc():
            yield
    finally:
        sys.setswitchinterval(switch)
