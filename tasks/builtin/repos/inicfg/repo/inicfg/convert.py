"""Converting string values to Python types."""

from __future__ import annotations

from typing import Any

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def coerce(value: str, kind: type) -> Any:
    """`value` as `kind`: bool (true/false, yes/no, on/off, 1/0), int, float, list (comma-separated) or str."""
    if kind is bool:
        lowered = value.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise ValueError(f"not a boolean: {value!r}")
    if kind is list:
        return [item.strip() for item in value.split(",") if item.strip()]
    if kind in (int, float, str):
        return kind(value.strip())
    raise TypeError(f"cannot convert to {kind.__name__}")
