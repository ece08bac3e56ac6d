"""Turning a cart into a receipt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shopcart.cart import Cart
from shopcart.catalog import Catalog
from shopcart.discounts import Rule, apply_discounts
from shopcart.tax import FlatRate, TaxPolicy


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
    tax: TaxPolicy | None = None,
    tax_rate: float | None = None,
) -> Receipt:
    """Subtotal, discounts, then tax on the discounted amount under `tax` (or a flat `tax_rate`)."""
    if tax is not None and tax_rate is not None:
        raise ValueError("give tax or tax_rate, not both")
    policy = tax if tax is not None else FlatRate(tax_rate or 0)
    lines = [(sku, quantity, catalog.get(sku).price) for sku, quantity in cart.items()]
    subtotal = sum(quantity * price for _, quantity, price in lines)
    discount = apply_discounts(lines, subtotal, rules)
    taxed = policy.tax_for(subtotal - discount)
    return Receipt(subtotal, discount, taxed, subtotal - discount + taxed)
