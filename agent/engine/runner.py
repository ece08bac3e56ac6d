"""`run_issue`: runs one issue end to end, climbing its ladder. The CLI, TUI and batch runner all call it.

For each rung: a fresh sandbox at the base commit, the plan-edit loop, then the runner's own
test run (`agent.engine.attempt`). An attempt whose progress says the next rung is worth more is
abandoned and the climb goes on (`agent.engine.progress`). The first passing rung ends the climb; its patch becomes a
branch and a patch file. Every fact is recorded as it happens (`RunSetup.record`: the ledger
writer) and every event mirrored to `on_event`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.core.effort import EffortLevel
from agent.core.errors import ProviderError, SandboxError, UnverifiableError
from agent.engine.attempt import Attempt, Done, run_attempt
from agent.engine.budget import Budget
from agent.engine.delivery import commit_patch
from agent.engine.pause import PausedAttempt, pause_message
from agent.engine.planner import Classification, LadderChoice, classifier_fact
from agent.engine.progress.watch import escalation_rule, progress_model
from agent.engine.prompts import EarlierAttempt
from agent.engine.run_setup import (
    EnvironmentPreparer,
    EvaluationFailed,
    Evaluator,
    IssueLog,
    Record,
    RunSetup,
    tests_of,
)
from agent.engine.testing import TestRun, repo_modules, run_tests, unverifiable
from agent.engine.verdict import baseline_failures, name_list
from agent.ledger import Ledger
from agent.ledger.facts import IssueClosed, IssueOpened, IssueReopened
from agent.ledger.writer import LedgerWriter
from tasks.models import Task, slugify

__all__ = ["EnvironmentPreparer", "EvaluationFailed", "Evaluator", "IssueResult", "RunSetup", "run_issue"]


class IssueResult(BaseModel):
    issue_id: int
    status: str  # solved | unsolved | paused | error (budget_exhausted in runs before pausing)
    branch: str | None = None
    patch_path: str | None = None
    error: str | None = None


def baseline_run(ctx: RunSetup, task: Task) -> TestRun:
    with ctx.sandbox_factory(task) as sandbox:
        return run_tests(sandbox, tests_of(task), ctx.config.sandbox.command_timeout_s, keep_going=True)


def record_classifier_calls(ledger: Ledger, issue_id: int, classification: Classification) -> list[dict[str, Any]]:
    """Record the classifier model's calls under the issue (already charged to its budget when they
    were made); returns the data of their `classifier_call` events."""
    return _classifier_calls(LedgerWriter(ledger).write, issue_id, classification)


def open_issue(record: Record, run_id: str, task: Task, plan: LadderChoice) -> tuple[int, list[dict[str, Any]]]:
    """The issue's row, `running`, with its classifier's calls; its id and the data of their events."""
    classification = plan.classification
    decided = {"task_type": classification.task_type, "decided_by": classification.decided_by}
    where = {"repo": task.repo_path or task.repo, "test_cmd": tests_of(task), "policy": plan.ladder_source}
    fields = {"key": task.instance_id, "title": task.display_title, **decided, **where}
    fields |= {"task_type_reason": classification.reason, "base_commit": task.base_commit}
    issue_id = record(IssueOpened(run_id=run_id, fields={**fields, "ladder": ",".join(map(str, plan.ladder))}))
    assert issue_id is not None
    return issue_id, _classifier_calls(record, issue_id, classification)


def _classifier_calls(record: Record, issue_id: int, classification: Classification) -> list[dict[str, Any]]:
    events = []
    for call in classification.calls:
        record(classifier_fact(call, issue_id))  # claims the row written before the call was sent, if any
        spent = None if call.cost_usd is None else str(call.cost_usd)
        events.append({"model": call.model, **call.usage.model_dump(), "cost_usd": spent, "error": call.error})
    return events


def run_issue(
    ctx: RunSetup, task: Task, plan: LadderChoice, budget: Budget, resume: PausedAttempt | None = None
) -> IssueResult:
    """Climb `plan.ladder` on `task` until a rung passes, the ladder ends, or the budget pauses it;
    with `resume`, a paused issue goes on where it stopped (its rows reopened)."""
    log = ctx.issue_log()
    if resume is None:
        log.issue_id, classifier_calls = open_issue(ctx.write, ctx.run_id, task, plan)
    else:
        log.issue_id, classifier_calls = resume.issue_id, []
        log.record(IssueReopened(issue_id=resume.issue_id))
    classification = plan.classification
    log(
        "issue_resumed" if resume else "issue_started",
        {
            "key": task.instance_id,
            "title": task.display_title,
            "task_type": classification.task_type,
            "reason": classification.reason,
            "decided_by": classification.decided_by,
            "repo": task.repo_path or task.repo,
            "test_cmd": tests_of(task),
            "ladder": [str(rung) for rung in plan.ladder],
            "targets": task.targets,
            "max_cost_usd": None if budget.cap is None else str(budget.cap),
            "policy": plan.ladder_source,
        },
    )
    for data in classifier_calls:
        log("classifier_call", data)
    if plan.decision is not None:
        log("decision", plan.decision)
    try:
        return _climb(ctx, task, plan, budget, log, resume)
    except (ProviderError, SandboxError, UnverifiableError) as exc:
        kind = "environment" if isinstance(exc, UnverifiableError) else "infra"
        kind = "provider" if isinstance(exc, ProviderError) else kind
        log.record(IssueClosed(issue_id=log.issue_id, status="error", fields={"error_kind": kind, "error": str(exc)}))
        log("issue_finished", {"status": "error", "error": str(exc), "error_kind": kind})
        raise


def _climb(
    ctx: RunSetup, task: Task, plan: LadderChoice, budget: Budget, log: IssueLog, resume: PausedAttempt | None
) -> IssueResult:
    baseline = _before_the_model(ctx, task, log)
    earlier: list[EarlierAttempt] = list(resume.earlier) if resume else []
    seen: dict[tuple[str, str], EffortLevel] = {}
    status = "unsolved"
    rungs = [str(rung) for rung in plan.ladder]
    progress = progress_model(ctx.config, ctx.ledger, len(rungs))  # refitted per issue: the latest attempts count
    for index, rung in enumerate(plan.ladder):
        if ctx.stop.is_set():
            log("rung_skipped", {"rung_index": index, "rung": str(rung), "reason": "stopped"})
            continue
        model = ctx.model_factory(rung.model, task)
        level, wire = model.effort_for(rung.effort)
        if resume is not None and index < resume.rung_index:
            seen.setdefault((rung.model, wire), rung.effort)  # tried before the pause
            continue
        if seen.setdefault((rung.model, wire), rung.effort) != rung.effort:
            reason = f"same request as an earlier rung (effort {wire})"  # a repeat on purpose (m@low*2) runs
            log("rung_skipped", {"rung_index": index, "rung": str(rung), "reason": reason})
            continue
        going_on = resume if resume is not None and index == resume.rung_index else None
        if earlier and going_on is None:
            log("escalation", {"rung_index": index, "rung": str(rung), "after": earlier[-1].outcome})
        max_turns = ctx.config.budget_for(rung.effort).max_turns
        rule = escalation_rule(ctx.config, progress, rungs, index, plan.classification.task_type, max_turns)
        attempt = Attempt(index=index, rung=rung, model=model, level=level, wire=wire, rule=rule)
        done = run_attempt(ctx, task, budget, log, attempt, baseline, earlier, going_on)
        if done.passed:
            return _deliver(ctx, task, log, done.patch)
        if done.loop.outcome == "paused":
            return _paused(ctx, log, budget, done, plan, index)
        earlier.append(EarlierAttempt(rung=str(rung), outcome=done.loop.outcome, plan=done.loop.plan, tests=done.why))
    assert log.issue_id is not None
    log.record(IssueClosed(issue_id=log.issue_id, status=status))
    log("issue_finished", {"status": status})
    return IssueResult(issue_id=log.issue_id, status=status)


def _paused(ctx: RunSetup, log: IssueLog, budget: Budget, done: Done, plan: LadderChoice, index: int) -> IssueResult:
    """The cap was reached: the issue pauses (its attempt's state saved), saying what it spent and needs."""
    assert log.issue_id is not None
    needed, left = done.loop.budget_note
    spent = ctx.ledger.spent(ctx.run_id, log.issue_id)
    message = pause_message(spent, budget.caps(), needed, ctx.run_id)
    if needed is None and left is None:  # the provider paused, not the cap
        message = f"paused: {done.loop.detail}. When it answers again: agent resume {ctx.run_id}"
    log.record(IssueClosed(issue_id=log.issue_id, status="paused", fields={"error": message}))
    rest = [str(rung) for rung in plan.ladder[index + 1 :]]
    data: dict[str, Any] = {"spent_usd": str(spent), "cap_usd": None if budget.caps() is None else str(budget.caps())}
    data |= {"next_call_usd": None if needed is None else str(needed), "rungs_left": rest, "text": message}
    log("issue_paused", data)
    return IssueResult(issue_id=log.issue_id, status="paused", error=message)


def _before_the_model(ctx: RunSetup, task: Task, log: IssueLog) -> TestRun | None:
    """The task's environment, then the baseline test run (or the evaluator's check of the environment);
    UnverifiableError, before any model call, when the tests cannot tell a fix."""
    if ctx.prepare_environment is not None:
        log("environment_preparing", {})
        environment = ctx.prepare_environment(task, lambda line: log("environment_progress", {"text": line}))
        log("environment", environment)
    if ctx.evaluate is not None:
        if ctx.evaluate_environment is not None and (problem := ctx.evaluate_environment(task)) is not None:
            raise UnverifiableError(f"{problem}; no model was called")
        return None
    baseline = baseline_run(ctx, task)
    failing = baseline_failures(baseline)
    log(
        "baseline",
        {
            "summary": baseline.summary(),
            "exit_code": baseline.exit_code,
            "counts": baseline.counts(),
            "failing": failing,
            "collection_errors": baseline.collection_errors,
        },
    )
    local = repo_modules(Path(task.repo_path) if task.repo_path else None, task.base_commit)
    problem = unverifiable(baseline, task.targets, local)
    if problem is not None:
        raise UnverifiableError(f"{problem}; no model was called")
    if (note := _baseline_note(failing, task.targets)) is not None:
        log("baseline_note", {"text": note, "failing": failing})
    return baseline


def _baseline_note(failing: list[str], targets: list[str]) -> str | None:
    """What the baseline's failures mean for the judging, said once before the first attempt (None: nothing to say)."""
    if targets:
        return None
    if not failing:
        return (
            "every test passes at the base commit, so none shows the issue: each attempt must first write a "
            "test that reproduces it; the runner checks that it fails without the fix and passes with it"
        )
    return (
        f"{len(failing)} test(s) fail at the base commit: {name_list(failing, 10)}. A fix must make at least "
        "one pass and break nothing; those that still fail are not judged. To judge by the tests about this "
        "issue only, pass them with --target (repeatable)"
    )


def _deliver(ctx: RunSetup, task: Task, log: IssueLog, patch: str) -> IssueResult:
    assert log.issue_id is not None
    folder = ctx.run_dir / slugify(task.instance_id, 60)
    folder.mkdir(parents=True, exist_ok=True)
    patch_path = folder / "fix.patch"
    patch_path.write_text(patch)
    branch = None
    if ctx.deliver_branch and task.repo_path:
        message = f"{task.display_title}\n\nFixed by agent run {ctx.run_id}."
        branch = commit_patch(Path(task.repo_path), task.base_commit, patch, slugify(task.display_title), message)
    delivered = {"branch": branch, "patch_path": str(patch_path)}
    log.record(IssueClosed(issue_id=log.issue_id, status="solved", fields=delivered))
    log("issue_finished", {"status": "solved", **delivered})
    return IssueResult(issue_id=log.issue_id, status="solved", **delivered)
