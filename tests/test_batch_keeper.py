"""The batch keeper's record of each try's calls, and the lost tries' calls billed in a real ledger."""

from __future__ import annotations

from decimal import Decimal

from agent.bench.batch_keeper import BatchKeeper, bill_lost_calls
from agent.core.config import ReviewConfig
from agent.providers.pricing import PriceQuote
from agent.reporting.costs import issue_summaries, run_costs
from tests.billing_helpers import ledger_with_issue

PRICE = PriceQuote(model="m", input=Decimal(3), output=Decimal(15), source="test")
WORST = (1000 * Decimal(3) + 100 * Decimal(15)) / 1_000_000  # 1000 prompt tokens, 100 out


def _keeper_with_a_lost_try() -> BatchKeeper:
    """Try `a` of job `j` settled one call and was lost with a second in flight; try `b` came back."""
    keeper = BatchKeeper(Decimal(1), Decimal(0))
    assert keeper.allow_for("j#a", None, 1000, 100, PRICE) == (100, "", None, None)
    keeper.settle("j#a", Decimal("0.002"))
    keeper.allow_for("j#a", None, 1000, 100, PRICE)  # in flight when its worker died
    keeper.allow_for("j#b", None, 1000, 100, PRICE)
    keeper.settle("j#b", Decimal("0.001"))
    return keeper


def test_the_lost_try_is_handed_over_once_and_its_call_in_flight_stays_charged() -> None:
    keeper = _keeper_with_a_lost_try()
    assert keeper.left() == Decimal(1) - Decimal("0.003") - WORST  # the call in flight still reserved
    lost = keeper.lost_calls("j", "b")
    assert [(call.model, call.settled, call.cost_usd, call.reserved_usd) for call in lost] == [
        ("m", True, Decimal("0.002"), WORST),
        ("m", False, None, WORST),
    ]
    assert keeper.left() == Decimal(1) - Decimal("0.003") - WORST  # now spent, no longer a reservation
    assert (keeper.budget.spent, keeper.budget.reserved("j#a")) == (Decimal("0.003") + WORST, Decimal(0))
    assert keeper.lost_calls("j", "b") == []  # forgotten: billed once


def test_a_job_lost_every_time_hands_over_every_try() -> None:
    keeper = _keeper_with_a_lost_try()
    assert len(keeper.lost_calls("j", None)) == 3


def test_lost_calls_are_billed_on_their_issue_and_counted_in_the_reports(tmp_path) -> None:
    ledger, run_id, issue_id = ledger_with_issue(tmp_path, ladder="m@low")
    bill_lost_calls(ledger, issue_id, _keeper_with_a_lost_try().lost_calls("j", "b"))
    rows = ledger.issue_calls(issue_id)
    assert [(row.purpose, row.status, row.cost_basis, row.spend_usd) for row in rows] == [
        ("lost", "ok", "usage", Decimal("0.002")),
        ("lost", "unsettled", "worst_case", WORST),
    ]
    assert ledger.spent(run_id) == ledger.spent(run_id, issue_id) == Decimal("0.002") + WORST
    _, summary = run_costs(ledger, run_id, ReviewConfig())
    assert (summary.calls, summary.lost_calls, summary.unsettled_calls) == (2, 2, 1)
    assert summary.api_cost_usd == summary.lost_cost_usd == Decimal("0.002") + WORST
    assert issue_summaries(ledger, run_id, ReviewConfig())[issue_id].lost_cost_usd == summary.lost_cost_usd
