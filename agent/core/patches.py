"""What a unified git diff holds in numbers: files touched, lines added and removed."""

from __future__ import annotations


def patch_stats(patch: str) -> dict[str, int]:
    """Files touched and lines added/removed in a unified git diff: the `+`/`-` lines of its hunks.

    File headers (`--- a/x`, `+++ b/x`), context lines and binary sections are not counted, so a
    removed line that itself starts with `--` still counts once.
    """
    files = added = removed = 0
    in_hunk = False
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            files, in_hunk = files + 1, False
        elif line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            added += 1
        elif in_hunk and line.startswith("-"):
            removed += 1
    return {"files": files, "added": added, "removed": removed}


def changed_lines(patch: str) -> int:
    """Lines added plus lines removed: what a reviewer reads."""
    stats = patch_stats(patch)
    return stats["added"] + stats["removed"]
