"""The pricing core of the shop: catalog, cart, discounts, tax and checkout."""

from shopcart.cart import Cart
from shopcart.catalog import Catalog, Product, UnknownProduct
from shopcart.checkout import Receipt, checkout

__all__ = ["Cart", "Catalog", "Product", "Receipt", "UnknownProduct", "checkout"]
