"""Which files of a repository are its tests, at one commit, read with git only.

A test file has a path component `test`, `tests` or `testing`, lies under one of the repository's
pytest `testpaths` whose name says tests (`checks/`, `specs/`, `integration_tests/`; not `src/` or a
package collected for its doctests), is a `conftest.py`, or is a test module. A test module (what mining runs) is
named like pytest's `python_files` (`test_*.py` and `*_test.py` by default, plus the repository's
own patterns), is a `test.py` or `tests.py`, or is a Python file whose name says `test` that a
test command names (tox's `commands`, a CI workflow's `run:` lines, `.travis.yml`: `python test.py`).

The pytest settings come from every file pytest reads them from: `pytest.ini` ([pytest]),
`pyproject.toml` ([tool.pytest.ini_options]), `tox.ini` ([pytest]) and `setup.cfg` ([tool:pytest]).
A file that cannot be parsed adds nothing. Layouts are cached by the blobs they were read from, so a
long history costs one `git ls-tree` a commit.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from fnmatch import fnmatch
from pathlib import PurePosixPath

import git
from pydantic import BaseModel, ConfigDict

TEST_DIRS = frozenset({"test", "tests", "testing"})
DEFAULT_PATTERNS = ("test_*.py", "*_test.py")
TEST_MODULE_NAMES = frozenset({"test.py", "tests.py"})
INI_SECTIONS = {"pytest.ini": "pytest", "tox.ini": "pytest", "setup.cfg": "tool:pytest"}
CONFIG_FILES = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", ".travis.yml", ".github/workflows")
TEST_DIR_NAME = re.compile(r"(?:^|/)(?:[^/]*(?:test|spec|check)[^/]*|t)$", re.IGNORECASE)
"""A testpath whose every file is a test file: its name says so. Others (`src`, the package itself,
collected for its doctests) hold the code too: only their test modules are tests."""
NAMED_MODULE = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]*test[\w.-]*\.py)\b")
"""A Python file whose name says `test`, as a command names it."""


class TestLayout(BaseModel):
    """What one commit of a repository says its tests are."""

    __test__ = False  # not a pytest test class
    model_config = ConfigDict(frozen=True)

    testpaths: tuple[str, ...] = ()
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    named: frozenset[str] = frozenset()  # test modules the test commands name

    def is_test_file(self, path: str) -> bool:
        parts = PurePosixPath(path).parts
        under = any(path.startswith(where + "/") for where in self.testpaths if TEST_DIR_NAME.search(where))
        return bool(TEST_DIRS & set(parts[:-1])) or under or parts[-1] == "conftest.py" or self.is_test_module(path)

    def is_test_module(self, path: str) -> bool:
        """A file pytest collects tests from (when given it explicitly, as mining does)."""
        name = PurePosixPath(path).name
        if not name.endswith(".py"):
            return False
        return name in TEST_MODULE_NAMES or path in self.named or any(fnmatch(name, glob) for glob in self.patterns)


DEFAULT_LAYOUT = TestLayout()


class Layouts:
    """The test layout of each commit of one repository, read once per set of configuration blobs."""

    def __init__(self, handle: git.Repo) -> None:
        self.handle = handle
        self.read: dict[tuple[str, ...], TestLayout] = {}

    def at(self, sha: str) -> TestLayout:
        listed = self.handle.git.ls_tree("-r", "-z", sha, "--", *CONFIG_FILES)
        blobs = sorted(
            (path, meta.split()[2])
            for meta, _, path in (entry.partition("\t") for entry in listed.split("\0") if entry)
            if meta.split()[1] == "blob"
        )
        key = tuple(f"{path}:{blob}" for path, blob in blobs)
        if key not in self.read:
            texts = {path: self._text(blob) for path, blob in blobs}
            self.read[key] = layout_from(texts)
        return self.read[key]

    def _text(self, blob: str) -> str:
        data = self.handle.git.cat_file("blob", blob, stdout_as_string=False)
        return bytes(data).decode("utf-8", errors="replace")


def layout_from(texts: dict[str, str]) -> TestLayout:
    """The layout the configuration files (path -> text) describe."""
    testpaths: list[str] = []
    patterns: list[str] = list(DEFAULT_PATTERNS)
    commands: list[str] = []
    for path, text in texts.items():
        settings: dict[str, str | list[str]] = {}
        if path == "pyproject.toml":
            settings = _pyproject_settings(text)
        elif path in INI_SECTIONS:
            parser = _ini(text)
            if parser is not None and parser.has_section(INI_SECTIONS[path]):
                settings = dict(parser.items(INI_SECTIONS[path]))
            if path == "tox.ini" and parser is not None:
                commands += [parser.get(name, "commands", fallback="") for name in parser.sections()]
        else:  # a CI workflow or .travis.yml: its commands are in its text
            commands.append(text)
        testpaths += [where.strip("/") for where in _words(settings.get("testpaths")) if where.strip("./")]
        patterns += [glob for glob in _words(settings.get("python_files")) if glob not in patterns]
    named = {
        found.removeprefix("./")
        for found in NAMED_MODULE.findall("\n".join(commands))
        if not PurePosixPath(found).name.startswith("run")  # runtests.py runs the tests, it holds none
    }
    return TestLayout(testpaths=tuple(dict.fromkeys(testpaths)), patterns=tuple(patterns), named=frozenset(named))


def _pyproject_settings(text: str) -> dict[str, str | list[str]]:
    try:
        options = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options", {})
    except tomllib.TOMLDecodeError:
        return {}
    return options if isinstance(options, dict) else {}


def _ini(text: str) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return parser


def _words(value: object) -> list[str]:
    """An ini value (whitespace-separated) or a TOML string or list, as its words."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [word for item in value if isinstance(item, str) for word in item.split()]
    return []
