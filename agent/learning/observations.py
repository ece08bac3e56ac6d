"""Attempts as the estimator sees them, read from the ledger: one row per finished attempt of a finished issue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.ledger import AttemptRow, Ledger

MEASURED_ISSUES = ("solved", "unsolved", "budget_exhausted")
"""Issue statuses whose attempts are measurements; errors, skips, interrupted and superseded rows are not."""
CENSORED_OUTCOMES = ("error", "stopped", "budget_exhausted", "paused")
"""Attempt outcomes left out: the attempt was cut short by something other than the model (an error,
a stop, the issue's budget), so it shows neither a pass nor a fail of the rung, nor a full attempt's cost."""


@dataclass(frozen=True)
class Observation:
    """One attempt: the task it was on, at which rung, in which position of that task's walk, and its outcome."""

    task: str  # issue key / instance id (one task may have many attempts, in one run or several)
    task_type: str
    rung: str  # "model@effort", as str(agent.core.effort.Rung)
    order: int  # position in the task's walk in its run (0 = the first attempt on that issue)
    passed: bool
    api_usd: float | None  # None = unpriced
    review_minutes: float
    run_id: str = ""


def observations_from_ledger(
    ledger: Ledger,
    run_ids: list[str] | None = None,
    *,
    review_minutes_for: Callable[[AttemptRow], float] | None = None,
    review_estimate_minutes: float = 10.0,
    issue_ids: set[int] | None = None,
) -> list[Observation]:
    """The finished attempts of the measured issues of `run_ids` (default: every run in the ledger;
    only the issues `issue_ids` when given).

    API $ is the attempt's calls (each settled call at its cost, an unsettled one at its reserved worst
    case; None when none was priced); the classifier's calls belong to no rung and are left out.
    Review minutes are `review_minutes_for(attempt)` when given, else the last measured review, else 0
    for an attempt with an empty diff, else `review_estimate_minutes` (the configured estimate).
    """
    if run_ids is None:
        run_ids = [run.id for run in ledger.runs(limit=1_000_000)]
    observations: list[Observation] = []
    for run_id in run_ids:
        issues = {
            issue.id: issue
            for issue in ledger.issues(run_id)
            if issue.status in MEASURED_ISSUES and (issue_ids is None or issue.id in issue_ids)
        }
        walked: dict[int, int] = {}
        for attempt in ledger.attempts(run_id):
            order = walked.get(attempt.issue_id, 0)
            walked[attempt.issue_id] = order + 1
            issue = issues.get(attempt.issue_id)
            if issue is None or attempt.state != "finished" or attempt.outcome in CENSORED_OUTCOMES:
                continue
            minutes = (review_minutes_for or _review_minutes(ledger, review_estimate_minutes))(attempt)
            observations.append(
                Observation(
                    task=issue.key,
                    task_type=issue.task_type,
                    rung=f"{attempt.model}@{attempt.effort_asked}",
                    order=order,
                    passed=bool(attempt.tests_passed),
                    api_usd=_api_usd(ledger, attempt.id),
                    review_minutes=minutes,
                    run_id=run_id,
                )
            )
    return observations


def _api_usd(ledger: Ledger, attempt_id: int) -> float | None:
    calls = ledger.calls(attempt_id)
    priced = [call.spend_usd for call in calls if call.spend_usd is not None]
    if calls and not priced:
        return None
    return float(sum(priced, start=0))


def _review_minutes(ledger: Ledger, estimate: float) -> Callable[[AttemptRow], float]:
    def minutes(attempt: AttemptRow) -> float:
        reviews = ledger.reviews(attempt.id)
        if reviews:
            return reviews[-1].minutes
        return estimate if attempt.patch else 0.0

    return minutes
