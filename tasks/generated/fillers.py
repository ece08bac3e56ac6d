"""Unrelated, working modules a generated repository also holds (one to three of them, drawn by the task's
seeded RNG), each with passing tests: they give the repository some bulk to read and give every task
PASS_TO_PASS tests outside the code it changes. Their constants vary with the draw too.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from tasks.generated.scenario import Filler, TestFile, code, passing


def _slugs(package: str, rng: Random) -> Filler:
    sep = rng.choice(["-", "_"])
    source = code(
        f'''
        """Slugs for names: lowercase words joined by {sep!r}."""

        import re

        SEPARATOR = {sep!r}


        def slugify(text: str) -> str:
            """`text` as lowercase words joined by SEPARATOR."""
            return SEPARATOR.join(re.findall(r"[a-z0-9]+", text.lower()))
        '''
    )
    checks = (
        passing("test_slugify_words", f'assert slugify("Hello, World") == "hello{sep}world"'),
        passing("test_slugify_empty", 'assert slugify("  ") == ""'),
    )
    return Filler("slugs", source, TestFile("tests/test_slugs.py", f"from {package}.slugs import slugify\n", checks))


def _units(package: str, rng: Random) -> Filler:
    digits = rng.choice([1, 2, 3])
    source = code(
        f'''
        """Unit conversions, rounded to {digits} decimal place(s)."""

        KM_PER_MILE = 1.609344


        def miles_to_km(miles: float) -> float:
            return round(miles * KM_PER_MILE, {digits})


        def km_to_miles(km: float) -> float:
            return round(km / KM_PER_MILE, {digits})
        '''
    )
    checks = (
        passing("test_miles_to_km", f"assert miles_to_km(10) == {round(16.09344, digits)!r}"),
        passing("test_km_to_miles_zero", "assert km_to_miles(0) == 0"),
    )
    header = f"from {package}.units import km_to_miles, miles_to_km\n"
    return Filler("units", source, TestFile("tests/test_units.py", header, checks))


def _chunks(package: str, rng: Random) -> Filler:
    size = rng.randint(2, 5)
    source = code(
        f'''
        """Splitting lists into chunks."""

        DEFAULT_SIZE = {size}


        def chunked(items: list, size: int = DEFAULT_SIZE) -> list[list]:
            """`items` in consecutive chunks of `size` (the last may be shorter)."""
            if size < 1:
                raise ValueError("size must be at least 1")
            return [items[start : start + size] for start in range(0, len(items), size)]
        '''
    )
    items = list(range(size * 2 + 1))
    expected = [items[start : start + size] for start in range(0, len(items), size)]
    checks = (
        passing("test_chunked_default_size", f"assert chunked({items}) == {expected}"),
        passing("test_chunked_rejects_zero", "with pytest.raises(ValueError):\n    chunked([1], 0)"),
    )
    header = f"import pytest\n\nfrom {package}.chunks import chunked\n"
    return Filler("chunks", source, TestFile("tests/test_chunks.py", header, checks))


def _initials(package: str, rng: Random) -> Filler:
    dot = rng.choice(["", "."])
    source = code(
        f'''
        """Initials of a person's name."""


        def initials(name: str) -> str:
            """The first letter of each word of `name`, upper-cased, each followed by {dot!r}."""
            return "".join(word[0].upper() + {dot!r} for word in name.split())
        '''
    )
    checks = (
        passing("test_initials_two_words", f'assert initials("ada lovelace") == "A{dot}L{dot}"'),
        passing("test_initials_blank", 'assert initials("") == ""'),
    )
    header = f"from {package}.people import initials\n"
    return Filler("people", source, TestFile("tests/test_people.py", header, checks))


def _calendar(package: str, rng: Random) -> Filler:
    year = rng.choice([1996, 2004, 2012, 2020, 2024])
    source = code(
        '''
        """Calendar arithmetic."""


        def is_leap(year: int) -> bool:
            """Whether `year` has a 29 February (Gregorian rules)."""
            return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


        def days_in_year(year: int) -> int:
            return 366 if is_leap(year) else 365
        '''
    )
    checks = (
        passing("test_leap_years", f"assert is_leap({year}) and is_leap(2000) and not is_leap(1900)"),
        passing("test_days_in_year", f"assert days_in_year({year + 1}) == 365"),
    )
    header = f"from {package}.dates import days_in_year, is_leap\n"
    return Filler("dates", source, TestFile("tests/test_dates.py", header, checks))


FILLERS: tuple[Callable[[str, Random], Filler], ...] = (_slugs, _units, _chunks, _initials, _calendar)
FILLER_MODULES = frozenset({"slugs", "units", "chunks", "people", "dates"})
"""Module names the fillers take: templates use others."""


def draw_fillers(package: str, rng: Random) -> list[Filler]:
    """One to three fillers, in module order."""
    chosen = rng.sample(FILLERS, rng.randint(1, 3))
    return sorted((make(package, rng) for make in chosen), key=lambda filler: filler.module)
