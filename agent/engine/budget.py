"""The spending cap: before each model call the worst case must fit in what is left.

Worst case = prompt tokens at the dearest input rate (cache writes cost more than plain input)
+ max_tokens at the output rate. If it does not fit, max_tokens is lowered to fit (so a small cap
is spent to its end); if not even a small answer fits, the issue pauses (`BudgetExhausted`): the
user can grant more and go on where it stopped (`agent resume RUN --max-cost NEW`). Recorded spend
therefore never exceeds the cap. A budget may have a parent (a batch cap over per-issue caps).

The ledger records each call with this worst case before it is sent (`worst_case_usd`), and a
call that never settled (the process died while it was in flight) counts at it, so a resumed
run starts from what a provider may have billed, not from what came back.
"""

from __future__ import annotations

import math
import threading
from decimal import Decimal

from agent.core.errors import BudgetExhausted
from agent.providers.pricing import MILLION, PriceQuote

MIN_USEFUL_TOKENS = 256


def tokens_at_most(chars: int) -> int:
    """An upper bound on the tokens of text we have not sent yet (2 chars per token), for budgets."""
    return math.ceil(chars / 2)


def _input_rate(price: PriceQuote) -> Decimal:
    """The dearest rate a prompt token can cost (a cache write costs more than plain input)."""
    return max(price.input, price.cache_write or price.input)


def worst_case_usd(prompt_tokens: int, max_tokens: int, price: PriceQuote | None) -> Decimal | None:
    """The most a call can cost: the prompt at the dearest input rate plus max_tokens of output."""
    if price is None:
        return None
    return (prompt_tokens * _input_rate(price) + max_tokens * price.output) / MILLION


def fitting_call(left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None) -> int:
    """The max_tokens a call may use with `left` to spend; BudgetExhausted (the issue pauses) when not
    even a small answer fits, carrying what the smallest useful call would cost."""
    if left is None or price is None:
        return max_tokens
    smallest = min(MIN_USEFUL_TOKENS, max_tokens)
    needed = worst_case_usd(prompt_tokens, smallest, price)
    room = left * MILLION - prompt_tokens * _input_rate(price)
    if room <= 0:
        message = f"${max(left, Decimal(0)):.4f} left cannot pay for a {prompt_tokens}-token prompt"
        raise BudgetExhausted(message, needed=needed, left=left)
    fits = max_tokens if price.output <= 0 else min(max_tokens, int(room / price.output))
    if fits < smallest:
        raise BudgetExhausted(f"${left:.4f} left leaves room for only {fits} output tokens", needed=needed, left=left)
    return fits


def smaller(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    """The lower of two caps or amounts left, None being no limit."""
    return second if first is None else first if second is None else min(first, second)


class Budget:
    def __init__(self, cap: Decimal | None, parent: Budget | None = None, spent: Decimal = Decimal(0)) -> None:
        self.cap = cap
        self.parent = parent
        self.spent = spent
        """What was spent already (a resumed issue starts from the ledger's spend)."""
        self._lock = threading.Lock()

    def caps(self) -> Decimal | None:
        """The lowest cap over this budget and its parents."""
        return smaller(self.cap, self.parent.caps() if self.parent else None)

    def left(self) -> Decimal | None:
        own = None if self.cap is None else self.cap - self.spent
        return smaller(own, self.parent.left() if self.parent else None)

    def allow(self, prompt_tokens: int, max_tokens: int, price: PriceQuote | None) -> int:
        """The max_tokens this call may use; raises BudgetExhausted when it does not fit (see the module)."""
        return fitting_call(self.left(), prompt_tokens, max_tokens, price)

    def charge(self, cost: Decimal | None) -> None:
        if cost is None:
            return
        with self._lock:
            self.spent += cost
        if self.parent:
            self.parent.charge(cost)
