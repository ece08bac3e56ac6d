"""Provider failures beyond `agent.core.errors`, and the mapping from HTTP outcomes to them."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

from agent.core.errors import ContextWindowError, ProviderError
from agent.core.messages import Usage
from agent.providers.resolve import ResolvedModel


class ProviderUnreachable(ProviderError):
    """The provider's endpoint could not be reached, even after the SDK's retries."""


class ProviderAuthError(ProviderError):
    """The provider refused the API key (401/403); never retried."""


class MalformedResponse(ProviderError):
    """The provider answered 200 with a body that is not the API's JSON or SSE."""


class QuotaExhausted(ProviderError):
    """The account is out of credit or over its spend limit: retrying will not help until the user tops
    up (OpenAI: 429 `insufficient_quota`; Anthropic: 400 "Your credit balance is too low ..." or "You
    have reached your specified API usage limits ...")."""


QUOTA_CODES = ("insufficient_quota",)
"""OpenAI's `error.code` (and `error.type`) for an account out of quota."""
QUOTA_PHRASES = ("credit balance is too low", "reached your specified api usage limits")
"""Anthropic's messages (invalid_request_error, 400) for an account out of credit or over its spend limit."""


def _error_object(exc: Any) -> dict[str, Any]:
    """The `error` object of an SDK status error's JSON body ({} when there is none)."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def is_quota_error(exc: Any) -> bool:
    """Whether an SDK status error says the account is out of quota (see `QuotaExhausted`)."""
    error = _error_object(exc)
    if error.get("code") in QUOTA_CODES or error.get("type") in QUOTA_CODES:
        return True
    message = str(error.get("message", "")).lower()
    return any(phrase in message for phrase in QUOTA_PHRASES)


def retry_after_s(exc: Any, now: float | None = None) -> float | None:
    """The seconds an SDK status error's response asks to wait: `retry-after-ms`, else `retry-after` as
    seconds or as an HTTP date (None: it did not say, or said something unreadable)."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    milliseconds, value = headers.get("retry-after-ms"), headers.get("retry-after")
    try:
        if milliseconds is not None:
            return max(0.0, float(milliseconds) / 1000)
        if value is not None:
            return max(0.0, float(value))
    except ValueError:
        pass
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def api_message(exc: Any) -> str:
    """The API's own error message from an SDK status error (its JSON body), else the SDK's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return str(getattr(exc, "message", exc))


def unreachable(
    model: ResolvedModel, base_url: str, detail: str, retries: int, *, refused: bool, usage: Usage | None = None
) -> ProviderUnreachable:
    """The connection failed: never made (`refused`: the request did not reach the provider), or
    dropped after the request went out (it may be billed)."""
    where = f" (set {model.provider_config.base_url_env} to change it)" if model.provider_config.base_url_env else ""
    message = f"cannot reach {model.provider} at {base_url}{where} after {retries} retries: {detail}"
    if not refused:
        message = f"the connection to {model.provider} dropped while {model.name} answered ({detail}): try again"
    return ProviderUnreachable(
        message,
        retries=retries,
        refused=refused,
        usage=usage,
    )


def status_error(
    model: ResolvedModel,
    status: int,
    message: str,
    *,
    context_window: bool,
    retries: int,
    refused: bool = True,
    usage: Usage | None = None,
    retry_after: float | None = None,
    quota: bool = False,
) -> ProviderError:
    """The error for an HTTP error status the SDK gave up on (or never retries): `refused`, answered
    before any generation (not billed); else an error the provider sent inside its stream. `quota`:
    the body says the account is out of quota; `retry_after`: the seconds its response asked to wait."""
    if not refused:
        return ProviderError(
            f"{model.provider}'s stream for {model.name} broke off with an error: {message}",
            status=status,
            retries=retries,
            usage=usage,
        )
    if quota:
        return QuotaExhausted(
            f"{model.provider} says the account is out of quota ({status}: {message}): "
            "top up or raise the spend limit, then `agent resume` the run",
            status=status,
            retries=retries,
            refused=True,
        )
    key_env = model.provider_config.api_key_env
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access"
        hint = f"check {key_env}" if key_env else "check the endpoint's credentials"
        return ProviderAuthError(
            f"{model.provider} {what} ({status}: {message}): {hint}", status=status, retries=retries, refused=True
        )
    if context_window:
        return ContextWindowError(
            f"{model.name}: the prompt no longer fits the context window ({message}); "
            "start a new attempt with less history or use a model with a larger window",
            status=status,
            retries=retries,
            refused=True,
        )
    return ProviderError(
        f"{model.provider} returned {status} for {model.name} after {retries} retries: {message}",
        status=status,
        retries=retries,
        refused=True,
        retry_after=retry_after,
    )


def malformed(model: ResolvedModel, detail: str, retries: int, usage: Usage | None = None) -> MalformedResponse:
    """A 200 whose body is not the API's: the provider answered, so it may have billed the request."""
    return MalformedResponse(
        f"{model.provider} sent a malformed response for {model.name} ({detail}); "
        "check that the base URL points at a compatible API",
        retries=retries,
        usage=usage,
    )


def timed_out(
    model: ResolvedModel, retries: int, usage: Usage | None = None, *, refused: bool = False
) -> ProviderError:
    """No answer (or no more of the stream) in time: the request may be billed in full, unless the
    connection itself was never made (`refused`)."""
    seconds = model.provider_config.timeout_s
    return ProviderError(
        f"{model.provider} did not answer {model.name} within {seconds:g}s after {retries} retries: "
        f"try again, or raise providers.{model.provider}.timeout_s",
        retries=retries,
        refused=refused,
        usage=usage,
    )
