from decimal import Decimal

import pytest

from ledgerlite import Money


def test_money_rounds_to_cents():
    assert Money("1.005", "eur").amount == Decimal("1.01")


def test_money_adds_same_currency():
    assert Money("1.50", "EUR") + Money("2.25", "EUR") == Money("3.75", "EUR")


def test_money_refuses_mixed_currencies():
    with pytest.raises(ValueError):
        Money("1", "EUR") + Money("1", "USD")
