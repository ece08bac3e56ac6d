import pytest

from shopcart import Cart, Catalog, Product, checkout
from shopcart.tax import Exempt, FlatRate

CATALOG = Catalog([Product("TEA", "Green tea", 450)])


def cart():
    c = Cart()
    c.add("TEA", 3)
    return c


class Banded:
    """A custom policy: 10% up to 1000 cents, 20% above."""

    def tax_for(self, amount):
        return amount // 10 if amount <= 1000 else 100 + (amount - 1000) // 5


def test_flat_rate_policy():
    assert checkout(cart(), CATALOG, tax=FlatRate(0.1)).tax == 135


def test_exempt_policy():
    assert checkout(cart(), CATALOG, tax=Exempt()).total == 1350


def test_custom_policy():
    assert checkout(cart(), CATALOG, tax=Banded()).tax == 170


def test_tax_rate_keyword_still_works():
    assert checkout(cart(), CATALOG, tax_rate=0.1).tax == 135


def test_no_tax_by_default():
    assert checkout(cart(), CATALOG).tax == 0


def test_both_tax_and_rate_rejected():
    with pytest.raises(ValueError):
        checkout(cart(), CATALOG, tax=Exempt(), tax_rate=0.1)
