"""Effort levels, rungs and ladders, and the text syntax for them (`model@effort,model@effort`)."""

from __future__ import annotations

import enum
import re

from pydantic import BaseModel, ConfigDict

from agent.core.errors import ConfigError

_ALIASES = {"very_high": "xhigh", "very-high": "xhigh", "veryhigh": "xhigh", "extra_high": "xhigh"}


class EffortLevel(enum.StrEnum):
    """How hard the model thinks: ordered low < medium < high < xhigh < max."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    XHIGH = "xhigh"
    MAX = "max"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    # str already defines the comparisons, so all four are spelled out (total_ordering would not).
    def __lt__(self, other: object) -> bool:
        return self.rank < other.rank if isinstance(other, EffortLevel) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= other.rank if isinstance(other, EffortLevel) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > other.rank if isinstance(other, EffortLevel) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= other.rank if isinstance(other, EffortLevel) else NotImplemented

    @classmethod
    def parse(cls, text: str) -> EffortLevel:
        """Parse an effort name, accepting the spellings of `xhigh` people actually type."""
        key = text.strip().lower()
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            valid = ", ".join(level.value for level in _ORDER)
            raise ConfigError(f"unknown effort level {text!r}: use one of {valid}") from None

    def up_to(self, top: EffortLevel) -> list[EffortLevel]:
        """This level and every level above it, up to and including `top`."""
        return [level for level in _ORDER if self <= level <= top]


_ORDER = list(EffortLevel)


class Rung(BaseModel):
    """One step of a ladder: a model at an effort level."""

    model_config = ConfigDict(frozen=True)

    model: str
    effort: EffortLevel

    def __str__(self) -> str:
        return f"{self.model}@{self.effort.value}"

    @classmethod
    def parse(cls, text: str) -> Rung:
        """Parse exactly one `MODEL@EFFORT`; a model name has no `@`, `,` or spaces."""
        model, sep, effort = text.strip().partition("@")
        if not sep or not MODEL_NAME.fullmatch(model) or "@" in effort:
            raise ConfigError(f"bad rung {text.strip()!r}: write MODEL@EFFORT, e.g. claude-opus-4-7@high")
        try:
            level = EffortLevel.parse(effort)
        except ConfigError as exc:
            raise ConfigError(f"bad rung {text.strip()!r}: {exc}") from None
        return cls(model=model, effort=level)


MODEL_NAME = re.compile(r"[A-Za-z0-9][^\s@,]*")
"""A model name or `provider:model` (scripted models name a file path)."""


MAX_REPEATS = 12


def parse_ladder(spec: str) -> list[Rung]:
    """Parse `claude-opus-4-7@medium,claude-opus-4-7@high,deepseek-v4-pro@max` into rungs; empty rungs are errors.

    `MODEL@EFFORT*N` is that rung N times in a row (a repeated attempt at the same rung), e.g.
    `deepseek-v4-flash@high*3,claude-opus-4-7@high`.
    """
    if not spec.strip():
        raise ConfigError(f"empty ladder {spec!r}: write MODEL@EFFORT[,MODEL@EFFORT...]")
    parts = spec.split(",")
    rungs = []
    for number, part in enumerate(parts, start=1):
        if not part.strip():
            raise ConfigError(f"bad ladder {spec!r}: rung {number} of {len(parts)} is empty (stray comma?)")
        rung, star, count = part.strip().partition("*")
        times = 1
        if star:
            if not count.strip().isdigit() or not 1 <= int(count) <= MAX_REPEATS:
                why = f"write RUNG*N with N from 1 to {MAX_REPEATS} ({part.strip()!r})"
                raise ConfigError(f"bad ladder {spec!r}: {why}")
            times = int(count)
        rungs.extend([Rung.parse(rung)] * times)
    return rungs


def format_ladder(ladder: list[Rung]) -> str:
    return ",".join(str(rung) for rung in ladder)


def compact_ladder(ladder: list[str]) -> str:
    """`a,a,a,b` as `a*3,b`: for people (parse_ladder reads both)."""
    parts: list[str] = []
    index = 0
    while index < len(ladder):
        run = 1
        while index + run < len(ladder) and ladder[index + run] == ladder[index]:
            run += 1
        parts.append(ladder[index] + (f"*{run}" if run > 1 else ""))
        index += run
    return ",".join(parts)


def climb(model: str, start: EffortLevel, top: EffortLevel = EffortLevel.MAX) -> list[Rung]:
    """Rungs for one model from `start` up to `top` effort."""
    return [Rung(model=model, effort=level) for level in start.up_to(top)]
