"""Templates of the generated suite: small real bugs (`bug_fix`), each a function `(rng, package) -> Scenario`.

Wrong comparison at a boundary, off-by-one, wrong default, missing edge case, wrong rounding, a
case-sensitive lookup, a shared mutable default. Names, constants and variants come from `rng`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from random import Random

from tasks.generated.scenario import Scenario, TestFile, code, failing, passing


def boundary(rng: Random, package: str) -> Scenario:
    """`>` where the docs say "at least" (or `<` for "at most")."""
    subject = rng.choice(["age", "points", "visits", "orders", "score", "streak", "tenure"])
    perk = rng.choice(["discount", "upgrade", "badge", "bonus", "priority", "voucher", "refund"])
    module = rng.choice(["rules", "policy", "eligibility", "perks"])
    limit = rng.randint(3, 90)
    at_least = rng.random() < 0.5
    const, words, wrong, right = ("MIN", "at least", ">", ">=") if at_least else ("MAX", "at most", "<", "<=")
    const = f"{const}_{subject.upper()}"
    fn = f"qualifies_for_{perk}" if at_least else f"{perk}_allowed"
    inside, outside = (limit + 7, limit - 1) if at_least else (limit - 2, limit + 1)

    def source(op: str) -> str:
        return code(
            f'''
            """Who gets a {perk}."""

            {const} = {limit}


            def {fn}({subject}: int) -> bool:
                """True when `{subject}` is {words} {const}: the limit itself counts."""
                return {subject} {op} {const}
            '''
        )

    path = f"{package}/{module}.py"
    tests = TestFile(
        f"tests/test_{module}.py",
        f"from {package}.{module} import {fn}\n",
        base=(passing(f"test_{fn}_clear_cases", f"assert {fn}({inside})\nassert not {fn}({outside})"),),
        added=(failing(f"test_{fn}_at_the_limit", f"assert {fn}({limit}) is True"),),
    )
    return Scenario(
        template="boundary",
        task_type="bug_fix",
        difficulty="easy",
        title=f"`{fn}({limit})` returns False in {package}",
        body=f"""
            `{package}.{module}.{fn}` is documented as "True when `{subject}` is {words} {const}", and
            {const} is {limit}. But the limit itself is refused:

            ```python
            >>> from {package}.{module} import {fn}
            >>> {fn}({limit})
            False
            ```

            {inside} gives True as expected. A {subject} of exactly {limit} should qualify.
            """,
        sources={path: source(right)},
        at_base={path: source(wrong)},
        tests=(tests,),
    )


def off_by_one(rng: Random, package: str) -> Scenario:
    """A 1-based page read as 0-based, or an inclusive range that leaves its end out."""
    module = rng.choice(["paging", "listing", "browse", "feed"])
    path = f"{package}/{module}.py"
    size = rng.randint(3, 12)
    noun = rng.choice(["rows", "entries", "results", "items", "posts"])
    fn = rng.choice(["page", "page_of", "get_page"])

    def source(start: str) -> str:
        return code(
            f'''
            """Paging through {noun}."""

            PAGE_SIZE = {size}


            def page_count(total: int, size: int = PAGE_SIZE) -> int:
                return (total + size - 1) // size


            def {fn}({noun}: list, number: int, size: int = PAGE_SIZE) -> list:
                """Page `number` of `{noun}`: pages are numbered from 1."""
                start = {start}
                return {noun}[start : start + size]
            '''
        )

    total = size * rng.randint(2, 4) + rng.randint(1, size - 1)
    pages = (total + size - 1) // size
    tests = TestFile(
        f"tests/test_{module}.py",
        f"from {package}.{module} import {fn}, page_count\n",
        base=(passing("test_page_count", f"assert page_count({total}) == {pages}\nassert page_count(0) == 0"),),
        added=(
            failing(f"test_{fn}_first", f"assert {fn}(list(range({total})), 1) == list(range({size}))"),
            failing(
                f"test_{fn}_last",
                f"assert {fn}(list(range({total})), {pages}) == list(range({(pages - 1) * size}, {total}))",
            ),
        ),
    )
    return Scenario(
        template="off_by_one",
        task_type="bug_fix",
        difficulty=rng.choice(["easy", "medium"]),
        title=f"{package}: `{fn}(..., 1)` skips the first page",
        body=f"""
            With {total} {noun} and the default page size of {size}, `{package}.{module}.{fn}({noun}, 1)` gives me
            the second page, and `{fn}({noun}, {pages})` (the last page, by `page_count`) is empty. The docstring
            says pages are numbered from 1.
            """,
        sources={path: source("(number - 1) * size")},
        at_base={path: source("number * size")},
        tests=(tests,),
    )


_SETTINGS = (
    ("timeout", "seconds", (30, 60, 20)),
    ("retries", "attempts", (3, 5, 4)),
    ("batch_size", "rows", (500, 250, 100)),
)


def wrong_default(rng: Random, package: str) -> Scenario:
    """A default that contradicts the README."""
    param, unit, choices = rng.choice(_SETTINGS)
    right = rng.choice(choices)
    wrong = rng.choice([right * 10, right // 10 or 1, right + 1])
    thing = rng.choice(["client", "worker", "uploader", "poller", "sync"])
    module = rng.choice(["settings", "defaults", "config"])
    path, const = f"{package}/{module}.py", f"DEFAULT_{param.upper()}"

    def source(value: int) -> str:
        return code(
            f'''
            """Settings for a {thing}."""

            {const} = {value}


            def {thing}_settings(name: str, {param}: int = {const}) -> dict[str, object]:
                """Settings for the {thing} `name` (see the README for the defaults)."""
                return {{"name": name, "{param}": {param}}}
            '''
        )

    tests = TestFile(
        f"tests/test_{module}.py",
        f"from {package}.{module} import {thing}_settings\n",
        base=(
            passing("test_explicit_value", f'assert {thing}_settings("a", {param}=7) == {{"name": "a", "{param}": 7}}'),
        ),
        added=(failing(f"test_default_{param}", f'assert {thing}_settings("a")["{param}"] == {right}'),),
    )
    return Scenario(
        template="wrong_default",
        task_type="bug_fix",
        difficulty="easy",
        title=f"{package}: the default {param} is {wrong}, the README says {right}",
        body=f"""
            The README of {package} says a {thing} uses {right} {unit} for `{param}` unless told otherwise, but
            `{package}.{module}.{thing}_settings("main")` returns `{param}` = {wrong}. Passing `{param}=` explicitly
            works.
            """,
        sources={path: source(right)},
        at_base={path: source(wrong)},
        tests=(tests,),
        readme=f"A {thing} uses {right} {unit} for `{param}` by default.",
    )


def empty_input(rng: Random, package: str) -> Scenario:
    """A mean (or a ratio, a spread) that crashes on no data instead of returning 0.0."""
    module = rng.choice(["stats", "metrics", "summary"])
    noun = rng.choice(["latencies", "prices", "scores", "durations", "weights"])
    kind = rng.choice(["mean", "spread"])
    fn = f"{kind}_{noun}" if rng.random() < 0.5 else f"{noun}_{kind}"
    formula = "sum(values) / len(values)" if kind == "mean" else "max(values) - min(values)"
    error = "ZeroDivisionError" if kind == "mean" else "ValueError"
    path = f"{package}/{module}.py"

    def source(guard: str) -> str:
        return code(
            f'''
            """Summaries of {noun}."""


            def {fn}(values: list[float]) -> float:
                """The {kind} of `values`; 0.0 when there are none."""
                @guard
                return {formula}
            ''',
            guard=guard,
        )

    values = [rng.randint(1, 40) for _ in range(rng.randint(3, 6))]
    expected = sum(values) / len(values) if kind == "mean" else max(values) - min(values)
    tests = TestFile(
        f"tests/test_{module}.py",
        f"import pytest\n\nfrom {package}.{module} import {fn}\n",
        base=(passing(f"test_{fn}", f"assert {fn}({values}) == pytest.approx({expected!r})"),),
        added=(failing(f"test_{fn}_of_nothing", f"assert {fn}([]) == 0.0"),),
    )
    return Scenario(
        template="empty_input",
        task_type="bug_fix",
        difficulty="medium",
        title=f"{package}: `{fn}([])` raises {error}",
        body=f"""
            A report with no {noun} crashes: `{package}.{module}.{fn}([])` raises {error}. The docstring promises
            0.0 when there are no values, and the dashboards rely on it.
            """,
        sources={path: source("if not values:\n    return 0.0")},
        at_base={path: source("")},
        tests=(tests,),
    )


def _truncating_amounts(rng: Random, count: int) -> list[str]:
    """Two-decimal amounts whose float value times 100 falls just short of the exact cents."""
    found: list[str] = []
    while len(found) < count:
        amount = f"{rng.randint(0, 999)}.{rng.randint(1, 99):02d}"
        if int(float(amount) * 100) != int(Decimal(amount) * 100) and amount not in found:
            found.append(amount)
    return found


def rounding(rng: Random, package: str) -> Scenario:
    """Cents from a decimal string through a float, truncated."""
    module = rng.choice(["money", "currency", "pricing"])
    fn = rng.choice(["to_cents", "parse_cents", "cents_of"])
    path = f"{package}/{module}.py"
    body = "return int(float(amount) * 100)"
    fixed = "return int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))"

    def source(line: str, imports: str) -> str:
        return code(
            f'''
            """Amounts of money as integer cents."""
            @imports


            def {fn}(amount: str) -> int:
                """`amount`, a decimal string such as "19.99", in cents (halves of a cent round up)."""
                @line
            ''',
            imports=imports,
            line=line,
        )

    shown, *others = _truncating_amounts(rng, 3)
    exact = [f"{rng.randint(1, 500)}.{rng.choice(['00', '25', '50', '75'])}" for _ in range(2)]
    half = f"{rng.randint(0, 9)}.{rng.choice(['125', '375', '625'])}"
    half_cents = int((Decimal(half) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    tests = TestFile(
        f"tests/test_{module}.py",
        f"from {package}.{module} import {fn}\n",
        base=(passing(f"test_{fn}_exact", "\n".join(f'assert {fn}("{a}") == {int(Decimal(a) * 100)}' for a in exact)),),
        added=(
            failing(
                f"test_{fn}_no_float_error",
                "\n".join(f'assert {fn}("{a}") == {int(Decimal(a) * 100)}' for a in [shown, *others]),
            ),
            failing(f"test_{fn}_half_cent_rounds_up", f'assert {fn}("{half}") == {half_cents}'),
        ),
    )
    return Scenario(
        template="rounding",
        task_type="bug_fix",
        difficulty=rng.choice(["medium", "hard"]),
        title=f'{package}: `{fn}("{shown}")` is off by a cent',
        body=f"""
            `{package}.{module}.{fn}("{shown}")` returns {int(float(shown) * 100)}, not {int(Decimal(shown) * 100)}:
            invoices are a cent short now and then. The docstring also says a half cent rounds up
            (`{fn}("{half}")` should be {half_cents}).
            """,
        sources={path: source(fixed, "\nfrom decimal import ROUND_HALF_UP, Decimal")},
        at_base={path: source(body, "")},
        tests=(tests,),
    )


def lookup(rng: Random, package: str) -> Scenario:
    """A lookup that should ignore case and surrounding spaces, and does not."""
    noun = rng.choice(["product", "station", "member", "course", "supplier"])
    module = rng.choice(["catalog", "directory", "registry"])
    fn = f"find_{noun}"
    path = f"{package}/{module}.py"
    key = rng.choice(["Blue Widget", "North Depot", "Ada Byron", "Intro Course", "Acme Parts", "Red Kettle"])
    value = rng.randint(10, 999)

    def source(line: str) -> str:
        return code(
            f'''
            """Looking {noun}s up by name."""


            def {fn}(index: dict[str, int], name: str) -> int | None:
                """The id of the {noun} called `name` in `index`; case and surrounding spaces do not matter."""
                @line
            ''',
            line=line,
        )

    fixed = (
        "wanted = name.strip().casefold()\n"
        "return next((value for key, value in index.items() if key.strip().casefold() == wanted), None)"
    )
    asked = f"  {key.upper()} "
    tests = TestFile(
        f"tests/test_{module}.py",
        f"from {package}.{module} import {fn}\n",
        base=(
            passing(
                f"test_{fn}_exact",
                f'assert {fn}({{"{key}": {value}}}, "{key}") == {value}\nassert {fn}({{}}, "x") is None',
            ),
        ),
        added=(
            failing(f"test_{fn}_ignores_case_and_spaces", f'assert {fn}({{"{key}": {value}}}, {asked!r}) == {value}'),
        ),
    )
    return Scenario(
        template="lookup",
        task_type="bug_fix",
        difficulty=rng.choice(["easy", "medium"]),
        title=f"{package}: `{fn}` misses {key!r} typed differently",
        body=f"""
            Searching for {asked!r} with `{package}.{module}.{fn}` returns None although the index has
            {key!r} (id {value}). The docstring says case and surrounding spaces do not matter.
            """,
        sources={path: source(fixed)},
        at_base={path: source("return index.get(name)")},
        tests=(tests,),
    )


def mutable_default(rng: Random, package: str) -> Scenario:
    """A list default shared by every call."""
    item = rng.choice(["tag", "label", "topping", "flag", "keyword"])
    bag = rng.choice(["tags", "collected", "chosen", "selection"])
    module = rng.choice(["tagging", "choices", "picks"])
    path = f"{package}/{module}.py"

    def source(default: str, guard: str) -> str:
        return code(
            f'''
            """Collecting {item}s."""


            def add_{item}(name: str, {bag}: list[str] | None = {default}) -> list[str]:
                """`{bag}` with `name` appended; a new list when `{bag}` is not given."""
                @guard
                {bag}.append(name)
                return {bag}
            ''',
            guard=guard,
        )

    first, second = rng.sample(["red", "urgent", "vegan", "draft", "beta", "large"], 2)
    tests = TestFile(
        f"tests/test_{module}.py",
        f"from {package}.{module} import add_{item}\n",
        base=(passing(f"test_add_{item}_to_given_list", f'assert add_{item}("{first}", ["x"]) == ["x", "{first}"]'),),
        added=(
            failing(
                f"test_add_{item}_fresh_list_each_call",
                f'assert add_{item}("{first}") == ["{first}"]\nassert add_{item}("{second}") == ["{second}"]',
            ),
        ),
    )
    return Scenario(
        template="mutable_default",
        task_type="bug_fix",
        difficulty="medium",
        title=f"{package}: `add_{item}` remembers earlier calls",
        body=f"""
            In {package}, calling `{module}.add_{item}("{first}")` and then `add_{item}("{second}")` gives
            `["{first}", "{second}"]` the second time. Each call without a list should start from an empty one.
            """,
        sources={path: source("None", f"if {bag} is None:\n    {bag} = []")},
        at_base={path: source("[]", "")},
        tests=(tests,),
    )
