"""INI text to `{section: {key: value}}` with string values."""

from __future__ import annotations

import re

_SECTION = re.compile(r"^\[([^\]]+)\]$")
_INLINE_COMMENT = re.compile(r"(?<!\\)\s[#;].*$")


class ParseError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _strip_comment(value: str) -> str:
    """Drop an inline comment (` #` or ` ;` after whitespace); `\\#` and `\\;` are literal."""
    value = _INLINE_COMMENT.sub("", value.strip())
    return value.replace("\\#", "#").replace("\\;", ";").strip()


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
        config[section][key.strip().lower()] = _strip_comment(value)
    return config
