"""`run_issue`: runs one issue end to end, climbing its ladder. The CLI, TUI and batch runner all call it.

For each rung: a fresh sandbox at the base commit, the plan-edit loop, then the runner's own
test run. The first passing rung ends the climb; its patch becomes a branch and a patch file.
Everything is logged to the ledger as it happens, and mirrored to `on_event`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.core.config import AgentConfig
from agent.core.effort import EffortLevel, Rung
from agent.core.errors import AgentError, ProviderError, SandboxError, UnverifiableError
from agent.core.events import LIVE_ONLY, Event, EventSink
from agent.core.protocols import Model, Sandbox
from agent.engine.budget import Budget
from agent.engine.calls import AttemptCalls
from agent.engine.context import ContextView
from agent.engine.delivery import commit_patch
from agent.engine.evaluation import patch_files
from agent.engine.loop import AttemptContext, LoopResult, run_loop
from agent.engine.planner import Classification, Plan
from agent.engine.prompts import EarlierAttempt, system_prompt, task_message
from agent.engine.router import Route, Router, fallback_chain, parse_target
from agent.engine.testing import TestRun, repo_modules, run_tests, unverifiable
from agent.engine.tools import ToolRunner
from agent.engine.verdict import (
    Verdict,
    baseline_failures,
    candidates,
    judge,
    name_list,
    needs_reproduction,
    reproduced_at_base,
)
from agent.ledger import Ledger
from agent.providers.pricing import PriceQuote
from tasks.models import Task, slugify

Evaluator = Callable[[Task, str], tuple[bool, str, dict[str, Any]]]
"""(task, patch) -> (passed, one-line reason, report as JSON-able data)."""

EnvironmentPreparer = Callable[[Task, Callable[[str], None]], dict[str, Any]]
"""(task, progress line sink) -> what the environment is (image, built, seconds, sources), building
it when missing; raises EnvironmentBuildError when it cannot be built."""


class EvaluationFailed(SandboxError):
    """The evaluation itself could not run (an infrastructure failure); `report` says what happened."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


class IssueResult(BaseModel):
    issue_id: int
    status: str  # solved | unsolved | budget_exhausted | error
    branch: str | None = None
    patch_path: str | None = None
    error: str | None = None


@dataclass
class RunContext:
    """What every issue of one run shares."""

    config: AgentConfig
    ledger: Ledger
    run_id: str
    model_factory: Callable[[str, Task | None], Model]
    price_for: Callable[[str], PriceQuote | None]
    sandbox_factory: Callable[[Task], Sandbox]
    on_event: EventSink
    deliver_branch: bool = True
    stop: threading.Event = field(default_factory=threading.Event)
    evaluate: Evaluator | None = None
    """When set, an attempt passes when `evaluate(task, patch)` says so (SWE-bench style: a fresh
    sandbox with the task's test_patch), instead of the test command in the attempt's sandbox;
    the baseline run is skipped. It raises SandboxError for infrastructure failures."""
    prepare_environment: EnvironmentPreparer | None = None
    """Builds (or finds) the task's environment image before its first sandbox."""
    evaluate_environment: Callable[[Task], str | None] | None = None
    """With `evaluate`: why the environment cannot run the task's tests at all (None: it can)."""
    window_for: Callable[[str], int | None] = lambda name: None
    """A model's context window in prompt tokens (None: unknown); routes context-window fallbacks."""

    @property
    def run_dir(self) -> Path:
        return self.config.runs_dir / self.run_id


class _Emitter:
    def __init__(self, ctx: RunContext, issue_id: int) -> None:
        self.ctx, self.issue_id = ctx, issue_id
        self.attempt_id: int | None = None

    def __call__(self, kind: str, data: dict) -> None:
        if kind not in LIVE_ONLY:
            self.ctx.ledger.record_event(self.ctx.run_id, kind, data, self.issue_id, self.attempt_id)
        self.ctx.on_event(
            Event(
                kind=kind,
                data=data,
                run_id=self.ctx.run_id,
                issue_id=self.issue_id,
                attempt_id=self.attempt_id,
            )
        )


def baseline_run(ctx: RunContext, task: Task, test_cmd: str) -> TestRun:
    with ctx.sandbox_factory(task) as sandbox:
        return run_tests(sandbox, test_cmd, ctx.config.sandbox.command_timeout_s, keep_going=True)


def record_classifier_calls(ledger: Ledger, issue_id: int, classification: Classification) -> list[dict[str, Any]]:
    """Record the classifier model's calls under the issue (already charged to its budget when they
    were made); returns the data of their `classifier_call` events."""
    events = []
    for call in classification.calls:
        ledger.record_issue_call(issue_id, call, "classify")
        usage = call.usage.model_dump()
        spent = None if call.cost_usd is None else str(call.cost_usd)
        events.append({"model": call.model, **usage, "cost_usd": spent, "error": call.error})
    return events


def run_issue(ctx: RunContext, task: Task, plan: Plan, test_cmd: str, budget: Budget) -> IssueResult:
    """Climb `plan.ladder` on `task` until a rung passes, the ladder ends, or the budget does."""
    ladder = plan.ladder
    issue_id = ctx.ledger.add_issue(
        ctx.run_id,
        key=task.instance_id,
        title=task.display_title,
        task_type=plan.classification.task_type,
        task_type_reason=plan.classification.reason,
        decided_by=plan.classification.decided_by,
        repo=task.repo_path or task.repo,
        base_commit=task.base_commit,
        test_cmd=test_cmd,
        ladder=",".join(str(rung) for rung in ladder),
        policy=plan.ladder_source,
    )
    emit = _Emitter(ctx, issue_id)
    emit(
        "issue_started",
        {
            "key": task.instance_id,
            "title": task.display_title,
            "task_type": plan.classification.task_type,
            "reason": plan.classification.reason,
            "decided_by": plan.classification.decided_by,
            "repo": task.repo_path or task.repo,
            "test_cmd": test_cmd,
            "ladder": [str(rung) for rung in ladder],
            "targets": task.targets,
            "max_cost_usd": None if budget.cap is None else str(budget.cap),
            "policy": plan.ladder_source,
        },
    )
    for data in record_classifier_calls(ctx.ledger, issue_id, plan.classification):
        emit("classifier_call", data)
    if plan.decision is not None:
        emit("decision", plan.decision)
    try:
        return _climb(ctx, task, plan, test_cmd, budget, issue_id, emit)
    except (ProviderError, SandboxError, UnverifiableError) as exc:
        kind = "environment" if isinstance(exc, UnverifiableError) else "infra"
        kind = "provider" if isinstance(exc, ProviderError) else kind
        ctx.ledger.finish_issue(issue_id, "error", error_kind=kind, error=str(exc))
        emit("issue_finished", {"status": "error", "error": str(exc), "error_kind": kind})
        raise


def _climb(
    ctx: RunContext, task: Task, plan: Plan, test_cmd: str, budget: Budget, issue_id: int, emit: _Emitter
) -> IssueResult:
    if ctx.prepare_environment is not None:
        emit("environment_preparing", {})
        environment = ctx.prepare_environment(task, lambda line: emit("environment_progress", {"text": line}))
        emit("environment", environment)
    baseline: TestRun | None = None
    if ctx.evaluate is None:
        baseline = baseline_run(ctx, task, test_cmd)
        failing = baseline_failures(baseline)
        emit(
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
            emit("baseline_note", {"text": note, "failing": failing})
    elif ctx.evaluate_environment is not None and (problem := ctx.evaluate_environment(task)) is not None:
        raise UnverifiableError(f"{problem}; no model was called")
    earlier: list[EarlierAttempt] = []
    seen: dict[tuple[str, str], EffortLevel] = {}
    status = "unsolved"
    for index, rung in enumerate(plan.ladder):
        if status == "budget_exhausted" or ctx.stop.is_set():
            reason = "budget" if status == "budget_exhausted" else "stopped"
            emit("rung_skipped", {"rung_index": index, "rung": str(rung), "reason": reason})
            continue
        model = ctx.model_factory(rung.model, task)
        level, wire = model.effort_for(rung.effort)
        if seen.setdefault((rung.model, wire), rung.effort) != rung.effort:
            reason = f"same request as an earlier rung (effort {wire})"  # a repeat on purpose (m@low*2) runs
            emit("rung_skipped", {"rung_index": index, "rung": str(rung), "reason": reason})
            continue
        if earlier:
            emit("escalation", {"rung_index": index, "rung": str(rung), "after": earlier[-1].outcome})
        attempt = Attempt(index=index, rung=rung, model=model, level=level, wire=wire)
        loop, passed, why, patch = _attempt(ctx, task, test_cmd, budget, emit, attempt, baseline, earlier)
        if passed:
            return _deliver(ctx, task, issue_id, emit, patch)
        if loop.outcome == "budget_exhausted":
            status = "budget_exhausted"
        earlier.append(EarlierAttempt(rung=str(rung), outcome=loop.outcome, plan=loop.plan, tests=why))
    ctx.ledger.finish_issue(issue_id, status)
    emit("issue_finished", {"status": status})
    return IssueResult(issue_id=issue_id, status=status)


@dataclass
class Attempt:
    index: int
    rung: Rung
    model: Model
    level: EffortLevel
    wire: str


def _attempt(
    ctx: RunContext,
    task: Task,
    test_cmd: str,
    budget: Budget,
    emit: _Emitter,
    attempt: Attempt,
    baseline: TestRun | None,
    earlier: list[EarlierAttempt],
) -> tuple[LoopResult, bool, str, str]:
    model, limits = attempt.model, ctx.config.budget_for(attempt.rung.effort)
    price = ctx.price_for(model.name)
    attempt_id = ctx.ledger.start_attempt(
        emit.issue_id,
        ctx.run_id,
        rung_index=attempt.index,
        model=model.name,
        provider=model.provider,
        effort_asked=attempt.rung.effort.value,
        effort_sent=attempt.wire,
        max_turns=limits.max_turns,
    )
    emit.attempt_id = attempt_id
    emit(
        "attempt_started",
        {
            "rung_index": attempt.index,
            "model": model.name,
            "effort": attempt.rung.effort.value,
            "effort_sent": attempt.wire,
            "max_turns": limits.max_turns,
        },
    )
    calls = AttemptCalls(ctx.ledger, attempt_id, model.name, attempt.wire, price, budget, emit)
    route = Route(model, attempt.level, attempt.wire, price, ctx.window_for(model.name))
    chain = fallback_chain(ctx.config, attempt.rung)
    make_route = _route_maker(ctx, task)
    router = Router(chain, make_route, lambda text: emit("warning", {"text": text})) if chain else None
    writer = ctx.config.context.summary_model
    summary_route = make_route(parse_target(writer, attempt.rung.effort)) if writer else None
    failing = [] if baseline is None or task.targets else baseline_failures(baseline)
    reproduce = baseline is not None and needs_reproduction(baseline, task.targets)
    with ctx.sandbox_factory(task) as sandbox:
        system = system_prompt(sandbox.workdir, test_cmd, earlier, failing=failing, reproduce=reproduce)
        context = AttemptContext(
            route=route,
            tools=ToolRunner(sandbox, ctx.config.sandbox.command_timeout_s),
            system=system,
            task=task_message(task.display_title, task.problem_statement),
            max_turns=limits.max_turns,
            max_tokens=limits.max_tokens,
            budget=budget,
            emit=emit,
            calls=calls,
            router=router,
            fallback_after=ctx.config.router.fallback_after,
            loop_repeats=ctx.config.router.loop_repeats,
            context=ContextView(_results_window(limits.context_tokens, route.window), ctx.config.context.mask_to),
            summarise_at=ctx.config.context.summarise_at,
            summary_route=summary_route,
            stop=ctx.stop,
            work_diff=sandbox.diff,
        )
        loop: LoopResult | None = None
        tests: TestRun | None = None
        try:
            loop = run_loop(context)
            patch = sandbox.diff()
            if ctx.evaluate is None:
                tests = run_tests(sandbox, test_cmd, ctx.config.sandbox.command_timeout_s, keep_going=True)
        except AgentError as exc:
            ctx.ledger.finish_attempt(attempt_id, "error", False, error=str(exc), turns=loop.turns if loop else 0)
            raise
        finally:
            _save_trajectory(ctx, task, attempt_id, attempt, system, loop)
    if ctx.evaluate is not None:
        passed, why, report = _evaluate(ctx, ctx.evaluate, task, patch, attempt_id, loop.turns)
        emit("tests", {"passed": passed, "why": why, "evaluated": True})
        report_json = json.dumps(report, default=str)
    else:
        assert tests is not None and baseline is not None  # both run whenever there is no evaluator
        verdict = _verdict(ctx, task, test_cmd, tests, baseline, patch)
        passed, why = verdict.passed, verdict.why
        emit(
            "tests",
            {
                "passed": passed,
                "why": why,
                "summary": tests.summary(),
                "counts": tests.counts(),
                "exit_code": tests.exit_code,
                **verdict.model_dump(exclude={"passed", "why"}),
            },
        )
        report_json = json.dumps({**tests.model_dump(), "verdict": verdict.model_dump()})
    ctx.ledger.finish_attempt(
        attempt_id,
        loop.outcome,
        passed,
        turns=loop.turns,
        model_time_s=loop.model_time_s,
        command_time_s=loop.command_time_s,
        diff_lines=patch.count("\n"),
        patch=patch,
        plan=loop.plan,
        test_report_json=report_json,
    )
    emit(
        "attempt_finished",
        {
            "rung_index": attempt.index,
            "outcome": loop.outcome,
            "tests_passed": passed,
            "why": why,
            "turns": loop.turns,
            "loop_s": round(loop.wall_s, 4),
            "model_s": round(loop.model_time_s, 4),
            "command_s": round(loop.command_time_s, 4),
            "fallbacks": loop.fallbacks,
            "validation_failures": loop.validation_failures,
        },
    )
    return loop, passed, why, patch


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


def _verdict(ctx: RunContext, task: Task, test_cmd: str, tests: TestRun, baseline: TestRun, patch: str) -> Verdict:
    """Judge the attempt's test run; when only a test it wrote could show the fix, run that test at the base."""
    verdict = judge(tests, task.targets, baseline)
    if verdict.passed or task.targets or verdict.broken or verdict.fixed:
        return verdict
    written = candidates(tests, baseline, patch_files(patch))
    if not written:
        return verdict
    timeout = ctx.config.sandbox.command_timeout_s
    with ctx.sandbox_factory(task) as base:
        reproduced = reproduced_at_base(base, patch, written, test_cmd, timeout)
    return judge(tests, task.targets, baseline, reproduced)


def _results_window(context_tokens: int, window: int | None) -> int:
    """The tokens of tool results sent in full: the effort's, at most half the model's context window."""
    return context_tokens if window is None else max(1, min(context_tokens, window // 2))


def _route_maker(ctx: RunContext, task: Task) -> Callable[[Rung], Route]:
    """Builds a fallback rung's route (ConfigError when its model cannot run here)."""

    def make(rung: Rung) -> Route:
        model = ctx.model_factory(rung.model, task)
        level, wire = model.effort_for(rung.effort)
        return Route(model, level, wire, ctx.price_for(model.name), ctx.window_for(model.name))

    return make


def _evaluate(
    ctx: RunContext, evaluate: Evaluator, task: Task, patch: str, attempt_id: int, turns: int
) -> tuple[bool, str, dict[str, Any]]:
    try:
        return evaluate(task, patch)
    except AgentError as exc:
        report = json.dumps(exc.report, default=str) if isinstance(exc, EvaluationFailed) else None
        ctx.ledger.finish_attempt(
            attempt_id, "error", False, error=str(exc), turns=turns, patch=patch, test_report_json=report
        )
        raise


def _save_trajectory(
    ctx: RunContext, task: Task, attempt_id: int, attempt: Attempt, system: str, loop: LoopResult | None
) -> None:
    folder = ctx.run_dir / slugify(task.instance_id, 60)
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "run_id": ctx.run_id,
        "instance_id": task.instance_id,
        "attempt_id": attempt_id,
        "rung": str(attempt.rung),
        "effort_sent": attempt.wire,
        "system": system,
        "outcome": loop.outcome if loop else "error",
        "plan": loop.plan if loop else "",
        "messages": [message.model_dump(mode="json") for message in loop.messages] if loop else [],
        "context": loop.context_events if loop else [],
        "fallbacks": loop.fallbacks if loop else [],
    }
    (folder / f"attempt-{attempt.index + 1}.json").write_text(json.dumps(data, indent=1))


def _deliver(ctx: RunContext, task: Task, issue_id: int, emit: _Emitter, patch: str) -> IssueResult:
    folder = ctx.run_dir / slugify(task.instance_id, 60)
    folder.mkdir(parents=True, exist_ok=True)
    patch_path = folder / "fix.patch"
    patch_path.write_text(patch)
    branch = None
    if ctx.deliver_branch and task.repo_path:
        message = f"{task.display_title}\n\nFixed by agent run {ctx.run_id}."
        branch = commit_patch(Path(task.repo_path), task.base_commit, patch, slugify(task.display_title), message)
    ctx.ledger.finish_issue(issue_id, "solved", branch=branch, patch_path=str(patch_path))
    emit("issue_finished", {"status": "solved", "branch": branch, "patch_path": str(patch_path)})
    return IssueResult(issue_id=issue_id, status="solved", branch=branch, patch_path=str(patch_path))
