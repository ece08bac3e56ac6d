"""A priority queue of jobs: lower priority numbers first, FIFO among equal priorities."""

from __future__ import annotations

from typing import Any

from tinyq.backends import BACKENDS, MemoryBackend, QueueBackend


class JobQueue:
    def __init__(self, backend: QueueBackend | None = None) -> None:
        self._backend: QueueBackend = backend if backend is not None else MemoryBackend()

    @classmethod
    def from_name(cls, name: str) -> JobQueue:
        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(sorted(BACKENDS))}")
        return cls(BACKENDS[name]())

    def put(self, job: Any, priority: int = 0) -> None:
        self._backend.push((priority, job))  # type: ignore[arg-type]

    def get(self) -> Any | None:
        """The next job, or None when the queue is empty."""
        entry = self._backend.pop()
        return None if entry is None else entry[-1]

    def __len__(self) -> int:
        return len(self._backend)
