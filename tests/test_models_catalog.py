"""`agent models`: the shipped catalog, its prices from genai-prices and what our five efforts send."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args, get_type_hints

import genai_prices
import pytest
from anthropic.types import OutputConfigParam
from openai.types.shared import ReasoningEffort

from agent.providers import resolve_model
from agent.providers.pricing import package_source
from tests.cli_helpers import run_agent

CATALOG = [
    "claude-opus-4-7",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "gpt-5.5",
    "gpt-5.4",
    "gpt-5.4-mini",
    "deepseek-v4-pro",
    "deepseek-v4-flash",
    "gemini-3.1-pro-preview",
    "gemini-3-flash-preview",
]
SAME = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "max"}


def models(home: Path, config: str | None = None) -> dict[str, dict[str, Any]]:
    env = {}
    if config is not None:
        (home / "user.toml").write_text(config)
        env["AGENT_CONFIG"] = str(home / "user.toml")
    done = run_agent(home, "models", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return {row["model"]: row for row in json.loads(done.stdout)}


def per_mtok(model: str, provider: str, part: str, at: time = time(12), above: int = 0) -> str:
    """USD per 1M tokens of one kind, as genai-prices charges 1000 of them on a prompt of `above` tokens."""
    when = datetime.combine(datetime.now(UTC).date(), at, tzinfo=UTC)
    extra = {
        "input": {"input_tokens": above + 1000},
        "output": {"input_tokens": above, "output_tokens": 1000},
        "cache_read": {"input_tokens": above + 1000, "cache_read_tokens": 1000},
    }[part]

    def cost(usage: dict[str, int]) -> Decimal:
        return genai_prices.calc_price(
            genai_prices.Usage(**usage), model_ref=model, provider_id=provider, genai_request_timestamp=when
        ).total_price

    return str((cost(extra) - cost({"input_tokens": above})) * 1000)


def prices(model: str, provider: str, at: time = time(12), above: int = 0) -> dict[str, str]:
    return {
        f"{part}_per_mtok": str(Decimal(per_mtok(model, provider, part, at, above)).normalize())
        for part in ("input", "output", "cache_read")
    }


def normalized(row: dict[str, Any]) -> dict[str, Any]:
    """Decimal strings in one spelling ("2.50" and "2.5" are the same price), tiers and off-peak too."""
    out = dict(row)
    for key in ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok"):
        if out.get(key) is not None:
            out[key] = str(Decimal(out[key]).normalize())
    if "tiers" in out:
        out["tiers"] = [normalized(tier) for tier in out["tiers"]]
    if out.get("off_peak"):
        out["off_peak"] = normalized(out["off_peak"])
    return out


def test_the_shipped_catalog_lists_the_guidance_models_in_order(tmp_path):
    assert list(models(tmp_path))[: len(CATALOG)] == CATALOG


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "claude-opus-4-7",
            {
                "provider": "anthropic",
                **prices("claude-opus-4-7", "anthropic"),
                "tiers": [],
                "off_peak": None,
                "price_note": None,
                "efforts": ["low", "medium", "high", "xhigh", "max"],
                "effort_map": SAME,
            },
        ),
        (
            "gpt-5.4",
            {
                "provider": "openai",
                **prices("gpt-5.4", "openai"),
                # Just over the tier's start, where its price applies to every token of the request.
                "tiers": [{"above_input_tokens": 272000, **prices("gpt-5.4", "openai", above=272001)}],
                "off_peak": None,
                "price_note": None,
                "efforts": ["low", "medium", "high", "xhigh"],
                "effort_map": {**SAME, "max": "xhigh"},
            },
        ),
        (
            "deepseek-v4-pro",
            {
                "provider": "deepseek",
                **prices("deepseek-v4-pro", "deepseek", at=time(1)),  # the peak price is the standard one
                "tiers": [],
                "off_peak": {"hours_utc": "outside 01:00-04:00, 06:00-10:00", **prices("deepseek-v4-pro", "deepseek")},
                "price_note": None,
                "efforts": ["high", "max"],
                "effort_map": {"low": "high", "medium": "high", "high": "high", "xhigh": "high", "max": "max"},
            },
        ),
        (
            "gemini-3-flash-preview",
            {
                "provider": "gemini",
                **prices("gemini-3-flash-preview", "google"),
                "tiers": [],
                "off_peak": None,
                "price_note": None,
                "efforts": ["low", "medium", "high"],
                "effort_map": {**SAME, "xhigh": "high", "max": "high"},
            },
        ),
    ],
)
def test_rows_have_genai_prices_and_the_effort_each_level_sends(tmp_path, model, expected):
    row = normalized(models(tmp_path)[model])
    assert row == {"model": model, "price_source": package_source(), "simulated": None, **expected}


def test_deepseek_peak_and_off_peak_prices_are_the_exact_genai_prices_numbers(tmp_path):
    row = models(tmp_path)["deepseek-v4-pro"]
    assert (row["input_per_mtok"], row["output_per_mtok"], row["cache_read_per_mtok"]) == ("1.32", "3.96", "0.044")
    off_peak = row["off_peak"]
    assert (off_peak["input_per_mtok"], off_peak["output_per_mtok"], off_peak["cache_read_per_mtok"]) == (
        "0.66",
        "1.98",
        "0.022",
    )


def test_unknown_configured_model_is_unpriced_never_zero(tmp_path):
    config = '[models."house-model"]\nprovider = "openai"\n'
    assert models(tmp_path, config)["house-model"] == {
        "model": "house-model",
        "provider": "openai",
        "input_per_mtok": None,
        "output_per_mtok": None,
        "cache_read_per_mtok": None,
        "price_source": None,
        "tiers": [],
        "off_peak": None,
        "price_note": "not in genai-prices: unpriced",
        "efforts": ["low", "medium", "high", "xhigh"],
        "effort_map": {**SAME, "max": "xhigh"},
        "simulated": None,
    }
    (tmp_path / "user.toml").write_text(config)
    text = run_agent(tmp_path, "models", env={"AGENT_CONFIG": str(tmp_path / "user.toml"), "COLUMNS": "200"}).stdout
    line = next(line for line in text.splitlines() if "house-model" in line and "│" in line)
    assert line.count("unpriced") == 3 and "$0" not in line


def test_deepseek_model_without_off_peak_prices_says_so(tmp_path):
    row = models(tmp_path, '[models."deepseek-v3.2"]\n')["deepseek-v3.2"]
    assert (row["off_peak"], row["price_note"]) == (
        None,
        f"deepseek off-peak discount: not in {package_source()}, not applied",
    )


def test_a_price_override_wins_and_says_so(tmp_path):
    row = models(tmp_path, '[models."gpt-5.4-mini"]\nprice = { input = 1.5, output = 6 }\n')["gpt-5.4-mini"]
    assert (row["input_per_mtok"], row["output_per_mtok"], row["cache_read_per_mtok"], row["price_source"]) == (
        "1.5",
        "6",
        None,
        "override",
    )


@pytest.mark.parametrize("model", CATALOG)
def test_every_effort_sent_is_one_the_installed_sdk_accepts(make_config, model):
    resolved = resolve_model(model, make_config())
    sdk_type = get_type_hints(OutputConfigParam)["effort"] if resolved.provider_config.kind == "anthropic" else None
    accepted = get_args(get_args(sdk_type or ReasoningEffort)[0])  # Optional[Literal[...]] -> the literals
    sent = {resolved.effort_for(level)[1] for level in resolved.efforts}
    assert sent <= set(accepted)


def test_gemini_goes_through_its_openai_compatible_endpoint(make_config):
    resolved = resolve_model("gemini-3.1-pro-preview", make_config())
    config = resolved.provider_config
    assert (resolved.provider, config.kind, config.base_url, config.api_key_env, resolved.price_provider_id) == (
        "gemini",
        "openai",
        "https://generativelanguage.googleapis.com/v1beta/openai/",
        "GEMINI_API_KEY",
        "google",
    )
