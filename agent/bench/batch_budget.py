"""The batch cap of `agent bench`: one budget shared by issues that run at the same time.

`Budget.allow` checks a call's worst case against what is left, but two issues checking at once
could both pass and together cross the cap. So the batch reserves each call's worst case when it
is allowed and releases it when the call's real cost is charged: what is left is always the cap
minus what was spent minus what calls in flight could still spend. Spend never crosses the cap.
A resumed batch starts from the ledger's spend, which counts the calls the dead runner left in
flight (never settled) at their worst case: a provider may have billed them.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Protocol

from agent.engine.budget import Budget, fitting_call, smaller, worst_case_usd
from agent.providers.pricing import PriceQuote


class Batch(Protocol):
    """What an issue's budget needs from the batch (in-process, or a Ray actor behind a proxy)."""

    def left(self) -> Decimal | None: ...

    def allow_for(
        self, key: str, own_left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None
    ) -> int: ...

    def settle(self, key: str, cost: Decimal | None) -> None: ...


class BatchBudget(Budget):
    """The batch's cap, with each in-flight call's worst case reserved until it is charged."""

    def __init__(self, cap: Decimal | None, spent: Decimal = Decimal(0)) -> None:
        super().__init__(cap)
        self.spent = spent  # what earlier sessions of a resumed run already spent
        self._reserved: dict[str, Decimal] = {}
        self._batch_lock = threading.RLock()

    def left(self) -> Decimal | None:
        own = super().left()
        with self._batch_lock:
            return None if own is None else own - sum(self._reserved.values(), Decimal(0))

    def allow_for(
        self, key: str, own_left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None
    ) -> int:
        """Budget.allow against the lower of what the issue and the batch have left, then reserve the
        call's worst case."""
        with self._batch_lock:
            self._reserved.pop(key, None)
            fits = fitting_call(smaller(own_left, self.left()), prompt_tokens, max_tokens, price)  # may pause
            self._reserved[key] = worst_case_usd(prompt_tokens, fits, price) or Decimal(0)
            return fits

    def settle(self, key: str, cost: Decimal | None) -> None:
        with self._batch_lock:
            self._reserved.pop(key, None)
            self.charge(cost)

    def reserved(self, key: str) -> Decimal:
        """The worst case held for `key`'s call in flight ($0: none)."""
        with self._batch_lock:
            return self._reserved.get(key, Decimal(0))


class IssueBudget(Budget):
    """One issue's budget (its own optional cap) under a shared batch."""

    def __init__(self, cap: Decimal | None, batch: Batch, key: str, spent: Decimal = Decimal(0)) -> None:
        super().__init__(cap, spent=spent)
        self.batch, self.key = batch, key

    def left(self) -> Decimal | None:
        own = None if self.cap is None else self.cap - self.spent
        above = self.batch.left()
        return above if own is None else own if above is None else min(own, above)

    def allow(self, prompt_tokens: int, max_tokens: int, price: PriceQuote | None) -> int:
        own = None if self.cap is None else self.cap - self.spent
        return self.batch.allow_for(self.key, own, prompt_tokens, max_tokens, price)

    def charge(self, cost: Decimal | None) -> None:
        super().charge(cost)
        self.batch.settle(self.key, cost)

    def close(self) -> None:
        """Release a reservation left by a call that failed before it was charged."""
        self.batch.settle(self.key, None)
