"""The Docker engine client: reach it once, with one clear error when it is not there."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


def image_present(client: Any, image: str) -> bool:
    """Whether the engine has `image`; other engine errors become one SandboxError line."""
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.DockerException as exc:
        raise SandboxError(f"cannot look up image {image}: {one_line(exc)}; check `docker info`") from exc
    return True


def require_image(client: Any, image: str) -> None:
    if not image_present(client, image):
        raise SandboxError(f"image {image} not found: run `agent sandbox build`")


def already_gone(exc: BaseException) -> bool:
    """True when a Docker error only says the container is gone or being removed by someone else.

    Another process (a second runner reaping, `agent sandbox prune`, the owner's own cleanup) may
    remove a container between our list and our inspect/remove/kill/stop: that is done, not a failure.
    """
    if isinstance(exc, docker.errors.NotFound):
        return True
    if not isinstance(exc, docker.errors.APIError):
        return False
    text = str(exc.explanation or exc).lower()
    if exc.status_code == 404 or "no such container" in text:
        return True
    return "already in progress" in text or ("is not running" in text and exc.status_code == 409)


def one_line(exc: BaseException) -> str:
    """A Docker error as one short line (the engine's explanation when it gave one)."""
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc or type(exc).__name__)
    return " ".join(text.split())[:300]


@contextmanager
def docker_errors(doing: str) -> Iterator[None]:
    """Turn any docker SDK error raised while `doing` into a one-line SandboxError."""
    try:
        yield
    except docker.errors.DockerException as exc:
        raise SandboxError(
            f"{doing} failed: {one_line(exc)}; check `docker info`, then run `agent sandbox prune` and retry"
        ) from exc
