"""The byte streams a persistent shell is spoken to over (`sandboxes.shell`): a docker exec socket
(`DockerExecTransport`, its 8-byte frame headers taken off here) or the pipes of a local bash in its
own session (`PipeTransport`, which kills the whole session when closed).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import struct
import subprocess
import time
from typing import Any, Protocol


class Transport(Protocol):
    def send(self, data: bytes) -> None: ...

    def recv(self, timeout: float) -> bytes:
        """Next bytes of combined output; b"" at end of stream; raises TimeoutError."""
        ...

    def close(self) -> None: ...


class DockerExecTransport:
    """A hijacked docker exec socket (tty off): stdin raw, output in 8-byte-header frames."""

    def __init__(self, raw: Any) -> None:
        self._sock: socket.socket = getattr(raw, "_sock", raw)
        self._raw = raw
        self._buf = bytearray()
        self._frame_left = 0

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def _take(self) -> bytes:
        out = bytearray()
        while self._buf:
            if self._frame_left == 0:
                if len(self._buf) < 8:
                    break
                self._frame_left = struct.unpack(">I", self._buf[4:8])[0]
                del self._buf[:8]
                continue
            piece = self._buf[: self._frame_left]
            del self._buf[: len(piece)]
            self._frame_left -= len(piece)
            out += piece
        return bytes(out)

    def recv(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            self._sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self._sock.recv(1 << 16)
            except TimeoutError:
                raise
            except OSError:
                return b""
            if not chunk:
                return b""
            self._buf += chunk
            data = self._take()
            if data:
                return data
            if time.monotonic() >= deadline:
                raise TimeoutError

    def close(self) -> None:
        for closer in (self._sock.close, getattr(self._raw, "close", None)):
            if closer is not None:
                with contextlib.suppress(OSError):
                    closer()


class PipeTransport:
    """A local bash in its own session, stdout and stderr merged on one pipe."""

    def __init__(self, argv: list[str], cwd: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin
        self._out = self.proc.stdout.fileno()

    def send(self, data: bytes) -> None:
        self._in.write(data)
        self._in.flush()

    def recv(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self._out], [], [], max(timeout, 0))
        if not ready:
            raise TimeoutError
        return os.read(self._out, 1 << 16)

    def close(self) -> None:
        kill_session(self.proc.pid)
        with contextlib.suppress(OSError):
            self._in.close()
        self.proc.wait(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def kill_session(sid: int) -> None:
    """SIGKILL every process in session `sid` (the shell and whatever its commands left behind)."""
    pids = {sid}
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as handle:
                        fields = handle.read().rsplit(b")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[3]) == sid:
                    pids.add(int(entry))
    except OSError:
        pass
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
