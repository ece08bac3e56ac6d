"""Prices from genai-prices, user overrides, unpriced models, and the budget's worst case."""

from decimal import Decimal

import genai_prices
import pytest

from agent.core.config import Price
from agent.core.errors import BudgetExhausted
from agent.core.messages import Usage
from agent.engine.budget import Budget
from agent.providers.pricing import cost, format_usd, package_source, quote

USAGE = Usage(input_tokens=12_000, cache_read_tokens=8_000, cache_write_tokens=2_000, output_tokens=900)


@pytest.mark.parametrize(("model", "provider"), [("claude-opus-4-7", "anthropic"), ("deepseek-v4-pro", "deepseek")])
def test_cost_equals_genai_prices_own_calculation(model, provider):
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=12_000, cache_read_tokens=8_000, cache_write_tokens=2_000, output_tokens=900),
        model_ref=model,
        provider_id=provider,
    ).total_price
    price = quote(model, provider)
    assert price is not None
    assert price.source == package_source()
    assert cost(USAGE, price) == expected


def test_known_opus_price_per_token_kind():
    # 2,000 uncached x $5 + 8,000 read x $0.50 + 2,000 written x $6.25 + 900 out x $25, per 1M tokens
    assert cost(USAGE, quote("claude-opus-4-7", "anthropic")) == Decimal("0.049")


def test_unknown_model_is_unpriced_not_zero():
    assert quote("no-such-model-anywhere-1") is None
    assert cost(USAGE, None) is None
    assert format_usd(None) == "unpriced"


def test_override_wins_and_is_recorded_as_such():
    price = quote("claude-opus-4-7", "anthropic", Price(input=Decimal(1), output=Decimal(2), cache_read=Decimal("0.1")))
    assert price is not None and price.source == "override"
    # 2,000 x 1 + 8,000 x 0.1 + 2,000 written at the input rate (no cache_write price) x 1 + 900 x 2
    assert cost(USAGE, price) == Decimal("0.0066")


def test_budget_lowers_max_tokens_to_fit_then_stops():
    price = quote("m", override=Price(input=Decimal(1), output=Decimal(10)))
    budget = Budget(Decimal("0.02"))
    # room: 0.02 x 1M = 20,000 micro-$; prompt 5,000 x 1 = 5,000; 15,000 / 10 = 1,500 tokens
    assert budget.allow(5_000, 8_000, price) == 1_500
    assert budget.allow(5_000, 1_000, price) == 1_000
    budget.charge(Decimal("0.0190"))
    with pytest.raises(BudgetExhausted):
        budget.allow(5_000, 8_000, price)


def test_budget_uses_the_dearer_cache_write_rate_for_the_prompt():
    price = quote("m", override=Price(input=Decimal(1), output=Decimal(1), cache_write=Decimal(2)))
    assert Budget(Decimal("0.01")).allow(4_000, 100_000, price) == 2_000


def test_child_budget_is_capped_by_its_parent():
    parent = Budget(Decimal("1.00"))
    child = Budget(Decimal("5.00"), parent=parent)
    child.charge(Decimal("0.25"))
    assert (child.left(), parent.left(), parent.spent) == (Decimal("0.75"), Decimal("0.75"), Decimal("0.25"))


def test_no_cap_or_no_price_leaves_max_tokens_alone():
    assert Budget(None).allow(10**9, 4096, quote("claude-opus-4-7", "anthropic")) == 4096
    assert Budget(Decimal("0.01")).allow(10**9, 4096, None) == 4096
