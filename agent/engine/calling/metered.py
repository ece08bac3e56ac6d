"""A metered model: wraps any model so that each request is reserved against the budget, recorded
pending before it is sent (so a crash leaves a row counted at its worst case), and settled when it
ends: billed at the reply's usage, or recorded as failed at what its provider bills for it (nothing
when it refused the request; the input it counted before a stream failed; else the worst case
reserved), charged to the budget either way (`agent.ledger.calls.CallRecord`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from agent.core.errors import AgentError, ProviderError
from agent.core.messages import Message, ModelTurn
from agent.core.model_request import ModelRequest, WrapperModel
from agent.core.protocols import Model, TextSink
from agent.engine.budget import Budget, tokens_at_most, worst_case_usd
from agent.engine.calling.meters import CallMeter
from agent.ledger import CallRecord
from agent.providers.pricing import PriceQuote

PromptEstimate = Callable[[ModelRequest], int]
"""An upper bound on the tokens of a request's prompt, for the budget."""


class _Terms(TypedDict):
    """What every record of one call says of its request."""

    model: str
    effort_sent: str
    max_tokens: int
    price: PriceQuote | None
    reserved_usd: Decimal | None


def request_chars(messages: Sequence[Message], system: str, tools_chars: int) -> int:
    """The characters of a request as sent: system prompt, tools (`tools_chars` of JSON) and messages as JSON."""
    return len(system) + tools_chars + sum(len(message.model_dump_json()) for message in messages)


def request_tokens(request: ModelRequest) -> int:
    """An upper bound on the tokens of the request as sent."""
    tools_chars = sum(len(tool.model_dump_json()) for tool in request.tools)
    return tokens_at_most(request_chars(request.messages, request.system, tools_chars))


@dataclass
class MeteredModel(WrapperModel):
    """`model`, with every request reserved, recorded and billed through `meter`."""

    model: Model
    price: PriceQuote | None
    budget: Budget | None
    meter: CallMeter
    estimate: PromptEstimate = request_tokens
    settles: tuple[type[AgentError], ...] = (ProviderError,)
    """The failures recorded as failed calls; anything else leaves the call pending (its worst case counts)."""
    on_sent: Callable[[CallRecord], None] | None = None
    """Told of each request once it is recorded, before it is sent."""

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        prompt, max_tokens = self.estimate(request), request.max_tokens
        if self.budget is not None:
            max_tokens = self.budget.allow(prompt, max_tokens, self.price)
        _, wire = self.model.effort_for(request.effort)
        reserved = worst_case_usd(prompt, max_tokens, self.price)
        turn, price, name = self.meter.turn, self.price, self.name
        terms = _Terms(model=name, effort_sent=wire, max_tokens=max_tokens, price=price, reserved_usd=reserved)
        pending = CallRecord.pending(turn, **terms)
        call_id = self.meter.sent(pending)
        if self.on_sent is not None:
            self.on_sent(pending)
        started = time.perf_counter()
        try:
            reply = self.forward(request, on_text, max_tokens)
        except self.settles as exc:
            seconds = time.perf_counter() - started
            self.meter.model_time_s += seconds
            self._settle(call_id, CallRecord.of_failure(turn, exc, duration_s=seconds, **terms))
            raise
        self.meter.model_time_s += time.perf_counter() - started
        self._settle(call_id, CallRecord.of_reply(turn, reply, **terms))
        return reply

    def _settle(self, call_id: int, record: CallRecord) -> None:
        if self.budget is not None:
            self.budget.charge(record.cost_usd)  # also releases what a batch reserved for the call
        self.meter.settled(call_id, record)
