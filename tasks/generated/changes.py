"""Templates of the generated suite beyond one-line bugs: a syntax error (`syntax_fix`), arguments swapped
across modules and a cache that ignores keyword arguments (`complex_bug`), a feature flag and a new
function (`feature`), serialisation methods (`boilerplate`) and a rename with a deprecated alias
(`multi_file_refactor`). Each is a function `(rng, package) -> Scenario`.
"""

from __future__ import annotations

from random import Random

from tasks.generated.scenario import Scenario, TestFile, code, failing, passing

_BREAKS = (
    ("def describe(name: str, count: int) -> str:", "def describe(name: str, count: int) -> str", "expected ':'"),
    (
        '    return f"{count} x {name}"',
        '    return f"{count} x {name}',
        "unterminated f-string literal (detected at line 8)",
    ),
    ("    if count == 1:", "    if count = 1:", "invalid syntax. Maybe you meant '==' or ':=' instead of '='?"),
    (
        "    return sum(count for _name, count in rows)",
        "    return sum(count for _name, count in rows",
        "'(' was never closed",
    ),
)


def syntax_error(rng: Random, package: str) -> Scenario:
    """One line of a module broken so it no longer imports: its own tests fail, the rest pass."""
    module = rng.choice(["labels", "formatting", "lines", "render"])
    noun = rng.choice(["apple", "crate", "ticket", "seat", "bolt"])
    good, bad, message = rng.choice(_BREAKS)
    fixed = code(
        f'''
        """Text for {noun} counts."""


        def describe(name: str, count: int) -> str:
            """'1 {noun}' or '3 x name'."""
            if count == 1:
                return f"1 {{name}}"
            return f"{{count}} x {{name}}"


        def total(rows: list[tuple[str, int]]) -> int:
            return sum(count for _name, count in rows)
        '''
    )
    lines = fixed.splitlines(keepends=True)
    number = next(index for index, line in enumerate(lines, 1) if line.rstrip("\n") == good)
    broken = "".join(bad + "\n" if index == number else line for index, line in enumerate(lines, 1))
    path = f"{package}/{module}.py"
    imported = f"from {package}.{module} import describe, total\n"  # in each test: a broken module fails only them
    tests = TestFile(
        f"tests/test_{module}.py",
        f'"""Tests of {package}.{module}."""\n',
        base=(
            failing("test_describe_one", imported + f'assert describe("{noun}", 1) == "1 {noun}"'),
            failing("test_describe_many", imported + f'assert describe("{noun}", 4) == "4 x {noun}"'),
        ),
        added=(failing("test_total", imported + f'assert total([("{noun}", 2), ("x", 5)]) == 7'),),
    )
    return Scenario(
        template="syntax_error",
        task_type="syntax_fix",
        difficulty="easy",
        title=f"`import {package}.{module}` fails with SyntaxError",
        body=f"""
            Since the last merge nothing that uses {package}'s {module} module works:

            ```
            $ python -c "import {package}.{module}"
              File "{path}", line {number}
                {bad.strip()}
            SyntaxError: {message}
            ```
            """,
        sources={path: fixed},
        at_base={path: broken},
        tests=(tests,),
    )


_BOUNDS = code(
    '''
    """Keeping numbers in range."""


    def clamp(value: float, low: float, high: float) -> float:
        """`value` moved into [low, high]."""
        return max(low, min(value, high))
    '''
)


def _sensor(package: str, quantity: str, bounds: tuple[int, int], args: str) -> str:
    return code(
        f'''
        """{quantity.capitalize()} readings."""

        from {package}.bounds import clamp

        LOW, HIGH = {bounds[0]}, {bounds[1]}


        def calibrated_{quantity}(raw: float, offset: float = 0.0) -> float:
            """`raw` + `offset`, kept within LOW..HIGH."""
            return clamp({args})
        '''
    )


def swapped_args(rng: Random, package: str) -> Scenario:
    """A helper called with its bounds in the wrong order from another module."""
    low, high = rng.randint(0, 20), rng.randint(60, 200)
    quantity = rng.choice(["temperature", "humidity", "pressure", "speed", "volume"])
    module = rng.choice(["sensors", "readings", "signals"])
    fn, path, middle = f"calibrated_{quantity}", f"{package}/{module}.py", (low + high) // 2
    clamp_checks = "assert clamp(5, 0, 3) == 3\nassert clamp(-1, 0, 3) == 0\nassert clamp(2, 0, 3) == 2"
    tests = (
        TestFile(
            "tests/test_bounds.py", f"from {package}.bounds import clamp\n", base=(passing("test_clamp", clamp_checks),)
        ),
        TestFile(
            f"tests/test_{module}.py",
            f"from {package}.{module} import {fn}\n",
            base=(passing(f"test_{fn}_above_range", f"assert {fn}({high + 50}) == {high}"),),
            added=(
                failing(f"test_{fn}_in_range", f"assert {fn}({middle - 1}, offset=1) == {middle}"),
                failing(f"test_{fn}_below_range", f"assert {fn}({low - 5}) == {low}"),
            ),
        ),
    )
    return Scenario(
        template="swapped_args",
        task_type="complex_bug",
        difficulty="medium",
        title=f"{package}: every {quantity} reads {high}",
        body=f"""
            Whatever the sensor sends, `{package}.{module}.{fn}` returns {high}: `{fn}({middle})` gives {high},
            and so does `{fn}({low - 5})` (expected {middle} and {low}). `clamp` in {package}.bounds looks right on
            its own.
            """,
        sources={
            f"{package}/bounds.py": _BOUNDS,
            path: _sensor(package, quantity, (low, high), "raw + offset, LOW, HIGH"),
        },
        at_base={path: _sensor(package, quantity, (low, high), "raw + offset, HIGH, LOW")},
        tests=tests,
    )


def _memo(key: str) -> str:
    return code(
        '''
        """A small memoizing decorator."""

        import functools


        def memoize(function):
            """Remember `function`'s results by its arguments, positional and keyword."""
            results = {}

            @functools.wraps(function)
            def wrapper(*args, **kwargs):
                @key
                if key not in results:
                    results[key] = function(*args, **kwargs)
                return results[key]

            wrapper.results = results
            return wrapper
        ''',
        key=key,
    )


def _memoized(package: str, fn: str, factor: int, offset: int) -> str:
    return code(
        f'''
        """{fn.replace("_", " ").capitalize()}s."""

        from {package}.memo import memoize


        @memoize
        def {fn}(base: int, factor: int = {factor}) -> int:
            return base * factor + {offset}
        '''
    )


def memo_kwargs(rng: Random, package: str) -> Scenario:
    """A memoizing decorator whose key leaves keyword arguments out."""
    module = rng.choice(["scoring", "quotes", "estimates"])
    fn = rng.choice(["weighted_score", "shipping_quote", "effort_estimate"])
    factor, offset = rng.randint(2, 9), rng.randint(1, 50)
    base_value, other = rng.randint(2, 9), rng.choice([f for f in range(2, 12) if f != factor])
    asked = base_value + 20
    tests = TestFile(
        f"tests/test_{module}.py",
        f"from {package}.{module} import {fn}\n",
        base=(passing(f"test_{fn}_default_factor", f"assert {fn}({base_value}) == {base_value * factor + offset}"),),
        added=(
            failing(
                f"test_{fn}_keyword_factor",
                f"assert {fn}({asked}) == {asked * factor + offset}\n"
                f"assert {fn}({asked}, factor={other}) == {asked * other + offset}",
            ),
        ),
    )
    return Scenario(
        template="memo_kwargs",
        task_type="complex_bug",
        difficulty="hard",
        title=f"{package}: `{fn}` ignores `factor=` after a first call",
        body=f"""
            In {package}, `{module}.{fn}({asked})` then `{fn}({asked}, factor={other})` returns the first result
            twice ({asked * factor + offset}; expected {asked * other + offset} the second time). In a fresh process
            `{fn}({asked}, factor={other})` alone is right. Something is cached too eagerly.
            """,
        sources={
            f"{package}/memo.py": _memo("key = (args, tuple(sorted(kwargs.items())))"),
            f"{package}/{module}.py": _memoized(package, fn, factor, offset),
        },
        at_base={f"{package}/memo.py": _memo("key = args")},
        tests=(tests,),
    )
