"""An in-process job queue with priorities, retries, rate limiting and a registry."""

from tinyq.backends import BACKENDS, MemoryBackend, QueueBackend
from tinyq.ids import IdAllocator
from tinyq.queue import JobQueue
from tinyq.ratelimit import TokenBucket
from tinyq.registry import Registry
from tinyq.worker import Worker

__all__ = ["BACKENDS", "IdAllocator", "JobQueue", "MemoryBackend", "QueueBackend", "Registry", "TokenBucket", "Worker"]
