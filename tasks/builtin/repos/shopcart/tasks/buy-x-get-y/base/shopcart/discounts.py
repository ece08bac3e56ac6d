"""Discount rules: functions from (lines, subtotal) to a discount in cents."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from shopcart.money import round_half_up

Line = tuple[str, int, int]  # sku, quantity, unit price in cents
Rule = Callable[[list[Line], int], int]


def percent_off(percent: float) -> Rule:
    def rule(lines: list[Line], subtotal: int) -> int:
        return round_half_up(Decimal(subtotal) * Decimal(str(percent)) / 100)

    return rule


def apply_discounts(lines: list[Line], subtotal: int, rules: Iterable[Rule]) -> int:
    """The total discount of all rules, never more than the subtotal."""
    rules = list(rules)
    if any(not callable(rule) for rule in rules):
        raise TypeError("discount rules must be callables")
    total = sum(rule(lines, subtotal) for rule in rules)
    return min(total, subtotal)
