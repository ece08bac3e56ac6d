"""The environment images this machine holds: `agent env list` and `agent env prune`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from sandboxes.engine import docker_client, docker_errors
from sandboxes.environment.build import ENVIRONMENT_LABEL


class EnvironmentImage(BaseModel):
    tag: str
    repo: str
    base: str
    python: str
    size_mb: float
    created: str


def environment_images(repo: str | None = None) -> list[EnvironmentImage]:
    """Every environment image (of `repo` only, when given), newest first."""
    client = docker_client()
    try:
        with docker_errors("listing environment images"):
            images = client.images.list(filters={"label": ENVIRONMENT_LABEL})
        rows = [_row(image) for image in images]
    finally:
        client.close()
    rows = [row for row in rows if repo is None or row.repo == repo]
    return sorted(rows, key=lambda row: row.created, reverse=True)


def prune_environments(repo: str | None = None) -> list[str]:
    """Remove the environment images (of `repo` only, when given); the tags removed."""
    removed = []
    client = docker_client()
    try:
        for row in environment_images(repo):
            with docker_errors(f"removing {row.tag}"):
                client.images.remove(row.tag, force=True)
            removed.append(row.tag)
    finally:
        client.close()
    return removed


def _row(image: Any) -> EnvironmentImage:
    labels = image.labels or {}
    created = datetime.fromisoformat(image.attrs["Created"].split(".")[0].rstrip("Z")).replace(tzinfo=UTC)
    return EnvironmentImage(
        tag=(image.tags or [image.short_id])[0],
        repo=labels.get(f"{ENVIRONMENT_LABEL}.repo", "?"),
        base=labels.get(f"{ENVIRONMENT_LABEL}.base", "?"),
        python=labels.get(f"{ENVIRONMENT_LABEL}.python", "?"),
        size_mb=round(image.attrs.get("Size", 0) / 1e6, 1),
        created=created.isoformat(timespec="seconds"),
    )
