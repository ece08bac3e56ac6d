"""Build one environment image: the sandbox image plus a repository's dependencies, offline.

The build context holds only the generated Dockerfile, the wheelhouse and the repository at the
commit (no `.git`, no host file, no key). The install runs as root with `--no-index` from the
wheelhouse and no network (`[environment] network = true` lets the build download instead). The
project is installed editable at the sandbox's work directory, which is then emptied: each
sandbox streams its own copy there, and the editable install imports that copy. What the install
wrote into the work tree stays in the image for the sandboxes (`generated`). A VCS-versioned
project builds with the version of the commit (`backend.commit_version`): the copy has no `.git`.
"""

from __future__ import annotations

import io
import re
import shlex
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.core.config import EnvironmentConfig
from agent.core.errors import EnvironmentBuildError, SandboxError
from sandboxes.environment.backend import commit_version, version_environment
from sandboxes.environment.detect import Needs
from sandboxes.environment.generated import record_command, record_script
from sandboxes.environment.wheelhouse import fill_wheelhouse, image_python
from sandboxes.git_copy import git_archive
from sandboxes.images import add_file, build_from_context

Say = Callable[[str], None]
WHEELHOUSE = "/tmp/agent-wheelhouse"
ENVIRONMENT_LABEL = "agent.environment"

DOCKERFILE = """\
FROM {base}
USER root
COPY wheelhouse {wheelhouse}
COPY project {workdir}
COPY setup.sh /tmp/agent-setup.sh
COPY record.py /tmp/agent-record.py
RUN set -eu; cd {workdir}; \\
    export PIP_FIND_LINKS={wheelhouse} PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1 \\
      PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore{no_index}; \\
    {record_before}; \\
    bash /tmp/agent-setup.sh; \\
    {record_after}; \\
    rm -rf {wheelhouse} /tmp/agent-setup.sh /tmp/agent-record.py; \\
    find {workdir} -mindepth 1 -delete
"""
RECORD = "/tmp/agent-record.py"

DETECTED_SETUP = """\
set -eu
{exports}
if python3 -m pip --version >/dev/null 2>&1; then pip="python3 -m pip"
else pip="python3 $(ls {wheelhouse}/pip-*.whl | head -n 1)/pip"; fi
{steps}
"""

USER_SETUP = """\
set -eu
{exports}
python3 -m pip --version >/dev/null 2>&1 || python3 $(ls {wheelhouse}/pip-*.whl | head -n 1)/pip install pip
{setup}
"""


def setup_script(needs: Needs, setup: str | None, environment: dict[str, str] | None = None) -> str:
    """The shell script the build runs: the user's `setup`, else the detected install; with
    `environment` (the pretend version) exported for both."""
    exports = "\n".join(f"export {name}={shlex.quote(value)}" for name, value in (environment or {}).items())
    if setup:
        return USER_SETUP.format(wheelhouse=WHEELHOUSE, setup=setup, exports=exports)
    steps = []
    if needs.requirements:
        steps.append(f"$pip install -r {WHEELHOUSE}/requirements.txt")
    if needs.install_project:
        extras = f"[{','.join(needs.extras)}]" if needs.extras else ""
        steps.append(f"$pip install -e {shlex.quote('.' + extras)}")
    return DETECTED_SETUP.format(wheelhouse=WHEELHOUSE, steps="\n".join(steps) or "true", exports=exports)


def build_environment(
    client: Any,
    *,
    tag: str,
    base: str,
    needs: Needs,
    setup: str | None,
    repo: Path,
    commit: str,
    workdir: str,
    config: EnvironmentConfig,
    labels: dict[str, str],
    say: Say,
) -> str:
    """Build `tag` on `base`; returns the image id. Failures are EnvironmentBuildError."""
    python = image_python(client, base)
    version = commit_version(repo, commit)
    environment = version_environment(version, needs.name)
    with tempfile.TemporaryDirectory(prefix="agent-wheelhouse-") as tmp:
        wheelhouse = Path(tmp)
        if config.network:
            (wheelhouse / "requirements.txt").write_text("".join(f"{line}\n" for line in needs.requirements))
        else:
            say(f"resolving {len(needs.requirements)} requirement(s) on this machine for Python {python.version}")
            fill_wheelhouse(wheelhouse, needs, repo, commit, python, config, say, environment)
        script = setup_script(needs, setup, environment)
        dockerfile = environment_dockerfile(base, workdir, config.network)
        context = _context(dockerfile, script, wheelhouse, git_archive(repo, commit))
    say(f"building the environment image {tag} (network {'on' if config.network else 'off'})")
    tail: list[str] = []

    def log(line: str) -> None:
        tail.append(line.rstrip())
        if line.startswith("Step "):
            say(line.strip()[:72])

    try:
        return build_from_context(
            client,
            context,
            tag,
            {},
            None if config.network else "none",
            log,
            labels={
                **labels,
                ENVIRONMENT_LABEL: "1",
                f"{ENVIRONMENT_LABEL}.python": python.version,
                f"{ENVIRONMENT_LABEL}.version": version,
            },
        )
    except EnvironmentBuildError:
        raise
    except SandboxError as exc:
        raise _build_failed(repo, tag, tail, exc) from None


def environment_dockerfile(base: str, workdir: str, network: bool) -> str:
    """The Dockerfile of an environment image on `base` (its install offline unless `network`)."""
    return DOCKERFILE.format(
        base=base,
        wheelhouse=WHEELHOUSE,
        workdir=workdir,
        no_index="" if network else " PIP_NO_INDEX=1",
        record_before=record_command("before", RECORD),
        record_after=record_command("after", RECORD),
    )


def _build_failed(repo: Path, tag: str, tail: list[str], exc: SandboxError) -> EnvironmentBuildError:
    """The failure of a build: the last lines its commands printed, Docker's reason, and what to do."""
    reason = str(exc).splitlines()[0].removeprefix(f"building {tag} failed: ")
    detail = "\n".join([*build_output(tail)[-12:], reason])
    return EnvironmentBuildError(
        f"building the environment for {repo.name} failed:\n{detail}\n"
        "fix the dependency files, or set [environment] setup in agent.toml (or --setup), "
        "or pass --image with the dependencies installed"
    )


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DOCKER_NOISE = ("Step ", "--->", "Removing intermediate container", "Running in ")


def build_output(lines: list[str]) -> list[str]:
    """What the build's commands printed: Docker's own step lines and colour codes left out."""
    kept = []
    for raw in "\n".join(lines).splitlines():
        line = ANSI.sub("", raw).rstrip()
        if line.strip() and not line.lstrip().startswith(DOCKER_NOISE):
            kept.append(line)
    return kept


def _context(dockerfile: str, script: str, wheelhouse: Path, project_tar: bytes) -> io.BytesIO:
    """The build context: Dockerfile, setup.sh, wheelhouse/ and project/ (the repository at the commit)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        add_file(tar, "Dockerfile", dockerfile.encode())
        add_file(tar, "setup.sh", script.encode())
        add_file(tar, "record.py", record_script().encode())
        tar.add(wheelhouse, arcname="wheelhouse")
        project = tarfile.TarInfo("project")
        project.type = tarfile.DIRTYPE
        project.mode = 0o755
        tar.addfile(project)
        with tarfile.open(fileobj=io.BytesIO(project_tar)) as source:
            for member in source.getmembers():
                if member.name == "pax_global_header":
                    continue
                member.name = f"project/{member.name}"
                tar.addfile(member, source.extractfile(member) if member.isfile() else None)
    buffer.seek(0)
    return buffer
