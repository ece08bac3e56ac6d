"""Review billing and classifier costs, computed from a real SQLite ledger written row by row."""

from __future__ import annotations

from decimal import Decimal

from agent.core.config import ReviewConfig
from agent.core.messages import Usage
from agent.ledger import CallRecord, Ledger
from agent.reporting.costs import issue_summaries, run_costs
from agent.reporting.report import calls_note, summary_row
from agent.reporting.results import fix_result
from tests.billing_helpers import ledger_with_issue

PATCH = (
    "diff --git a/calc/ops.py b/calc/ops.py\n"
    "--- a/calc/ops.py\n"
    "+++ b/calc/ops.py\n"
    "@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n"
    "-    return a - b\n"
    "+    return a + b\n"
)


def _ledger(tmp_path) -> tuple[Ledger, str, int]:
    return ledger_with_issue(tmp_path)


def _attempt(ledger: Ledger, run_id: str, issue_id: int, index: int) -> int:
    return ledger.start_attempt(
        issue_id, run_id, rung_index=index, model="m", provider="p", effort_asked="low", effort_sent="low", max_turns=5
    )


def _call(cost: str, input_tokens: int = 100, output_tokens: int = 10) -> CallRecord:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return CallRecord(
        turn=1, model="m", effort_sent="low", usage=usage, cost_usd=Decimal(cost), price_source="t", duration_s=0
    )


def test_only_attempts_with_a_change_or_a_measured_review_bill_review_time(tmp_path):
    ledger, run_id, issue_id = _ledger(tmp_path)
    changed, empty, errored, reviewed, _running = (_attempt(ledger, run_id, issue_id, n) for n in range(5))
    ledger.finish_attempt(changed, "finished", False, patch=PATCH)
    ledger.finish_attempt(empty, "finished", False, patch="")
    ledger.finish_attempt(errored, "error", False, error="provider unreachable")
    ledger.finish_attempt(reviewed, "finished", True, patch="")
    ledger.record_review(reviewed, 1.5, "reject", "ana")
    review = ReviewConfig(minutes_per_attempt=10, minutes_per_100_lines=50)
    costs, summary = run_costs(ledger, run_id, review)
    assert [(c.review_billed, c.review_reason, c.review_minutes, c.attempt.changed_lines) for c in costs] == [
        (True, "estimated", 11.0, 2),  # 10 + 50 x 2 changed lines / 100
        (False, "no change", 0.0, 0),
        (False, "no diff recorded", 0.0, None),
        (True, "measured", 1.5, 0),  # a reviewer really spent the time
        (False, "running", 0.0, None),
    ]
    assert (summary.review_minutes, summary.estimated_review_minutes, summary.measured_review_minutes) == (
        12.5,
        11.0,
        1.5,
    )
    assert (summary.review_billed_attempts, summary.review_not_billed) == (
        2,
        {"no change": 1, "no diff recorded": 1, "running": 1},
    )
    assert (summary.review_cost_usd, summary.review_cost_estimated_usd, summary.review_cost_measured_usd) == (
        Decimal("12.5"),  # $60/h
        Decimal(11),
        Decimal("1.5"),
    )


def test_the_classifiers_calls_count_in_the_issues_api_cost_and_in_fix_json(tmp_path, make_config):
    ledger, run_id, issue_id = _ledger(tmp_path)
    ledger.record_issue_call(issue_id, _call("0.000135", 85, 10), "classify")
    attempt = _attempt(ledger, run_id, issue_id, 0)
    ledger.record_call(attempt, _call("0.25"))
    ledger.finish_attempt(attempt, "finished", True, patch=PATCH)
    ledger.finish_issue(issue_id, "solved")
    summary = issue_summaries(ledger, run_id, ReviewConfig())[issue_id]
    assert (summary.api_cost_usd, summary.classifier_cost_usd, summary.classifier_calls) == (
        Decimal("0.250135"),
        Decimal("0.000135"),
        1,
    )
    assert (summary.usage.input_tokens, summary.usage.output_tokens, summary.attempts) == (185, 20, 1)
    result = fix_result(ledger, run_id, make_config())
    assert result["classifier"] == {
        "models": ["m"],
        "calls": 1,
        "errors": 0,
        "input_tokens": 85,
        "cache_read_tokens": 0,
        "output_tokens": 10,
        "api_cost_usd": 0.000135,
    }
    assert [a["api_cost_usd"] for a in result["attempts"]] == [0.25]  # the classifier is not an attempt
    assert result["api_cost_usd"] == 0.250135
    assert (result["review_minutes_estimated"], result["review_minutes_measured"], result["decided_by"]) == (
        10.0,
        0.0,
        "model",
    )
    assert result["total_cost_usd"] == 10.250135  # 10 estimated minutes at the run's $60/h


def test_failed_calls_show_what_their_providers_bill_not_zero(tmp_path):
    ledger, run_id, issue_id = _ledger(tmp_path)
    attempt = _attempt(ledger, run_id, issue_id, 0)
    timed_out = _call("0.5").model_copy(
        update={"status": "failed", "error_kind": "timeout", "cost_basis": "worst_case"}
    )
    refused = _call("0").model_copy(update={"status": "failed", "error_kind": "status", "cost_basis": "not_billed"})
    for call in (_call("0.25"), timed_out, refused):
        ledger.record_call(attempt, call)
    _, summary = run_costs(ledger, run_id, ReviewConfig())
    assert (summary.api_cost_usd, summary.failed_calls, summary.failed_cost_usd) == (Decimal("0.75"), 2, Decimal("0.5"))
    assert calls_note(summary_row("m@low", summary)) == (
        "m@low: 2 failed call(s) billed $0.5000 as their providers bill them (1 status, 1 timeout)"
    )
