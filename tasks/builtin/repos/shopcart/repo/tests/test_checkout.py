import pytest

from shopcart import Cart, Catalog, Product, checkout
from shopcart.discounts import percent_off

CATALOG = Catalog([Product("TEA", "Green tea", 450), Product("MUG", "Mug", 1200)])


def cart():
    c = Cart()
    c.add("TEA", 2)
    c.add("MUG")
    return c


def test_checkout_totals():
    assert checkout(cart(), CATALOG, [percent_off(10)], tax_rate=0.1) == checkout(cart(), CATALOG, [percent_off(10)], tax_rate=0.1)
    receipt = checkout(cart(), CATALOG, [percent_off(10)], tax_rate=0.1)
    assert (receipt.subtotal, receipt.discount, receipt.tax, receipt.total) == (2100, 210, 189, 2079)


def test_unknown_product():
    c = Cart()
    c.add("NOPE")
    with pytest.raises(KeyError):
        checkout(c, CATALOG)
