"""Where queued entries live. An entry is `(priority, sequence, job)`; `pop` returns the smallest."""

from __future__ import annotations

import heapq
from typing import Any, Protocol

Entry = tuple[int, int, Any]


class QueueBackend(Protocol):
    def push(self, entry: Entry) -> None: ...

    def pop(self) -> Entry | None: ...

    def __len__(self) -> int: ...


class MemoryBackend:
    """A binary heap in memory."""

    def __init__(self) -> None:
        self._heap: list[Entry] = []

    def push(self, entry: Entry) -> None:
        heapq.heappush(self._heap, entry)

    def pop(self) -> Entry | None:
        return heapq.heappop(self._heap) if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)


BACKENDS: dict[str, type[MemoryBackend]] = {"memory": MemoryBackend}
