"""Job ids shared by all worker threads."""

from __future__ import annotations

import threading


class IdAllocator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: set[int] = set()
        self._next = 1

    def reserve(self, job_id: int) -> bool:
        """Claim `job_id`; False if some caller already holds it. Safe to call from many threads."""
        if job_id in self._used:
            return False
        with self._lock:
            self._used.add(job_id)
        return True

    def allocate(self) -> int:
        """The smallest free id above every id handed out so far, claimed for the caller."""
        with self._lock:
            while self._next in self._used:
                self._next += 1
            self._used.add(self._next)
            return self._next
