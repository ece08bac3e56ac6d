"""Identifier case conversion."""

import re

_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[\s_\-]+")


def _words(name: str) -> list[str]:
    return [word.lower() for word in _BOUNDARY.split(name) if word]


def snake_case(name: str) -> str:
    """`HTTPServer` -> `httpserver`, `parseHtml` -> `parse_html`, `Some Words` -> `some_words`."""
    return "_".join(_words(name))


def camel_case(name: str) -> str:
    """`parse_html` -> `parseHtml`."""
    words = _words(name)
    if not words:
        return ""
    return words[0] + "".join(word.capitalize() for word in words[1:])


def title_case(text: str, small_words: frozenset[str] = frozenset({"a", "an", "and", "of", "the", "to"})) -> str:
    """Capitalize words except small ones (the first word is always capitalized)."""
    words = text.split()
    return " ".join(
        word.capitalize() if index == 0 or word.lower() not in small_words else word.lower()
        for index, word in enumerate(words)
    )
