"""The two families of exceptions: signals that end an attempt normally, and real failures.

Signals end an attempt cleanly and carry its outcome name. Failures carry a message that says
what is wrong and what to do next; only the CLI turns them into a red line and an exit code.
"""

from __future__ import annotations

from decimal import Decimal

from agent.core.messages import Usage


class AttemptEnded(Exception):
    """Base of the signals that end one attempt normally; each names its outcome in its class line."""

    outcome = "ended"

    def __init_subclass__(cls, outcome: str = "ended", **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.outcome = outcome


class ModelFinished(AttemptEnded, outcome="finished"):
    """The model ended its turn without a tool call."""


class TurnLimit(AttemptEnded, outcome="turn_limit"):
    """The attempt used all the turns its effort level allows."""


class BudgetExhausted(AttemptEnded, outcome="budget_exhausted"):
    """The next model call could cross the cost cap: the issue pauses until more is granted."""

    def __init__(self, message: str, *, needed: Decimal | None = None, left: Decimal | None = None) -> None:
        super().__init__(message)
        self.needed = needed
        """What the call that did not fit could cost at most."""
        self.left = left


class RepeatedFormatError(AttemptEnded, outcome="format_error"):
    """The model made three malformed tool calls in a row."""


class StopRequested(AttemptEnded, outcome="stopped"):
    """The user asked to stop after the current turn."""


class RunAbandoned(KeyboardInterrupt):
    """The user stopped a live run at once (a second Ctrl-C): its sandboxes are closed and the
    turn in flight is not awaited, so the process must exit without joining the run's thread."""


class AgentError(Exception):
    """Base of real failures. `exit_code` is what the CLI exits with."""

    exit_code = 3


class ConfigError(AgentError):
    """Bad input or configuration: a flag, a config file, a ladder spec, a missing key."""

    exit_code = 2


class TaskError(AgentError):
    """The issue or task given cannot be used (missing repo, empty issue, bad URL)."""

    exit_code = 2


class ProviderError(AgentError):
    """The model provider failed after the SDK's retries, or refused the request.

    It carries what the provider is known to bill for the request (see `agent.ledger.calls`):
    `refused` when it answered an HTTP error before generating anything (providers do not bill
    those; by default, whenever there is an error `status`); `usage` when it said how many tokens it
    counted before the failure (a stream cut after Anthropic's `message_start`, or an OpenAI stream
    whose usage chunk arrived); neither when nothing is known (a timeout, a dropped connection: it
    may have billed the whole request).
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retries: int = 0,
        refused: bool | None = None,
        usage: Usage | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retries = retries
        self.refused = status is not None and status >= 400 if refused is None else refused
        self.usage = usage
        self.retry_after = retry_after
        """Seconds the provider asked to wait before the next request (its `retry-after`), when it said."""


class ContextWindowError(ProviderError):
    """The prompt no longer fits the model's context window."""


class ProviderPaused(ProviderError):
    """The run stopped using a provider: it is out of quota (the user must top up), or it kept refusing
    for rate limits longer than `[router] rate_limit_max_wait_s`. Not a failure of the issue: it ends
    paused, and `agent resume` continues it once the provider answers again."""

    def __init__(self, message: str, *, provider: str, reason: str) -> None:
        super().__init__(message, refused=True)
        self.provider = provider
        self.reason = reason
        """"quota" or "rate_limit"."""


class UnverifiableError(AgentError):
    """The environment cannot run the tests (or the named targets), so no fix could be verified.

    An environment problem, never the model's failure: the run stops before any model call.
    """

    exit_code = 2


class EnvironmentBuildError(UnverifiableError):
    """The repository's environment (its dependencies in an image) could not be built."""


class SandboxError(AgentError):
    """The sandbox could not be created, reached or cleaned up."""

    exit_code = 3
