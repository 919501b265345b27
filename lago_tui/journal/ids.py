"""ULIDs, as Lago uses for every id: 48-bit millisecond time + 80 random bits, Crockford base32."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(ms: int | None = None, randomness: bytes | None = None) -> str:
    ms = time.time_ns() // 1_000_000 if ms is None else ms
    rand = os.urandom(10) if randomness is None else randomness
    value = (ms & ((1 << 48) - 1)) << 80 | int.from_bytes(rand[:10], "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
