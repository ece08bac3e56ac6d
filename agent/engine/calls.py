"""Recording an attempt's model calls: a row before each request is sent, settled when it ends.

`sent` writes the call `pending` with the worst case the budget allowed it (so a crash leaves a
row that counts at that worst case); `answered` settles it with the reply's usage and cost and
charges the budget; `failed` settles it as failed ($0: no usage came back) with the error's
kind and the SDK's retries, and releases what the budget reserved for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from agent.core.errors import ProviderError
from agent.core.messages import ModelTurn
from agent.engine.budget import Budget
from agent.ledger import CallRecord, Ledger
from agent.providers.pricing import PriceQuote


@dataclass(frozen=True)
class SentCall:
    """A request recorded before it was sent."""

    row_id: int
    turn: int
    max_tokens: int
    reserved_usd: Decimal | None


@dataclass
class AttemptCalls:
    """The ledger rows, budget charges and events of one attempt's model calls."""

    ledger: Ledger
    attempt_id: int
    model: str
    effort_sent: str
    price: PriceQuote | None
    budget: Budget
    emit: Callable[[str, dict], None]

    def sent(self, turn: int, max_tokens: int, worst_case: Decimal | None) -> SentCall:
        record = CallRecord.pending(
            turn,
            model=self.model,
            effort_sent=self.effort_sent,
            max_tokens=max_tokens,
            reserved_usd=worst_case,
            price=self.price,
        )
        return SentCall(self.ledger.record_call(self.attempt_id, record), turn, max_tokens, worst_case)

    def answered(self, call: SentCall, reply: ModelTurn) -> None:
        record = CallRecord.of_reply(
            call.turn,
            reply,
            model=self.model,
            effort_sent=self.effort_sent,
            max_tokens=call.max_tokens,
            price=self.price,
            reserved_usd=call.reserved_usd,
        )
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
            model=self.model,
            effort_sent=self.effort_sent,
            max_tokens=call.max_tokens,
            price=self.price,
            duration_s=duration_s,
            reserved_usd=call.reserved_usd,
        )
        self.budget.charge(record.cost_usd)  # $0; releases what a batch reserved for the call
        self.ledger.settle_call(call.row_id, record)
        self.emit(
            "model_call_failed",
            {"turn": call.turn, "error_kind": record.error_kind, "retries": record.retries, "error": record.error},
        )
