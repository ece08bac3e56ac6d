"""Where the model's commands run: a copy of the repository at the base commit.

`make_sandbox` picks the implementation named by `SandboxConfig.kind` from `SANDBOXES`:
`docker` (isolated, the default) or `local` (NOT isolated, for machines without Docker; it
always warns). Both satisfy `agent.protocols.Sandbox`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from agent.config import SandboxConfig
from agent.errors import ConfigError
from agent.protocols import Sandbox
from sandboxes.docker_sandbox import DockerSandbox
from sandboxes.local_sandbox import NOT_ISOLATED, LocalSandbox

SANDBOXES: dict[str, type[DockerSandbox] | type[LocalSandbox]] = {
    "docker": DockerSandbox,
    "local": LocalSandbox,
}


class NotIsolatedWarning(UserWarning):
    """A sandbox that runs commands on the host was chosen."""


def make_sandbox(config: SandboxConfig, repo: Path, base_commit: str, run_id: str) -> Sandbox:
    """A new sandbox of kind `config.kind` with `repo` at `base_commit`; warns loudly for `local`."""
    if config.kind not in SANDBOXES:
        raise ConfigError(f"unknown sandbox kind {config.kind!r}: use one of {', '.join(SANDBOXES)}")
    if config.kind == "local":
        warnings.warn(NOT_ISOLATED, NotIsolatedWarning, stacklevel=2)
    return SANDBOXES[config.kind](config, repo, base_commit, run_id)
