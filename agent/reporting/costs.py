"""Cost per solved issue, computed once from ledger rows for the CLI, the reports and the TUI.

Total cost = API $ of all calls (the attempts' and the classifier's; a call that never settled at
its worst case, shown apart as `unsettled`) + billed review minutes x
hourly rate / 60. Review time is billed only for an attempt with something to review: its
measured minutes when a review was recorded, else, when its diff against the base commit is not
empty, the configured estimate (flat, optionally scaled by its changed lines). An attempt with no
change, or no recorded diff, bills no review time, and says why (`review_reason`).

Which attempts are reviewed is `[review] bill`: "each_attempt" (every attempt that changed the code is
read, passed or not) or "delivered" (only the patch a developer receives: the passing attempt of a
solved issue; an unsolved issue delivers nothing, so it bills no review at all).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from agent.core.config import ReviewConfig
from agent.core.messages import Usage
from agent.ledger import AttemptRow, CallRow, Fallback, IssueRow, Ledger, ReviewRow
from agent.ledger.calls import LOST_PURPOSE

SUPERSEDED = ("interrupted", "superseded")
"""Issue rows a resumed batch ran again: their attempts' cost counts, the rows do not count as issues."""

MEASURED = "measured"
"""Billed: a review was recorded; its minutes count."""
ESTIMATED = "estimated"
"""Billed: the attempt changed the code; the configured estimate counts until a review is measured."""
NO_CHANGE = "no change"
"""Not billed: the attempt's diff against the base commit is empty (build artifacts excluded)."""
NO_DIFF = "no diff recorded"
"""Not billed: the attempt ended before its diff was taken, so there is nothing to review."""
RUNNING = "running"
"""Not billed yet: the attempt is running and has no diff yet."""
NOT_DELIVERED = "not delivered"
"""Not billed under `[review] bill = "delivered"`: the attempt's patch is not the one a developer receives."""

ReviewBill = Literal["each_attempt", "delivered"]
"""`[review] bill`: whose review is billed (see the module docstring)."""


INTERRUPTED = "interrupted"
"""An attempt whose runner died before it finished (see `Ledger.close_interrupted`)."""


def counted_issues(issues: Iterable[IssueRow]) -> list[IssueRow]:
    return [issue for issue in issues if issue.status not in SUPERSEDED]


class CallsCost(BaseModel):
    """The tokens and API $ of some model calls.

    A call that never settled (in flight, or left in flight by a runner that died) counts at the
    worst case reserved before it was sent: a provider may have billed it. Those calls and their
    worst case are also counted apart (`unsettled_*`); failed calls cost $0 and are counted by kind.
    Replies the router found invalid are counted by reason (`validation_failures`).
    """

    usage: Usage = Usage()
    api_cost_usd: Decimal | None = Decimal(0)  # None: every call unpriced; unsettled calls at their worst case
    unpriced_calls: int = 0
    calls: int = 0
    failed_calls: int = 0
    failed_by_kind: dict[str, int] = Field(default_factory=dict)  # error kind -> calls
    failed_cost_usd: Decimal = Decimal(0)  # what the failed calls are billed (`cost_basis`), in api_cost_usd
    unsettled_calls: int = 0
    unsettled_cost_usd: Decimal = Decimal(0)  # their worst case, included in api_cost_usd
    validation_failures: dict[str, int] = Field(default_factory=dict)  # reason -> invalid replies


def calls_cost(calls: list[CallRow]) -> CallsCost:
    priced = [call.spend_usd for call in calls if call.spend_usd is not None]
    unsettled = [call for call in calls if not call.settled]
    failures = [call for call in calls if call.status == "failed"]
    failed = dict(Counter(call.error_kind or "unknown" for call in failures))
    invalid = Counter(call.validation for call in calls if call.validation)
    return CallsCost(
        usage=sum((call.usage for call in calls), Usage()),
        api_cost_usd=sum(priced, Decimal(0)) if priced or not calls else None,
        unpriced_calls=len(calls) - len(priced),
        calls=len(calls),
        failed_calls=sum(failed.values()),
        failed_by_kind=failed,
        failed_cost_usd=sum((call.cost_usd or Decimal(0) for call in failures), Decimal(0)),
        unsettled_calls=len(unsettled),
        unsettled_cost_usd=sum((call.reserved_usd or Decimal(0) for call in unsettled), Decimal(0)),
        validation_failures=dict(sorted(invalid.items())),
    )


class ReviewCharge(BaseModel):
    """The review time an attempt bills, and why."""

    billed: bool
    reason: str  # MEASURED | ESTIMATED | NO_CHANGE | NO_DIFF | RUNNING
    minutes: float
    measured: bool


def delivers(attempt: AttemptRow, issue: IssueRow | None = None) -> bool:
    """Whether the attempt's patch is the one delivered: it passed (and its issue, when given, is solved)."""
    passed = attempt.state == "finished" and bool(attempt.tests_passed)
    return passed and (issue is None or issue.status == "solved")


def review_charge(
    attempt: AttemptRow,
    reviews: list[ReviewRow],
    review: ReviewConfig,
    *,
    bill: ReviewBill | None = None,
    delivered: bool | None = None,
) -> ReviewCharge:
    """Measured minutes when reviewed (a reviewer really spent them), else the estimate when the
    attempt's recorded diff is not empty, else nothing: there is no change to review.

    `bill` (default `review.bill`) picks the rule: under "delivered" an attempt whose patch is not
    delivered (`delivered`, default `delivers(attempt)`) bills nothing. `bill="each_attempt"` gives the
    minutes an attempt's review takes whatever the rule (what a learner needs per attempt)."""
    rule = bill or review.bill
    if rule == "delivered" and not (delivers(attempt) if delivered is None else delivered):
        return ReviewCharge(billed=False, reason=NOT_DELIVERED, minutes=0.0, measured=False)
    if reviews:
        return ReviewCharge(billed=True, reason=MEASURED, minutes=reviews[-1].minutes, measured=True)
    if attempt.patch is None:
        reason = RUNNING if attempt.state == "running" else NO_DIFF
        return ReviewCharge(billed=False, reason=reason, minutes=0.0, measured=False)
    if not attempt.patch:
        return ReviewCharge(billed=False, reason=NO_CHANGE, minutes=0.0, measured=False)
    lines = attempt.changed_lines or 0
    minutes = review.minutes_per_attempt + review.minutes_per_100_lines * lines / 100
    return ReviewCharge(billed=True, reason=ESTIMATED, minutes=minutes, measured=False)


class AttemptCost(CallsCost):
    attempt: AttemptRow
    review_minutes: float  # billed: measured, estimated, or 0 when not billed
    review_measured: bool
    review_billed: bool
    review_reason: str  # see ReviewCharge
    fallbacks: list[Fallback] = Field(default_factory=list)  # the router's switches to another rung, in order

    @property
    def review_minutes_measured(self) -> float:
        return self.review_minutes if self.review_measured else 0.0

    @property
    def review_minutes_estimated(self) -> float:
        return 0.0 if self.review_measured else self.review_minutes


class ClassifierCost(CallsCost):
    """The classifier model's calls for one issue (made before its first attempt)."""

    issue_id: int
    models: list[str] = Field(default_factory=list)
    errors: int = 0


class CostSummary(BaseModel):
    attempts: int = 0  # attempts that finished or are running; interrupted ones are counted apart
    interrupted_attempts: int = 0  # cut short by a runner that died: their calls count, they do not
    issues: int = 0
    solved: int = 0
    usage: Usage = Usage()
    api_cost_usd: Decimal = Decimal(0)
    unpriced_calls: int = 0
    calls: int = 0
    failed_calls: int = 0
    failed_by_kind: dict[str, int] = Field(default_factory=dict)
    failed_cost_usd: Decimal = Decimal(0)  # what the failed calls are billed, included in api_cost_usd
    unsettled_calls: int = 0
    unsettled_cost_usd: Decimal = Decimal(0)  # worst case of calls that never settled, included in api_cost_usd
    validation_failures: dict[str, int] = Field(default_factory=dict)  # reason -> invalid replies
    fallbacks: int = 0  # switches to a fallback rung, in the attempts counted
    attempts_with_fallback: int = 0  # counted attempts that fell back at least once
    review_minutes: float = 0.0
    measured_review_minutes: float = 0.0
    estimated_review_minutes: float = 0.0
    review_billed_attempts: int = 0
    review_not_billed: dict[str, int] = Field(default_factory=dict)  # reason -> attempts
    classifier_calls: int = 0
    classifier_cost_usd: Decimal = Decimal(0)  # priced calls; unpriced ones count in unpriced_calls
    lost_calls: int = 0  # made by Ray workers lost mid-job (LOST_PURPOSE), counted in calls too
    lost_cost_usd: Decimal = Decimal(0)  # their cost (worst case when in flight), included in api_cost_usd
    hourly_rate_usd: Decimal = Decimal(100)

    @property
    def review_cost_usd(self) -> Decimal:
        return self._minutes_usd(self.review_minutes)

    @property
    def review_cost_measured_usd(self) -> Decimal:
        return self._minutes_usd(self.measured_review_minutes)

    @property
    def review_cost_estimated_usd(self) -> Decimal:
        return self._minutes_usd(self.estimated_review_minutes)

    def _minutes_usd(self, minutes: float) -> Decimal:
        return Decimal(str(round(minutes, 4))) * self.hourly_rate_usd / 60

    @property
    def total_cost_usd(self) -> Decimal:
        return self.api_cost_usd + self.review_cost_usd

    @property
    def cost_per_solved_usd(self) -> Decimal | None:
        return None if self.solved == 0 else self.total_cost_usd / self.solved

    @property
    def review_not_billed_attempts(self) -> int:
        return sum(self.review_not_billed.values())


def attempt_cost(ledger: Ledger, attempt: AttemptRow, review: ReviewConfig) -> AttemptCost:
    """The attempt's calls and the review it bills under `review.bill` (delivered: it passed and its issue
    was solved)."""
    issue = ledger.issue(attempt.issue_id) if review.bill == "delivered" and delivers(attempt) else None
    charge = review_charge(attempt, ledger.reviews(attempt.id), review, delivered=delivers(attempt, issue))
    review_fields = {f"review_{name}": value for name, value in charge}  # AttemptCost's review_* fields
    calls = dict(calls_cost(ledger.calls(attempt.id)))
    return AttemptCost(**calls, **review_fields, attempt=attempt, fallbacks=ledger.fallbacks(attempt.id))


def classifier_cost(ledger: Ledger, issue_id: int) -> ClassifierCost:
    return outside_attempts(ledger, issue_id)[0]


def outside_attempts(ledger: Ledger, issue_id: int) -> tuple[ClassifierCost, CallsCost]:
    """An issue's calls outside its attempts, read once: the classifier's and its lost Ray workers'."""
    calls = ledger.issue_calls(issue_id)
    classify = [call for call in calls if call.purpose == "classify"]
    classifier = ClassifierCost(
        **dict(calls_cost(classify)),
        issue_id=issue_id,
        models=sorted({call.model for call in classify}),
        errors=sum(1 for call in classify if call.error),
    )
    return classifier, calls_cost([call for call in calls if call.purpose == LOST_PURPOSE])


def summarize(
    costs: Iterable[AttemptCost],
    solved: int,
    issues: int,
    hourly_rate_usd: Decimal,
    classifier: Iterable[ClassifierCost] = (),
    lost: Iterable[CallsCost] = (),
) -> CostSummary:
    summary = CostSummary(solved=solved, issues=issues, hourly_rate_usd=hourly_rate_usd)
    for cost in costs:
        _add_calls(summary, cost)
        if cost.attempt.state == INTERRUPTED:
            summary.interrupted_attempts += 1
            continue
        summary.attempts += 1
        summary.fallbacks += len(cost.fallbacks)
        summary.attempts_with_fallback += bool(cost.fallbacks)
        summary.review_minutes += cost.review_minutes
        summary.measured_review_minutes += cost.review_minutes_measured
        summary.estimated_review_minutes += cost.review_minutes_estimated
        if cost.review_billed:
            summary.review_billed_attempts += 1
        else:
            summary.review_not_billed[cost.review_reason] = summary.review_not_billed.get(cost.review_reason, 0) + 1
    for planning in classifier:
        _add_calls(summary, planning)
        summary.classifier_calls += planning.calls
        summary.classifier_cost_usd += planning.api_cost_usd or Decimal(0)
    for calls in lost:
        _add_calls(summary, calls)
        summary.lost_calls += calls.calls
        summary.lost_cost_usd += calls.api_cost_usd or Decimal(0)
    return summary


def _add_calls(summary: CostSummary, cost: CallsCost) -> None:
    summary.usage = summary.usage + cost.usage
    summary.api_cost_usd += cost.api_cost_usd or Decimal(0)
    summary.unpriced_calls += cost.unpriced_calls
    summary.calls += cost.calls
    summary.failed_calls += cost.failed_calls
    for kind, count in cost.failed_by_kind.items():
        summary.failed_by_kind[kind] = summary.failed_by_kind.get(kind, 0) + count
    summary.failed_cost_usd += cost.failed_cost_usd
    summary.unsettled_calls += cost.unsettled_calls
    summary.unsettled_cost_usd += cost.unsettled_cost_usd
    for reason, count in cost.validation_failures.items():
        summary.validation_failures[reason] = summary.validation_failures.get(reason, 0) + count


def run_costs(ledger: Ledger, run_id: str, review: ReviewConfig) -> tuple[list[AttemptCost], CostSummary]:
    """Per-attempt costs and the totals of one run (finished attempts and interrupted ones alike,
    and the calls of every issue outside its attempts)."""
    run = ledger.run(run_id)
    rate = run.hourly_rate_usd if run else review.hourly_rate_usd
    rows = ledger.issues(run_id)
    issues = counted_issues(rows)
    costs = [attempt_cost(ledger, attempt, review) for attempt in ledger.attempts(run_id)]
    outside = [outside_attempts(ledger, issue.id) for issue in rows]
    solved = sum(1 for issue in issues if issue.status == "solved")
    classifier, lost = [pair[0] for pair in outside], [pair[1] for pair in outside]
    return costs, summarize(costs, solved, len(issues), rate, classifier, lost)


def issue_summaries(ledger: Ledger, run_id: str, review: ReviewConfig) -> dict[int, CostSummary]:
    """The totals of each issue of a run, by issue id (the batch view's rows, the fix view of one issue)."""
    costs, totals = run_costs(ledger, run_id, review)
    summaries: dict[int, CostSummary] = {}
    for issue in ledger.issues(run_id):
        mine = [cost for cost in costs if cost.attempt.issue_id == issue.id]
        solved, (classifier, lost) = int(issue.status == "solved"), outside_attempts(ledger, issue.id)
        summaries[issue.id] = summarize(mine, solved, 1, totals.hourly_rate_usd, [classifier], [lost])
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
    their first attempt) fall in the group `key(issue, None)` names. An issue's classifier calls
    count in the group of its first attempt, the rung the classification chose first, and so do the
    calls of its lost Ray workers.
    """
    costs: dict[str, list[AttemptCost]] = {}
    classifier: dict[str, list[ClassifierCost]] = {}
    lost: dict[str, list[CallsCost]] = {}
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
            for number, attempt in enumerate(attempts):
                group = key(issue, attempt)
                rates.setdefault(group, rate)
                costs.setdefault(group, [])
                if number == 0:
                    planning, lost_calls = outside_attempts(ledger, issue.id)
                    classifier.setdefault(group, []).append(planning)
                    lost.setdefault(group, []).append(lost_calls)
                if attempt is not None:
                    costs[group].append(attempt_cost(ledger, attempt, review))
                if counted:
                    tasks.setdefault(group, set()).add(issue.id)
                    if issue.status == "solved" and (attempt is None or attempt.tests_passed):
                        solved.setdefault(group, set()).add(issue.id)
    counts = {group: (len(solved.get(group, ())), len(tasks.get(group, ()))) for group in costs}
    extra = {group: (classifier.get(group, ()), lost.get(group, ())) for group in costs}
    return {group: summarize(costs[group], *counts[group], rates[group], *extra[group]) for group in sorted(costs)}
