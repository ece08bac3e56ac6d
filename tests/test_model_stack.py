"""The model stack in-process: a metered model records a pending row before each request and settles
it (billed, or failed at $0); a fallback model switches routes on routable provider failures and
records the switch once. Real SQLite ledger, models on the public `Model` protocol."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agent.core.config import Price
from agent.core.effort import EffortLevel, Rung
from agent.core.errors import BudgetExhausted, ProviderError
from agent.core.messages import Message, ModelTurn, Usage
from agent.core.model_request import ModelRequest, RequestModel
from agent.core.protocols import TextSink
from agent.engine.budget import Budget
from agent.engine.calling.fallback import FallbackModel, FellBack
from agent.engine.calling.metered import MeteredModel, request_tokens
from agent.engine.calling.meters import AttemptMeter, KeptCalls
from agent.engine.calling.router import Route, Router
from agent.ledger import Ledger
from agent.ledger.writer import LedgerWriter
from agent.providers.errors import ProviderAuthError
from agent.providers.pricing import quote

PRICE = quote("m", override=Price(input=Decimal(1), output=Decimal(10)))


class Answers(RequestModel):
    """A model that answers each request with 1,000 input and 100 output tokens, or raises `failure`."""

    provider = "test"

    def __init__(self, name: str, failure: ProviderError | None = None) -> None:
        self.name = name
        self.failure = failure
        self.requests = 0

    def effort_for(self, effort: EffortLevel) -> tuple[EffortLevel, str]:
        return effort, effort.value

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        self.requests += 1
        if self.failure is not None:
            raise self.failure
        return ModelTurn(text=f"{self.name} answered", usage=Usage(input_tokens=1000, output_tokens=100))


@pytest.fixture
def attempt(tmp_path: Path) -> tuple[Ledger, AttemptMeter, list[tuple[str, dict]]]:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = ledger.create_run("fix", {}, Decimal(0))
    issue = {"task_type": "bug_fix", "task_type_reason": "r", "decided_by": "rules", "repo": "/r"}
    issue |= {"base_commit": "abc", "test_cmd": "pytest", "ladder": "a@high"}
    issue_id = ledger.add_issue(run_id, key="k", title="t", **issue)
    attempt = {"rung_index": 0, "model": "a", "provider": "test", "effort_asked": "high", "effort_sent": "high"}
    attempt_id = ledger.start_attempt(issue_id, run_id, max_turns=5, **attempt)
    events: list[tuple[str, dict]] = []
    meter = AttemptMeter(attempt_id, LedgerWriter(ledger).write, lambda kind, data: events.append((kind, data)))
    meter.turn = 1
    return ledger, meter, events


def ask(model: MeteredModel | FallbackModel, max_tokens: int = 1000) -> ModelTurn:
    return model.complete(
        [Message.user("fix it")], system="s", tools=[], effort=EffortLevel.HIGH, max_tokens=max_tokens
    )


def test_a_metered_call_is_recorded_then_settled_and_billed(attempt) -> None:
    ledger, meter, events = attempt
    budget = Budget(Decimal("1"))
    ask(MeteredModel(Answers("a"), PRICE, budget, meter))
    [call] = ledger.calls(meter.attempt_id)
    assert (call.status, call.turn, call.model, call.effort_sent, call.max_tokens) == ("ok", 1, "a", "high", 1000)
    assert call.cost_usd == Decimal("0.002") == budget.spent  # 1,000 in at $1/M + 100 out at $10/M
    prompt = request_tokens(ModelRequest([Message.user("fix it")], "s", [], EffortLevel.HIGH, 1000))  # 2 chars a token
    assert prompt == 37
    assert call.reserved_usd == (prompt * 1 + 1000 * 10) / Decimal(1_000_000)
    assert [kind for kind, _ in events] == ["model_call"]


def test_a_failed_call_is_settled_as_failed_at_no_cost_and_raised(attempt) -> None:
    ledger, meter, events = attempt
    budget = Budget(Decimal("1"))
    with pytest.raises(ProviderError):
        ask(MeteredModel(Answers("a", ProviderError("overloaded", status=529, retries=2)), PRICE, budget, meter))
    [call] = ledger.calls(meter.attempt_id)
    assert (call.status, call.error_kind, call.retries, call.cost_usd) == ("failed", "status", 2, Decimal(0))
    assert budget.spent == 0
    assert [kind for kind, _ in events] == ["model_call_failed"]


def test_a_call_the_budget_cannot_pay_is_never_sent(attempt) -> None:
    ledger, meter, _ = attempt
    model = Answers("a")
    with pytest.raises(BudgetExhausted):
        ask(MeteredModel(model, PRICE, Budget(Decimal("0.000001")), meter))
    assert (model.requests, ledger.calls(meter.attempt_id)) == (0, [])


def test_kept_calls_hold_the_classifier_records_until_there_is_an_issue() -> None:
    kept = KeptCalls()
    ask(MeteredModel(Answers("a"), PRICE, None, kept))
    assert [(call.status, call.cost_usd) for call in kept.calls] == [("ok", Decimal("0.002"))]


def routes(meter: AttemptMeter, first: Answers, second: Answers) -> FallbackModel:
    def route(model: Answers) -> Route:
        return Route(MeteredModel(model, PRICE, None, meter), EffortLevel.HIGH, "high", PRICE)

    router = Router([Rung.parse(f"{second.name}@high")], lambda rung: route(second), lambda text: None)
    return FallbackModel(route(first), router, meter)


def test_a_routable_failure_switches_to_the_fallback_and_records_it_once(attempt) -> None:
    ledger, meter, events = attempt
    model = routes(meter, Answers("a", ProviderError("overloaded", status=529, retries=2)), Answers("b"))
    with pytest.raises(FellBack):
        ask(model)
    assert ask(model).text == "b answered"
    [fallback] = ledger.fallbacks(meter.attempt_id)
    assert (fallback.from_model, fallback.to_model, fallback.reason) == ("a", "b", "overloaded")
    assert model.taken == [{"turn": 1, "from": "a@high", "to": "b@high", "reason": "overloaded"}]
    assert [call.status for call in ledger.calls(meter.attempt_id)] == ["failed", "ok"]
    assert [kind for kind, _ in events] == ["model_call_failed", "fallback", "model_call"]


def test_a_rejected_key_is_not_routed(attempt) -> None:
    ledger, meter, _ = attempt
    model = routes(meter, Answers("a", ProviderAuthError("bad key", status=401)), Answers("b"))
    with pytest.raises(ProviderAuthError):
        ask(model)
    assert (model.name, ledger.fallbacks(meter.attempt_id)) == ("a", [])
