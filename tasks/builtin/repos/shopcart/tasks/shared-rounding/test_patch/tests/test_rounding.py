from decimal import Decimal

import pytest

from shopcart import discounts, tax
from shopcart.discounts import apply_discounts, percent_off
from shopcart.money import round_half_up
from shopcart.tax import FlatRate


@pytest.mark.parametrize("value,cents", [(37.5, 38), (12.5, 13), (Decimal("2.5"), 3), (2, 2), (-2.5, -3), (2.4999, 2)])
def test_round_half_up(value, cents):
    assert round_half_up(value) == cents


def test_discounts_and_tax_round_the_same_way():
    assert apply_discounts([("A", 1, 100)], 100, [percent_off(12.5)]) == 13
    assert FlatRate(0.125).tax_for(100) == 13


def test_both_modules_use_the_shared_helper():
    assert discounts.round_half_up is round_half_up
    assert tax.round_half_up is round_half_up
    assert not hasattr(tax, "_round_half_up")
