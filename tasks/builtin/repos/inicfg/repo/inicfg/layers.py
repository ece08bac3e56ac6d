"""Merging configuration layers."""

from __future__ import annotations

from typing import Any

Config = dict[str, dict[str, Any]]


def merge(*layers: Config) -> Config:
    """A new config with every layer applied in order: later layers win key by key within a section.

    Sections present in only some layers are kept; the inputs are never modified.
    """
    merged: Config = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged
