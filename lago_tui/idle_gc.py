"""Full garbage collections while the user is idle, not in the middle of a keystroke.

CPython's cyclic collector walks every live object when it collects the oldest generation; in the app browsing
a 200k-event session that took 25-32 ms over ~100k objects, and it fell at random on keystrokes (the detail
bench's key-to-painted times had tails of 100-270 ms that vanished with the collector off). So:

- the objects alive once the first screen is up (modules, classes, Textual's machinery) are frozen out of
  every later pass (:func:`gc.freeze`): a full pass then walks ~35k objects, in 6-11 ms;
- a full pass also runs once in each pause of the input longer than :data:`IDLE` seconds (if anything has
  reached the oldest generation since the last one), which leaves less for the automatic ones to find.

The automatic passes keep their default rate: at a tenth of it the tails were gone but browsing peaked at
204-208 MB (target 200), with the default rate at 188-194 MB. Young generations stay automatic too (they are
small and fast), so memory stays bounded while a key is held.
"""

from __future__ import annotations

import gc
import time

IDLE = 1.0  # seconds without a key or mouse event before a full collection may run
TICK = 0.5  # how often the app looks


class IdleCollector:
    """Start it once the first screen is up (:meth:`start`), tell it of each input (:meth:`saw_input`), call
    :meth:`tick` every :data:`TICK` seconds, and :meth:`stop` on exit (objects unfrozen)."""

    def __init__(self, clock=time.monotonic) -> None:  # noqa: ANN001
        self._clock = clock
        self._last_input = clock()
        self._collected = False  # a full collection ran since the last input
        self._started = False
        self.collections = 0  # full collections run while idle

    def start(self) -> None:
        if self._started:
            return
        gc.collect()
        gc.freeze()
        self._started = True

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        gc.unfreeze()

    def saw_input(self) -> None:
        self._last_input = self._clock()
        self._collected = False

    def tick(self) -> bool:
        """Collect the oldest generation if input is idle and anything reached it; whether it did."""
        if not self._started or self._collected or self._clock() - self._last_input < IDLE or gc.get_count()[2] == 0:
            return False
        self._collected = True
        gc.collect()
        self.collections += 1
        return True
