import pytest

from shopcart import Cart, Catalog, Product, checkout
from shopcart.discounts import apply_discounts, buy_x_get_y, percent_off

CATALOG = Catalog([Product("TEA", "Green tea", 450), Product("MUG", "Mug", 1200)])


def receipt(tea, mugs=0, rules=None):
    cart = Cart()
    cart.add("TEA", tea)
    if mugs:
        cart.add("MUG", mugs)
    return checkout(cart, CATALOG, rules or [buy_x_get_y("TEA", 2, 1)])


@pytest.mark.parametrize("tea,discount", [(1, 0), (2, 0), (3, 450), (5, 450), (6, 900), (7, 900)])
def test_complete_groups_only(tea, discount):
    assert receipt(tea).discount == discount


def test_other_skus_unaffected():
    assert receipt(3, mugs=3).discount == 450


def test_sku_not_in_cart():
    assert apply_discounts([("MUG", 3, 1200)], 3600, [buy_x_get_y("TEA", 2, 1)]) == 0


@pytest.mark.parametrize("x,y", [(0, 1), (1, 0)])
def test_invalid_group(x, y):
    with pytest.raises(ValueError):
        buy_x_get_y("TEA", x, y)


def test_combines_with_percent_off():
    assert receipt(3, rules=[buy_x_get_y("TEA", 2, 1), percent_off(10)]).discount == 450 + 135
