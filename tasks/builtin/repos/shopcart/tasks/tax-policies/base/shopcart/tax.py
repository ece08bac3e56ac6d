"""Tax on an amount in cents."""

from __future__ import annotations

from decimal import Decimal

from shopcart.money import round_half_up


def tax_for(amount: int, rate: float) -> int:
    return round_half_up(Decimal(amount) * Decimal(str(rate)))
