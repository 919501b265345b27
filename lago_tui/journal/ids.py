"""ULIDs, as Lago uses for every id: 48-bit millisecond time + 80 random bits, Crockford base32."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# Two digits per 10 bits, looked up: ~3x faster than a Python loop over 26 digits, which the server pays for
# every event id it makes.
_PAIRS = [_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024)]
_SHIFTS = tuple(range(120, -1, -10))


def new_ulid(ms: int | None = None, randomness: bytes | None = None) -> str:
    ms = time.time_ns() // 1_000_000 if ms is None else ms
    rand = os.urandom(10) if randomness is None else randomness
    value = (ms & ((1 << 48) - 1)) << 80 | int.from_bytes(rand[:10], "big")
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in _SHIFTS])
