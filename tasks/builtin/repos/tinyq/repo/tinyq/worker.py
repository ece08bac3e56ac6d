"""Runs queued jobs through a handler, retrying failures with exponential backoff."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tinyq.queue import JobQueue


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handler: Callable[[Any], object],
        retries: int = 0,
        backoff: float = 0.1,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.queue = queue
        self.handler = handler
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.done: list[Any] = []
        self.failed: list[tuple[Any, Exception]] = []

    def run_pending(self) -> int:
        """Handle every queued job; returns how many succeeded."""
        succeeded = 0
        while (job := self.queue.get()) is not None:
            if self._run(job):
                succeeded += 1
        return succeeded

    def _run(self, job: Any) -> bool:
        for attempt in range(self.retries + 1):
            try:
                self.handler(job)
            except Exception as exc:
                if attempt == self.retries:
                    self.failed.append((job, exc))
                    return False
                self.sleep(self.backoff * 2**attempt)
            else:
                self.done.append(job)
                return True
        return False
