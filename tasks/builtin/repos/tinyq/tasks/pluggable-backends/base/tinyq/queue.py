"""A priority queue of jobs: lower priority numbers first, FIFO among equal priorities."""

from __future__ import annotations

import heapq
import itertools
from typing import Any


class JobQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Any]] = []
        self._sequence = itertools.count()

    def put(self, job: Any, priority: int = 0) -> None:
        heapq.heappush(self._heap, (priority, next(self._sequence), job))

    def get(self) -> Any | None:
        """The next job, or None when the queue is empty."""
        if not self._heap:
            return None
        return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)
