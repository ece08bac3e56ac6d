"""Container lifecycle: owner labels, a registry of live sandboxes, cleanup on exit and signals,
reaping orphans (containers whose owner process is gone) and `prune`.

Nothing happens at import: handlers are installed by the first sandbox a process creates.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from pydantic import BaseModel

RUN_LABEL = "agent.run"
OWNER_LABEL = "agent.owner"
OWNER_START_LABEL = "agent.owner_start"
"""The owner's start time (clock ticks since boot), so a reused PID is not taken for the owner."""

_closers: dict[int, Callable[[], None]] = {}
_lock = threading.RLock()  # re-entrant: a signal handler may run while the lock is held
_installed = False
_previous: dict[int, Any] = {}


class RemovedContainer(BaseModel):
    """A container that `reap_orphans` or `prune` removed."""

    id: str
    name: str
    run: str
    owner: str
    reason: str


def process_start(pid: int) -> str | None:
    """Start time of `pid` in clock ticks since boot (Linux), or None when unknown/absent."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def owner_id(pid: int | None = None) -> str:
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def owner_labels(run_id: str) -> dict[str, str]:
    labels = {RUN_LABEL: run_id, OWNER_LABEL: owner_id()}
    start = process_start(os.getpid())
    if start is not None:
        labels[OWNER_START_LABEL] = start
    return labels


def owner_is_gone(labels: dict[str, str]) -> bool:
    """True when the owner label names this host and its process no longer exists."""
    host, _, pid_text = labels.get(OWNER_LABEL, "").rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    recorded = labels.get(OWNER_START_LABEL)
    return recorded is not None and process_start(pid) not in (None, recorded)


# registry -----------------------------------------------------------------------------------
def register(key: int, closer: Callable[[], None]) -> None:
    """Remember a live sandbox's `close` so exit and signals can clean it up."""
    install_handlers()
    with _lock:
        _closers[key] = closer


def unregister(key: int) -> None:
    with _lock:
        _closers.pop(key, None)


def close_all() -> None:
    """Close every registered sandbox (each closer is idempotent and must not raise)."""
    with _lock:
        closers = list(_closers.values())
        _closers.clear()
    for closer in closers:
        with contextlib.suppress(Exception):  # cleanup must go on to the next sandbox
            closer()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    close_all()
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def install_handlers() -> None:
    """atexit + SIGINT/SIGTERM handlers that clean up, then hand the signal to the previous handler."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(close_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        _previous[signum] = signal.getsignal(signum)
        signal.signal(signum, _on_signal)


# orphans and prune --------------------------------------------------------------------------
def _describe(container: Any, reason: str) -> RemovedContainer:
    labels = container.labels or {}
    return RemovedContainer(
        id=container.short_id,
        name=container.name,
        run=labels.get(RUN_LABEL, ""),
        owner=labels.get(OWNER_LABEL, ""),
        reason=reason,
    )


def _remove(container: Any) -> bool:
    import docker.errors

    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        return "already in progress" in str(exc)
    return True


def reap_orphans(client: Any) -> list[RemovedContainer]:
    """Remove containers labelled with an owner on this host whose process is gone."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        if owner_is_gone(container.labels or {}) and _remove(container):
            removed.append(_describe(container, "owner process gone"))
    return removed


def prune(all: bool = False, client: Any = None) -> list[RemovedContainer]:
    """Remove orphaned sandbox containers, or with `all` every container with an `agent.run` label."""
    if client is None:
        from sandboxes.engine import docker_client

        client = docker_client()
    if not all:
        return reap_orphans(client)
    removed = []
    for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
        if _remove(container):
            removed.append(_describe(container, "prune --all"))
    return removed
