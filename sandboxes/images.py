"""The sandbox image: `build_image` builds the shipped Dockerfile on a base image, streaming its log."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from importlib import resources
from typing import Any

import docker
import docker.errors

from agent.core.config import SandboxConfig
from agent.core.errors import SandboxError
from sandboxes.engine import docker_client

DEFAULT_BASE = "python:3.12-slim"
DEFAULT_TAG = SandboxConfig().image


def add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add `data` to a build context as the file `name`."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _context(dockerfile_dir: str) -> io.BytesIO:
    """The build context as a tar: the shipped image directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        root = resources.files("sandboxes").joinpath("images", dockerfile_dir)
        for entry in root.iterdir():
            if entry.is_file():
                add_file(tar, entry.name, entry.read_bytes())
    buffer.seek(0)
    return buffer


def build_from_context(
    client: Any,
    context: io.BytesIO,
    tag: str,
    buildargs: dict[str, str],
    network: str | None,
    on_log: Callable[[str], None] | None,
    labels: dict[str, str] | None = None,
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
            labels=labels,
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
    return build_from_context(client, _context("default"), tag, {"BASE": base}, network, on_log)
