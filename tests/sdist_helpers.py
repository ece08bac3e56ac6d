"""Real PyPI projects as git repositories: two releases' sdists as two tagged commits.

`fetch_sdist` downloads a release's sdist with the host's pip (its index, its cache) into a cache
directory, once. `release_repo` makes a repository of the older release, tagged, then the newer
one, tagged: HEAD and an older commit both exist, as in the project's own history. What an sdist
holds that the project's repository does not track is dropped first: `PKG-INFO`, `*.egg-info/`,
and the files the build writes (`RealProject.generated`, such as a VCS version file), so the
environment has to generate them as it would in a clone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from tests.repo_helpers import git


@dataclass(frozen=True)
class RealProject:
    """A small pure-Python project on PyPI whose sdists ship their tests."""

    name: str
    old: str
    new: str
    backend: str
    """What its sdist's `[build-system]` names (checked by the tests)."""
    test_cmd: str
    generated: tuple[str, ...] = ()
    """Files the sdist ships that the build writes (the repository does not track them)."""


REAL_PROJECTS = (
    RealProject(
        "prettytable",
        "3.16.0",
        "3.17.0",
        "hatchling.build",
        "python -m pytest -q -p no:cacheprovider tests",
        ("src/prettytable/_version.py",),
    ),
    RealProject(
        "python-slugify",
        "9.1.0",
        "9.2.0",
        "setuptools.build_meta",
        "python -m pytest -q -p no:cacheprovider tests",
    ),
    RealProject(
        "pluggy",
        "1.5.0",
        "1.6.0",
        "setuptools.build_meta",
        "python -m pytest -q -p no:cacheprovider testing",
        ("src/pluggy/_version.py",),
    ),
    RealProject("blinker", "1.8.2", "1.9.0", "flit_core.buildapi", "python -m pytest -q -p no:cacheprovider tests"),
    RealProject(
        "tomlkit", "0.13.2", "0.13.3", "poetry.core.masonry.api", "python -m pytest -q -p no:cacheprovider tests"
    ),
    RealProject(
        "dep-logic",
        "0.7.1",
        "0.7.2",
        "pdm.backend",
        # this one case expects an error from the packaging releases of its day; packaging 26 parses it
        "python -m pytest -q -p no:cacheprovider tests --deselect "
        "'tests/marker/test_parsing.py::test_parses_invalid[(python_version == \"2.7\") with random text]'",
    ),
)
BY_NAME = {project.name: project for project in REAL_PROJECTS}


def fetch_sdist(name: str, version: str, cache: Path) -> Path:
    """The sdist of `name==version` in `cache`, downloaded with the host's pip when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = f"{name}-{version}.tar.gz".lower().replace("-", "_")
    for attempt in range(2):
        found = [path for path in cache.glob("*.tar.gz") if path.name.lower().replace("-", "_") == wanted]
        if found:
            return found[0]
        if attempt == 0:
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "download", "--no-deps", f"--no-binary={name}"),
                    *("--dest", str(cache), f"{name}=={version}"),
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            )
    raise FileNotFoundError(f"pip downloaded no sdist of {name}=={version} into {cache}")


def _unpack(sdist: Path, repo: Path, generated: tuple[str, ...]) -> None:
    """The sdist's files as `repo`'s work tree (its `.git` kept), less what the repository would not track."""
    for entry in repo.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            parts = member.name.split("/", 1)
            if len(parts) < 2 or not parts[1]:
                continue
            member.name = parts[1]
            archive.extract(member, repo, filter="data")
    for path in [repo / "PKG-INFO", *repo.glob("*.egg-info"), *repo.glob("src/*.egg-info")]:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for name in generated:
        (repo / name).unlink(missing_ok=True)


def release_repo(project: RealProject, cache: Path, root: Path) -> tuple[Path, str, str]:
    """A repository of `project`'s two releases, each tagged with its version: (repo, older, newer)."""
    repo = root / project.name
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    commits = []
    for version in (project.old, project.new):
        _unpack(fetch_sdist(project.name, version, cache), repo, project.generated)
        git(repo, "add", "-A", "--force")
        git(repo, "commit", "-q", "-m", f"{project.name} {version}")
        git(repo, "tag", version)
        commits.append(git(repo, "rev-parse", "HEAD").strip())
    return repo, commits[0], commits[1]


def last_releases(name: str, count: int, up_to: str) -> list[str]:
    """The `count` final releases of `name` up to `up_to` (pre-releases left out), oldest first, from
    the host's package index (`pip index versions`)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    listed = next(line for line in done.stdout.splitlines() if line.startswith("Available versions:"))
    versions = [Version(text.strip()) for text in listed.split(":", 1)[1].split(",")]
    chosen = sorted(v for v in versions if not v.is_prerelease and v <= Version(up_to))[-count:]
    return [str(version) for version in chosen]


def history_repo(project: RealProject, versions: list[str], cache: Path, root: Path) -> Path:
    """A repository with one commit per release of `versions` (oldest first), each tagged with its
    version; a release without an sdist on the index is left out."""
    repo = root / project.name
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for version in versions:
        try:
            sdist = fetch_sdist(project.name, version, cache)
        except (subprocess.CalledProcessError, FileNotFoundError):
            continue
        _unpack(sdist, repo, project.generated)
        git(repo, "add", "-A", "--force")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"{project.name} {version}")
        git(repo, "tag", version)
    return repo
