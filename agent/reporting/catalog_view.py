"""`agent models` as plain Rich output: the catalog of models with their prices and efforts."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from agent.providers.catalog import CatalogEntry, money, notes
from agent.reporting.render import Col, print_table, say

CATALOG_COLUMNS = (
    Col("model"),
    Col("provider"),
    Col("input", right=True),
    Col("output", right=True),
    Col("cache read", right=True),
    Col("native efforts"),
    Col("ours -> sent"),
    Col("price source", drop=True),
)


def print_catalog(console: Console, entries: list[CatalogEntry]) -> None:
    """`agent models`: one row per model, then the notes the columns leave out (tiers, off-peak)."""
    rows = [
        [
            escape(entry.model),
            escape(entry.provider),
            money(entry.input_per_mtok),
            money(entry.output_per_mtok),
            money(entry.cache_read_per_mtok),
            " ".join(entry.efforts),
            " ".join(f"{ours}->{sent}" for ours, sent in entry.effort_map.items()),
            escape(entry.price_source or "-"),
        ]
        for entry in entries
    ]
    print_table(console, "models (USD per 1M tokens)", CATALOG_COLUMNS, rows)
    for entry in entries:
        for line in notes(entry):
            say(console, escape(line))
