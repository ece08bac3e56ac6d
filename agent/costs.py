"""Cost per solved issue, computed once from ledger rows for the CLI, the reports and the TUI.

Total cost = API $ of all attempts + review minutes of all attempts x hourly rate / 60.
An attempt's review minutes are the measured ones when a review was recorded, else the
configured estimate (flat, optionally scaled by diff size).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from pydantic import BaseModel

from agent.config import ReviewConfig
from agent.ledger import AttemptRow, IssueRow, Ledger
from agent.messages import Usage

SUPERSEDED = ("interrupted", "superseded")
"""Issue rows a resumed batch ran again: their attempts' cost counts, the rows do not count as issues."""


def counted_issues(issues: Iterable[IssueRow]) -> list[IssueRow]:
    return [issue for issue in issues if issue.status not in SUPERSEDED]


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
    issues = counted_issues(ledger.issues(run_id))
    costs = [attempt_cost(ledger, attempt, review) for attempt in ledger.attempts(run_id)]
    solved = sum(1 for issue in issues if issue.status == "solved")
    return costs, summarize(costs, solved, len(issues), rate)


def issue_summaries(ledger: Ledger, run_id: str, review: ReviewConfig) -> dict[int, CostSummary]:
    """The totals of each issue of a run, by issue id (the batch view's rows, the fix view of one issue)."""
    costs, totals = run_costs(ledger, run_id, review)
    summaries: dict[int, CostSummary] = {}
    for issue in ledger.issues(run_id):
        mine = [cost for cost in costs if cost.attempt.issue_id == issue.id]
        summaries[issue.id] = summarize(mine, int(issue.status == "solved"), 1, totals.hourly_rate_usd)
    return summaries


class RunProgress(BaseModel):
    """How far a batch run is: `total` is the run's planned task count (args "total" or "tasks") when it
    recorded one, else the issues started so far."""

    solved: int
    done: int
    total: int
    elapsed_s: float
    eta_s: float | None  # None: nothing finished yet, or the run is over


def run_progress(ledger: Ledger, run_id: str, now: float) -> RunProgress:
    """Solved / done / total and a linear ETA (elapsed / done x remaining) for one run."""
    run = ledger.run(run_id)
    issues = counted_issues(ledger.issues(run_id))
    done = sum(1 for issue in issues if issue.status != "running")
    planned = run.args.get("total", run.args.get("tasks")) if run else None
    if isinstance(planned, list):
        planned = len(planned)
    total = max(planned if isinstance(planned, int) else 0, len(issues))
    end = run.finished_at if run and run.finished_at else now
    elapsed = max(0.0, end - run.created_at) if run else 0.0
    running = run is not None and run.status == "running"
    eta = elapsed / done * (total - done) if running and done else None
    solved = sum(1 for issue in issues if issue.status == "solved")
    return RunProgress(solved=solved, done=done, total=total, elapsed_s=elapsed, eta_s=eta)


GroupKey = Callable[[IssueRow, AttemptRow | None], str]
"""Names the group of an attempt of an issue (None: the issue has no attempt)."""


def grouped_costs(
    ledger: Ledger, run_ids: Iterable[str], review: ReviewConfig, key: GroupKey
) -> dict[str, CostSummary]:
    """Cost summaries per group over several runs.

    An issue counts as a task of every group one of its attempts falls in, and as solved in the
    group of the attempt whose tests passed. Issues without attempts (skipped, or failed before
    their first attempt) fall in the group `key(issue, None)` names.
    """
    costs: dict[str, list[AttemptCost]] = {}
    tasks: dict[str, set[int]] = {}
    solved: dict[str, set[int]] = {}
    rates: dict[str, Decimal] = {}
    for run_id in run_ids:
        run = ledger.run(run_id)
        rate = run.hourly_rate_usd if run else review.hourly_rate_usd
        by_issue: dict[int, list[AttemptRow]] = {}
        for row in ledger.attempts(run_id):
            by_issue.setdefault(row.issue_id, []).append(row)
        for issue in ledger.issues(run_id):
            counted = issue.status not in SUPERSEDED
            attempts: list[AttemptRow | None] = [*by_issue.get(issue.id, [])] or [None]
            for attempt in attempts:
                group = key(issue, attempt)
                rates.setdefault(group, rate)
                costs.setdefault(group, [])
                if attempt is not None:
                    costs[group].append(attempt_cost(ledger, attempt, review))
                if counted:
                    tasks.setdefault(group, set()).add(issue.id)
                    if issue.status == "solved" and (attempt is None or attempt.tests_passed):
                        solved.setdefault(group, set()).add(issue.id)
    return {
        group: summarize(costs[group], len(solved.get(group, ())), len(tasks.get(group, ())), rates[group])
        for group in sorted(costs)
    }
