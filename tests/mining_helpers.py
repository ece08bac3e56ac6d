"""Histories to mine: commits written into a new repository, and a real project's history rebuilt from
its released sdists (one commit per release, its message the release's changelog entry)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.repo_helpers import GIT_ENV, git

SLUGIFY_RELEASES = ("3.0.0", "3.0.1", "3.0.2", "3.0.3", "3.0.4", "3.0.5", "3.0.6", "4.0.0", "4.0.1", "5.0.0")
SLUGIFY_RELEASES += ("5.0.1", "5.0.2", "6.0.0", "6.0.1", "6.1.0", "6.1.1")
"""python-slugify's releases whose sdists ship its tests (a root `test.py`, 3.0.1 to 6.1.1)."""


def commit(repo: Path, message: str, files: dict[str, str | None], day: int) -> str:
    """Write `files` (None deletes one), commit them with `message` on 2024-05-`day`; the new sha."""
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    date = f"2024-05-{day:02d}T12:00:00+00:00"
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "-m", message],
        check=True,
        env={**GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )
    return git(repo, "rev-parse", "HEAD").strip()


def merge(repo: Path, branch: str, message: str, day: int) -> str:
    """Merge `branch` into the current branch with a merge commit (as a pull request's merge does)."""
    date = f"2024-05-{day:02d}T12:00:00+00:00"
    subprocess.run(
        ["git", "-C", str(repo), "merge", "-q", "--no-ff", "-m", message, branch],
        check=True,
        env={**GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )
    return git(repo, "rev-parse", "HEAD").strip()


def download(name: str, version: str, cache: Path) -> Path:
    """The sdist of `name==version` in `cache/VERSION/`, downloaded with the host's pip once."""
    where, name_version = cache / version, f"{name}=={version}"
    if not any(where.glob("*.tar.gz")):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary=:all:",
                "-q",
                "-d",
                str(where),
                name_version,
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return next(where.glob("*.tar.gz"))


def changelog_entry(changelog: str, version: str) -> str:
    """The lines under `## VERSION` in a CHANGELOG.md, up to the next heading."""
    found = re.search(rf"^## {re.escape(version)}\s*\n(.*?)(?=^## |\Z)", changelog, re.MULTILINE | re.DOTALL)
    return found.group(1).strip() if found else ""


def release_history(name: str, versions: tuple[str, ...], cache: Path, repo: Path) -> dict[str, str]:
    """A repository with one commit per release of `name` (its sdist's files, less PKG-INFO and
    egg-info), the message `Release VERSION` and the release's changelog entry; version -> sha."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shas = {}
    for day, version in enumerate(versions, start=1):
        unpacked = cache / f"{name}-{version}"
        if not unpacked.exists():
            staging = cache / f"{name}-{version}.tmp"
            with tarfile.open(download(name, version, cache)) as archive:
                archive.extractall(staging, filter="data")
            [top] = staging.iterdir()
            top.rename(unpacked)
            staging.rmdir()
        for entry in repo.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        shutil.copytree(unpacked, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("PKG-INFO", "*.egg-info"))
        changelog = unpacked / "CHANGELOG.md"
        notes = changelog_entry(changelog.read_text(), version) if changelog.exists() else ""
        shas[version] = commit(repo, f"Release {version}\n\n{notes}".strip(), {}, day)
    return shas
