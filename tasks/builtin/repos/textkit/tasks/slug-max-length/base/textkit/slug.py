"""URL slugs."""

import re
import unicodedata


def slugify(text: str, max_length: int | None = None, separator: str = "-") -> str:
    """Lowercase ASCII words joined by `separator`.

    With `max_length`, the slug is cut at a word boundary so that it is at most `max_length`
    characters long and never ends with the separator. A first word longer than `max_length`
    is cut to `max_length`.
    """
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", normalized.lower())
    slug = separator.join(words)
    if max_length is None or len(slug) <= max_length:
        return slug
    return slug[:max_length]
