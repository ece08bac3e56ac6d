"""Model providers: resolve a model name and build the adapter that speaks its wire format."""

from __future__ import annotations

from collections.abc import Mapping

from agent.config import AgentConfig
from agent.protocols import Model
from agent.providers.resolve import ResolvedModel, resolve_model

SCRIPTED_PREFIX = "scripted:"


def build_model(name: str, config: AgentConfig, env: Mapping[str, str]) -> Model:
    """The model for `name`: `scripted:...` for the in-process scripted model, else a provider's.

    API keys and base-URL overrides are read from `env` only.
    """
    if name.startswith(SCRIPTED_PREFIX):
        from agent.scripted_model import ScriptedModel

        model: Model = ScriptedModel.from_spec(name, config)
        return model
    resolved = resolve_model(name, config)
    if resolved.provider_config.kind == "anthropic":
        from agent.providers.anthropic_model import AnthropicModel

        return AnthropicModel(resolved, env)
    from agent.providers.openai_model import OpenAIModel

    return OpenAIModel(resolved, env)


__all__ = ["ResolvedModel", "build_model", "resolve_model"]
