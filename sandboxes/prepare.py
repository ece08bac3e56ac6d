"""Make sure the sandbox image exists before a run, building it once when it is missing.

The image is built on the registry's Python base when that can be pulled; where the registry is
unreachable it falls back to a Debian base made with debootstrap (`offline-base.sh`, needs root).
When neither can work here, the error names the exact command to run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import docker.errors

from agent.core.config import SandboxConfig
from agent.core.errors import SandboxError
from sandboxes.engine import docker_client, image_present
from sandboxes.images import DEFAULT_BASE, DEFAULT_TAG, build_image

OFFLINE_BASE = "agent-offline-base:bookworm"

Say = Callable[[str], None]


def offline_script() -> str:
    """Where the installed `offline-base.sh` is."""
    return str(resources.files("sandboxes").joinpath("offline-base.sh"))


def is_root() -> bool:
    return os.geteuid() == 0


def offline_command(tag: str = DEFAULT_TAG) -> str:
    """The exact commands that build the offline base and the sandbox image on it."""
    sudo = "" if is_root() else "sudo "
    return f"{sudo}bash {offline_script()} {OFFLINE_BASE} && agent sandbox build --base {OFFLINE_BASE} --tag {tag}"


def ensure_image(config: SandboxConfig, say: Say) -> None:
    """Build the default sandbox image when it is missing; other images must exist already."""
    if config.kind != "docker":
        return
    client = docker_client()
    try:
        present = image_present(client, config.image)
    finally:
        client.close()
    if present:
        return
    if config.image != DEFAULT_TAG:
        raise SandboxError(f"image {config.image} not found: build it, or drop --image to use {DEFAULT_TAG}")
    say(f"sandbox image {config.image} not found: building it once (a few minutes)")
    build_sandbox_image(config.image, None, say)


def build_sandbox_image(tag: str, base: str | None, say: Say) -> str:
    """Build the sandbox image `tag` on `base` (None: the best base this machine can get); its id."""
    started = time.monotonic()
    client = docker_client()
    try:
        chosen = base or choose_base(client, say)
    finally:
        client.close()
    say(f"building {tag} on {chosen} ...")
    try:
        image_id = build_image(chosen, tag, on_log=_build_progress(say))
    except SandboxError as exc:
        if base is None or base == OFFLINE_BASE:
            raise
        raise SandboxError(f"{exc}\nno registry access? build offline instead: `{offline_command(tag)}`") from None
    say(f"built {tag} on {chosen} in {time.monotonic() - started:.0f} s")
    return image_id


def choose_base(client: Any, say: Say) -> str:
    """The registry base if present or pullable, else the offline Debian base (built if needed)."""
    if image_present(client, DEFAULT_BASE):
        return DEFAULT_BASE
    name, _, tag = DEFAULT_BASE.partition(":")
    say(f"pulling {DEFAULT_BASE} ...")
    try:
        client.images.pull(name, tag=tag or "latest")
        return DEFAULT_BASE
    except docker.errors.APIError:
        say(f"cannot pull {DEFAULT_BASE} (no registry access): using the offline Debian base {OFFLINE_BASE}")
    if not image_present(client, OFFLINE_BASE):
        build_offline_base(say)
    return OFFLINE_BASE


def build_offline_base(say: Say) -> None:
    """Run `offline-base.sh` (debootstrap); needs root and debootstrap, else says what to run."""
    missing = [need for need, ok in (("root", is_root()), ("debootstrap", shutil.which("debootstrap"))) if not ok]
    if missing:
        raise SandboxError(
            f"no sandbox image, no registry access, and the offline build needs {' and '.join(missing)}: "
            f"run `{offline_command()}`"
        )
    say("building the offline Debian base with debootstrap (a few minutes) ...")
    process = subprocess.Popen(
        ["bash", offline_script(), OFFLINE_BASE], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    tail: list[str] = []
    for line in process.stdout:
        tail = [*tail[-9:], line.rstrip()]
        if line.startswith("offline-base:"):
            say(line.rstrip())
    if process.wait() != 0:
        detail = " | ".join(tail[-3:])
        raise SandboxError(f"building the offline base failed ({detail}): run `{offline_command()}` to see why")


def _build_progress(say: Say) -> Callable[[str], None]:
    """Show the Dockerfile's steps (`Step 2/6 : RUN ...`), not every line they print."""

    def show(line: str) -> None:
        if line.startswith("Step "):
            say(line.strip()[:72])

    return show
