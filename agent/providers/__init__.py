"""Model providers: resolve a model name and build the adapter that speaks its wire format."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from agent.core.config import AgentConfig
from agent.core.protocols import Model
from agent.providers.resolve import ResolvedModel, resolve_model

SIMULATED: dict[str, str] = {
    "scripted:": "agent.simulate.scripted_model.ScriptedModel",
    "null": "agent.simulate.validation_models.NullModel",
    "oracle": "agent.simulate.validation_models.OracleModel",
}
"""Simulated models, by name (a key ending in `:` is a prefix), registered as dotted class paths and
imported only when used. Each class has `per_task` and `build(name, config, task)`."""


def _simulated_key(name: str) -> str | None:
    for key in SIMULATED:
        if name == key or (key.endswith(":") and name.startswith(key)):
            return key
    return None


def is_simulated(name: str) -> bool:
    """A simulated model: no provider, no key, no price."""
    return _simulated_key(name) is not None


def simulated_class(name: str) -> Any:
    """The class registered for a simulated model name, or None for a provider's model."""
    key = _simulated_key(name)
    if key is None:
        return None
    module, _, attribute = SIMULATED[key].rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def build_model(name: str, config: AgentConfig, env: Mapping[str, str], task: Any = None) -> Model:
    """The model for `name`: a simulated one from the registry, else the adapter of its provider.

    API keys and base-URL overrides are read from `env` only; `task` is for the simulated models
    that work from the task itself (the oracle applies its gold patch).
    """
    simulated = simulated_class(name)
    if simulated is not None:
        model: Model = simulated.build(name, config, task)
        return model
    resolved = resolve_model(name, config)
    if resolved.provider_config.kind == "anthropic":
        from agent.providers.anthropic_model import AnthropicModel

        return AnthropicModel(resolved, env)
    from agent.providers.openai_model import OpenAIModel

    return OpenAIModel(resolved, env)


__all__ = ["SIMULATED", "ResolvedModel", "build_model", "is_simulated", "resolve_model", "simulated_class"]
