"""Where the model's commands run: a copy of the repository at the base commit.

`make_sandbox` picks the implementation named by `SandboxConfig.kind` from `SANDBOXES`:
`docker` (isolated, the default) or `local` (NOT isolated, for machines without Docker; it
always warns). Both satisfy `agent.core.protocols.Sandbox`.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

from agent.core.config import SandboxConfig
from agent.core.errors import ConfigError
from agent.core.protocols import Sandbox

SANDBOXES: dict[str, str] = {
    "docker": "sandboxes.docker_sandbox.DockerSandbox",
    "local": "sandboxes.local_sandbox.LocalSandbox",
}
"""Sandbox kinds by name, imported only when used (so `--sandbox local` never imports the Docker SDK)."""

NOT_ISOLATED = "LocalSandbox is NOT isolated: commands run on this machine as you"


class NotIsolatedWarning(UserWarning):
    """A sandbox that runs commands on the host was chosen."""


def sandbox_class(kind: str) -> Any:
    """The class of sandbox `kind`, or a ConfigError listing the kinds there are."""
    if kind not in SANDBOXES:
        raise ConfigError(f"unknown sandbox kind {kind!r}: use one of {', '.join(SANDBOXES)}")
    module, _, name = SANDBOXES[kind].rpartition(".")
    return getattr(importlib.import_module(module), name)


def make_sandbox(config: SandboxConfig, repo: Path, base_commit: str, run_id: str) -> Sandbox:
    """A new sandbox of kind `config.kind` with `repo` at `base_commit`; warns loudly for `local`."""
    cls = sandbox_class(config.kind)
    if config.kind == "local":
        warnings.warn(NOT_ISOLATED, NotIsolatedWarning, stacklevel=2)
    sandbox: Sandbox = cls(config, repo, base_commit, run_id)
    return sandbox
