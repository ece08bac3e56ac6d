"""`agent models`: the shipped catalog and every configured model, with prices and effort levels.

The list is configuration (`[models."..."]` in the shipped defaults, plus every model the planner
names). Prices come from genai-prices, or from a `[models."..."] price` override; a model neither
knows is "unpriced" (None), never $0. Prices that depend on the prompt size (tiers) or on the
time of day (DeepSeek's off-peak hours) are read from genai-prices too, never invented. Efforts
show what each of our five levels sends, through the same `effort_for` the providers use.

The simulated models come last, each with `simulated` saying how it runs without an API key: the
`sim-*` population (priced as if real, served by the fake provider) and the in-process `oracle`,
`null` and `scripted:FILE` (no provider, no price: their calls show as unpriced).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import genai_prices
from genai_prices.types import TieredPrices, TimeOfDateConstraint
from pydantic import BaseModel

from agent.core.config import AgentConfig
from agent.core.effort import EffortLevel, parse_ladder
from agent.core.errors import ConfigError
from agent.providers import ResolvedModel, resolve_model
from agent.providers.pricing import package_source

SIMULATED_PROVIDERS = {
    "sim": "served by the fake provider (`agent demo --grid` starts it; or `python -m agent.fake_provider --sim"
    " builtin`, then export the SIM_BASE_URL and SIM_API_KEY it prints)",
}
"""Providers whose models are simulated, and how to run them without a real key."""
IN_PROCESS = {
    "oracle": "applies each benchmark task's gold patch (`agent bench ... --model oracle`: checks the harness)",
    "null": "ends its turn at once, changing nothing (`agent bench ... --model null`: checks the harness)",
    "scripted:FILE": "replays FILE, a JSON script of turns (tool calls and text): `agent fix` on your own"
    " repository without a key",
}
"""The simulated models that run in-process (`agent.providers.SIMULATED`), by the name a user writes, and
what each does."""

OFF_PEAK_PROVIDERS = ("deepseek",)
"""Price providers known to bill less at some hours: say so when genai-prices has no such price."""


class Prices(BaseModel):
    """USD per 1M tokens; None where the price table has no such price."""

    input_per_mtok: Decimal | None = None
    output_per_mtok: Decimal | None = None
    cache_read_per_mtok: Decimal | None = None


class PriceTier(Prices):
    """The price of every token of a request whose prompt has more than `above_input_tokens`."""

    above_input_tokens: int


class OffPeak(Prices):
    """The cheaper price during some hours of the day."""

    hours_utc: str


class CatalogEntry(BaseModel):
    """One row of `agent models`; prices are USD per 1M tokens, None when unpriced."""

    model: str
    provider: str
    input_per_mtok: Decimal | None = None
    output_per_mtok: Decimal | None = None
    cache_read_per_mtok: Decimal | None = None
    price_source: str | None
    tiers: list[PriceTier] = []
    off_peak: OffPeak | None = None
    price_note: str | None = None
    efforts: list[str]
    """The provider's own effort values that we send (its native levels we use)."""
    effort_map: dict[str, str]
    """Each of our five levels -> the value sent (a missing level uses the nearest one)."""
    simulated: str | None = None
    """A simulated model (no real provider, no API key needed): what it is and how to run it."""


def model_names(config: AgentConfig) -> list[str]:
    """The [models] entries (the shipped catalog first), then any other model the planner names."""
    names: list[str] = list(config.models)
    names.extend(config.planner.model_order)
    for entry in config.planner.task_types.values():
        names.extend(entry.models or [])
        if entry.ladder:
            names.extend(rung.model for rung in parse_ladder(entry.ladder))
    if config.planner.classifier_model:
        names.append(config.planner.classifier_model)
    return list(dict.fromkeys(names))


def _base(value: object) -> Decimal | None:
    if isinstance(value, TieredPrices):
        return value.base
    return value if isinstance(value, Decimal) else None


def _at_tier(value: object, start: int) -> Decimal | None:
    if not isinstance(value, TieredPrices):
        return _base(value)
    price = value.base
    for tier in value.tiers:
        if tier.start <= start:
            price = tier.price
    return price


def _flat(price: Any) -> Prices:
    return Prices(
        input_per_mtok=_base(price.input_mtok),
        output_per_mtok=_base(price.output_mtok),
        cache_read_per_mtok=_base(price.cache_read_mtok),
    )


def _tiers(price: Any) -> list[PriceTier]:
    fields = (price.input_mtok, price.output_mtok, price.cache_read_mtok)
    starts = sorted({tier.start for value in fields if isinstance(value, TieredPrices) for tier in value.tiers})
    return [
        PriceTier(
            above_input_tokens=start,
            input_per_mtok=_at_tier(price.input_mtok, start),
            output_per_mtok=_at_tier(price.output_mtok, start),
            cache_read_per_mtok=_at_tier(price.cache_read_mtok, start),
        )
        for start in starts
    ]


def _hours(windows: list[TimeOfDateConstraint]) -> str:
    return ", ".join(f"{w.start_time:%H:%M}-{w.end_time:%H:%M}" for w in windows)


PriceAt = Callable[[datetime], Any]
"""genai-prices' ModelPrice of one model at a moment."""


def _by_hour(model: Any, today: datetime, price_at: PriceAt) -> tuple[Any, OffPeak] | None:
    """When genai-prices prices the model by the hour: the standard (dearer) price and the off-peak one."""
    conditional = model.prices if isinstance(model.prices, list) else []
    windows = [entry.constraint for entry in conditional if isinstance(entry.constraint, TimeOfDateConstraint)]
    half_hours = [today.replace(hour=n // 2, minute=30 * (n % 2), second=0, microsecond=0) for n in range(48)]
    outside = next((t for t in half_hours if not any(w.active(t) for w in windows)), None)
    if not windows or outside is None:
        return None
    inside_price = price_at(datetime.combine(today.date(), windows[0].start_time, tzinfo=UTC))
    outside_price = price_at(outside)
    inside, other = _flat(inside_price), _flat(outside_price)
    if (inside.input_per_mtok or 0) > (other.input_per_mtok or 0):
        return inside_price, OffPeak(hours_utc=f"outside {_hours(windows)}", **other.model_dump())
    return outside_price, OffPeak(hours_utc=_hours(windows), **inside.model_dump())


def _package_prices(resolved: ResolvedModel, now: datetime) -> tuple[Any, OffPeak | None] | None:
    """genai-prices' price of the model (the standard one when it varies by hour), or None if unknown."""

    def calc_at(when: datetime) -> Any:
        return genai_prices.calc_price(
            genai_prices.Usage(input_tokens=0, output_tokens=0),
            model_ref=resolved.wire_name,
            provider_id=resolved.price_provider_id,
            genai_request_timestamp=when,
        )

    try:
        found = calc_at(now)
    except LookupError:
        return None
    by_hour = _by_hour(found.model, now, lambda when: calc_at(when).model_price)
    return by_hour if by_hour is not None else (found.model_price, None)


def entry_for(name: str, resolved: ResolvedModel, now: datetime) -> CatalogEntry:
    efforts = list(dict.fromkeys(resolved.effort_map.get(level, level.value) for level in resolved.efforts))
    common: dict[str, Any] = {
        "model": name,
        "provider": resolved.provider,
        "efforts": efforts,
        "effort_map": {level.value: resolved.effort_for(level)[1] for level in EffortLevel},
        "simulated": SIMULATED_PROVIDERS.get(resolved.provider),
    }
    if resolved.price is not None:
        price = resolved.price
        prices = Prices(input_per_mtok=price.input, output_per_mtok=price.output, cache_read_per_mtok=price.cache_read)
        return CatalogEntry(price_source="override", **prices.model_dump(), **common)
    found = _package_prices(resolved, now)
    if found is None:
        return CatalogEntry(price_source=None, price_note="not in genai-prices: unpriced", **common)
    price, off_peak = found
    note = None
    if off_peak is None and resolved.price_provider_id in OFF_PEAK_PROVIDERS:
        note = f"{resolved.price_provider_id} off-peak discount: not in {package_source()}, not applied"
    return CatalogEntry(
        price_source=package_source(),
        tiers=_tiers(price),
        off_peak=off_peak,
        price_note=note,
        **_flat(price).model_dump(),
        **common,
    )


def in_process_entry(name: str, about: str) -> CatalogEntry:
    """A simulated model with no provider: every effort sent as it is, no price."""
    same = {level.value: level.value for level in EffortLevel}
    return CatalogEntry(
        model=name, provider="simulated", price_source=None, efforts=list(same), effort_map=same, simulated=about
    )


def catalog(config: AgentConfig, now: datetime | None = None) -> list[CatalogEntry]:
    """One entry per model the configuration names (models no provider serves are left out), then the
    in-process simulated models."""
    now = now or datetime.now(UTC)
    entries = []
    for name in model_names(config):
        try:
            resolved = resolve_model(name, config)
        except ConfigError:
            continue
        entries.append(entry_for(name, resolved, now))
    entries.extend(in_process_entry(name, about) for name, about in IN_PROCESS.items())
    return entries


def money(value: Decimal | None) -> str:
    return "unpriced" if value is None else f"${value:g}"


def _three(prices: Prices) -> str:
    return (
        f"{money(prices.input_per_mtok)} in / {money(prices.output_per_mtok)} out"
        f" / {money(prices.cache_read_per_mtok)} cache read"
    )


def notes(entry: CatalogEntry) -> list[str]:
    """What the table's one price per column leaves out: tiers, off-peak hours, missing prices."""
    lines = [f"prompts over {tier.above_input_tokens} input tokens: {_three(tier)}" for tier in entry.tiers]
    if entry.off_peak is not None:
        lines.append(f"off-peak ({entry.off_peak.hours_utc} UTC): {_three(entry.off_peak)}")
    if entry.price_note:
        lines.append(entry.price_note)
    if entry.simulated:
        lines.append(f"simulated, no API key needed: {entry.simulated}")
    return [f"{entry.model}: {line}" for line in lines]
