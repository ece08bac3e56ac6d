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
