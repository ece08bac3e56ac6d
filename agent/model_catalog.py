"""`agent models`: every model the configuration names, with provider, prices and effort levels."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from agent.config import AgentConfig
from agent.effort import parse_ladder
from agent.errors import ConfigError
from agent.pricing import quote
from agent.providers import resolve_model


class CatalogEntry(BaseModel):
    model: str
    provider: str
    input_per_mtok: Decimal | None
    output_per_mtok: Decimal | None
    cache_read_per_mtok: Decimal | None
    price_source: str | None
    efforts: list[str]
    effort_map: dict[str, str]


def model_names(config: AgentConfig) -> list[str]:
    """Models named anywhere in the config: model order, task-type ladders, [models], classifier."""
    names: list[str] = list(config.planner.model_order)
    for entry in config.planner.task_types.values():
        names.extend(entry.models or [])
        if entry.ladder:
            names.extend(rung.model for rung in parse_ladder(entry.ladder))
    names.extend(config.models)
    if config.planner.classifier_model:
        names.append(config.planner.classifier_model)
    return list(dict.fromkeys(names))


def catalog(config: AgentConfig) -> list[CatalogEntry]:
    entries = []
    for name in model_names(config):
        try:
            resolved = resolve_model(name, config)
        except ConfigError:
            continue
        price = quote(resolved.wire_name, resolved.price_provider_id, resolved.price)
        entries.append(
            CatalogEntry(
                model=name,
                provider=resolved.provider,
                input_per_mtok=price.input if price else None,
                output_per_mtok=price.output if price else None,
                cache_read_per_mtok=price.cache_read if price else None,
                price_source=price.source if price else None,
                efforts=[level.value for level in resolved.efforts],
                effort_map={level.value: wire for level, wire in resolved.effort_map.items()},
            )
        )
    return entries


def _money(value: Decimal | None) -> str:
    return "unpriced" if value is None else f"${value:g}"


def print_catalog(console: Console, entries: list[CatalogEntry]) -> None:
    table = Table(title="models (USD per 1M tokens)")
    for column in ("model", "provider", "input", "output", "cache read", "efforts", "price source"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry.model,
            entry.provider,
            _money(entry.input_per_mtok),
            _money(entry.output_per_mtok),
            _money(entry.cache_read_per_mtok),
            " ".join(entry.efforts),
            entry.price_source or "-",
        )
    console.print(table)
