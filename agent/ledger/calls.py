"""A model call as the ledger keeps it (one row per request, written before it is sent, then settled),
and a fallback the router took between calls."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from agent.core.errors import AgentError, ContextWindowError, ProviderError
from agent.core.messages import ModelTurn, Usage
from agent.providers.errors import MalformedResponse, ProviderAuthError, ProviderUnreachable, QuotaExhausted
from agent.providers.pricing import PriceQuote, cost

UNSETTLED = ("pending", "unsettled")
"""Call statuses without a reply: in flight, or left in flight by a runner that died."""

UNCERTAIN = ("known_input", "worst_case")
"""Cost bases of a failed call the provider may have billed otherwise than recorded."""


def error_kind(exc: AgentError) -> str:
    """The kind of a failed call: which ProviderError the adapter raised."""
    kinds: tuple[tuple[type[AgentError], str], ...] = (
        (ContextWindowError, "context_window"),
        (ProviderAuthError, "auth"),
        (ProviderUnreachable, "unreachable"),
        (MalformedResponse, "malformed"),
        (QuotaExhausted, "quota"),
    )
    for kind, name in kinds:
        if isinstance(exc, kind):
            return name
    if isinstance(exc, ProviderError):
        return "status" if exc.status is not None else "timeout"
    return type(exc).__name__


class CallRecord(BaseModel):
    """One model request (its attempt sequence: the SDK's retries are in `retries`) as the ledger keeps it.

    It is recorded `pending` with its worst case in `reserved_usd` before it is sent, then settled:
    `ok` with its usage and cost, or `failed` with the error's kind, its retries and its cost as the
    provider bills it (`cost_basis`, `cost_reason` says why):

    - `not_billed`: $0, the provider answered an HTTP error before generating (429, 500, 529, 400,
      401) or was never reached; providers do not bill those.
    - `known_input`: the stream failed after the provider said what it counted (Anthropic's
      `message_start`, an OpenAI usage chunk): that input, and the output streamed so far.
    - `worst_case`: nothing is known (a timeout, a dropped connection, a garbled answer): the worst
      case reserved before sending.

    The last two are uncertain (`cost_uncertain`): the provider's bill may be lower. One never
    settled counts at `reserved_usd`.
    """

    turn: int
    model: str
    effort_sent: str | None
    usage: Usage
    max_tokens: int | None = None
    cost_usd: Decimal | None
    price_source: str | None
    duration_s: float
    retries: int = 0
    stop_reason: str | None = None
    error: str | None = None
    status: str = "ok"  # pending | ok | failed | unsettled
    error_kind: str | None = None  # failed: unreachable | auth | quota | status | timeout | malformed | context_window
    reserved_usd: Decimal | None = None  # the worst case reserved before sending (None: unpriced, or not recorded)
    cost_reason: str | None = None
    cost_basis: str | None = None  # usage | not_billed | known_input | worst_case (None: pending, or not recorded)
    validation: str | None = None  # why the reply was invalid (unknown_tool | bad_json | schema | empty | loop)
    turn_s: float | None = None  # on the call whose valid reply ended a turn: the turn's end-to-end seconds
    call_id: int | None = None
    """Its row, when it was written under its run before its issue had one (the classifier's): the issue
    claims that row rather than writing another. Not a column."""

    @property
    def settled(self) -> bool:
        return self.status not in UNSETTLED

    @property
    def cost_uncertain(self) -> bool:
        """Whether the cost is the provider's likely bill of a failed call rather than a reply's usage."""
        return self.cost_basis in UNCERTAIN

    @property
    def spend_usd(self) -> Decimal | None:
        """What the call counts against a cap: its cost once settled, else the worst case reserved for it."""
        return self.cost_usd if self.settled else self.reserved_usd

    @classmethod
    def pending(
        cls,
        turn: int,
        *,
        model: str,
        effort_sent: str,
        max_tokens: int,
        reserved_usd: Decimal | None,
        price: PriceQuote | None,
    ) -> CallRecord:
        """The record of a request about to be sent, its worst case reserved."""
        return cls(
            turn=turn,
            model=model,
            effort_sent=effort_sent,
            usage=Usage(),
            max_tokens=max_tokens,
            cost_usd=None,
            price_source=price.source if price else None,
            duration_s=0.0,
            status="pending",
            reserved_usd=reserved_usd,
            cost_reason="worst case reserved; not settled yet",
        )

    @classmethod
    def of_failure(
        cls,
        turn: int,
        exc: AgentError,
        *,
        model: str,
        effort_sent: str,
        max_tokens: int,
        price: PriceQuote | None,
        duration_s: float,
        reserved_usd: Decimal | None = None,
    ) -> CallRecord:
        """The record of a request that gave up (after the SDK's retries): its pending record settled
        at what the provider bills for it (see the class: not billed, the input it counted, or the
        worst case reserved)."""
        kind = error_kind(exc)
        sent = cls.pending(
            turn, model=model, effort_sent=effort_sent, max_tokens=max_tokens, reserved_usd=reserved_usd, price=price
        )
        update: dict[str, object] = {
            "duration_s": duration_s,
            "retries": exc.retries if isinstance(exc, ProviderError) else 0,
            "error": str(exc),
            "status": "failed",
            "error_kind": kind,
        }
        return sent.model_copy(update=update | _failure_cost(exc, kind, price, reserved_usd))

    @classmethod
    def of_reply(
        cls,
        turn: int,
        reply: ModelTurn,
        *,
        model: str,
        effort_sent: str,
        max_tokens: int,
        price: PriceQuote | None,
        reserved_usd: Decimal | None = None,
    ) -> CallRecord:
        """The record of one answered request, priced at `price` (None: unpriced)."""
        return cls(
            turn=turn,
            model=model,
            effort_sent=reply.effort_sent or effort_sent,
            usage=reply.usage,
            max_tokens=max_tokens,
            cost_usd=cost(reply.usage, price),
            price_source=price.source if price else None,
            duration_s=reply.duration_s,
            retries=reply.retries,
            stop_reason=reply.stop_reason,
            reserved_usd=reserved_usd,
            cost_basis="usage",
        )


def _failure_cost(exc: AgentError, kind: str, price: PriceQuote | None, reserved: Decimal | None) -> dict[str, object]:
    """A failed call's usage, cost, basis and reason: what its provider bills for it (None: unpriced)."""
    known = exc.usage if isinstance(exc, ProviderError) else None
    if known is not None:
        return {
            "usage": known,
            "cost_usd": cost(known, price),
            "cost_basis": "known_input",
            "cost_reason": f"uncertain: the call failed ({kind}) after the provider counted {known.input_tokens} "
            f"input tokens; billed at those and the {known.output_tokens} output tokens streamed",
        }
    if not isinstance(exc, ProviderError) or exc.refused:
        reason = f"$0: the call failed ({kind}) and no usage came back"
        return {"cost_usd": Decimal(0), "cost_basis": "not_billed", "cost_reason": reason}
    return {
        "cost_usd": reserved,
        "cost_basis": "worst_case",
        "cost_reason": f"uncertain: the call failed ({kind}) with nothing known of what the provider counted; "
        "billed at the worst case reserved before sending",
    }


LOST_PURPOSE = "lost"
"""A call made by a Ray worker that was lost before it sent its rows back: billed on the job's issue,
outside its attempts, from what the batch keeper saw (its cost, or its worst case when in flight)."""


class CallRow(CallRecord):
    id: int
    run_id: str | None = None
    issue_id: int | None  # None: made for the run before its issue had a row, and never claimed
    attempt_id: int | None  # None: made for the issue before any attempt (the classifier's calls)
    purpose: str  # attempt | classify | lost (LOST_PURPOSE)
    created_at: float = 0.0  # when the request was recorded, just before it was sent (unix time)


class Fallback(BaseModel):
    """A switch, within an attempt, from the rung being climbed (or an earlier fallback) to a fallback rung."""

    turn: int
    from_model: str
    from_effort: str
    to_model: str
    to_effort: str
    reason: str  # a validation reason, or the provider failure (rate_limit, overloaded, context_window, ...)
    detail: str = ""
