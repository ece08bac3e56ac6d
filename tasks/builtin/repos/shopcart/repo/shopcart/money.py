"""Rounding shared by discounts and tax."""

from decimal import ROUND_HALF_UP, Decimal


def round_half_up(value: Decimal | float | int) -> int:
    """To whole cents, halves away from zero: 37.5 -> 38, 2.5 -> 3."""
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
