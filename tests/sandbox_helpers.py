"""Shared pieces for the sandbox tests: real git repos in tmp_path and the Docker marker."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., Any])
REPO_ROOT = Path(__file__).resolve().parent.parent
CANARY = "canary-7f3a9c1e-do-not-leak"
IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *IDENTITY, *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_repo(root: Path, files: dict[str, str] | None = None) -> tuple[Path, str]:
    """A git repository with one commit holding `files`; returns (path, commit sha)."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for name, text in (files or {"README.md": "hello\n", "pkg/mod.py": "x = 1\n", "old.txt": "old\n"}).items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo, git(repo, "rev-parse", "HEAD")


@functools.cache
def docker_unreachable_reason() -> str | None:
    try:
        import docker

        client = docker.from_env()
        client.ping()
        client.close()
    except Exception as exc:  # any failure means: no engine to test against
        return f"no Docker engine reachable ({type(exc).__name__}): start dockerd or set DOCKER_HOST"
    return None


def ensure_image(image: str) -> None:
    """Build the sandbox image if it is missing (base from AGENT_SANDBOX_BASE, else the offline base)."""
    import docker

    from sandboxes.images import build_image

    client = docker.from_env()
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()
    build_image(os.environ.get("AGENT_SANDBOX_BASE", "agent-offline-base:bookworm"), image)


requires_docker = [
    pytest.mark.docker,
    pytest.mark.skipif(docker_unreachable_reason() is not None, reason=str(docker_unreachable_reason())),
]
"""Marks for a test (or `pytestmark`) that needs a real engine; skipped only when none is reachable."""


def needs_docker(func: F) -> F:
    for mark in requires_docker:
        func = mark(func)
    return func


def subprocess_env() -> dict[str, str]:
    """Environment for child Python processes that import this repository's packages."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env
