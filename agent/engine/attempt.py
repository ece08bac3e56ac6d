"""One attempt at one rung: a fresh sandbox at the base commit, the model stack, the plan-edit loop,
then the runner's own test run and its verdict (or the evaluator's), recorded and saved.

The model stack: the rung's model, metered (`agent.engine.calling.metered`), behind its provider's
gate (`agent.engine.calling.quota`: rate limits waited out, a quota pauses), inside a fallback
model over the rung's chain (`agent.engine.calling.fallback`); summaries go through a metered
model too. A paused attempt (`agent.engine.pause`) goes on in a fresh sandbox with its changes laid
over the base commit and its loop's state taken up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from agent.core.effort import EffortLevel, Rung
from agent.core.errors import AgentError
from agent.core.protocols import Model, Sandbox
from agent.engine.budget import Budget
from agent.engine.calling.fallback import FallbackModel
from agent.engine.calling.metered import MeteredModel
from agent.engine.calling.meters import AttemptMeter
from agent.engine.calling.quota import provider_model
from agent.engine.calling.router import Route, Router, fallback_chain, parse_target
from agent.engine.condensers.view import ContextView
from agent.engine.evaluation import patch_files
from agent.engine.loop import AttemptSetup, LoopResult, run_loop
from agent.engine.pause import PausedAttempt, lay_over, trajectory_path
from agent.engine.progress.watch import Abandoned, ProgressWatch, SpendTap
from agent.engine.prompts import EarlierAttempt, system_prompt, task_message
from agent.engine.run_setup import EvaluationFailed, Evaluator, IssueLog, RunSetup, tests_of
from agent.engine.testing import TestRun, run_tests
from agent.engine.tools import ToolRunner
from agent.engine.verdict import Verdict, baseline_failures, candidates, judge, needs_reproduction, reproduced_at_base
from agent.learning.escalation import EscalationRule
from agent.ledger import CallRecord
from agent.ledger.facts import AttemptClosed, AttemptOpened, AttemptReopened
from tasks.models import Task


@dataclass
class Attempt:
    index: int
    rung: Rung
    model: Model
    level: EffortLevel
    wire: str
    rule: EscalationRule | None = None
    """When to abandon it for the ladder's next rung (None: it runs to its end)."""


@dataclass
class Done:
    """How an attempt ended: the loop's result, the verdict and the patch."""

    loop: LoopResult
    passed: bool
    why: str
    patch: str


def run_attempt(
    ctx: RunSetup,
    task: Task,
    budget: Budget,
    log: IssueLog,
    attempt: Attempt,
    baseline: TestRun | None,
    earlier: list[EarlierAttempt],
    resume: PausedAttempt | None = None,
) -> Done:
    """One attempt (or, with `resume`, a paused one going on where it stopped)."""
    limits, test_cmd = ctx.config.budget_for(attempt.rung.effort), tests_of(task)
    spend = SpendTap(log.record)
    meter = _open(ctx, log, attempt, limits.max_turns, spend) if resume is None else _reopen(log, resume, spend)
    model = _model_stack(ctx, task, log, attempt, meter, budget, limits.max_turns)
    if resume is not None:
        model.take_up(resume.state.route)
    failing = [] if baseline is None or task.targets else baseline_failures(baseline)
    reproduce = baseline is not None and needs_reproduction(baseline, task.targets)
    with ctx.sandbox_factory(task) as sandbox:
        if resume is not None:
            lay_over(sandbox, resume.state.work_patch)
        system = system_prompt(sandbox.workdir, test_cmd, earlier, failing=failing, reproduce=reproduce)
        context = AttemptSetup(
            model=model,
            meter=meter,
            tools=ToolRunner(sandbox, ctx.config.sandbox.command_timeout_s),
            system=system,
            task=task_message(task.display_title, task.problem_statement),
            max_turns=limits.max_turns,
            max_tokens=limits.max_tokens,
            budget=budget,
            emit=log,
            summary_route=_summary_writer(ctx, task, attempt, meter, budget),
            fallback_after=ctx.config.router.fallback_after,
            loop_repeats=ctx.config.router.loop_repeats,
            context=ContextView(_results_window(limits.context_tokens, model.route.window), ctx.config.context.mask_to),
            summarise_at=ctx.config.context.summarise_at,
            stop=ctx.stop,
            work_diff=sandbox.diff,
            progress=ProgressWatch(
                meter.attempt_id, log.record, log, spend, test_cmd, limits.max_turns, sandbox.diff, attempt.rule
            ),
            resume=resume.state if resume is not None else None,
        )
        loop, tests, patch = _loop_and_tests(ctx, test_cmd, log, context, sandbox, attempt, task, earlier)
    done = _judged(ctx, task, test_cmd, log, loop, tests, baseline, patch)
    _finished(log, attempt, done)
    return done


def _finished(log: IssueLog, attempt: Attempt, done: Done) -> None:
    loop = done.loop
    log(
        "attempt_finished",
        {
            "rung_index": attempt.index,
            "outcome": loop.outcome,
            "tests_passed": done.passed,
            "why": done.why,
            "turns": loop.turns,
            "loop_s": round(loop.wall_s, 4),
            "model_s": round(loop.model_time_s, 4),
            "command_s": round(loop.command_time_s, 4),
            "fallbacks": loop.fallbacks,
            "validation_failures": loop.validation_failures,
        },
    )


def _open(ctx: RunSetup, log: IssueLog, attempt: Attempt, max_turns: int, spend: SpendTap) -> AttemptMeter:
    """The attempt's row and `attempt_started` event; the meter its calls are recorded by (through `spend`)."""
    assert log.issue_id is not None
    model, asked = attempt.model, attempt.rung.effort.value
    fields = {"model": model.name, "provider": model.provider, "effort_asked": asked, "effort_sent": attempt.wire}
    opened = AttemptOpened(
        issue_id=log.issue_id, run_id=ctx.run_id, fields={"rung_index": attempt.index, **fields, "max_turns": max_turns}
    )
    log.attempt_id = log.opened(opened)
    log(
        "attempt_started",
        {
            "rung_index": attempt.index,
            "model": model.name,
            "effort": asked,
            "effort_sent": attempt.wire,
            "max_turns": max_turns,
        },
    )
    return AttemptMeter(log.attempt_id, spend, log)


def _reopen(log: IssueLog, resume: PausedAttempt, spend: SpendTap) -> AttemptMeter:
    """A paused attempt's row `running` again, and the meter its further calls are recorded by."""
    log.attempt_id = resume.attempt_id
    log.record(AttemptReopened(attempt_id=resume.attempt_id))
    log("attempt_resumed", {"rung_index": resume.rung_index, "turn": resume.state.next_turn})
    return AttemptMeter(resume.attempt_id, spend, log)


def _model_stack(
    ctx: RunSetup, task: Task, log: IssueLog, attempt: Attempt, meter: AttemptMeter, budget: Budget, max_turns: int
) -> FallbackModel:
    """The rung's route and its fallbacks, each metered; every turn's request announced as `turn_started`."""

    def announce(call: CallRecord) -> None:
        log("turn_started", {"turn": call.turn, "max_turns": max_turns, "max_tokens": call.max_tokens})

    metered = partial(
        MeteredModel, budget=budget, meter=meter, estimate=lambda _: meter.prompt_tokens, on_sent=announce
    )
    gated = ctx.gates.wrapping(metered, log, ctx.config.router.rate_limit_max_wait_s, ctx.stop)  # calling/quota.py

    def make(rung: Rung) -> Route:  # ConfigError when its model cannot run here
        model = ctx.model_factory(rung.model, task)
        return _metered_route(ctx, model, *model.effort_for(rung.effort), gated)

    chain = fallback_chain(ctx.config, attempt.rung)
    router = Router(chain, make, lambda text: log("warning", {"text": text})) if chain else None
    first = _metered_route(ctx, attempt.model, attempt.level, attempt.wire, gated)
    return FallbackModel(first, router, meter)


def _metered_route(ctx: RunSetup, model: Model, level: EffortLevel, wire: str, metered: Callable[..., Model]) -> Route:
    """`model` at `level` as an attempt calls it: `metered(model, price)`, with its price and context window."""
    price = ctx.price_for(model.name)
    return Route(metered(model, price), level, wire, price, ctx.window_for(model.name))


def _summary_writer(
    ctx: RunSetup, task: Task, attempt: Attempt, meter: AttemptMeter, budget: Budget
) -> Callable[[Route], Route]:
    """Who summarises for a route: `[context] summary_model` at the rung's effort, or the route's own model;
    metered, reserving for the request as sent."""
    configured: list[Route] = []
    metered = partial(MeteredModel, budget=budget, meter=meter)

    def writer(route: Route) -> Route:
        name = ctx.config.context.summary_model
        if not name:
            inner = provider_model(route.model)
            return _metered_route(ctx, inner, route.level, route.wire, metered)
        if not configured:
            target = parse_target(name, attempt.rung.effort)
            model = ctx.model_factory(target.model, task)
            configured.append(_metered_route(ctx, model, *model.effort_for(target.effort), metered))
        return configured[0]

    return writer


def _loop_and_tests(
    ctx: RunSetup,
    test_cmd: str,
    log: IssueLog,
    context: AttemptSetup,
    sandbox: Sandbox,
    attempt: Attempt,
    task: Task,
    earlier: list[EarlierAttempt],
) -> tuple[LoopResult, TestRun | None, str]:
    """The loop, the diff and (without an evaluator) the test run, in the attempt's sandbox; the trajectory saved."""
    loop: LoopResult | None = None
    try:
        loop = run_loop(context)
        patch = sandbox.diff()
        tests = None
        if loop.paused is not None:
            loop.paused.work_patch = patch
        if ctx.evaluate is None and loop.outcome not in (Abandoned.outcome, "paused"):
            tests = run_tests(sandbox, test_cmd, ctx.config.sandbox.command_timeout_s, keep_going=True)
        return loop, tests, patch
    except AgentError as exc:
        _closed(log, "error", False, error=str(exc), turns=loop.turns if loop else 0)
        raise
    finally:
        _save_trajectory(ctx, task, log, attempt, context.system, loop, earlier)


def _judged(
    ctx: RunSetup,
    task: Task,
    test_cmd: str,
    log: IssueLog,
    loop: LoopResult,
    tests: TestRun | None,
    baseline: TestRun | None,
    patch: str,
) -> Done:
    """The verdict on the attempt (the evaluator's, or the tests' against the baseline), recorded. An abandoned
    or paused attempt is not judged, and records no patch: nothing was delivered to review."""
    if loop.outcome in (Abandoned.outcome, "paused"):
        fields = {"model_time_s": loop.model_time_s, "command_time_s": loop.command_time_s, "plan": loop.plan}
        _closed(log, loop.outcome, False, turns=loop.turns, **fields)
        return Done(loop=loop, passed=False, why=f"not judged: {loop.detail}", patch="")
    if ctx.evaluate is not None:
        passed, why, report = _evaluate(ctx.evaluate, log, task, patch, loop.turns)
        log("tests", {"passed": passed, "why": why, "evaluated": True})
        report_json = json.dumps(report, default=str)
    else:
        assert tests is not None and baseline is not None  # both run whenever there is no evaluator
        verdict = _verdict(ctx, task, test_cmd, tests, baseline, patch)
        passed, why = verdict.passed, verdict.why
        counted = {"summary": tests.summary(), "counts": tests.counts(), "exit_code": tests.exit_code}
        log("tests", {"passed": passed, "why": why, **counted, **verdict.model_dump(exclude={"passed", "why"})})
        report_json = json.dumps({**tests.model_dump(), "verdict": verdict.model_dump()})
    _closed(
        log,
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
    return Done(loop=loop, passed=passed, why=why, patch=patch)


def _closed(log: IssueLog, outcome: str, passed: bool, **fields: Any) -> None:
    assert log.attempt_id is not None
    log.record(AttemptClosed(attempt_id=log.attempt_id, outcome=outcome, passed=passed, fields=fields))


def _verdict(ctx: RunSetup, task: Task, test_cmd: str, tests: TestRun, baseline: TestRun, patch: str) -> Verdict:
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


def _evaluate(
    evaluate: Evaluator, log: IssueLog, task: Task, patch: str, turns: int
) -> tuple[bool, str, dict[str, Any]]:
    try:
        return evaluate(task, patch)
    except AgentError as exc:
        report = json.dumps(exc.report, default=str) if isinstance(exc, EvaluationFailed) else None
        _closed(log, "error", False, error=str(exc), turns=turns, patch=patch, test_report_json=report)
        raise


def _save_trajectory(
    ctx: RunSetup,
    task: Task,
    log: IssueLog,
    attempt: Attempt,
    system: str,
    loop: LoopResult | None,
    earlier: list[EarlierAttempt],
) -> None:
    path = trajectory_path(ctx.run_dir, task.instance_id, attempt.index)
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "run_id": ctx.run_id,
        "instance_id": task.instance_id,
        "attempt_id": log.attempt_id,
        "rung": str(attempt.rung),
        "effort_sent": attempt.wire,
        "system": system,
        "outcome": loop.outcome if loop else "error",
        "plan": loop.plan if loop else "",
        "messages": [message.model_dump(mode="json") for message in loop.messages] if loop else [],
        "context": loop.context_events if loop else [],
        "fallbacks": loop.fallbacks if loop else [],
    }
    if loop is not None and loop.paused is not None:
        earlier_data = [item.model_dump() for item in earlier]
        data["paused"] = {"state": loop.paused.model_dump(mode="json"), "earlier": earlier_data}
    path.write_text(json.dumps(data, indent=1))
