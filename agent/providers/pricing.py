"""Prices from the `genai-prices` package, with user overrides; cost is Decimal, unknown is None.

Token counts are the source of truth: cost is derived from them and a price quote, and can be
recomputed later with another quote. Pricing never raises into a run: a model without a known
price is "unpriced" (None), never $0.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from importlib.metadata import version
from typing import Any

import genai_prices
from pydantic import BaseModel, ConfigDict

from agent.core.config import Price
from agent.core.messages import Usage

MILLION = Decimal(1_000_000)


class PriceQuote(BaseModel):
    """USD per 1M tokens for one model, and where the numbers came from."""

    model_config = ConfigDict(frozen=True)

    model: str
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    source: str
    provider_id: str | None = None

    @property
    def is_override(self) -> bool:
        return self.source == "override"


PRICED_TOKENS = {"input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"}
"""The token counts genai-prices prices (reasoning tokens are output tokens already)."""


@lru_cache(maxsize=1)
def package_source() -> str:
    return f"genai-prices {version('genai-prices')}"


def _as_decimal(value: object) -> Decimal | None:
    """A flat price; for tiered prices the highest tier, the most a token can cost (the exact cost of
    a call is computed by genai-prices from its usage, tiers included)."""
    if isinstance(value, Decimal):
        return value
    base, tiers = getattr(value, "base", None), getattr(value, "tiers", None)
    if isinstance(base, Decimal) and isinstance(tiers, list):
        return max([base, *(tier.price for tier in tiers if isinstance(tier.price, Decimal))])
    return None


def quote(model: str, provider_id: str | None = None, override: Price | None = None) -> PriceQuote | None:
    """The price of `model`: the user's override if any, else genai-prices, else None."""
    if override is not None:
        return PriceQuote(model=model, source="override", **override.model_dump())
    return _package_quote(model, provider_id)


@lru_cache(maxsize=256)
def _catalog(model: str, provider_id: str | None) -> Any:
    """genai-prices' entry for a model (its price calculation at no usage), or None when it is unknown."""
    try:
        return genai_prices.calc_price(
            genai_prices.Usage(input_tokens=0, output_tokens=0), model_ref=model, provider_id=provider_id
        )
    except Exception:
        return None


@lru_cache(maxsize=256)
def _package_quote(model: str, provider_id: str | None) -> PriceQuote | None:
    calc = _catalog(model, provider_id)
    if calc is None:
        return None
    prices = vars(calc.model_price)
    input_price, output_price = _as_decimal(prices.get("input_mtok")), _as_decimal(prices.get("output_mtok"))
    if input_price is None or output_price is None:
        return None  # pricing we cannot quote
    return PriceQuote(
        model=model,
        input=input_price,
        output=output_price,
        cache_read=_as_decimal(prices.get("cache_read_mtok")),
        cache_write=_as_decimal(prices.get("cache_write_mtok")),
        source=package_source(),
        provider_id=calc.provider.id,
    )


def catalog_window(model: str, provider_id: str | None) -> int | None:
    """The model's context window in tokens as genai-prices knows it (None: unknown)."""
    calc = _catalog(model, provider_id)
    window = None if calc is None else calc.model.context_window
    return window if isinstance(window, int) else None


def cost(usage: Usage, price: PriceQuote | None) -> Decimal | None:
    """USD for `usage` at `price`; None when the model is unpriced."""
    if price is None:
        return None
    if not price.is_override:
        try:
            return genai_prices.calc_price(
                genai_prices.Usage(**usage.model_dump(include=PRICED_TOKENS)),
                model_ref=price.model,
                provider_id=price.provider_id,
            ).total_price
        except Exception:
            pass
    uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    total = (
        uncached * price.input
        + usage.cache_read_tokens * (price.cache_read if price.cache_read is not None else price.input)
        + usage.cache_write_tokens * (price.cache_write if price.cache_write is not None else price.input)
        + usage.output_tokens * price.output
    )
    return total / MILLION


def format_usd(value: Decimal | float | None, places: int = 4) -> str:
    return "unpriced" if value is None else f"${value:.{places}f}"
