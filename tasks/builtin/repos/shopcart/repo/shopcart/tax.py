"""Tax policies: how much tax a (discounted) amount in cents carries."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from shopcart.money import round_half_up


class TaxPolicy(Protocol):
    def tax_for(self, amount: int) -> int: ...


class FlatRate:
    def __init__(self, rate: float) -> None:
        self.rate = rate

    def tax_for(self, amount: int) -> int:
        return round_half_up(Decimal(amount) * Decimal(str(self.rate)))


class Exempt:
    def tax_for(self, amount: int) -> int:
        return 0
