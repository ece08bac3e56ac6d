"""Templates of the generated suite that ask for new behaviour: a keyword flag and a new function
(`feature`), serialisation methods (`boilerplate`), a rename with a deprecated alias
(`multi_file_refactor`). The new tests go in a file of their own, so the old ones stay PASS_TO_PASS.
"""

from __future__ import annotations

from random import Random

from tasks.generated.scenario import Scenario, TestFile, code, failing, passing

_FLAGS = {
    "unique": ("unique: bool = False", "drop repeats, keeping the first of each", "list(dict.fromkeys(parts))"),
    "lower": ("lower: bool = False", "lower-case every entry", "[part.lower() for part in parts]"),
    "sort": ("sort: bool = False", "sort the entries alphabetically", "sorted(parts)"),
}


def feature_flag(rng: Random, package: str) -> Scenario:
    """A keyword argument a splitting function should grow."""
    things = rng.choice(["tags", "emails", "skills", "cities", "aliases"])
    module = rng.choice(["parsing", "fields", "inputs"])
    flag = rng.choice(sorted(_FLAGS))
    signature, meaning, transform = _FLAGS[flag]
    fn, path = f"split_{things}", f"{package}/{module}.py"

    def source(params: str, doc: str, apply: str) -> str:
        return code(
            f'''
            """Reading lists typed by people."""


            def {fn}(text: str{params}) -> list[str]:
                """The comma-separated {things} in `text`, stripped, blanks dropped{doc}."""
                parts = [part.strip() for part in text.split(",") if part.strip()]
                @apply
                return parts
            ''',
            apply=apply,
        )

    words = rng.sample(["Oslo", "lima", "Kyiv", "oslo", "Bern", "Quito", "Bern"], 5)
    text = ", ".join([*words[:2], "", *words[2:]])
    parts = list(words)
    expected = {"unique": list(dict.fromkeys(parts)), "lower": [w.lower() for w in parts], "sort": sorted(parts)}[flag]
    tests = (
        TestFile(
            f"tests/test_{module}.py",
            f"from {package}.{module} import {fn}\n",
            base=(passing(f"test_{fn}_strips_and_drops_blanks", f'assert {fn}(" a, ,b ,") == ["a", "b"]'),),
        ),
        TestFile(
            f"tests/test_{module}_{flag}.py",
            f"from {package}.{module} import {fn}\n",
            added=(
                failing(f"test_{fn}_{flag}", f"assert {fn}({text!r}, {flag}=True) == {expected!r}"),
                passing(f"test_{fn}_without_{flag}", f"assert {fn}({text!r}) == {parts!r}"),
            ),
        ),
    )
    return Scenario(
        template="feature_flag",
        task_type="feature",
        difficulty="medium",
        title=f"{package}: add `{flag}=` to `{fn}`",
        body=f"""
            Feature request: `{package}.{module}.{fn}` should take a keyword argument `{signature}`; when it is
            true, {meaning}. For example `{fn}({text!r}, {flag}=True)` should give `{expected!r}`.
            Without it nothing changes.
            """,
        sources={path: source(f", {signature}", f"; with `{flag}`, {meaning}", f"if {flag}:\n    parts = {transform}")},
        at_base={path: source("", "", "")},
        tests=tests,
    )


def _merge(fn: str, touching: bool) -> str:
    joins = "start <= merged[-1][1]" if touching else "start < merged[-1][1]"
    return code(
        f'''
        def {fn}(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
            """`spans` merged where they overlap{" or touch" if touching else ""}, sorted by start."""
            merged: list[tuple[int, int]] = []
            for start, end in sorted(spans):
                if merged and {joins}:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            return merged
        '''
    )


def merge_spans(rng: Random, package: str) -> Scenario:
    """A new function: merging overlapping (and maybe touching) spans."""
    noun = rng.choice(["bookings", "shifts", "outages", "windows", "slots"])
    module = rng.choice(["spans", "intervals", "timeline"])
    touching = rng.random() < 0.5
    fn, path = f"merge_{noun}", f"{package}/{module}.py"
    existing = code(
        f'''
        """{noun.capitalize()} as (start, end) pairs of minutes, end excluded."""


        def span_length(span: tuple[int, int]) -> int:
            return max(0, span[1] - span[0])
        '''
    )
    a = rng.randint(0, 30)
    spans = [(a + 50, a + 70), (a, a + 20), (a + 10, a + 30), (a + 30, a + 40)]
    joined = [(a, a + 40), (a + 50, a + 70)] if touching else [(a, a + 30), (a + 30, a + 40), (a + 50, a + 70)]
    lengths = "assert span_length((3, 10)) == 7\nassert span_length((5, 2)) == 0"
    tests = (
        TestFile(
            f"tests/test_{module}.py",
            f"from {package}.{module} import span_length\n",
            base=(passing("test_span_length", lengths),),
        ),
        TestFile(
            f"tests/test_{module}_merge.py",
            f"from {package} import {module}\n",
            added=(
                failing(f"test_{fn}", f"assert {module}.{fn}({spans}) == {joined}"),
                failing(f"test_{fn}_empty", f"assert {module}.{fn}([]) == []"),
            ),
        ),
    )
    rule = "touching ones too (end of one = start of the next)" if touching else "but not those that merely touch"
    return Scenario(
        template="merge_spans",
        task_type="feature",
        difficulty="hard",
        title=f"{package}: add `{fn}` to {module}",
        body=f"""
            Please add `{fn}(spans)` to `{package}.{module}`: it takes (start, end) pairs in any order and returns
            them merged where they overlap, {rule}, sorted by start. `{fn}({spans})` should give `{joined}`.
            """,
        sources={path: existing + "\n\n" + _merge(fn, touching)},
        at_base={path: existing},
        tests=tests,
    )


def _record(cls: str, text_field: str, number_field: str, with_methods: bool) -> str:
    methods = "\n" + code(
        f'''
        def as_dict(self) -> dict[str, object]:
            return {{"{text_field}": self.{text_field}, "{number_field}": self.{number_field}}}

        @classmethod
        def from_dict(cls, data: dict[str, object]) -> "{cls}":
            return cls(str(data["{text_field}"]), int(data["{number_field}"]))
        '''
    )
    return code(
        f'''
        """The {cls} record."""


        class {cls}:
            def __init__(self, {text_field}: str, {number_field}: int) -> None:
                self.{text_field} = {text_field}
                self.{number_field} = {number_field}

            def __eq__(self, other: object) -> bool:
                return isinstance(other, {cls}) and vars(self) == vars(other)
            @methods
        ''',
        methods=methods if with_methods else "",
    )


def serialisation(rng: Random, package: str) -> Scenario:
    """`as_dict` / `from_dict` on a small class."""
    cls, (text_field, number_field) = rng.choice(
        [("Shipment", ("origin", "weight")), ("Booking", ("guest", "nights")), ("Reading", ("sensor", "value"))]
    )
    module = rng.choice(["records", "model", "entities"])
    path = f"{package}/{module}.py"
    word, number = rng.choice(["north", "lisbon", "s-17", "ada"]), rng.randint(1, 400)
    made = f'{cls}("{word}", {number})'
    as_dict = f'{{"{text_field}": "{word}", "{number_field}": {number}}}'
    tests = (
        TestFile(
            f"tests/test_{module}.py",
            f"from {package}.{module} import {cls}\n",
            base=(passing(f"test_{cls.lower()}_equality", f"assert {made} == {made}"),),
        ),
        TestFile(
            f"tests/test_{module}_dict.py",
            f"from {package}.{module} import {cls}\n\nmade = {made}\n",
            added=(
                failing("test_as_dict", f"assert made.as_dict() == {as_dict}"),
                failing("test_round_trip", f"assert {cls}.from_dict(made.as_dict()) == made"),
            ),
        ),
    )
    return Scenario(
        template="serialisation",
        task_type="boilerplate",
        difficulty="easy",
        title=f"{package}: `{cls}` needs `as_dict()` and `from_dict()`",
        body=f"""
            To store `{package}.{module}.{cls}` as JSON, add `as_dict()` (a dict with the keys "{text_field}" and
            "{number_field}") and a classmethod `from_dict(data)` that builds the {cls} back; a round trip gives an
            equal object.
            """,
        sources={path: _record(cls, text_field, number_field, with_methods=True)},
        at_base={path: _record(cls, text_field, number_field, with_methods=False)},
        tests=tests,
    )


_RENAMES = (("calc_total", "order_total"), ("get_sum", "basket_total"), ("tot", "invoice_total"))


def _totals(old: str, new: str, renamed: bool) -> str:
    """The totals module: `old` at the base; after the rename, `new` plus `old` as a deprecated alias."""
    alias = code(
        f'''


        def {old}(prices: list[int], discount: int = 0) -> int:
            """Deprecated: use `{new}`."""
            warnings.warn("{old} is deprecated: use {new}", DeprecationWarning, stacklevel=2)
            return {new}(prices, discount)
        '''
    )
    return code(
        f'''
        """Totals of prices in cents."""
        @header


        def {new if renamed else old}(prices: list[int], discount: int = 0) -> int:
            """The sum of `prices` less `discount` percent, rounded down."""
            total = sum(prices)
            return total - total * discount // 100
        @alias
        ''',
        header="\nimport warnings" if renamed else "",
        alias="\n\n" + alias if renamed else "",
    )


def _receipts(package: str, module: str, name: str, percent: int) -> str:
    return code(
        f'''
        """Receipt lines."""

        from {package}.{module} import {name}


        def total_line(prices: list[int]) -> str:
            return f"TOTAL {{{name}(prices, {percent})}}"
        '''
    )


def rename(rng: Random, package: str) -> Scenario:
    """A function renamed across two modules, the old name kept as a deprecated alias."""
    old, new = rng.choice(_RENAMES)
    module, user = rng.choice([("orders", "receipts"), ("billing", "statements"), ("baskets", "printing")])
    percent = rng.choice([5, 10, 15, 20, 25])
    prices = [rng.randint(100, 999) for _ in range(3)]
    total = sum(prices) - sum(prices) * percent // 100
    quiet = f'with warnings.catch_warnings():\n    warnings.simplefilter("error")\n    assert total_line({prices})'
    tests = (
        TestFile(
            f"tests/test_{user}.py",
            f"from {package}.{user} import total_line\n",
            base=(passing("test_total_line", f'assert total_line({prices}) == "TOTAL {total}"'),),
        ),
        TestFile(
            f"tests/test_{module}_{new}.py",
            f"import warnings\n\nimport pytest\n\nfrom {package} import {module}\n"
            f"from {package}.{user} import total_line\n",
            added=(
                failing(f"test_{new}", f"assert {module}.{new}({prices}, {percent}) == {total}"),
                failing(
                    f"test_{old}_warns",
                    f"with pytest.warns(DeprecationWarning):\n    assert {module}.{old}({prices}) == {sum(prices)}",
                ),
                # Nothing warns at the base yet; after the rename, total_line must not go through the alias.
                passing("test_total_line_does_not_warn", quiet),
            ),
        ),
    )
    return Scenario(
        template="rename",
        task_type="multi_file_refactor",
        difficulty=rng.choice(["medium", "hard"]),
        title=f"{package}: rename `{old}` to `{new}`",
        body=f"""
            `{package}.{module}.{old}` should be called `{new}`. Please rename it, make `{package}.{user}` call
            `{new}`, and keep `{old}` working as an alias that emits a DeprecationWarning ("use {new}") so
            other callers have time to move.
            """,
        sources={
            f"{package}/{module}.py": _totals(old, new, renamed=True),
            f"{package}/{user}.py": _receipts(package, module, new, percent),
        },
        at_base={
            f"{package}/{module}.py": _totals(old, new, renamed=False),
            f"{package}/{user}.py": _receipts(package, module, old, percent),
        },
        tests=tests,
    )
