"""A token bucket: `rate` tokens per second, at most `capacity` stored."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self.tokens = capacity
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def try_acquire(self, tokens: float = 1) -> bool:
        """Take `tokens` if that many are available now; never blocks. More than `capacity` never succeeds."""
        self._refill()
        if tokens <= self.tokens:
            self.tokens -= tokens
            return True
        return False
