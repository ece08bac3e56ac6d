"""Connection settings shared by the provider adapters: base URL, API key, attempt counting."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from agent.core.errors import ConfigError
from agent.providers.resolve import ResolvedModel

NO_KEY = "not-needed"
"""Sent when a provider needs no key (api_key_env unset): the SDKs insist on one."""


def base_url_for(model: ResolvedModel, env: Mapping[str, str], sdk_default: str) -> str:
    """The base URL env var when set, else the configured base URL, else the SDK's default."""
    config = model.provider_config
    if config.base_url_env and env.get(config.base_url_env):
        return env[config.base_url_env]
    return config.base_url or sdk_default


def api_key_for(model: ResolvedModel, env: Mapping[str, str]) -> str:
    """The provider's API key from `env` (never from the process environment)."""
    config = model.provider_config
    if config.api_key_env is None:
        return NO_KEY
    key = env.get(config.api_key_env, "").strip()
    if not key:
        also = (
            f" (or point {config.base_url_env} at a compatible endpoint and set a key for it)"
            if config.base_url_env
            else ""
        )
        raise ConfigError(f"{config.api_key_env} is not set: export it{also}")
    return key


class AttemptCounter:
    """Counts HTTP attempts per thread through an httpx event hook, so retries can be reported."""

    def __init__(self) -> None:
        self._local = threading.local()

    def hooks(self) -> dict[str, list[Any]]:
        return {"request": [self._on_request]}

    def _on_request(self, request: Any) -> None:
        self._local.count = self.count + 1

    @property
    def count(self) -> int:
        return int(getattr(self._local, "count", 0))

    def reset(self) -> None:
        self._local.count = 0

    @property
    def retries(self) -> int:
        return max(0, self.count - 1)
