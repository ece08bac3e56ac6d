"""Ledger reads for the views, run in thread workers: rows and events in, plain snapshots out.

Nothing here computes a cost: totals come from `agent.reporting.costs`. A run whose runner process
is gone reads as `interrupted` (the ledger says so), never as running forever. Each function is one short
read of the (WAL) ledger, safe while a runner in another process writes to it.
"""

from __future__ import annotations

from pydantic import BaseModel

from agent.core.config import ReviewConfig
from agent.core.events import Event
from agent.ledger import AttemptRow, IssueRow, Ledger, RunRow
from agent.reporting.costs import INTERRUPTED, CostSummary, RunProgress, issue_summaries, run_costs, run_progress

POLL_S = 0.5


def new_events(ledger: Ledger, run_id: str, after_id: int) -> tuple[list[Event], int]:
    """Events stored after `after_id`, and the id to read after next time."""
    rows = ledger.events(run_id, after_id)
    events = [
        Event(kind=row.kind, data=row.data, run_id=row.run_id, issue_id=row.issue_id, attempt_id=row.attempt_id)
        for row in rows
    ]
    return events, rows[-1].id if rows else after_id


class FixSnapshot(BaseModel):
    run_status: str
    summary: CostSummary | None  # the issue's totals; None before the issue starts
    events: list[Event]
    after_id: int


def read_fix(
    ledger: Ledger, run_id: str, issue_id: int | None, review: ReviewConfig, after_id: int | None
) -> FixSnapshot:
    """The run's status, the issue's totals and (unless `after_id` is None) the events since `after_id`."""
    events, last = new_events(ledger, run_id, after_id) if after_id is not None else ([], 0)
    run = ledger.run(run_id)
    summaries = issue_summaries(ledger, run_id, review)
    if issue_id is None and summaries:
        issue_id = min(summaries)
    summary = summaries.get(issue_id) if issue_id is not None else None
    return FixSnapshot(run_status=run.status if run else "missing", summary=summary, events=events, after_id=last)


class BatchRow(BaseModel):
    issue: IssueRow
    rung: str  # model@effort of its latest attempt, "-" before the first
    attempts: int  # interrupted attempts (their runner died) left out, as in the reports
    summary: CostSummary


class BatchSnapshot(BaseModel):
    run: RunRow
    rows: list[BatchRow]
    summary: CostSummary
    progress: RunProgress
    events: list[Event]
    after_id: int


def read_batch(ledger: Ledger, run_id: str, review: ReviewConfig, after_id: int, now: float) -> BatchSnapshot | None:
    run = ledger.run(run_id)
    if run is None:
        return None
    events, last = new_events(ledger, run_id, after_id)
    attempts = ledger.attempts(run_id)
    summaries = issue_summaries(ledger, run_id, review)
    rows = []
    for issue in ledger.issues(run_id):
        mine = [attempt for attempt in attempts if attempt.issue_id == issue.id]
        rung = f"{mine[-1].model}@{mine[-1].effort_asked}" if mine else "-"
        finished_or_running = sum(1 for attempt in mine if attempt.state != INTERRUPTED)
        rows.append(BatchRow(issue=issue, rung=rung, attempts=finished_or_running, summary=summaries[issue.id]))
    _, summary = run_costs(ledger, run_id, review)
    progress = run_progress(ledger, run_id, now)
    return BatchSnapshot(run=run, rows=rows, summary=summary, progress=progress, events=events, after_id=last)


def patch_attempt(attempts: list[AttemptRow]) -> AttemptRow | None:
    """The attempt whose patch `d` shows: the one that passed, else the latest finished one."""
    passed = [attempt for attempt in attempts if attempt.tests_passed]
    if passed:
        return passed[-1]
    finished = [attempt for attempt in attempts if attempt.state == "finished" and attempt.patch is not None]
    return finished[-1] if finished else None


def review_attempt(attempts: list[AttemptRow]) -> AttemptRow | None:
    """The attempt `r` reviews: the one that passed the tests (as `agent review` does)."""
    passed = [attempt for attempt in attempts if attempt.tests_passed]
    return passed[-1] if passed else None


def issue_id_of(ledger: Ledger, run_id: str, issue_id: int | None) -> int | None:
    if issue_id is not None:
        return issue_id
    issues = ledger.issues(run_id)
    return issues[0].id if issues else None


class RunChoice(BaseModel):
    run: RunRow
    issues: list[IssueRow]


def recent_runs(ledger: Ledger, limit: int = 30) -> list[RunChoice]:
    return [RunChoice(run=run, issues=ledger.issues(run.id)) for run in ledger.runs(limit)]
