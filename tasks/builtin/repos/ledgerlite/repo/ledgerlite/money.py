"""Exact money values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | str | int, currency: str) -> None:
        object.__setattr__(self, "amount", Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))
        object.__setattr__(self, "currency", currency.upper())

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"


def allocate(total: Money, parts: int) -> list[Money]:
    """Split `total` into `parts` shares that differ by at most one cent and add up to `total`.

    The first shares get the extra cents: 100.00 in 3 parts is 33.34, 33.33, 33.33.
    """
    if parts < 1:
        raise ValueError("parts must be at least 1")
    cents = int(total.amount * 100)
    sign = -1 if cents < 0 else 1
    share, remainder = divmod(abs(cents), parts)
    return [
        Money(Decimal(sign * (share + (1 if index < remainder else 0))) / 100, total.currency)
        for index in range(parts)
    ]
