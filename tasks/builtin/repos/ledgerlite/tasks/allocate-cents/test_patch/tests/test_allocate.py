from decimal import Decimal

import pytest

from ledgerlite import Money, allocate


def test_allocate_gives_extra_cents_to_the_first_shares():
    assert allocate(Money("100.00", "EUR"), 3) == [Money("33.34", "EUR"), Money("33.33", "EUR"), Money("33.33", "EUR")]


@pytest.mark.parametrize("total,parts", [("100.00", 3), ("0.05", 4), ("10.01", 7), ("-0.05", 2), ("200", 6)])
def test_allocate_adds_up_to_the_total(total, parts):
    shares = allocate(Money(total, "EUR"), parts)
    assert sum(share.amount for share in shares) == Decimal(total)
    assert max(s.amount for s in shares) - min(s.amount for s in shares) <= Decimal("0.01")


def test_allocate_negative_total():
    assert allocate(Money("-0.05", "EUR"), 2) == [Money("-0.03", "EUR"), Money("-0.02", "EUR")]


def test_allocate_rejects_zero_parts():
    with pytest.raises(ValueError):
        allocate(Money("1", "EUR"), 0)
