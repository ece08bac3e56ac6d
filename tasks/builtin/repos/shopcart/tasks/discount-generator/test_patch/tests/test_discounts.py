from shopcart.discounts import apply_discounts, percent_off

LINES = [("A", 2, 500)]


def test_percent_off():
    assert apply_discounts(LINES, 1000, [percent_off(10)]) == 100


def test_discount_capped_at_subtotal():
    assert apply_discounts(LINES, 1000, [percent_off(80), percent_off(80)]) == 1000


def test_rules_from_a_generator():
    rules = (rule for rule in [percent_off(10), percent_off(5)])
    assert apply_discounts(LINES, 1000, rules) == 150


def test_rules_from_filter():
    assert apply_discounts(LINES, 1000, filter(None, [percent_off(20)])) == 200
