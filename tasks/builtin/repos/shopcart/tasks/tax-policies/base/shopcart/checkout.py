"""Turning a cart into a receipt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shopcart.cart import Cart
from shopcart.catalog import Catalog
from shopcart.discounts import Rule, apply_discounts
from shopcart.tax import tax_for


@dataclass(frozen=True)
class Receipt:
    subtotal: int
    discount: int
    tax: int
    total: int


def checkout(
    cart: Cart,
    catalog: Catalog,
    rules: Iterable[Rule] = (),
    tax_rate: float = 0.0,
) -> Receipt:
    """Subtotal, discounts, then tax at `tax_rate` on the discounted amount."""
    lines = [(sku, quantity, catalog.get(sku).price) for sku, quantity in cart.items()]
    subtotal = sum(quantity * price for _, quantity, price in lines)
    discount = apply_discounts(lines, subtotal, rules)
    taxed = tax_for(subtotal - discount, tax_rate)
    return Receipt(subtotal, discount, taxed, subtotal - discount + taxed)
