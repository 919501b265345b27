"""Full garbage collections while the user is idle, not in the middle of a keystroke.

CPython's cyclic collector walks every live object when it collects the oldest generation; in the app browsing
a 200k-event session that took 25-32 ms over ~100k objects, and it fell at random on keystrokes (the detail
bench's key-to-painted times had tails of 100-270 ms that vanished with the collector off). So:

- the objects alive once the first screen is up (modules, classes, Textual's machinery) are frozen out of
  every later pass (:func:`gc.freeze`): a full pass then walks ~35k objects, in 6-11 ms;
- a full pass also runs once in each pause of the input longer than :data:`IDLE` seconds (if anything has
  reached the oldest generation since the last one), which leaves less for the automatic ones to find.

The automatic passes keep their default rate (:data:`OLDEST_EVERY`): at a tenth of it the tails were gone
but browsing peaked at 204-208 MB (target 200), with the default rate at 188-194 MB.
Young generations stay automatic (they are small and fast), so memory stays bounded while a key is held.
"""

from __future__ import annotations

import gc
import time

IDLE = 1.0  # seconds without a key or mouse event before a full collection may run
TICK = 0.5  # how often the app looks
OLDEST_EVERY = 1  # the oldest generation's automatic threshold, times the default (see above)


class IdleCollector:
    """Start it once the first screen is up (:meth:`start`), tell it of each input (:meth:`saw_input`), call
    :meth:`tick` every :data:`TICK` seconds, and :meth:`stop` on exit (thresholds back, objects unfrozen)."""

    def __init__(self, clock=time.monotonic) -> None:  # noqa: ANN001
        self._clock = clock
        self._last_input = clock()
        self._collected = False  # a full collection ran since the last input
        self._saved: tuple[int, int, int] | None = None
        self.collections = 0  # full collections run while idle
        self.pause_ms = 0.0  # the longest of them

    def start(self) -> None:
        if self._saved is not None:
            return
        gc.collect()
        gc.freeze()
        self._saved = gc.get_threshold()
        young, middle, oldest = self._saved
        gc.set_threshold(young, middle, oldest * OLDEST_EVERY)

    def stop(self) -> None:
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()

    def saw_input(self) -> None:
        self._last_input = self._clock()
        self._collected = False

    def tick(self) -> bool:
        """Collect the oldest generation if input is idle and anything reached it; whether it did."""
        if (self._saved is None or self._collected or self._clock() - self._last_input < IDLE
                or gc.get_count()[2] == 0):
            return False
        self._collected = True
        t = time.perf_counter()
        gc.collect()
        self.pause_ms = max(self.pause_ms, (time.perf_counter() - t) * 1000)
        self.collections += 1
        return True
