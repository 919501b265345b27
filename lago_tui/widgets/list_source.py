"""A `VirtualTable` source over rows already in memory (a comparison, problems, lane rows)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

__all__ = ["ListSource"]

T = TypeVar("T")


class ListSource(Generic[T]):
    """Rows ``(index, item)`` of a list; the index is the row's key (for ``keep_key`` and ``set_source(key=)``)."""

    def __init__(self, items: Sequence[T]) -> None:
        self.items = items

    def count(self) -> int:
        return len(self.items)

    def fetch(self, start: int, count: int) -> Sequence[tuple[int, T]]:
        return [(i, self.items[i]) for i in range(max(0, start), min(len(self.items), start + count))]

    def index_of(self, key: Hashable) -> int | None:
        return key if isinstance(key, int) and 0 <= key < len(self.items) else None
