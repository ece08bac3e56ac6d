"""Sandbox images and health: the engine client, `build_image`, and `doctor`, which measures the
isolation a container really gets from inside a live one.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from importlib import resources
from typing import Any

import docker
import docker.errors
from pydantic import BaseModel

from agent.config import SandboxConfig
from agent.errors import SandboxError

DEFAULT_BASE = "python:3.12-slim"
DEFAULT_TAG = SandboxConfig().image

ENGINE_UNREACHABLE = "cannot reach the Docker engine: start dockerd or set DOCKER_HOST"


def docker_client() -> Any:
    """A client for the engine in the environment (DOCKER_HOST or the default socket)."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise SandboxError(f"{ENGINE_UNREACHABLE} ({exc})") from None
    return client


def require_image(client: Any, image: str) -> None:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise SandboxError(f"image {image} not found: run `agent sandbox build`") from None


def _context(dockerfile_dir: str, extra_dockerfile: str | None) -> io.BytesIO:
    """The build context as a tar: the shipped image directory, or just one Dockerfile."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if extra_dockerfile is not None:
            data = extra_dockerfile.encode()
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        else:
            root = resources.files("sandboxes").joinpath("images", dockerfile_dir)
            for entry in root.iterdir():
                if entry.is_file():
                    data = entry.read_bytes()
                    info = tarfile.TarInfo(entry.name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def _build(
    client: Any,
    context: io.BytesIO,
    tag: str,
    buildargs: dict[str, str],
    network: str | None,
    on_log: Callable[[str], None] | None,
) -> str:
    """Build from `context`, passing each log line to `on_log` as the engine streams it."""
    lines: list[str] = []
    image_id = None
    try:
        stream = client.api.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            buildargs=buildargs,
            network_mode=network,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            use_config_proxy=False,
        )
        for entry in stream:
            if "stream" in entry:
                lines.append(str(entry["stream"]))
                if on_log is not None:
                    on_log(str(entry["stream"]))
            if "error" in entry:
                output = "".join(line for line in lines if not line.startswith("Step "))[-1500:].strip()
                detail = f"\n{output}" if output else ""
                raise SandboxError(f"building {tag} failed: {str(entry['error']).strip()}{detail}")
            image_id = entry.get("aux", {}).get("ID", image_id)
    except docker.errors.APIError as exc:
        raise SandboxError(f"building {tag} failed: {exc.explanation}") from None
    return str(image_id or client.images.get(tag).id)


def build_image(
    base: str = DEFAULT_BASE,
    tag: str = DEFAULT_TAG,
    *,
    network: str | None = None,
    on_log: Callable[[str], None] | None = None,
) -> str:
    """Build the default sandbox image on `base`; returns the image id.

    `network` is the build's network mode (None: the engine default). Installs only what the
    base lacks, so an offline base that has git, procps and pytest builds with no network.
    """
    client = docker_client()
    return _build(client, _context("default", None), tag, {"BASE": base}, network, on_log)


def build_setup_image(
    image: str, tag: str, setup: str, *, network: str = "bridge", on_log: Callable[[str], None] | None = None
) -> str:
    """A task's setup (e.g. `pip install -e .`) baked on top of `image`, with network at build time only.

    Containers from the result still run with the config's network (none by default).
    """
    client = docker_client()
    require_image(client, image)
    dockerfile = f"FROM {image}\nRUN {setup}\n"
    return _build(client, _context("", dockerfile), tag, {}, network, on_log)


# doctor -------------------------------------------------------------------------------------
PROBE_SCRIPT = r"""
if python3 -c "import socket; socket.create_connection(('1.1.1.1', 53), 2)" >/dev/null 2>&1; then
  echo "network=open"
else
  echo "network=blocked"
fi
echo "uid=$(id -u)"
mem=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)
echo "memory_limit=${mem:-unknown}"
pids=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max 2>/dev/null)
echo "pids_limit=${pids:-unknown}"
echo "cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
echo "no_new_privs=$(awk '/^NoNewPrivs:/ {print $2}' /proc/self/status)"
if touch /usr/.agent-probe 2>/dev/null; then echo "system_writable=yes"; else echo "system_writable=no"; fi
"""


class DoctorReport(BaseModel):
    """What `agent sandbox doctor` found; the isolation values are measured inside a container."""

    engine: str
    image: str
    image_present: bool
    network: str
    uid: str
    memory_limit: str
    pids_limit: str
    cap_eff: str
    no_new_privs: str
    system_writable: str

    @property
    def isolated(self) -> bool:
        return (
            self.network == "blocked"
            and self.uid != "0"
            and int(self.cap_eff or "0", 16) == 0
            and self.no_new_privs == "1"
            and self.system_writable == "no"
        )


def doctor(config: SandboxConfig) -> DoctorReport:
    """Check the engine and image, then probe a live container made like a real sandbox."""
    from sandboxes.docker_sandbox import container_options

    client = docker_client()
    try:
        require_image(client, config.image)
        version = client.version().get("Version", "unknown")
        options = container_options(config, "doctor")
        options["command"] = ["sh", "-c", PROBE_SCRIPT]
        options["detach"] = True
        container = client.containers.run(**options)
        try:
            status = container.wait(timeout=60)
            output = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
    except docker.errors.APIError as exc:
        raise SandboxError(f"the doctor's probe container failed: {exc.explanation}") from None
    finally:
        client.close()
    if status.get("StatusCode") != 0:
        raise SandboxError(f"the probe exited with {status.get('StatusCode')}: {output[-300:]}")
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return DoctorReport(
        engine=str(version), image=config.image, image_present=True, **{k: v.strip() for k, v in values.items()}
    )
