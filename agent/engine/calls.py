"""Recording an attempt's model calls: a row before each request is sent, settled when it ends.

`sent` writes the call `pending` with the worst case the budget allowed it (so a crash leaves a
row that counts at that worst case); `answered` settles it with the reply's usage and cost and
charges the budget; `failed` settles it as failed ($0: no usage came back) with the error's
kind and the SDK's retries, and releases what the budget reserved for it. `fell_back` records a
switch to a fallback rung: later calls are that model's, at its price.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from agent.core.errors import ProviderError
from agent.core.messages import ModelTurn
from agent.engine.budget import Budget
from agent.ledger import CallRecord, Fallback, Ledger
from agent.providers.pricing import PriceQuote


@dataclass(frozen=True)
class SentCall:
    """A request recorded before it was sent, and whose it was."""

    row_id: int
    turn: int
    max_tokens: int
    reserved_usd: Decimal | None
    model: str
    effort_sent: str
    price: PriceQuote | None


@dataclass
class AttemptCalls:
    """The ledger rows, budget charges and events of one attempt's model calls (`model`, `effort_sent`
    and `price` are those of the route being called: the rung's, or a fallback's)."""

    ledger: Ledger
    attempt_id: int
    model: str
    effort_sent: str
    price: PriceQuote | None
    budget: Budget
    emit: Callable[[str, dict], None]

    def sent(
        self,
        turn: int,
        max_tokens: int,
        worst_case: Decimal | None,
        by: tuple[str, str, PriceQuote | None] | None = None,
    ) -> SentCall:
        """Record a request before it is sent: the current route's, or `by` (model, effort sent, price)."""
        model, effort_sent, price = by or (self.model, self.effort_sent, self.price)
        record = CallRecord.pending(
            turn, model=model, effort_sent=effort_sent, max_tokens=max_tokens, reserved_usd=worst_case, price=price
        )
        row_id = self.ledger.record_call(self.attempt_id, record)
        return SentCall(row_id, turn, max_tokens, worst_case, model, effort_sent, price)

    def answered(
        self, call: SentCall, reply: ModelTurn, validation: str | None = None, turn_s: float | None = None
    ) -> None:
        """Settle a call with its reply; `validation` says why the reply was invalid, `turn_s` is the
        end-to-end latency of the turn a valid reply ends."""
        record = CallRecord.of_reply(
            call.turn,
            reply,
            model=call.model,
            effort_sent=call.effort_sent,
            max_tokens=call.max_tokens,
            price=call.price,
            reserved_usd=call.reserved_usd,
        ).model_copy(update={"validation": validation, "turn_s": turn_s})
        self.budget.charge(record.cost_usd)
        self.ledger.settle_call(call.row_id, record)
        self.ledger.update_attempt(self.attempt_id, turns=call.turn)
        usage = reply.usage.model_dump()
        spent = record.cost_usd
        self.emit("model_call", {"turn": call.turn, **usage, "cost_usd": None if spent is None else str(spent)})

    def failed(self, call: SentCall, exc: ProviderError, duration_s: float) -> None:
        record = CallRecord.of_failure(
            call.turn,
            exc,
            model=call.model,
            effort_sent=call.effort_sent,
            max_tokens=call.max_tokens,
            price=call.price,
            duration_s=duration_s,
            reserved_usd=call.reserved_usd,
        )
        self.budget.charge(record.cost_usd)  # $0; releases what a batch reserved for the call
        self.ledger.settle_call(call.row_id, record)
        self.emit(
            "model_call_failed",
            {"turn": call.turn, "error_kind": record.error_kind, "retries": record.retries, "error": record.error},
        )

    def fell_back(self, fallback: Fallback, text: str, *, effort_sent: str, price: PriceQuote | None) -> None:
        """Record a switch to a fallback rung (a ledger row and a `fallback` event); later calls are its."""
        self.ledger.record_fallback(self.attempt_id, fallback)
        self.model, self.effort_sent, self.price = fallback.to_model, effort_sent, price
        self.emit(
            "fallback",
            {
                "turn": fallback.turn,
                "from": f"{fallback.from_model}@{fallback.from_effort}",
                "to": f"{fallback.to_model}@{fallback.to_effort}",
                "reason": fallback.reason,
                "detail": fallback.detail,
                "text": text,
            },
        )
