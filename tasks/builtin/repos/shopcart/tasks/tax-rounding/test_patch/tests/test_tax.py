import pytest

from shopcart.tax import Exempt, FlatRate


@pytest.mark.parametrize("amount,rate,tax", [(50, 0.05, 3), (250, 0.07, 18), (10, 0.25, 3), (1000, 0.19, 190), (0, 0.2, 0)])
def test_flat_rate_rounds_half_up(amount, rate, tax):
    assert FlatRate(rate).tax_for(amount) == tax


def test_exempt():
    assert Exempt().tax_for(12345) == 0
