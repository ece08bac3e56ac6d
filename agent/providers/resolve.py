"""Which provider serves a model name, with which wire name, efforts and prices."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from agent.core.config import AgentConfig, ModelConfig, Price, ProviderConfig
from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError

_O_SERIES = re.compile(r"o\d")


class ResolvedModel(BaseModel):
    """A model name resolved against the configuration."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The name as asked (`claude-opus-4-7`, `openai:foo`)."""
    wire_name: str
    """The name sent to the provider."""
    provider: str
    provider_config: ProviderConfig
    efforts: list[EffortLevel]
    effort_map: dict[EffortLevel, str]
    price: Price | None = None
    price_provider_id: str

    def effort_for(self, level: EffortLevel) -> tuple[EffortLevel, str]:
        """The nearest supported level (ties go down) and its wire value."""
        used = nearest_effort(level, self.efforts)
        return used, self.effort_map.get(used, used.value)


def nearest_effort(level: EffortLevel, supported: list[EffortLevel]) -> EffortLevel:
    if not supported or level in supported:
        return level
    return min(supported, key=lambda candidate: (abs(candidate.rank - level.rank), candidate.rank))


def _provider_by_routing(name: str, routing: dict[str, str]) -> str | None:
    matches = [prefix for prefix in routing if name.startswith(prefix)]
    if matches:
        return routing[max(matches, key=len)]
    if _O_SERIES.match(name):
        # o1/o3/o4 are listed; route any later o<digit> model the same way.
        o_series = [provider for prefix, provider in routing.items() if _O_SERIES.fullmatch(prefix)]
        return o_series[0] if o_series else None
    return None


def _unknown(name: str) -> ConfigError:
    return ConfigError(f'unknown model {name}: use provider:model, or add [models."{name}"] provider=... to agent.toml')


def _check_provider(provider: str, config: AgentConfig, where: str) -> None:
    if provider not in config.providers:
        known = ", ".join(sorted(config.providers))
        raise ConfigError(f"unknown provider {provider!r} in {where}: use one of {known} or add [providers.{provider}]")


def resolve_model(name: str, config: AgentConfig) -> ResolvedModel:
    """Resolve `name`: explicit `provider:model`, then [models] entry, then routing prefixes."""
    wire_name = name
    provider: str | None = None
    settings = config.models.get(name)
    prefix, sep, rest = name.partition(":")
    if sep and settings is None:
        _check_provider(prefix, config, f"model {name!r}")
        provider, wire_name = prefix, rest
        settings = config.models.get(rest)
        if not rest:
            raise ConfigError(f"empty model name in {name!r}: write PROVIDER:MODEL, e.g. openai:gpt-5")
    if provider is None and settings is not None and settings.provider:
        _check_provider(settings.provider, config, f'[models."{name}"]')
        provider = settings.provider
    if provider is None:
        provider = _provider_by_routing(name, config.routing)
        if provider is not None:
            _check_provider(provider, config, "[routing]")
    if provider is None:
        raise _unknown(name)
    provider_config = config.providers[provider]
    settings = settings or ModelConfig()
    return ResolvedModel(
        name=name,
        wire_name=wire_name,
        provider=provider,
        provider_config=provider_config,
        efforts=settings.efforts or provider_config.efforts,
        effort_map={**provider_config.effort_map, **(settings.effort_map or {})},
        price=settings.price,
        price_provider_id=provider_config.price_provider or provider,
    )
