"""INI-style configuration: parse, convert, merge layers, validate."""

from inicfg.types import coerce
from inicfg.layers import merge
from inicfg.parser import ParseError, parse
from inicfg.schema import Schema, SchemaError

__all__ = ["ParseError", "Schema", "SchemaError", "coerce", "merge", "parse"]
