"""The result of a `fix` run as one JSON-able object, read back from the ledger (one source of truth)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agent.config import AgentConfig
from agent.costs import run_costs
from agent.ledger import Ledger


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 6))


def fix_result(ledger: Ledger, run_id: str, config: AgentConfig) -> dict[str, Any]:
    issues = ledger.issues(run_id)
    issue = issues[0] if issues else None
    costs, summary = run_costs(ledger, run_id, config.review)
    status = issue.status if issue else "error"
    return {
        "run_id": run_id,
        "status": status if status in ("solved", "unsolved", "budget_exhausted") else "error",
        "solved": status == "solved",
        "task_type": issue.task_type if issue else None,
        "branch": issue.branch if issue else None,
        "patch_path": issue.patch_path if issue else None,
        "attempts": [
            {
                "model": cost.attempt.model,
                "effort": cost.attempt.effort_asked,
                "effort_sent": cost.attempt.effort_sent,
                "outcome": cost.attempt.outcome,
                "tests_passed": bool(cost.attempt.tests_passed),
                "turns": cost.attempt.turns,
                "input_tokens": cost.usage.input_tokens,
                "cache_read_tokens": cost.usage.cache_read_tokens,
                "cache_write_tokens": cost.usage.cache_write_tokens,
                "output_tokens": cost.usage.output_tokens,
                "api_cost_usd": _num(cost.api_cost_usd),
                "review_minutes": cost.review_minutes,
                "review_measured": cost.review_measured,
                "duration_s": round(cost.attempt.duration_s or 0.0, 3),
            }
            for cost in costs
        ],
        "api_cost_usd": _num(summary.api_cost_usd),
        "review_minutes": summary.review_minutes,
        "review_cost_usd": _num(summary.review_cost_usd),
        "total_cost_usd": _num(summary.total_cost_usd),
        "error": issue.error if issue else None,
    }
