"""Cost per solved issue, computed once from ledger rows for the CLI, the reports and the TUI.

Total cost = API $ of all attempts + review minutes of all attempts x hourly rate / 60.
An attempt's review minutes are the measured ones when a review was recorded, else the
configured estimate (flat, optionally scaled by diff size).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel

from agent.config import ReviewConfig
from agent.ledger import AttemptRow, Ledger
from agent.messages import Usage


class AttemptCost(BaseModel):
    attempt: AttemptRow
    usage: Usage
    api_cost_usd: Decimal | None
    unpriced_calls: int
    calls: int
    review_minutes: float
    review_measured: bool


class CostSummary(BaseModel):
    attempts: int = 0
    issues: int = 0
    solved: int = 0
    usage: Usage = Usage()
    api_cost_usd: Decimal = Decimal(0)
    unpriced_calls: int = 0
    review_minutes: float = 0.0
    measured_review_minutes: float = 0.0
    hourly_rate_usd: Decimal = Decimal(100)

    @property
    def review_cost_usd(self) -> Decimal:
        return Decimal(str(round(self.review_minutes, 4))) * self.hourly_rate_usd / 60

    @property
    def total_cost_usd(self) -> Decimal:
        return self.api_cost_usd + self.review_cost_usd

    @property
    def cost_per_solved_usd(self) -> Decimal | None:
        return None if self.solved == 0 else self.total_cost_usd / self.solved

    @property
    def estimated_review_minutes(self) -> float:
        return self.review_minutes - self.measured_review_minutes


def estimated_review_minutes(attempt: AttemptRow, review: ReviewConfig) -> float:
    lines = attempt.diff_lines or 0
    return review.minutes_per_attempt + review.minutes_per_100_lines * lines / 100


def attempt_cost(ledger: Ledger, attempt: AttemptRow, review: ReviewConfig) -> AttemptCost:
    calls = ledger.calls(attempt.id)
    usage = sum((call.usage for call in calls), Usage())
    priced = [call.cost_usd for call in calls if call.cost_usd is not None]
    unpriced = len(calls) - len(priced)
    reviews = ledger.reviews(attempt.id)
    measured = bool(reviews)
    minutes = reviews[-1].minutes if reviews else estimated_review_minutes(attempt, review)
    return AttemptCost(
        attempt=attempt,
        usage=usage,
        api_cost_usd=sum(priced, Decimal(0)) if priced or not calls else None,
        unpriced_calls=unpriced,
        calls=len(calls),
        review_minutes=minutes,
        review_measured=measured,
    )


def summarize(costs: Iterable[AttemptCost], solved: int, issues: int, hourly_rate_usd: Decimal) -> CostSummary:
    summary = CostSummary(solved=solved, issues=issues, hourly_rate_usd=hourly_rate_usd)
    for cost in costs:
        summary.attempts += 1
        summary.usage = summary.usage + cost.usage
        summary.api_cost_usd += cost.api_cost_usd or Decimal(0)
        summary.unpriced_calls += cost.unpriced_calls
        summary.review_minutes += cost.review_minutes
        if cost.review_measured:
            summary.measured_review_minutes += cost.review_minutes
    return summary


def run_costs(ledger: Ledger, run_id: str, review: ReviewConfig) -> tuple[list[AttemptCost], CostSummary]:
    """Per-attempt costs and the totals of one run (finished attempts and interrupted ones alike)."""
    run = ledger.run(run_id)
    rate = run.hourly_rate_usd if run else review.hourly_rate_usd
    issues = ledger.issues(run_id)
    costs = [attempt_cost(ledger, attempt, review) for attempt in ledger.attempts(run_id)]
    solved = sum(1 for issue in issues if issue.status == "solved")
    return costs, summarize(costs, solved, len(issues), rate)
