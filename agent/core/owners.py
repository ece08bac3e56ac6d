"""Who owns a run or a container: `host:pid`, and whether that process is gone.

The ledger records a run's owner in this form and the sandboxes label their containers with it,
so both ask the same question here: is the owner a process on this host that no longer exists?
An owner on another host, or a tag that is not `host:pid`, is never taken for gone.
"""

from __future__ import annotations

import os
import socket


def owner_tag(pid: int | None = None) -> str:
    """`host:pid` of this process (or of `pid` on this host)."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def process_start(pid: int) -> str | None:
    """Start time of `pid` in clock ticks since boot (Linux), or None when unknown/absent."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def owner_is_gone(owner: str, started: str | None = None) -> bool:
    """True when `owner` (`host:pid`) names this host and its process no longer exists.

    `started` is the owner's recorded start time (see `process_start`): a live process with the
    same PID but another start time is a reused PID, so the owner is gone too.
    """
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return started is not None and process_start(pid) not in (None, started)
