"""The small protocols the parts of the runner talk through, and the data that crosses them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from agent.core.effort import EffortLevel
from agent.core.messages import Message, ModelTurn, ToolSpec

TextSink = Callable[[str], None]
"""Receives model text as it streams in."""


@runtime_checkable
class Model(Protocol):
    """One model behind one provider. `complete` makes one request (streaming where it can)."""

    @property
    def name(self) -> str: ...

    @property
    def provider(self) -> str: ...

    def effort_for(self, effort: EffortLevel) -> tuple[EffortLevel, str]:
        """The level actually used for an asked level (nearest supported) and its wire value."""
        ...

    def complete(
        self,
        messages: Sequence[Message],
        *,
        system: str,
        tools: Sequence[ToolSpec],
        effort: EffortLevel,
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelTurn: ...


class ExecResult(BaseModel):
    """What one command in a sandbox produced."""

    exit_code: int
    output: str
    truncated: bool = False
    duration: float = 0.0
    timed_out: bool = False


class Sandbox(Protocol):
    """Where the model's commands run: a copy of the repository at the base commit."""

    workdir: str

    def exec(self, command: str, timeout: float | None = None) -> ExecResult: ...

    def read_file(self, path: str) -> str: ...

    def write_file(self, path: str, content: str) -> None: ...

    def diff(self) -> str:
        """Unified diff of the work against the base commit, new and deleted files included."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class ByteFiles(Protocol):
    """Exact-byte file I/O a sandbox may offer beyond `Sandbox`, one round trip per call.

    `read_bytes` raises IsADirectoryError, FileNotFoundError (missing or not a regular file),
    PermissionError, or OSError with errno EFBIG past `max_bytes`.
    """

    def read_bytes(self, path: str, max_bytes: int | None = None) -> bytes: ...

    def write_bytes(self, path: str, data: bytes) -> None: ...
