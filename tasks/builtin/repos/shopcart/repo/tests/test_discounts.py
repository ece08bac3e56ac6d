from shopcart.discounts import apply_discounts, percent_off

LINES = [("A", 2, 500)]


def test_percent_off():
    assert apply_discounts(LINES, 1000, [percent_off(10)]) == 100


def test_discount_capped_at_subtotal():
    assert apply_discounts(LINES, 1000, [percent_off(80), percent_off(80)]) == 1000
