"""Wrapping and truncating for previews."""


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap: lines of at most `width` characters (a longer word gets its own line)."""
    if width < 1:
        raise ValueError("width must be at least 1")
    lines: list[str] = []
    current = ""
    for word in text.split():
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def truncate(text: str, width: int, ellipsis: str = "…") -> str:
    """`text` if it fits in `width` characters, else its start plus `ellipsis`, `width` characters in all."""
    if len(text) <= width:
        return text
    if width <= len(ellipsis):
        return ellipsis[:width]
    return text[: width - len(ellipsis)] + ellipsis
