"""What the ledger derives from a patch it records."""

from __future__ import annotations


def changed_lines(patch: str) -> int:
    """Lines added plus lines removed in a unified git diff: the `+`/`-` lines of its hunks.

    File headers (`--- a/x`, `+++ b/x`), context lines and binary sections are not counted, so a
    removed line that itself starts with `--` still counts once.
    """
    count, in_hunk = 0, False
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            in_hunk = False
        elif line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line[:1] in ("+", "-"):
            count += 1
    return count
