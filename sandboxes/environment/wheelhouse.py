"""The wheelhouse: every package an environment needs, resolved and downloaded on the host.

The containers may have no route to a package index (and attempts never get one), so the host's
pip does the resolving: `pip wheel` when the host runs the image's Python release (sdists are
built into wheels here), else `pip download --only-binary=:all:` for the image's exact Python
version and platform (a package may require `>=3.11.5` of a 3.11.2 image), falling back to `pip
wheel` when only the patch level differs and some package has no wheel. The build then installs
from the wheelhouse with `--no-index`. The host's pip configuration (index, proxy, certificates)
applies; `[environment] index_url` and `find_links` add to it. No credential is written into the
wheelhouse: it holds wheels and one requirements file.

The build requirements are resolved apart from the project's own (the build runs in its own
isolated environment, so the two sets need not agree), then the backend is asked what an editable
build needs besides (`backend.editable_requires`), and that is resolved with the project's.
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from agent.core.config import EnvironmentConfig
from agent.core.errors import EnvironmentBuildError
from sandboxes.environment.backend import editable_requires
from sandboxes.environment.detect import Needs
from sandboxes.git_copy import git_archive

Say = Callable[[str], None]
PROBE = (
    "import json, platform, sys; "
    "print(json.dumps({'version': '%d.%d' % sys.version_info[:2], 'full': '%d.%d.%d' % sys.version_info[:3], "
    "'machine': platform.machine()}))"
)


@dataclass(frozen=True)
class ImagePython:
    """The Python inside an image: `3.11` on `x86_64`."""

    version: str
    machine: str
    full: str = ""
    """With the patch level: `3.11.2` (a package may require `>=3.11.5`)."""

    @property
    def is_host(self) -> bool:
        host = f"{sys.version_info.major}.{sys.version_info.minor}"
        return self.version == host and self.machine == platform.machine() and sys.platform == "linux"

    @property
    def is_host_release(self) -> bool:
        """The host runs this very release, patch level included."""
        return self.is_host and self.full == ".".join(map(str, sys.version_info[:3]))


def image_python(client: Any, image: str) -> ImagePython:
    """Ask `image` which Python it runs (a throwaway container with no network)."""
    try:
        output = client.containers.run(image, ["python3", "-c", PROBE], network_mode="none", remove=True, entrypoint=[])
    except docker.errors.DockerException as exc:
        raise EnvironmentBuildError(
            f"cannot run python3 in {image} ({' '.join(str(exc).split())[:200]}): the image needs python3"
        ) from None
    data = json.loads(output.decode().strip().splitlines()[-1])
    return ImagePython(version=data["version"], machine=data["machine"], full=data.get("full", ""))


def fill_wheelhouse(
    dest: Path,
    needs: Needs,
    repo: Path,
    commit: str,
    python: ImagePython,
    config: EnvironmentConfig,
    say: Say,
    environment: Mapping[str, str],
) -> list[str]:
    """Download or build into `dest` every wheel `needs` asks for, plus pip itself; `environment`
    is set for every build on the way (the pretend version). Returns what the editable build of
    the project needs beyond its build requirements."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "requirements.txt").write_text("".join(f"{line}\n" for line in needs.requirements))
    with tempfile.TemporaryDirectory(prefix="agent-env-project-") as tmp:
        project = Path(tmp) / "project"
        if needs.install_project:
            _extract(git_archive(repo, commit), project)
        editable: list[str] = []
        if needs.build_requires:
            _resolve(dest, needs.build_requires, python, config, say, environment)
            if needs.install_project:
                say("asking the build backend what an editable install needs")
                asked = editable_requires(project, needs.build_requires, dest, environment)
                editable = [item for item in asked if item not in needs.build_requires]
        targets = [*needs.requirements, *editable, "pip"]
        if needs.resolve_project:
            if not python.is_host:
                raise EnvironmentBuildError(
                    f"the project's dependencies are in setup.py and the image runs Python {python.version} "
                    f"on {python.machine}, not this machine's: set [environment] setup, or network = true"
                )
            extras = f"[{','.join(needs.extras)}]" if needs.extras else ""
            targets.append(f"{project}{extras}")
        _resolve(dest, targets, python, config, say, environment)
    return editable


def _resolve(
    dest: Path, targets: list[str], python: ImagePython, config: EnvironmentConfig, say: Say, env: Mapping[str, str]
) -> None:
    """Wheels for `targets` in `dest`. The host's `pip wheel` when it runs the image's Python release
    (or must build the project from a local path); wheels for the image's exact version otherwise,
    falling back to `pip wheel` on the same minor version when some package has no wheel."""
    local = any(target.startswith("/") for target in targets)
    if python.is_host and (python.is_host_release or local):
        _pip(_command(dest, targets, python, config, build=True), say, env)
        return
    try:
        _pip(_command(dest, targets, python, config, build=False), say, env)
    except EnvironmentBuildError:
        if not python.is_host:
            raise
        say(f"not every package has a wheel for Python {python.full}: building them on this machine's Python")
        _pip(_command(dest, targets, python, config, build=True), say, env)


def _command(
    dest: Path, targets: list[str], python: ImagePython, config: EnvironmentConfig, *, build: bool
) -> list[str]:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    sources = [f"--find-links={link}" for link in config.find_links]
    sources += [f"--index-url={config.index_url}"] if config.index_url else []
    if build:
        return [*pip, "wheel", "--wheel-dir", str(dest), *sources, *targets]
    platforms = [
        f"--platform={tag}_{python.machine}" for tag in ("manylinux_2_28", "manylinux_2_17", "manylinux2014", "linux")
    ]
    return [
        *pip,
        "download",
        "--dest",
        str(dest),
        "--only-binary=:all:",
        f"--python-version={python.full or python.version}",
        "--implementation=cp",
        *platforms,
        *sources,
        *targets,
    ]


def _pip(command: list[str], say: Say, environment: Mapping[str, str]) -> None:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **environment}
    )
    assert process.stdout is not None
    tail: list[str] = []
    for line in process.stdout:
        tail = [*tail[-14:], line.rstrip()]
        if line.startswith(("Collecting", "Building wheel", "Saved", "Successfully")):
            say(f"wheelhouse: {line.strip()[:90]}")
    if process.wait() != 0:
        detail = "\n".join(tail[-8:])
        raise EnvironmentBuildError(
            f"resolving the dependencies on this machine failed:\n{detail}\n"
            "check the package names and the host's pip index, or set [environment] setup / find_links"
        )


def _extract(tar: bytes, dest: Path) -> None:
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
