"""Validating and converting a parsed config against a schema."""

from __future__ import annotations

import copy
from typing import Any

from inicfg.types import coerce

Spec = dict[str, dict[str, tuple[type, Any]]]


class SchemaError(ValueError):
    pass


class Schema:
    """`{section: {key: (type, default)}}`; a default of `...` makes the key required."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def validate(self, config: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        errors = []
        for section, keys in self.spec.items():
            values = config.get(section, {})
            out = result.setdefault(section, {})
            for key, (kind, default) in keys.items():
                if key in values:
                    try:
                        out[key] = coerce(values[key], kind)
                    except (TypeError, ValueError) as exc:
                        errors.append(f"[{section}] {key}: {exc}")
                elif default is ...:
                    errors.append(f"[{section}] {key}: required")
                else:
                    out[key] = copy.deepcopy(default)
        if errors:
            raise SchemaError("; ".join(errors))
        return result
