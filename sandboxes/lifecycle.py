"""Container lifecycle: owner labels, a registry of live sandboxes, cleanup on exit and signals,
reaping orphans (containers whose owner process is gone) and `prune`.

Nothing happens at import: handlers are installed by the first sandbox a process creates.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from pydantic import BaseModel

from agent.core import owners
from agent.core.errors import SandboxError
from agent.core.owners import process_start

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


def owner_id(pid: int | None = None) -> str:
    return owners.owner_tag(pid)


def owner_labels(run_id: str) -> dict[str, str]:
    labels = {RUN_LABEL: run_id, OWNER_LABEL: owner_id()}
    start = process_start(os.getpid())
    if start is not None:
        labels[OWNER_START_LABEL] = start
    return labels


def owner_is_gone(labels: dict[str, str]) -> bool:
    """True when the owner label names this host and its process no longer exists."""
    return owners.owner_is_gone(labels.get(OWNER_LABEL, ""), labels.get(OWNER_START_LABEL))


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
# Containers come from one listing (`client.api.containers`: id, names and labels in one answer),
# never a list-then-inspect per container, so another process removing one in between changes
# nothing; a removal that finds the container gone (or going) is done, not an error.
def _listed(client: Any, label: str, run: str | None = None) -> list[dict[str, Any]]:
    """Containers carrying `label` (and, given `run`, that run's label too)."""
    from sandboxes.engine import docker_errors

    labels = [label] if run is None else [label, f"{RUN_LABEL}={run}"]
    with docker_errors("listing sandbox containers"):
        return list(client.api.containers(all=True, filters={"label": labels}))


def _describe(listed: dict[str, Any], reason: str) -> RemovedContainer:
    labels = listed.get("Labels") or {}
    names = listed.get("Names") or [""]
    return RemovedContainer(
        id=listed["Id"][:12],
        name=names[0].lstrip("/"),
        run=labels.get(RUN_LABEL, ""),
        owner=labels.get(OWNER_LABEL, ""),
        reason=reason,
    )


def _remove(client: Any, listed: dict[str, Any]) -> bool:
    """Remove a listed container; False when it was already gone (or another process is removing it)."""
    import docker.errors

    from sandboxes.engine import already_gone, one_line

    try:
        client.api.remove_container(listed["Id"], force=True)
    except docker.errors.DockerException as exc:
        if already_gone(exc):
            return False
        raise SandboxError(
            f"could not remove container {listed['Id'][:12]}: {one_line(exc)}; run `agent sandbox prune --all`"
        ) from exc
    return True


def reap_orphans(client: Any, run: str | None = None) -> list[RemovedContainer]:
    """Remove containers labelled with an owner on this host whose process is gone (of `run` only, if given)."""
    return [
        _describe(listed, "owner process gone")
        for listed in _listed(client, OWNER_LABEL, run)
        if owner_is_gone(listed.get("Labels") or {}) and _remove(client, listed)
    ]


def prune(all: bool = False, client: Any = None, run: str | None = None) -> list[RemovedContainer]:
    """Remove orphaned sandbox containers, or with `all` every container with an `agent.run` label;
    given `run`, only that run's."""
    if client is None:
        from sandboxes.engine import docker_client

        client = docker_client()
    if not all:
        return reap_orphans(client, run)
    return [_describe(listed, "prune --all") for listed in _listed(client, RUN_LABEL, run) if _remove(client, listed)]
