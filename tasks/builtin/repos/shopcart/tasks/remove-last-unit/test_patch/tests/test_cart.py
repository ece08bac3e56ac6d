import pytest

from shopcart import Cart


def test_add_accumulates():
    cart = Cart()
    cart.add("A")
    cart.add("A", 2)
    cart.add("B")
    assert cart.items() == [("A", 3), ("B", 1)]


def test_remove_some():
    cart = Cart()
    cart.add("A", 3)
    cart.remove("A", 2)
    assert cart.items() == [("A", 1)]


def test_add_rejects_zero():
    with pytest.raises(ValueError):
        Cart().add("A", 0)


def test_removing_the_last_unit_drops_the_line():
    cart = Cart()
    cart.add("MUG")
    cart.remove("MUG")
    assert cart.items() == [] and cart.count() == 0


def test_removing_more_than_present_drops_the_line():
    cart = Cart()
    cart.add("MUG", 2)
    cart.remove("MUG", 5)
    assert cart.items() == []
