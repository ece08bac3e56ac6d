"""A cart: quantities per SKU, in the order they were first added."""

from __future__ import annotations


class Cart:
    def __init__(self) -> None:
        self._lines: dict[str, int] = {}

    def add(self, sku: str, quantity: int = 1) -> None:
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        self._lines[sku] = self._lines.get(sku, 0) + quantity

    def remove(self, sku: str, quantity: int = 1) -> None:
        """Take `quantity` units out; the line disappears when none are left."""
        if sku not in self._lines:
            raise KeyError(sku)
        self._lines[sku] -= quantity
        if self._lines[sku] < 0:
            del self._lines[sku]

    def items(self) -> list[tuple[str, int]]:
        return list(self._lines.items())

    def count(self) -> int:
        return sum(self._lines.values())
