"""`Environments`: the image each task's sandbox starts from, built once per content key and reused.

The key covers everything the image depends on: the base image's id, the setup command, the hash
of every dependency file read, the extras, and where packages come from. Same key, same image:
the second attempt, the second run and every task of a batch on the same repository reuse it.
A task's own `image` (a SWE-bench instance image) becomes the base, with the sandbox's tools
layered on; it and an explicit `--image` replace detection (their `setup`, if any, still runs).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.core.config import EnvironmentConfig, SandboxConfig
from agent.core.errors import EnvironmentBuildError, SandboxError
from sandboxes.engine import docker_client, image_present
from sandboxes.environment.build import ENVIRONMENT_LABEL, build_environment
from sandboxes.environment.detect import Needs, detect_needs
from sandboxes.images import DEFAULT_TAG, build_image

Say = Callable[[str], None]
KEY_VERSION = "2"
"""Bump when the way environments are built changes, so old images are not reused."""
SHOWN_WARNINGS = 8


@dataclass(frozen=True)
class Prepared:
    """The image a task's sandboxes use, and how it came to be."""

    image: str
    key: str | None = None
    """None: the repository needs nothing beyond the sandbox image."""
    built: bool = False
    seconds: float = 0.0
    sources: list[str] = field(default_factory=list)
    setup: str | None = None
    warnings: list[str] = field(default_factory=list)
    """Lines of the dependency files detection left out, and why (`Needs.warnings`)."""

    def as_data(self) -> dict[str, Any]:
        """As JSON-able data (the `environment` event, `agent env build --json`)."""
        return {
            "image": self.image,
            "needed": self.key is not None,
            "built": self.built,
            "seconds": self.seconds,
            "sources": self.sources,
            "setup": self.setup,
            "warnings": self.warnings,
            "text": self.describe(),
        }

    def describe(self) -> str:
        """One line for people, then one per line of the dependency files that was left out."""
        if self.key is None:
            first = f"no dependencies to install: {self.image}"
        else:
            what = f"setup `{self.setup}`" if self.setup else ", ".join(self.sources) or "the project"
            how = f"built in {self.seconds:.1f} s" if self.built else "cached"
            first = f"{self.image} ({how}; {what})"
        shown = [f"warning: {line}" for line in self.warnings[:SHOWN_WARNINGS]]
        if len(self.warnings) > SHOWN_WARNINGS:
            shown.append(f"warning: and {len(self.warnings) - SHOWN_WARNINGS} more line(s) left out")
        return "\n".join([first, *shown])


def _silent(_line: str) -> None:
    pass


class Environments:
    """Environment images for one run (thread-safe; one build per key at a time in this process)."""

    def __init__(self, sandbox: SandboxConfig, environment: EnvironmentConfig) -> None:
        self.sandbox, self.environment = sandbox, environment
        self._known: dict[tuple[str, str, str | None, str | None], Prepared | EnvironmentBuildError] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def prepare(
        self, repo: Path, commit: str, *, image: str | None = None, setup: str | None = None, say: Say = _silent
    ) -> Prepared:
        """The image for `repo` at `commit` (building it when missing). Within this run a second call
        reads as cached, and a build that failed fails again at once (every task on a broken
        repository gets the same error without a second resolution and build)."""
        memo = (str(repo), commit, image, setup)
        with self._lock(repr(memo)):
            known = self._known.get(memo)
            if isinstance(known, EnvironmentBuildError):
                raise known
            if known is not None:
                return replace(known, built=False, seconds=0.0)
            try:
                prepared = self._prepare(repo, commit, image, setup, say)
            except EnvironmentBuildError as exc:
                self._known[memo] = exc
                raise
            self._known[memo] = prepared
            return prepared

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _prepare(self, repo: Path, commit: str, image: str | None, setup: str | None, say: Say) -> Prepared:
        started = time.monotonic()
        client = docker_client()
        try:
            base = self._base(client, image, say) if image else self.sandbox.image
            explicit = image is not None or self.sandbox.image != DEFAULT_TAG
            needs = detect_needs(repo, commit, self.environment.extras) if self.environment.detect else Needs()
            setup = setup or self.environment.setup or needs.setup
            if setup and not self.environment.network:
                needs = needs.with_setup_requirements(repo, commit, setup)
            if explicit and not setup:
                return Prepared(image=base)  # an explicit image is used as it is
            if needs.empty and not setup:
                return Prepared(image=base, sources=needs.sources, warnings=needs.warnings)
            key = self._key(client, base, needs, setup)
            tag = f"agent-env-{_slug(repo.name)}:{key[:16]}"
            labels = {f"{ENVIRONMENT_LABEL}.key": key, f"{ENVIRONMENT_LABEL}.repo": str(repo.resolve())}
            prepared = Prepared(image=tag, key=key, sources=needs.sources, setup=setup, warnings=needs.warnings)
            if image_present(client, tag):
                return prepared
            with self._lock(key):
                if not image_present(client, tag):
                    build_environment(
                        client,
                        tag=tag,
                        base=base,
                        needs=needs,
                        setup=setup,
                        repo=repo,
                        commit=commit,
                        workdir=self.sandbox.workdir,
                        config=self.environment,
                        labels={**labels, f"{ENVIRONMENT_LABEL}.base": base},
                        say=say,
                    )
                    seconds = round(time.monotonic() - started, 1)
                    return replace(prepared, built=True, seconds=seconds)
            return prepared
        finally:
            client.close()

    def _base(self, client: Any, image: str, say: Say) -> str:
        """The task's own image with the sandbox's tools (git, pytest, the `agent` user) layered on."""
        try:
            base_id = client.images.get(image).id
        except Exception as exc:  # ImageNotFound and engine errors alike: one line
            raise EnvironmentBuildError(
                f"the task's image {image} is not here ({' '.join(str(exc).split())[:120]}): "
                "pull or load it first (`docker pull`, `docker load`)"
            ) from None
        tag = f"agent-task-base:{hashlib.sha256(base_id.encode()).hexdigest()[:16]}"
        if not image_present(client, tag):
            say(f"layering the sandbox tools on the task's image {image}")
            try:
                build_image(image, tag, network="none", on_log=lambda line: None)
            except SandboxError as exc:
                raise EnvironmentBuildError(f"{exc}\nthe task's image needs python3 (and git, or network)") from None
        return tag

    def _key(self, client: Any, base: str, needs: Needs, setup: str | None) -> str:
        source = {
            "version": KEY_VERSION,
            "base": client.images.get(base).id,
            "setup": setup,
            "needs": {**asdict(needs), "sources": None},
            "network": self.environment.network,
            "find_links": self.environment.find_links,
            "index_url": self.environment.index_url,
            "workdir": self.sandbox.workdir,
        }
        return hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.")[:40] or "repo"
