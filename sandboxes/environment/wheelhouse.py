"""The wheelhouse: every package an environment needs, resolved and downloaded on the host.

The containers may have no route to a package index (and attempts never get one), so the host's
pip does the resolving: `pip wheel` when the host's Python is the image's (sdists are built into
wheels here), else `pip download --only-binary=:all:` for the image's Python version and
platform. The build then installs from the wheelhouse with `--no-index`. The host's pip
configuration (index, proxy, certificates) applies; `[environment] index_url` and `find_links`
add to it. No credential is written into the wheelhouse: it holds wheels and one requirements file.
"""

from __future__ import annotations

import io
import json
import platform
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from agent.core.config import EnvironmentConfig
from agent.core.errors import EnvironmentBuildError
from sandboxes.environment.detect import Needs
from sandboxes.git_copy import git_archive

Say = Callable[[str], None]
PROBE = (
    "import json, platform, sys; "
    "print(json.dumps({'version': '%d.%d' % sys.version_info[:2], 'machine': platform.machine()}))"
)


@dataclass(frozen=True)
class ImagePython:
    """The Python inside an image: `3.11` on `x86_64`."""

    version: str
    machine: str

    @property
    def is_host(self) -> bool:
        host = f"{sys.version_info.major}.{sys.version_info.minor}"
        return self.version == host and self.machine == platform.machine() and sys.platform == "linux"


def image_python(client: Any, image: str) -> ImagePython:
    """Ask `image` which Python it runs (a throwaway container with no network)."""
    try:
        output = client.containers.run(image, ["python3", "-c", PROBE], network_mode="none", remove=True, entrypoint=[])
    except docker.errors.DockerException as exc:
        raise EnvironmentBuildError(
            f"cannot run python3 in {image} ({' '.join(str(exc).split())[:200]}): the image needs python3"
        ) from None
    data = json.loads(output.decode().strip().splitlines()[-1])
    return ImagePython(version=data["version"], machine=data["machine"])


def fill_wheelhouse(
    dest: Path, needs: Needs, repo: Path, commit: str, python: ImagePython, config: EnvironmentConfig, say: Say
) -> None:
    """Download or build into `dest` every wheel `needs` asks for, plus pip itself."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "requirements.txt").write_text("".join(f"{line}\n" for line in needs.requirements))
    with tempfile.TemporaryDirectory(prefix="agent-env-project-") as tmp:
        targets = [*needs.requirements, *needs.build_requires, "pip"]
        if needs.resolve_project:
            if not python.is_host:
                raise EnvironmentBuildError(
                    f"the project's dependencies are in setup.py and the image runs Python {python.version} "
                    f"on {python.machine}, not this machine's: set [environment] setup, or network = true"
                )
            project = Path(tmp) / "project"
            _extract(git_archive(repo, commit), project)
            extras = f"[{','.join(needs.extras)}]" if needs.extras else ""
            targets.append(f"{project}{extras}")
        _pip(_command(dest, targets, python, config), say)


def _command(dest: Path, targets: list[str], python: ImagePython, config: EnvironmentConfig) -> list[str]:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    sources = [f"--find-links={link}" for link in config.find_links]
    sources += [f"--index-url={config.index_url}"] if config.index_url else []
    if python.is_host:
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
        f"--python-version={python.version}",
        "--implementation=cp",
        *platforms,
        *sources,
        *targets,
    ]


def _pip(command: list[str], say: Say) -> None:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
