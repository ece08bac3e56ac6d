"""The Docker engine client: reach it once, with one clear error when it is not there."""

from __future__ import annotations

from typing import Any

import docker
import docker.errors

from agent.core.errors import SandboxError

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
