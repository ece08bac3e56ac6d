"""Small statistics helpers."""

from stats.median import median

__all__ = ["median"]
