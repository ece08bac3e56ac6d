"""Products by SKU."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class UnknownProduct(KeyError):
    pass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: int  # cents


class Catalog:
    def __init__(self, products: Iterable[Product] = ()) -> None:
        self._products = {product.sku: product for product in products}

    def add(self, product: Product) -> None:
        self._products[product.sku] = product

    def get(self, sku: str) -> Product:
        try:
            return self._products[sku]
        except KeyError:
            raise UnknownProduct(sku) from None
