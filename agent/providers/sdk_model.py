"""What the two SDK adapters share: the client's settings, the effort mapping, and one streamed call
with the SDK's failures turned into ours (`agent.providers.errors`).

An adapter says how to make its client, its request and its stream into a turn; `SdkModel.reply`
does the rest the same way for both wires. It imports no SDK: each adapter names its own classes.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from agent.core.effort import EffortLevel
from agent.core.messages import ModelTurn
from agent.core.model_request import ModelRequest, RequestModel
from agent.core.protocols import TextSink
from agent.providers.errors import api_message, malformed, status_error, timed_out, unreachable
from agent.providers.http import AttemptCounter, api_key_for, base_url_for
from agent.providers.resolve import ResolvedModel


@dataclass(frozen=True)
class SdkErrors:
    """The exception classes an SDK raises once its retries are spent (both SDKs name them alike)."""

    status: type[Exception]
    timeout: type[Exception]
    connection: type[Exception]
    validation: type[Exception]

    @classmethod
    def of(cls, sdk: Any) -> SdkErrors:
        """The classes of the `anthropic` or `openai` module."""
        return cls(sdk.APIStatusError, sdk.APITimeoutError, sdk.APIConnectionError, sdk.APIResponseValidationError)


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
    def stream(self, params: dict[str, Any], on_text: TextSink | None) -> ModelTurn:
        """Send `params` streamed and put the reply together; timing and retries are `complete`'s."""

    @abstractmethod
    def too_long(self, exc: Any) -> bool:
        """Whether a status error says the prompt no longer fits the context window."""

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        params = self.request_params(request)
        started = time.monotonic()
        self._attempts.reset()
        try:
            turn = self.stream(params, on_text)
        except self.errors.status as exc:
            raise self._status_error(exc) from exc
        except self.errors.timeout as exc:
            raise timed_out(self.resolved, self._attempts.retries) from exc
        except self.errors.connection as exc:
            raise unreachable(self.resolved, self.base_url, str(exc), self._attempts.retries) from exc
        except (self.errors.validation, ValueError) as exc:
            raise malformed(self.resolved, str(exc).splitlines()[0][:200], self._attempts.retries) from exc
        return turn.model_copy(
            update={
                "duration_s": time.monotonic() - started,
                "retries": self._attempts.retries,
                "model": self.name,
                "effort_sent": self.effort_for(request.effort)[1],
            }
        )

    def _status_error(self, exc: Any) -> Exception:
        return status_error(
            self.resolved,
            exc.status_code,
            api_message(exc),
            context_window=self.too_long(exc),
            retries=self._attempts.retries,
        )
