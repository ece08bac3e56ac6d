"""Tax policies: how much tax a (discounted) amount in cents carries."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol


def _round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class TaxPolicy(Protocol):
    def tax_for(self, amount: int) -> int: ...


class FlatRate:
    def __init__(self, rate: float) -> None:
        self.rate = rate

    def tax_for(self, amount: int) -> int:
        return _round_half_up(Decimal(amount) * Decimal(str(self.rate)))


class Exempt:
    def tax_for(self, amount: int) -> int:
        return 0
