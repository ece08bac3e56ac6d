"""Requirement lines as pip files and tox's `deps` write them, read into plain PEP 508 requirements.

Each kept line is checked with `packaging.requirements.Requirement`; a line detection cannot use
is left out with a warning that names it (shown to the user), never an error that stops the
environment. `-r FILE` is followed (read at the commit, relative to the including file). In
tox's `deps`, `{toxinidir}` is the repository, `{env:NAME:default}` its default and
`{[section]key}` that section's lines. A factor-conditional line (`py311,unidecode: dep`,
`!nodeps: dep`) is kept when it applies to a plain environment with no factors, that is when one
of its alternatives negates every factor it names; the others are for tox environments the
sandbox does not run, and are left out with a warning.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

Read = Callable[[str], str | None]
"""A file of the repository at the commit, by path; None when it is not there."""

NESTED = re.compile(r"^(?:-r|--requirement)[\s=]*(\S+)$")
FACTORS = re.compile(r"^([!\w{},.\s-]+?):(?!/)\s*(.+)$")
ENV_DEFAULT = re.compile(r"\{env:[^:}]+:([^}]*)\}")
SECTION_REF = re.compile(r"^\{\[([^\]]+)\]([^}]+)\}$")
PROJECT_ITSELF = re.compile(r"^(?:-e\s*|--editable[\s=]*)?\.(?:\[[^\]]*\])?/?$")
MAX_DEPTH = 3


@dataclass
class Lines:
    """The requirements read so far, and what was left out of them and why."""

    requirements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def skip(self, source: str, line: str, why: str) -> None:
        self.warnings.append(f"{source}: left out `{line}` ({why})")

    def add(self, source: str, line: str) -> None:
        """Keep `line` when it is a valid requirement, else leave it out with a warning."""
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            self.skip(source, line, f"not a requirement: {str(exc).splitlines()[0]}")
            return
        self.requirements.append(line)


def checked(lines: list[str], source: str) -> Lines:
    """`lines` (from pyproject.toml or setup.cfg) with the invalid ones left out, with warnings."""
    found = Lines()
    for line in lines:
        found.add(source, line)
    return found


def requirement_file(text: str, source: str, read: Read | None = None, here: str = "", depth: int = 0) -> Lines:
    """The requirements of a pip requirements file (its `-r` files followed through `read`)."""
    found = Lines()
    _file_lines(text, source, read, here, depth, found)
    return found


def _file_lines(text: str, source: str, read: Read | None, here: str, depth: int, found: Lines) -> None:
    for raw in _logical_lines(text):
        line = raw.replace("{toxinidir}/", "").replace("{toxinidir}", ".")
        nested = NESTED.match(line)
        if nested and read is not None and depth < MAX_DEPTH:
            name = str(Path(here, nested.group(1))).removeprefix("./")
            included = read(name)
            if included is None:
                found.skip(source, line, f"{name} is not in the repository at this commit")
            else:
                _file_lines(included, name, read, str(Path(name).parent), depth + 1, found)
        elif PROJECT_ITSELF.match(line):
            continue  # the project itself: it is installed editable anyway
        elif line.startswith("-"):
            found.skip(source, line, "a pip option: set [environment] setup to use it")
        elif line.startswith(("/", "./", "../")):
            found.skip(source, line, "a local path")
        elif "{" in line:
            found.skip(source, line, "a tox substitution detection cannot resolve")
        else:
            found.add(source, line)


def tox_deps(tox: configparser.ConfigParser, read: Read | None = None, section: str = "testenv") -> Lines:
    """The `deps` of `section` for a plain environment (no factors), with what was left out."""
    source = f"tox.ini [{section}] deps"
    found = Lines()
    kept: list[str] = []
    for line in _expand(tox, tox.get(section, "deps", fallback=""), 0):
        conditional = FACTORS.match(line)
        if conditional is not None and conditional.group(1).count("{") != conditional.group(1).count("}"):
            conditional = None  # `{env:NAME}`: a substitution, not a factor condition
        if conditional is None:
            kept.append(line)
        elif _applies_without_factors(conditional.group(1)):
            kept.append(conditional.group(2).strip())
        else:
            found.skip(source, line, f"only for tox environments with factor {conditional.group(1).strip()}")
    nested = requirement_file("\n".join(kept), source, read)
    found.requirements += nested.requirements
    found.warnings += nested.warnings
    return found


def _expand(tox: configparser.ConfigParser, value: str, depth: int) -> list[str]:
    """`value`'s lines with `{env:NAME:default}` made its default and `{[section]key}` inlined."""
    lines = []
    for raw in _logical_lines(value):
        line = ENV_DEFAULT.sub(lambda match: match.group(1), raw).strip()
        reference = SECTION_REF.match(line)
        if reference and depth < MAX_DEPTH and tox.has_option(reference.group(1), reference.group(2)):
            lines += _expand(tox, tox.get(reference.group(1), reference.group(2)), depth + 1)
        elif line:
            lines.append(line)
    return lines


def _applies_without_factors(condition: str) -> bool:
    """Whether a tox factor condition holds for an environment that has no factors."""
    for alternative in _split_outside_braces(condition.replace(" ", "")):
        factors = [factor for factor in alternative.split("-") if factor]
        if factors and all(factor.startswith("!") for factor in factors):
            return True
    return False


def _split_outside_braces(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _logical_lines(text: str) -> list[str]:
    """Non-empty lines without comments, `\\` continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    lines = []
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines
