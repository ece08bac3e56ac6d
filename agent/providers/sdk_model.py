"""What the two SDK adapters share: the client's settings, the effort mapping, and one streamed call
with the SDK's failures turned into ours (`agent.providers.errors`).

An adapter says how to make its client, its request and its stream into a turn; `SdkModel.reply`
does the rest the same way for both wires. It imports no SDK: each adapter names its own classes.

A failure carries what the provider is known to bill (`ProviderError.refused`, `.usage`): an HTTP
error before any stream was refused (not billed); a stream that failed after the provider reported
usage (Anthropic's `message_start`, OpenAI's usage chunk) carries that usage, with the output
streamed so far; anything else (a timeout, a dropped connection) carries nothing: it may be billed
in full.
"""

from __future__ import annotations

import math
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from agent.core.effort import EffortLevel
from agent.core.errors import ProviderError
from agent.core.messages import ModelTurn, Usage
from agent.core.model_request import ModelRequest, RequestModel
from agent.core.protocols import TextSink
from agent.providers.errors import (
    api_message,
    is_quota_error,
    malformed,
    retry_after_s,
    status_error,
    timed_out,
    unreachable,
)
from agent.providers.http import AttemptCounter, api_key_for, base_url_for
from agent.providers.resolve import ResolvedModel


@dataclass(frozen=True)
class SdkErrors:
    """The exception classes an SDK raises once its retries are spent (both SDKs name them alike)."""

    status: type[Exception]
    timeout: type[Exception]
    connection: type[Exception]
    validation: type[Exception]
    other: type[Exception]
    """The SDK's base API error (OpenAI raises it for an error sent inside a stream)."""

    @classmethod
    def of(cls, sdk: Any) -> SdkErrors:
        """The classes of the `anthropic` or `openai` module."""
        return cls(
            sdk.APIStatusError,
            sdk.APITimeoutError,
            sdk.APIConnectionError,
            sdk.APIResponseValidationError,
            sdk.APIError,
        )


CHARS_PER_TOKEN = 4
"""How many characters of streamed text make a token, for the output of a stream cut short."""


@dataclass
class StreamSeen:
    """What a stream showed before it ended: whether any event arrived (the provider answered and
    began), the usage it reported so far, and the characters of output it streamed."""

    started: bool = False
    usage: Usage | None = None
    streamed_chars: int = 0

    def billed(self) -> Usage | None:
        """The tokens the provider counted before a failure (None: it reported none): its usage, with
        the output streamed so far (its count, or the characters that arrived at ~4 a token if more)."""
        if self.usage is None:
            return None
        streamed = math.ceil(self.streamed_chars / CHARS_PER_TOKEN)
        return self.usage.model_copy(update={"output_tokens": max(self.usage.output_tokens, streamed)})


NEVER_SENT = ("ConnectError", "ConnectTimeout")
"""The HTTP client's errors (httpx's, or the copy an SDK vendors) for a connection never made."""


def _never_connected(exc: BaseException) -> bool:
    """Whether the SDK's error comes of a connection never made: the request did not reach the provider."""
    cause = exc.__cause__
    return cause is not None and any(kind.__name__ in NEVER_SENT for kind in type(cause).__mro__)


class SdkModel(RequestModel):
    """One model behind an SDK client; `complete` streams one request and returns the turn."""

    errors: ClassVar[SdkErrors]
    default_base_url: ClassVar[str]

    def __init__(self, resolved: ResolvedModel, env: Mapping[str, str]) -> None:
        self.resolved = resolved
        self.name = resolved.name
        self.provider = resolved.provider
        self.base_url = base_url_for(resolved, env, self.default_base_url)
        self._api_key = api_key_for(resolved, env)
        self._attempts = AttemptCounter()

    def client_options(self, http_client_class: Any) -> dict[str, Any]:
        """The keyword arguments of the SDK client: key, URL, retries, timeout, and the attempt counter's hook."""
        config = self.resolved.provider_config
        return {
            "api_key": self._api_key,
            "base_url": self.base_url,
            "max_retries": config.max_retries,
            "timeout": config.timeout_s,
            "http_client": http_client_class(event_hooks=self._attempts.hooks()),
        }

    def effort_for(self, effort: EffortLevel) -> tuple[EffortLevel, str]:
        return self.resolved.effort_for(effort)

    @abstractmethod
    def request_params(self, request: ModelRequest) -> dict[str, Any]:
        """The keyword arguments of the SDK's create call for one request."""

    @abstractmethod
    def stream(self, params: dict[str, Any], on_text: TextSink | None, seen: StreamSeen) -> ModelTurn:
        """Send `params` streamed and put the reply together, telling `seen` what arrives; timing and
        retries are `complete`'s."""

    @abstractmethod
    def too_long(self, exc: Any) -> bool:
        """Whether a status error says the prompt no longer fits the context window."""

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        params = self.request_params(request)
        started = time.monotonic()
        self._attempts.reset()
        seen = StreamSeen()
        try:
            turn = self.stream(params, on_text, seen)
        except Exception as exc:
            failure = self._failure(exc, seen)
            if failure is None:
                raise
            raise failure from exc
        return turn.model_copy(
            update={
                "duration_s": time.monotonic() - started,
                "retries": self._attempts.retries,
                "model": self.name,
                "effort_sent": self.effort_for(request.effort)[1],
            }
        )

    def _failure(self, exc: Exception, seen: StreamSeen) -> ProviderError | None:
        """Our error for an SDK failure, with what the provider is known to bill; None for anything else."""
        retries, billed = self._attempts.retries, seen.billed()
        if isinstance(exc, self.errors.status):
            refused = not seen.started
            return self._status_error(exc, refused=refused, usage=billed, context_window=refused and self.too_long(exc))
        if isinstance(exc, self.errors.timeout):
            return timed_out(self.resolved, retries, billed, refused=not seen.started and _never_connected(exc))
        if isinstance(exc, self.errors.connection):
            refused = not seen.started and _never_connected(exc)
            return unreachable(self.resolved, self.base_url, str(exc), retries, refused=refused, usage=billed)
        if isinstance(exc, self.errors.validation | ValueError):
            return malformed(self.resolved, str(exc).splitlines()[0][:200], retries, billed)
        if isinstance(exc, self.errors.other):
            return self._status_error(exc, refused=False, usage=billed, context_window=False)  # sent inside the stream
        return None

    def _status_error(self, exc: Any, *, refused: bool, usage: Usage | None, context_window: bool) -> ProviderError:
        """An HTTP error status (refused: before any stream), or an error the provider sent inside its stream."""
        return status_error(
            self.resolved,
            getattr(exc, "status_code", None) or 200,
            api_message(exc),
            context_window=context_window,
            retries=self._attempts.retries,
            refused=refused,
            usage=usage,
            retry_after=retry_after_s(exc),
            quota=refused and is_quota_error(exc),
        )
