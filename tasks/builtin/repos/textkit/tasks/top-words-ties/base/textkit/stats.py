"""Word statistics."""

import re
from collections import Counter

_WORD = re.compile(r"[a-z0-9']+")


def word_count(text: str) -> dict[str, int]:
    """How often each word appears, case-insensitively, punctuation ignored."""
    return dict(Counter(_WORD.findall(text.lower())))


def top_words(text: str, n: int) -> list[tuple[str, int]]:
    """The `n` most frequent words with their counts, most frequent first, ties alphabetical."""
    return Counter(_WORD.findall(text.lower())).most_common(n)
