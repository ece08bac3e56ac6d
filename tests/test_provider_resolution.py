"""Which provider, wire name, efforts and prices a model name resolves to."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.core.config import AgentConfig
from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError
from agent.providers import build_model, resolve_model
from agent.providers.anthropic_model import AnthropicModel
from agent.providers.openai_model import OpenAIModel


def base_url(name: str, config: AgentConfig, env: dict[str, str]) -> str:
    model = build_model(name, config, env)
    assert isinstance(model, AnthropicModel | OpenAIModel)
    return model.base_url


@pytest.mark.parametrize(
    ("name", "provider", "wire_name", "price_provider_id"),
    [
        ("claude-opus-4-7", "anthropic", "claude-opus-4-7", "anthropic"),
        ("claude-haiku-4-5", "anthropic", "claude-haiku-4-5", "anthropic"),
        ("gpt-5", "openai", "gpt-5", "openai"),
        ("o3-mini", "openai", "o3-mini", "openai"),
        ("o1", "openai", "o1", "openai"),
        ("o5-preview", "openai", "o5-preview", "openai"),
        ("deepseek-v4-pro", "deepseek", "deepseek-v4-pro", "deepseek"),
        ("openai:foo", "openai", "foo", "openai"),
        ("anthropic:gpt-5", "anthropic", "gpt-5", "anthropic"),
    ],
)
def test_builtin_resolution_table(name, provider, wire_name, price_provider_id, make_config):
    resolved = resolve_model(name, make_config())

    assert (resolved.name, resolved.provider, resolved.wire_name) == (name, provider, wire_name)
    assert resolved.price_provider_id == price_provider_id
    assert resolved.price is None


def test_a_custom_provider_from_config(make_config):
    config = make_config(
        **{
            "providers.ollama": {"kind": "openai", "base_url": "http://127.0.0.1:11434/v1", "efforts": ["low", "high"]},
            "models.qwen3-coder": {"provider": "ollama", "price": {"input": 0, "output": 0}},
        }
    )

    resolved = resolve_model("qwen3-coder", config)

    assert (resolved.provider, resolved.wire_name, resolved.price_provider_id) == ("ollama", "qwen3-coder", "ollama")
    assert resolved.provider_config.base_url == "http://127.0.0.1:11434/v1"
    assert resolved.price is not None and resolved.price.input == Decimal(0)
    assert resolved.effort_for(EffortLevel.MEDIUM) == (EffortLevel.LOW, "low")
    assert resolved.effort_for(EffortLevel.MAX) == (EffortLevel.HIGH, "high")
    assert base_url("qwen3-coder", config, {}) == "http://127.0.0.1:11434/v1"


def test_a_custom_provider_with_its_own_key_and_url_vars(make_config):
    config = make_config(
        **{
            "providers.corp": {
                "kind": "anthropic",
                "api_key_env": "CORP_KEY",
                "base_url_env": "CORP_URL",
                "base_url": "https://llm.corp",
            }
        }
    )

    assert isinstance(build_model("corp:claude-x", config, {"CORP_KEY": "k"}), AnthropicModel)
    assert base_url("corp:claude-x", config, {"CORP_KEY": "k"}) == "https://llm.corp"
    assert base_url("corp:claude-x", config, {"CORP_KEY": "k", "CORP_URL": "http://x"}) == "http://x"
    with pytest.raises(ConfigError, match=r"^CORP_KEY is not set: export it \(or point CORP_URL at"):
        build_model("corp:claude-x", config, {})


def test_a_models_entry_wins_over_a_routing_prefix(make_config):
    config = make_config(**{"providers.local": {"kind": "openai"}, "models.gpt-local": {"provider": "local"}})

    assert resolve_model("gpt-local", config).provider == "local"


def test_the_longest_routing_prefix_wins(make_config):
    config = make_config(**{"routing.claude-local-": "openai"})

    assert resolve_model("claude-local-7b", config).provider == "openai"
    assert resolve_model("claude-opus-4-7", config).provider == "anthropic"


def test_the_sdk_default_base_url_is_used_when_nothing_is_set(make_config):
    config = make_config()

    assert base_url("gpt-5", config, {"OPENAI_API_KEY": "k"}) == "https://api.openai.com/v1"
    assert base_url("claude-opus-4-7", config, {"ANTHROPIC_API_KEY": "k"}) == "https://api.anthropic.com"
    assert base_url("deepseek-v4-pro", config, {"DEEPSEEK_API_KEY": "k"}) == "https://api.deepseek.com"


def test_an_unknown_model_is_a_config_error_saying_what_to_do(make_config):
    with pytest.raises(ConfigError) as caught:
        resolve_model("llama-3", make_config())

    assert (
        str(caught.value)
        == 'unknown model llama-3: use provider:model, or add [models."llama-3"] provider=... to agent.toml'
    )


def test_an_unknown_explicit_provider_lists_the_known_ones(make_config):
    with pytest.raises(ConfigError) as caught:
        resolve_model("mistral:large", make_config())

    assert str(caught.value) == (
        "unknown provider 'mistral' in model 'mistral:large': use one of anthropic, deepseek, gemini, openai, sim "
        "or add [providers.mistral]"
    )


@pytest.mark.parametrize(
    ("asked", "supported", "used"),
    [
        ("medium", ["low", "high"], "low"),
        ("xhigh", ["low", "high"], "high"),
        ("max", ["low", "high"], "high"),
        ("low", ["high", "max"], "high"),
        ("xhigh", ["high", "max"], "high"),
        ("high", ["low", "max"], "low"),
        ("xhigh", ["low", "max"], "max"),
    ],
)
def test_nearest_effort_ties_go_down(asked, supported, used, make_config):
    config = make_config(**{"models.m": {"provider": "openai", "efforts": supported}})

    assert resolve_model("m", config).effort_for(EffortLevel(asked)) == (EffortLevel(used), used)
