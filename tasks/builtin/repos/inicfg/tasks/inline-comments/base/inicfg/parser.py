"""INI text to `{section: {key: value}}` with string values."""

from __future__ import annotations

import re

_SECTION = re.compile(r"^\[([^\]]+)\]$")


class ParseError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def parse(text: str) -> dict[str, dict[str, str]]:
    config: dict[str, dict[str, str]] = {}
    section: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        match = _SECTION.match(line)
        if match:
            section = match.group(1).strip()
            config.setdefault(section, {})
            continue
        if "=" not in line:
            raise ParseError(number, f"expected 'key = value', got {line!r}")
        if section is None:
            raise ParseError(number, "key outside of any [section]")
        key, value = line.split("=", 1)
        config[section][key.strip().lower()] = value.strip()
    return config
