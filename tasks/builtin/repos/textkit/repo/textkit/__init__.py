"""Small text helpers: slugs, wrapping, case conversion and word statistics."""

from textkit.case import camel_case, snake_case, title_case
from textkit.slug import slugify
from textkit.stats import top_words, word_count
from textkit.wrap import truncate, wrap

__all__ = ["camel_case", "slugify", "snake_case", "title_case", "top_words", "truncate", "word_count", "wrap"]
