"""What a project's build backend needs beyond `[build-system] requires`, asked on the host.

An editable install asks the backend (PEP 660 `get_requires_for_build_editable`) for more
packages: hatchling wants `editables` and its hooks' dependencies, old setuptools `wheel`. The
image installs with no network, so `editable_requires` asks the same question here: the build
requirements go into a throwaway virtual environment from the wheelhouse (offline), and
`pyproject_hooks` calls the backend there, in a copy of the project at the commit.

VCS-versioned backends (setuptools-scm, hatch-vcs, pdm-backend's scm source,
poetry-dynamic-versioning) read the version from `.git`, which the build copy does not have.
`commit_version` derives it from `git describe --tags` at the commit on the host (a tagged
release is its tag; a later commit `TAG+N.gSHA`; no usable tag `0.0.0+gSHA`), and
`version_environment` is the pretend-version settings each of those tools honours. This is
chosen over carrying `.git` into the build: a copy of `.git` would need the tags and enough
history for `describe` to work (the sandbox's own copy is one shallow commit with no tags), it
grows the build context with the history, and a pretend version needs no git in the image.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import tomllib
import venv
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pyproject_hooks import BuildBackendHookCaller, BuildBackendWarning

from agent.core.errors import EnvironmentBuildError
from agent.core.host_git import git_out

LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
DESCRIBE = re.compile(r"^(?P<tag>.+)-(?P<distance>\d+)-g(?P<sha>[0-9a-f]+)$")


def commit_version(repo: Path, commit: str) -> str:
    """The version a VCS-versioned build of `commit` gets, from the nearest tag before it."""

    def failed(verb: str, detail: str) -> Exception:
        return EnvironmentBuildError(f"git {verb} {commit} failed in {repo}: {detail[-200:]}")

    sha = git_out("rev-parse", "--short=12", commit, cwd=repo, failed=failed).strip()
    try:
        described = git_out("describe", "--tags", "--long", "--abbrev=12", commit, cwd=repo, failed=failed).strip()
    except EnvironmentBuildError:
        return f"0.0.0+g{sha}"  # no tag reaches this commit
    match = DESCRIBE.match(described)
    if match is None:
        return f"0.0.0+g{sha}"
    try:
        version = Version(re.sub(r"^[^0-9]*", "", match.group("tag")))
    except InvalidVersion:
        return f"0.0.0+g{sha}"
    distance = int(match.group("distance"))
    return version.public if distance == 0 else f"{version.public}+{distance}.g{match.group('sha')}"


def version_environment(version: str, name: str | None) -> dict[str, str]:
    """The variables that make the VCS-versioning build tools take `version` without `.git`."""
    variables = {
        "SETUPTOOLS_SCM_PRETEND_VERSION": version,
        "PDM_BUILD_SCM_VERSION": version,
        "POETRY_DYNAMIC_VERSIONING_BYPASS": version,
    }
    if name:
        per_dist = canonicalize_name(name).replace("-", "_").upper()
        variables[f"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{per_dist}"] = version
    return variables


def build_backend(project: Path) -> tuple[str, list[str] | None]:
    """The project's `build-backend` and `backend-path` (setuptools' legacy backend when none is set)."""
    try:
        table = tomllib.loads((project / "pyproject.toml").read_text()).get("build-system", {})
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        table = {}
    backend = table.get("build-backend") if isinstance(table.get("build-backend"), str) else None
    path = table.get("backend-path")
    return backend or LEGACY_BACKEND, [str(entry) for entry in path] if isinstance(path, list) else None


def editable_requires(
    project: Path, build_requires: list[str], wheelhouse: Path, environment: Mapping[str, str]
) -> list[str]:
    """What the backend asks for, beyond `build_requires`, to build `project` editable."""
    backend, backend_path = build_backend(project)
    with tempfile.TemporaryDirectory(prefix="agent-backend-") as tmp:
        venv.EnvBuilder(with_pip=False).create(tmp)
        python = str(Path(tmp) / "bin" / "python")
        install = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "--no-input"]
        install += ["install", "--quiet", "--no-index", f"--find-links={wheelhouse}", *build_requires]
        _run(install, None, environment, f"installing the build requirements ({', '.join(build_requires)})")

        def runner(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
            what = f"asking {backend} what an editable build needs"
            _run(list(cmd), cwd, {**environment, **(extra_environ or {})}, what)

        hooks = BuildBackendHookCaller(str(project), backend, backend_path, runner=runner, python_executable=python)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildBackendWarning)  # the backend's advice to the project's authors
            return [str(requirement) for requirement in hooks.get_requires_for_build_editable()]


def _run(command: list[str], cwd: str | None, environment: Mapping[str, str], what: str) -> None:
    done = subprocess.run(
        command, cwd=cwd, env={**os.environ, **environment}, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        raise EnvironmentBuildError(
            f"{what} failed on this machine:\n{tail}\n"
            "check the project's [build-system], or set [environment] setup in agent.toml (or --setup)"
        )
