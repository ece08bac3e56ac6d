"""What a repository declares it needs, read from its files at one commit (never its working tree).

`detect_needs` reads, in this order: `pyproject.toml` (`[project]` dependencies and the chosen
extras, `[tool.poetry]` dependencies and test/dev groups (`poetry`), `[build-system]` requires),
`setup.cfg` (`install_requires`, `extras_require`), `setup.py` (dependencies there are code, so the
host's pip reads them from a copy of the project), `requirements*.txt` and `requirements/*.txt`
(docs ones left out), and `tox.ini`'s `[testenv] deps` for an environment with no factors
(`requirement_lines`). A line that is not a requirement is left out with a warning
(`Needs.warnings`), never fatal. `noxfile.py` is code and is not read: set `setup` instead.
The repository's own `agent.toml` may name a `setup` command under `[environment]`.

A flat project with nothing to install needs no environment: `python -m pytest` imports it from
the work directory. A project with dependencies, or one under `src/`, is also installed editable.
"""

from __future__ import annotations

import configparser
import hashlib
import re
import shlex
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.core.errors import EnvironmentBuildError
from agent.core.host_git import git_out, tracked_files
from sandboxes.environment.poetry import poetry_requirements
from sandboxes.environment.requirement_lines import Lines, checked, requirement_file, tox_deps

TEST_EXTRAS = ("test", "tests", "testing", "dev")
DEFAULT_BUILD_REQUIRES = ["setuptools>=64", "wheel"]
REQUIREMENT_FILE = re.compile(r"^(requirements[^/]*\.txt|[^/]*requirements\.txt|requirements/[^/]+\.txt)$")


@dataclass(frozen=True)
class Needs:
    """What to install for one repository at one commit."""

    requirements: list[str] = field(default_factory=list)
    install_project: bool = False
    extras: list[str] = field(default_factory=list)
    build_requires: list[str] = field(default_factory=list)
    resolve_project: bool = False
    """The project's dependencies are code (setup.py): the host's pip reads them from a copy."""
    sources: list[str] = field(default_factory=list)
    """Where each part came from, for people: `pyproject.toml [project.dependencies] (2)`."""
    files: dict[str, str] = field(default_factory=dict)
    """Path -> sha256 of every file read: part of the environment's cache key."""
    setup: str | None = None
    """The `[environment] setup` command of the repository's own agent.toml at this commit."""
    name: str | None = None
    """The distribution's name (`[project] name`, setup.cfg `[metadata] name`), for per-dist settings."""
    warnings: list[str] = field(default_factory=list)
    """Lines detection left out, and why: shown to the user, never fatal."""

    @property
    def empty(self) -> bool:
        return not (self.requirements or self.install_project or self.setup)

    def with_setup_requirements(self, repo: Path, commit: str, setup: str) -> Needs:
        """These needs plus what `setup`'s own `pip install` commands name, so the wheelhouse has them."""
        files = _Files(repo, commit)
        found = [item for item in setup_requirements(setup, files) if item not in self.requirements]
        if not found:
            return self
        return replace(
            self,
            requirements=[*self.requirements, *found],
            sources=[*self.sources, f"setup command ({len(found)})"],
            files={**self.files, **files.read},
        )


def _failed(verb: str, detail: str) -> Exception:
    return EnvironmentBuildError(f"reading the repository's dependency files failed (git {verb}: {detail})")


class _Files:
    """The repository's files at `commit`, read with git."""

    def __init__(self, repo: Path, commit: str) -> None:
        self.repo, self.commit = repo, commit
        self.names = set(tracked_files(repo, commit, _failed))
        self.read: dict[str, str] = {}

    def text(self, name: str) -> str | None:
        if name not in self.names:
            return None
        content = git_out("show", f"{self.commit}:{name}", cwd=self.repo, failed=_failed)
        self.read[name] = hashlib.sha256(content.encode()).hexdigest()
        return content


@dataclass
class _Found:
    """What detection has found so far, in the order it read it."""

    requirements: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    """The extras chosen (`[project]` optional dependencies, setup.cfg extras_require)."""
    project: bool = False
    """The repository declares an installable project."""
    dynamic: bool = False
    """Its dependencies are computed by its build (setup.py, `dynamic = ["dependencies"]`)."""
    dist: str | None = None

    def add(self, found: Lines, source: str) -> None:
        new = [item for item in found.requirements if item not in self.requirements]
        self.requirements.extend(new)
        self.warnings.extend(found.warnings)
        if found.requirements:
            self.sources.append(f"{source} ({len(found.requirements)})")


def detect_needs(repo: Path, commit: str, extras: list[str] | None = None) -> Needs:
    """What the repository at `commit` declares; `extras` None picks the test/dev extras it has."""
    files = _Files(repo, commit)
    found = _Found()
    pyproject = _toml(files, "pyproject.toml")
    _read_pyproject(found, pyproject, extras)
    build_requires = list(pyproject.get("build-system", {}).get("requires", []))
    _read_setup_files(found, files, extras)
    for name in sorted(files.names):
        if REQUIREMENT_FILE.match(name) and "doc" not in name.lower():
            found.add(requirement_file(files.text(name) or "", name, files.text, str(Path(name).parent)), name)
    tox = _ini(files, "tox.ini")
    if tox is not None and tox.has_option("testenv", "deps"):
        found.add(tox_deps(tox, files.text), "tox.ini [testenv] deps")
    if found.dynamic:  # pip reads the dependencies by running the build: hash what it may read
        for name in sorted(files.names):
            if "/" not in name and name.endswith((".txt", ".in", ".cfg", ".toml")):
                files.text(name)
        for name in _dynamic_files(pyproject):
            files.text(name)
    src_layout = any(re.match(r"^src/[^/]+(/__init__\.py|\.py)$", name) for name in files.names)
    install = found.project and bool(found.requirements or found.dynamic or src_layout or found.extras)
    agent_toml = _toml(files, "agent.toml").get("environment", {})
    setup = agent_toml.get("setup") if isinstance(agent_toml, dict) else None
    return Needs(
        requirements=found.requirements,
        install_project=install,
        extras=found.extras if install else [],
        build_requires=(build_requires or DEFAULT_BUILD_REQUIRES) if install else [],
        resolve_project=install and found.dynamic,
        sources=found.sources,
        files=dict(sorted(files.read.items())),
        setup=setup if isinstance(setup, str) and setup.strip() else None,
        name=found.dist,
        warnings=found.warnings,
    )


def _read_pyproject(found: _Found, pyproject: dict[str, Any], extras: list[str] | None) -> None:
    """`[project]` dependencies and chosen extras, `[tool.poetry]` dependencies and groups, and the
    dependency groups (PEP 735, pdm)."""
    table = pyproject.get("project")
    if isinstance(table, dict):
        found.project = True
        found.dynamic = "dependencies" in table.get("dynamic", [])
        found.dist = table.get("name") if isinstance(table.get("name"), str) else None
        source = "pyproject.toml [project.dependencies]"
        found.add(checked(list(table.get("dependencies", [])), source), source)
        optional = table.get("optional-dependencies", {})
        found.extras = _extras(optional, extras)
        for extra in found.extras:
            source = f"pyproject.toml [project.optional-dependencies.{extra}]"
            found.add(checked(list(optional.get(extra, [])), source), source)
    poetry = pyproject.get("tool", {}).get("poetry", {})
    if isinstance(poetry, dict) and poetry:
        found.project = True
        found.dist = found.dist or (poetry.get("name") if isinstance(poetry.get("name"), str) else None)
        source = "pyproject.toml [tool.poetry.dependencies]"
        found.add(poetry_requirements(poetry.get("dependencies", {}), source), source)
        groups = {name: group.get("dependencies", {}) for name, group in poetry.get("group", {}).items()}
        groups.setdefault("dev", poetry.get("dev-dependencies", {}))
        for group in _extras(groups, extras):  # groups are not extras: their packages are installed as such
            source = f"pyproject.toml [tool.poetry.group.{group}.dependencies]"
            found.add(poetry_requirements(groups[group], source), source)
    for source, dependency_groups in _dependency_groups(pyproject).items():
        for group in _extras(dependency_groups, extras):
            label = f"{source} {group}"
            found.add(checked([item for item in dependency_groups[group] if isinstance(item, str)], label), label)


def _read_setup_files(found: _Found, files: _Files, extras: list[str] | None) -> None:
    """setup.cfg's name, `install_requires` and chosen `extras_require`; setup.py (its dependencies are
    code: the host's pip reads them)."""
    setup_cfg = _ini(files, "setup.cfg")
    if setup_cfg is not None and found.dist is None:
        found.dist = setup_cfg.get("metadata", "name", fallback=None)
    if setup_cfg is not None and setup_cfg.has_option("options", "install_requires"):
        found.project = True
        source = "setup.cfg install_requires"
        found.add(checked(_lines(setup_cfg.get("options", "install_requires")), source), source)
    if setup_cfg is not None and setup_cfg.has_section("options.extras_require"):
        optional = {key: _lines(value) for key, value in setup_cfg.items("options.extras_require")}
        for extra in _extras(optional, extras):
            found.extras += [] if extra in found.extras else [extra]
            source = f"setup.cfg extras_require {extra}"
            found.add(checked(optional[extra], source), source)
    if "setup.py" in files.names:
        files.text("setup.py")
        if not found.project:
            found.project = found.dynamic = True
            found.sources.append("setup.py (read by pip on the host)")


PIP_INSTALL = re.compile(r"^(?:pip3?|python3?\s+-m\s+pip)\s+install\s+(.*)$")
PIP_VALUE_OPTIONS = {
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
}


def setup_requirements(setup: str, files: _Files) -> list[str]:
    """The packages a setup command's `pip install` lines name: their arguments and `-r` files read
    at the commit (local paths and options left out: the project's own deps come from detection)."""
    found: list[str] = []
    for command in re.split(r"&&|\|\||;|\n", setup):
        match = PIP_INSTALL.match(command.strip())
        if match is None:
            continue
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            continue
        skip = False
        for index, word in enumerate(words):
            if skip:
                skip = False
            elif word in ("-r", "--requirement") and index + 1 < len(words):
                name = words[index + 1].removeprefix("./")
                found += requirement_file(files.text(name) or "", name, files.text, str(Path(name).parent)).requirements
                skip = True
            elif word in PIP_VALUE_OPTIONS or word in ("-e", "--editable"):
                skip = True  # the option's value: an index, a path, an editable checkout
            elif not word.startswith(("-", ".", "/")):
                found.append(word)
    return found


def _dynamic_files(pyproject: dict[str, Any]) -> list[str]:
    """The files `[tool.setuptools.dynamic]` reads dependencies (and optional ones) from."""
    dynamic = pyproject.get("tool", {}).get("setuptools", {}).get("dynamic", {})
    entries = [dynamic.get("dependencies")]
    optional = dynamic.get("optional-dependencies")
    entries += list(optional.values()) if isinstance(optional, dict) else []
    names: list[str] = []
    for entry in entries:
        source = entry.get("file") if isinstance(entry, dict) else None
        names += [source] if isinstance(source, str) else [str(name) for name in source or []]
    return names


def _dependency_groups(pyproject: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """PEP 735 `[dependency-groups]` and pdm's `[tool.pdm.dev-dependencies]`: lists of requirements."""
    found = {}
    for source, table in (
        ("pyproject.toml [dependency-groups]", pyproject.get("dependency-groups")),
        (
            "pyproject.toml [tool.pdm.dev-dependencies]",
            pyproject.get("tool", {}).get("pdm", {}).get("dev-dependencies"),
        ),
    ):
        if isinstance(table, dict):
            found[source] = {name: items for name, items in table.items() if isinstance(items, list)}
    return found


def _extras(optional: dict[str, Any], wanted: list[str] | None) -> list[str]:
    if wanted is not None:
        return [extra for extra in wanted if extra in optional]
    return [extra for extra in optional if extra.lower() in TEST_EXTRAS]


def _toml(files: _Files, name: str) -> dict[str, Any]:
    text = files.text(name)
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EnvironmentBuildError(f"{name} at {files.commit[:12]} is not valid TOML ({exc}): fix it") from None


def _ini(files: _Files, name: str) -> configparser.ConfigParser | None:
    text = files.text(name)
    if text is None:
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None  # not ours to judge: pip or tox will say what is wrong with it
    return parser


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]
