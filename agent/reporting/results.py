"""The result of a `fix` run as one JSON-able object, read back from the ledger (one source of truth)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from agent.core.config import AgentConfig
from agent.ledger import CallRow, Fallback, Ledger
from agent.reporting.costs import AttemptCost, CallsCost, ClassifierCost, CostSummary, classifier_cost, run_costs


def usd_number(value: Decimal | None) -> float | None:
    """Dollars for JSON: a float rounded to 6 places; None stays None (unpriced, undefined)."""
    return None if value is None else float(round(value, 6))


def fields_of(source: object, *names: str) -> dict[str, Any]:
    """`source`'s attributes `names`, by name, in that order."""
    return {name: getattr(source, name) for name in names}


def call_result(call: CallRow) -> dict[str, Any]:
    """One request: how it ended, its retries, what it cost (or, unsettled, could have cost) and why."""
    return {
        **fields_of(call, "turn", "status", "error_kind", "retries"),
        "duration_s": round(call.duration_s, 3),
        **fields_of(call.usage, "input_tokens", "output_tokens"),
        "cost_usd": usd_number(call.cost_usd),
        "reserved_usd": usd_number(call.reserved_usd),
        **fields_of(call, "cost_reason", "error"),
    }


def calls_outcome(cost: CallsCost | CostSummary) -> dict[str, Any]:
    """Failed calls by kind, and calls that never settled with their worst case (in the API $)."""
    return {
        "failed_calls": cost.failed_calls,
        "failed_by_kind": cost.failed_by_kind,
        "unsettled_calls": cost.unsettled_calls,
        "unsettled_cost_usd": usd_number(cost.unsettled_cost_usd),
    }


def fallback_result(fallback: Fallback) -> dict[str, Any]:
    """One switch to a fallback rung: at which turn, from and to which MODEL@EFFORT, and why."""
    return {
        "turn": fallback.turn,
        "from": f"{fallback.from_model}@{fallback.from_effort}",
        "to": f"{fallback.to_model}@{fallback.to_effort}",
        "reason": fallback.reason,
    }


def attempt_result(cost: AttemptCost) -> dict[str, Any]:
    """One attempt: what it ran, what it spent, whether (and why) it bills review time, where it fell back
    and which of its replies were invalid (by reason)."""
    return {
        "model": cost.attempt.model,
        "effort": cost.attempt.effort_asked,
        "effort_sent": cost.attempt.effort_sent,
        "outcome": cost.attempt.outcome,
        "tests_passed": bool(cost.attempt.tests_passed),
        "verdict": verdict_of(cost.attempt.test_report_json),
        "turns": cost.attempt.turns,
        **fields_of(cost.usage, "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"),
        "api_cost_usd": usd_number(cost.api_cost_usd),
        **calls_outcome(cost),
        "changed_lines": cost.attempt.changed_lines,
        **fields_of(cost, "review_billed", "review_reason", "review_minutes"),
        **fields_of(cost, "review_minutes_measured", "review_minutes_estimated", "review_measured"),
        "duration_s": round(cost.attempt.duration_s or 0.0, 3),
        "fallbacks": [fallback_result(fallback) for fallback in cost.fallbacks],
        "validation_failures": cost.validation_failures,
    }


def verdict_of(report_json: str | None) -> dict[str, Any] | None:
    """How the runner judged the attempt's tests (why, and which tests were fixed, reproduced, broken
    or still failing), from its test report; None for attempts judged by an evaluator or not judged."""
    if not report_json:
        return None
    try:
        report = json.loads(report_json)
    except ValueError:
        return None
    verdict = report.get("verdict") if isinstance(report, dict) else None
    return verdict if isinstance(verdict, dict) else None


def classifier_result(cost: ClassifierCost) -> dict[str, Any] | None:
    """The classifier model's calls for the issue (None: the planner's rules decided without a call)."""
    if not cost.calls:
        return None
    return {
        **fields_of(cost, "models", "calls", "errors"),
        **fields_of(cost.usage, "input_tokens", "cache_read_tokens", "output_tokens"),
        "api_cost_usd": usd_number(cost.api_cost_usd),
    }


def spend_result(summary: CostSummary) -> dict[str, Any]:
    """The cost fields every result shares: API $ (and its failed/unsettled calls), review minutes
    measured and estimated, review $ and the total."""
    return {
        "api_cost_usd": usd_number(summary.api_cost_usd),
        **calls_outcome(summary),
        "review_minutes": summary.review_minutes,
        "review_minutes_measured": summary.measured_review_minutes,
        "review_minutes_estimated": summary.estimated_review_minutes,
        "review_billed_attempts": summary.review_billed_attempts,
        "review_not_billed": summary.review_not_billed,
        "review_cost_usd": usd_number(summary.review_cost_usd),
        "total_cost_usd": usd_number(summary.total_cost_usd),
    }


def fix_result(ledger: Ledger, run_id: str, config: AgentConfig) -> dict[str, Any]:
    issues = ledger.issues(run_id)
    issue = issues[0] if issues else None
    costs, summary = run_costs(ledger, run_id, config.review)
    status = issue.status if issue else "error"
    return {
        "run_id": run_id,
        "status": status if status in ("solved", "unsolved", "budget_exhausted", "paused") else "error",
        "solved": status == "solved",
        "task_type": issue.task_type if issue else None,
        "decided_by": issue.decided_by if issue else None,
        "task_type_reason": issue.task_type_reason if issue else None,
        "branch": issue.branch if issue else None,
        "patch_path": issue.patch_path if issue else None,
        "attempts": [
            {**attempt_result(cost), "requests": [call_result(call) for call in ledger.calls(cost.attempt.id)]}
            for cost in costs
        ],
        "classifier": classifier_result(classifier_cost(ledger, issue.id)) if issue else None,
        "classifier_requests": [call_result(call) for call in ledger.issue_calls(issue.id)] if issue else [],
        **spend_result(summary),
        "error": issue.error if issue else None,
    }
