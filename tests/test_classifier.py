"""The classifier model over the real Anthropic SDK and the fake provider: every call priced, charged, recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.engine.budget import Budget
from agent.engine.planner import classify
from agent.wiring import model_factory, price_lookup
from tests.billing_helpers import HAIKU, haiku_usd

ISSUE = "add() returns the wrong sum: expected 5, actual -1"


def classify_over_fake(make_fake, fake_env, make_config, answer: str, budget: Budget, **fake_options):
    fake = make_fake({"rules": [{"model": "claude-haiku-*", "turns": [{"text": answer}]}], **fake_options})
    config = make_config(planner__classifier_model=HAIKU)
    decided = classify(ISSUE, [], config.planner, model_factory(config, fake_env(fake)), price_lookup(config), budget)
    return fake, decided


@pytest.mark.parametrize(
    ("answer", "task_type", "decided_by"),
    [("complex_bug", "complex_bug", "model"), ("I would rather not say.", "bug_fix", "rules")],
)
def test_every_classifier_call_is_priced_and_charged_whatever_it_answered(
    make_fake, fake_env, make_config, answer, task_type, decided_by
):
    budget = Budget(Decimal("1"))
    fake, decided = classify_over_fake(make_fake, fake_env, make_config, answer, budget)
    [request] = fake.requests
    assert (decided.task_type, decided.decided_by) == (task_type, decided_by)
    [call] = decided.calls
    expected = haiku_usd(request.usage)
    assert expected > 0
    assert (call.model, call.usage.input_tokens, call.usage.output_tokens) == (
        HAIKU,
        request.usage["input_tokens"],
        request.usage["output_tokens"],
    )
    assert (call.cost_usd, call.error, budget.spent) == (expected, None, expected)
    assert request.body["max_tokens"] == 64
    if decided_by == "rules":
        assert decided.reason.endswith(f"classifier {HAIKU} answered 'I would rather not say.', not a task type")


def test_a_budget_with_no_room_keeps_the_classifier_from_being_asked(make_fake, fake_env, make_config):
    budget = Budget(Decimal(0))
    fake, decided = classify_over_fake(make_fake, fake_env, make_config, "feature", budget)
    assert fake.requests == []
    assert (decided.task_type, decided.decided_by, decided.calls, budget.spent) == ("bug_fix", "rules", [], 0)
    assert f"classifier {HAIKU} not asked: $0.0000 left" in decided.reason


def test_a_failed_classifier_call_is_recorded_with_its_error_and_no_tokens(make_fake, fake_env, make_config):
    budget = Budget(None)
    fault = {"status": 400, "count": 1, "message": "bad classifier request"}
    fake, decided = classify_over_fake(make_fake, fake_env, make_config, "feature", budget, faults=[fault])
    assert [request.status for request in fake.requests] == [400]
    assert (decided.task_type, decided.decided_by) == ("bug_fix", "rules")
    [call] = decided.calls
    assert (call.usage.input_tokens, call.usage.output_tokens, call.cost_usd) == (0, 0, Decimal(0))
    assert "bad classifier request" in (call.error or "")
