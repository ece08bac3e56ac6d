"""Build and test artifacts that never belong in a patch: the one list, and the git rules made from it.

Running a repository's tests or build leaves `__pycache__/`, `.pytest_cache/`, `*.egg-info/` and
the like in the work tree. A sandbox's diff must not ship them, whether or not the repository has
a `.gitignore`. `ArtifactRules.for_commit` turns `ARTIFACTS` into three independent guards, so no
single one failing (a missing `.git/info`, a model editing git's files) lets artifacts through:

- the text of an exclude file, installed as `.git/info/exclude` (so the model's `git status` is
  clean too) and as a second copy outside the work tree, passed as `core.excludesFile` to the diff;
- `:(exclude)` pathspecs for the diff's `git add` of new files.

A directory that holds tracked files at the base commit is real source, never an artifact
(`build/` and `dist/` are source directories in some repositories): the exclude file re-includes
it with a `!/path/` rule and the pathspecs leave its name alone. Tracked files are staged apart
from these rules (`git add -u`), so a change to any file tracked at the base always shows.
"""

from __future__ import annotations

import re
import shlex
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict

from agent.core.errors import SandboxError
from agent.core.host_git import tracked_files

ARTIFACTS: tuple[str, ...] = (
    "__pycache__/",
    "*.pyc",
    "*.pyo",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".hypothesis/",
    "*.egg-info/",
    ".eggs/",
    ".tox/",
    ".nox/",
    ".venv/",
    ".coverage",
    ".coverage.*",
    "htmlcov/",
    "node_modules/",
    "build/",
    "dist/",
)
"""Gitignore-style patterns matched against a name at any depth; a trailing `/` means a directory."""

PROBE = "__pycache__/agent-probe.pyc"
"""A path the installed exclude file must make git ignore."""

INSTALL_SCRIPT = (
    'mkdir -p .git/info && cat > "$1" && cp "$1" .git/info/exclude && cmp -s "$1" .git/info/exclude && '
    f"git check-ignore -q --no-index -- {PROBE}"
)
"""Run in the work directory with the exclude text on stdin and the outside copy's path as $1."""

_GLOB_SPECIAL = re.compile(r"([\\*?\[!# ])")


class ArtifactRules(BaseModel):
    """The exclusions for one base commit: exclude-file text and `git add` pathspecs."""

    model_config = ConfigDict(frozen=True)

    exclude_text: str
    pathspecs: tuple[str, ...]

    @classmethod
    def for_paths(cls, tracked: list[str]) -> ArtifactRules:
        """The rules for a base commit whose tracked files are `tracked` (paths relative to the root)."""
        directories = sorted({str(parent) for path in tracked for parent in PurePosixPath(path).parents} - {"."})
        lines = ["# build and test artifacts: never part of an agent's patch"]
        pathspecs = []
        for pattern in ARTIFACTS:
            lines.append(pattern)
            name = pattern.rstrip("/")
            if not pattern.endswith("/"):
                pathspecs.append(f":(exclude,glob)**/{name}")
                continue
            kept = [path for path in directories if fnmatchcase(PurePosixPath(path).name, name)]
            lines.extend(f"!/{_escape(path)}/" for path in kept)
            if not kept:
                pathspecs.append(f":(exclude,glob)**/{name}/**")
        return cls(exclude_text="\n".join(lines) + "\n", pathspecs=tuple(pathspecs))

    @classmethod
    def for_commit(cls, repo: Path, commit: str) -> ArtifactRules:
        """The rules for `commit` of the host repository `repo`."""
        return cls.for_paths(tracked_paths(repo, commit))

    def add_arguments(self) -> str:
        """`-- . <pathspecs>` for `git add -A`, quoted for a shell."""
        return " ".join(["--", ".", *map(shlex.quote, self.pathspecs)])


def _escape(path: str) -> str:
    """`path` as a literal in a gitignore pattern."""
    return _GLOB_SPECIAL.sub(r"\\\1", path)


def tracked_paths(repo: Path, commit: str) -> list[str]:
    """Every file path tracked at `commit` in `repo`."""

    def failed(verb: str, detail: str) -> Exception:
        return SandboxError(f"git {verb} {commit} failed in {repo}: {detail[-300:]}")

    return tracked_files(repo, commit, failed)


def install_failed(code: int, output: str) -> SandboxError:
    """The error for an `INSTALL_SCRIPT` that did not succeed."""
    return SandboxError(
        f"could not install the artifact excludes in the sandbox's git repository (exit {code}): "
        f"{output.strip()[-300:] or 'no output'}; check that the work directory and /tmp are writable "
        "and that git works there, then start the run again"
    )
