"""A model call as the ledger keeps it (one row per request, written before it is sent, then settled),
and a fallback the router took between calls."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from agent.core.errors import AgentError, ContextWindowError, ProviderError
from agent.core.messages import ModelTurn, Usage
from agent.providers.errors import MalformedResponse, ProviderAuthError, ProviderUnreachable
from agent.providers.pricing import PriceQuote, cost

UNSETTLED = ("pending", "unsettled")
"""Call statuses without a reply: in flight, or left in flight by a runner that died."""


def error_kind(exc: AgentError) -> str:
    """The kind of a failed call: which ProviderError the adapter raised."""
    kinds: tuple[tuple[type[AgentError], str], ...] = (
        (ContextWindowError, "context_window"),
        (ProviderAuthError, "auth"),
        (ProviderUnreachable, "unreachable"),
        (MalformedResponse, "malformed"),
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
    `ok` with its usage and cost, or `failed` with the error's kind, its retries and cost $0 (no
    usage came back; `cost_reason` says so). One never settled counts at `reserved_usd`.
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
    error_kind: str | None = None  # failed calls: unreachable | auth | status | timeout | malformed | context_window
    reserved_usd: Decimal | None = None  # the worst case reserved before sending (None: unpriced, or not recorded)
    cost_reason: str | None = None
    validation: str | None = None  # why the reply was invalid (unknown_tool | bad_json | schema | empty | loop)
    turn_s: float | None = None  # on the call whose valid reply ended a turn: the turn's end-to-end seconds

    @property
    def settled(self) -> bool:
        return self.status not in UNSETTLED

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
        at $0, as no usage came back."""
        kind = error_kind(exc)
        sent = cls.pending(
            turn, model=model, effort_sent=effort_sent, max_tokens=max_tokens, reserved_usd=reserved_usd, price=price
        )
        return sent.model_copy(
            update={
                "cost_usd": Decimal(0),
                "duration_s": duration_s,
                "retries": exc.retries if isinstance(exc, ProviderError) else 0,
                "error": str(exc),
                "status": "failed",
                "error_kind": kind,
                "cost_reason": f"$0: the call failed ({kind}) and no usage came back",
            }
        )

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
        )


class CallRow(CallRecord):
    id: int
    issue_id: int | None
    attempt_id: int | None  # None: made for the issue before any attempt (the classifier's calls)
    purpose: str  # attempt | classify
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
