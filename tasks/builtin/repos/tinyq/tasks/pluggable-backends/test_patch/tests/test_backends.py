import pytest

import tinyq
from tinyq import BACKENDS, JobQueue, MemoryBackend


class ListBackend:
    """A custom backend: a sorted list, recording what it was given."""

    def __init__(self):
        self.entries = []
        self.pushed = []

    def push(self, entry):
        self.pushed.append(entry)
        self.entries.append(entry)
        self.entries.sort(key=lambda e: (e[0], e[1]))

    def pop(self):
        return self.entries.pop(0) if self.entries else None

    def __len__(self):
        return len(self.entries)


def test_custom_backend_receives_entries():
    backend = ListBackend()
    queue = JobQueue(backend=backend)
    queue.put({"a": 1}, priority=2)
    queue.put({"b": 2}, priority=1)
    assert [(p, job) for p, _, job in backend.pushed] == [(2, {"a": 1}), (1, {"b": 2})]
    assert backend.pushed[0][1] < backend.pushed[1][1]
    assert len(queue) == 2
    assert [queue.get(), queue.get(), queue.get()] == [{"b": 2}, {"a": 1}, None]


def test_memory_backend_is_the_default_and_registered():
    assert BACKENDS == {"memory": MemoryBackend}
    queue = JobQueue.from_name("memory")
    queue.put("x", priority=3)
    queue.put("y", priority=3)
    assert [queue.get(), queue.get()] == ["x", "y"]


def test_memory_backend_pops_smallest():
    backend = MemoryBackend()
    backend.push((2, 0, "b"))
    backend.push((1, 1, "a"))
    assert (len(backend), backend.pop(), backend.pop(), backend.pop()) == (2, (1, 1, "a"), (2, 0, "b"), None)


def test_unknown_backend_name():
    with pytest.raises(ValueError, match="memory"):
        JobQueue.from_name("redis")


def test_exports():
    assert {"QueueBackend", "MemoryBackend", "BACKENDS"} <= set(tinyq.__all__)
