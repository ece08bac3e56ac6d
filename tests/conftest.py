"""Shared fixtures: the fake provider on 127.0.0.1 and configurations that point at it; the in-process CLI's
import, before any test module."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.config import AgentConfig, load_config
from agent.fake_provider import FakeProvider
from agent.simulate.script import Script
from tests.cli_helpers import import_cli
from tests.repo_helpers import ISSUE, make_repo

MakeFake = Callable[..., FakeProvider]
MakeConfig = Callable[..., AgentConfig]


def pytest_configure(config: pytest.Config) -> None:
    """The CLI imported before any test module, as a fresh `python -m agent` would import it."""
    import_cli()


@pytest.fixture
def make_fake() -> Iterator[MakeFake]:
    """Start a fake provider from a script (a Script or its dict form); stopped after the test."""
    started: list[FakeProvider] = []

    def make(script: Script | dict[str, Any] | None = None, **kwargs: Any) -> FakeProvider:
        if isinstance(script, dict):
            script = Script.model_validate(script)
        fake = FakeProvider(script, **kwargs).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The calculator repository with the `add` bug, committed."""
    return make_repo(tmp_path / "calc")


@pytest.fixture
def issue_file(tmp_path: Path) -> Path:
    """The issue that reports the `add` bug, as a file."""
    path = tmp_path / "issue.md"
    path.write_text(ISSUE)
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """A configuration from the shipped defaults plus dotted overrides, isolated from the user's files."""

    def make(**overrides: Any) -> AgentConfig:
        env = {"AGENT_HOME": str(tmp_path / "home"), "AGENT_CONFIG": os.devnull}
        return load_config(overrides={key.replace("__", "."): value for key, value in overrides.items()}, env=env)

    return make


ENV_VARS = {
    "anthropic": ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_KEY"),
    "deepseek": ("DEEPSEEK_BASE_URL", "DEEPSEEK_API_KEY"),
}


def _fake_env(fake: FakeProvider, provider: str = "anthropic", key: str = "test-key") -> dict[str, str]:
    url_var, key_var = ENV_VARS[provider]
    url = fake.anthropic_base_url if provider == "anthropic" else fake.openai_base_url
    return {url_var: url, key_var: key}


@pytest.fixture
def fake_env() -> Callable[..., dict[str, str]]:
    """`fake_env(fake, "openai", key=...)`: the env mapping that points a provider at the fake."""
    return _fake_env


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
