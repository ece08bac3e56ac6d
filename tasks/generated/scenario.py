"""What a template of the generated suite makes: a `Scenario` (the source files at the fix, the ones that
differ at the base, the tests), and how a scenario becomes a repository's files, a gold patch, a test
patch and its FAIL_TO_PASS / PASS_TO_PASS ids, all by construction (no test is run here).

A template is a function `(rng, package) -> Scenario`; everything it varies comes from `rng`.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random


def code(text: str, **blocks: str) -> str:
    """`text` dedented, without its leading blank line, ending in one newline; a line that is only `@NAME`
    (NAME a keyword given) becomes that block's lines at the line's indentation (none: the line goes)."""
    lines = []
    for line in textwrap.dedent(text).strip("\n").splitlines():
        name = line.strip()[1:] if line.strip().startswith("@") else ""
        if name in blocks:
            indent = line[: len(line) - len(line.lstrip())]
            lines += [indent + inner if inner else "" for inner in blocks[name].splitlines()]
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Check:
    """One test function: its name, its body (dedented source), and whether it fails at the base."""

    name: str
    body: str
    fails_at_base: bool

    def source(self) -> str:
        return f"def {self.name}():\n" + textwrap.indent(code(self.body), "    ")


def failing(name: str, body: str) -> Check:
    """A check the bug (or the missing feature) makes fail: a FAIL_TO_PASS test."""
    return Check(name, body, True)


def passing(name: str, body: str) -> Check:
    """A check that passes before and after the fix: a PASS_TO_PASS test."""
    return Check(name, body, False)


@dataclass(frozen=True)
class TestFile:
    """A test file: its imports, the checks it has at the base, the checks the test patch adds."""

    __test__ = False  # not a pytest class

    path: str
    header: str
    base: tuple[Check, ...] = ()
    added: tuple[Check, ...] = ()

    def text(self, with_added: bool) -> str | None:
        """The file at the base (None when it is absent there), or after the test patch."""
        checks = [*self.base, *(self.added if with_added else ())]
        if not checks:
            return None
        return code(self.header) + "".join("\n\n" + check.source() for check in checks)

    def ids(self, failing_at_base: bool) -> list[str]:
        return [f"{self.path}::{c.name}" for c in (*self.base, *self.added) if c.fails_at_base is failing_at_base]


@dataclass(frozen=True)
class Scenario:
    """One task as a template makes it."""

    template: str
    task_type: str
    difficulty: str
    title: str
    body: str = field(repr=False)
    """The issue text after its title line; it names the package, so no two tasks share it."""
    sources: dict[str, str]
    """Source files at the fix (path -> text)."""
    at_base: dict[str, str | None]
    """The source files that differ at the base (None: absent there); the gold patch turns them into `sources`."""
    tests: tuple[TestFile, ...]
    readme: str = ""
    """Lines for the repository's README (what the docs promise)."""

    @property
    def problem_statement(self) -> str:
        return f"# {self.title}\n\n{code(self.body).strip()}"


Template = Callable[[Random, str], Scenario]


@dataclass(frozen=True)
class Filler:
    """An unrelated module of the repository, with tests that always pass (more PASS_TO_PASS, more to read)."""

    module: str
    source: str
    tests: TestFile


@dataclass(frozen=True)
class Layout:
    """A scenario laid out as a repository: files at the base, the two patches, the test ids."""

    base_files: dict[str, str]
    patch: str
    test_patch: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]


def lay_out(package: str, version: str, scenario: Scenario, fillers: list[Filler]) -> Layout:
    """The repository at the base and the task's patches and test ids, from `scenario` and `fillers`."""
    common = {
        "README.md": _readme(package, scenario.readme),
        "pyproject.toml": code(
            f"""
            [project]
            name = "{package}"
            version = "{version}"
            requires-python = ">=3.10"

            [tool.pytest.ini_options]
            testpaths = ["tests"]
            """
        ),
        f"{package}/__init__.py": f'"""{package}: small utilities."""\n\n__version__ = "{version}"\n',
    }
    fixed = {**common, **{f"{package}/{f.module}.py": f.source for f in fillers}, **scenario.sources}
    base = {path: text for path, text in fixed.items() if path not in scenario.at_base}
    base.update({path: text for path, text in scenario.at_base.items() if text is not None})
    test_files = [*scenario.tests, *(filler.tests for filler in fillers)]
    before = {t.path: t.text(with_added=False) for t in test_files}
    base.update({path: text for path, text in before.items() if text is not None})
    changed = sorted(scenario.at_base)
    patch = "".join(file_diff(path, scenario.at_base[path], fixed.get(path)) for path in changed)
    test_patch = "".join(file_diff(t.path, before[t.path], t.text(with_added=True)) for t in scenario.tests if t.added)
    return Layout(
        base_files=dict(sorted(base.items())),
        patch=patch,
        test_patch=test_patch,
        fail_to_pass=sorted(node for t in test_files for node in t.ids(failing_at_base=True)),
        pass_to_pass=sorted(node for t in test_files for node in t.ids(failing_at_base=False)),
    )


def _readme(package: str, extra: str) -> str:
    lines = [f"# {package}", "", "Small, dependency-free helpers.", ""]
    if extra:
        lines += [code(extra).strip(), ""]
    lines += ["Run the tests with `python -m pytest -q`."]
    return "\n".join(lines) + "\n"


def file_diff(path: str, old: str | None, new: str | None) -> str:
    """A `git apply`-able unified diff of one file (None: the file is absent on that side)."""
    before = old.splitlines(keepends=True) if old is not None else []
    after = new.splitlines(keepends=True) if new is not None else []
    header = f"diff --git a/{path} b/{path}\n"
    if old is None:
        header += "new file mode 100644\n"
    elif new is None:
        header += "deleted file mode 100644\n"
    hunks = difflib.unified_diff(
        before, after, "/dev/null" if old is None else f"a/{path}", "/dev/null" if new is None else f"b/{path}"
    )
    return header + "".join(hunks)
