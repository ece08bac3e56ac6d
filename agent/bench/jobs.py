"""One job of a batch: the options, the jobs a suite gives (a task, or a task x rung for a grid),
and `run_job`, which runs one job through the same `run_issue` as `agent fix` under the batch cap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from agent.bench.batch_budget import Batch, IssueBudget
from agent.bench.planning import TaskTypes
from agent.core.config import AgentConfig
from agent.core.effort import EffortLevel, Rung, parse_ladder
from agent.core.errors import AgentError, AttemptEnded, ConfigError, ProviderError
from agent.engine.budget import tokens_at_most, worst_case_usd
from agent.engine.loop import TOOLS_CHARS
from agent.engine.pause import PausedAttempt
from agent.engine.planner import Classification, LadderChoice, LadderChooser, RungFit, classify
from agent.engine.prompts import system_prompt, task_message
from agent.engine.runner import EvaluationFailed, RunSetup, open_issue, run_issue
from agent.engine.testing import detect_test_cmd
from agent.ledger import IssueRow
from agent.ledger.facts import IssueClosed
from agent.wiring.options import RunOptions
from tasks.models import Task


class BenchOptions(RunOptions):
    """What `agent bench` was asked to do (recorded in the run's args for --resume): the shared run
    options (`policy` also takes `planner`, the same as `rules`), plus the suite and how it runs."""

    suite: str = Field("builtin", description="builtin, a .jsonl/.json task file or a directory.")
    grid: list[str] = Field(default_factory=list, description="MODEL[,MODEL...]@EFFORT[,EFFORT...] specs.")
    workers: int = Field(1, ge=1, description="Jobs run at once.")
    executor: Literal["local", "ray"] = Field("local", description="local (threads) or ray.")
    ray_address: str | None = Field(None, description="The Ray cluster's address (None: start one here).")
    batch_max_cost: Decimal | None = Field(
        None,
        validation_alias=AliasChoices("batch_max_cost", "max_cost"),  # `max_cost` in runs recorded before
        description="`agent bench --max-cost`: the API cap in USD for the whole batch (each issue keeps its"
        " [budget] max_cost_usd).",
    )
    run_id: str | None = Field(None, description="Id for the new run (None: one is made).")
    resume: str | None = Field(None, description="Continue this run: its jobs not yet done.")
    limit: int | None = Field(None, description="Only the first N tasks.")
    ids: list[str] = Field(default_factory=list, description="Only these instance ids.")


def parse_grid(specs: list[str]) -> list[Rung]:
    """`claude-opus-4-7,deepseek-v4-pro@medium,high` -> every model at every effort, in order."""
    rungs: list[Rung] = []
    for spec in specs:
        models, sep, efforts = spec.rpartition("@")
        names = [name.strip() for name in models.split(",") if name.strip()]
        levels = [EffortLevel.parse(level) for level in efforts.split(",") if level.strip()]
        if not sep or not names or not levels:
            raise ConfigError(f"bad grid {spec!r}: write MODEL[,MODEL...]@EFFORT[,EFFORT...], e.g. m1,m2@medium,max")
        rungs.extend(
            Rung(model=name, effort=level)
            for name in names
            for level in levels
            if Rung(model=name, effort=level) not in rungs
        )
    return rungs


class Job(BaseModel):
    """One run_issue call of a batch. `rung` is set for grid jobs (a one-rung ladder each)."""

    task: Task
    plan: LadderChoice
    rung: str = ""
    classify: bool = False
    """The classifier model decides the task's type when the job runs (see agent.bench.planning);
    until then `plan` is the rules' plan."""
    resume: PausedAttempt | None = None
    """A paused issue of a resumed batch: it goes on where it stopped, with the ladder it had."""

    @property
    def key(self) -> str:
        return f"{self.task.instance_id}@{self.rung}" if self.rung else self.task.instance_id


def job_key(issue: IssueRow, grid: bool) -> str:
    return f"{issue.key}@{issue.ladder}" if grid else issue.key


def classification_for(task: Task, config: AgentConfig) -> Classification:
    if task.task_type:
        return Classification(task_type=task.task_type, reason="set by the task", decided_by="task")
    return classify(task.problem_statement, task.labels, config.planner)


def plan_jobs(
    tasks: list[Task],
    options: BenchOptions,
    config: AgentConfig,
    fit: RungFit | None = None,
    learned: LadderChooser | None = None,
) -> list[Job]:
    grid = parse_grid(options.grid) if options.grid else []
    if grid and (options.ladder or options.model or options.policy):
        raise ConfigError("--grid runs every rung on its own: drop --ladder/--model/--policy")
    if options.policy not in (None, *BENCH_POLICIES):
        raise ConfigError(f"unknown bench policy {options.policy!r}: use rules or learned (or --ladder/--model)")
    rungs: list[Rung | None] = [*grid] or [None]
    jobs: list[Job] = []
    for task in tasks:
        test_cmd = task.test_cmd or (detect_test_cmd(Path(task.repo_path)) if task.repo_path else None)
        if test_cmd is None:
            raise ConfigError(f"task {task.instance_id} has no test_cmd and none can be detected: set it")
        classification = classification_for(task, config)
        later = not task.task_type and bool(config.planner.classifier_model)
        for rung in rungs:
            plan = job_plan(classification, options, config, fit, rung, learned)
            jobs.append(
                Job(
                    task=task.model_copy(update={"test_cmd": test_cmd}),
                    rung="" if rung is None else str(rung),
                    plan=plan,
                    classify=later,
                )
            )
    return jobs


BENCH_POLICIES = ("planner", "rules", "learned")


def wants_learned(options: BenchOptions, config: AgentConfig) -> bool:
    """Whether the batch's ladders come from the learned policy (asked, or configured and not overridden)."""
    if options.grid or options.ladder or options.model:
        return False
    return (options.policy or config.planner.policy) == "learned"


def job_plan(
    classification: Classification,
    options: BenchOptions,
    config: AgentConfig,
    fit: RungFit | None,
    rung: Rung | None,
    learned: LadderChooser | None = None,
) -> LadderChoice:
    """A job's plan: its grid rung alone, else the ladder the options and the task type give."""
    if rung is not None:
        return LadderChoice(classification=classification, ladder=[rung], ladder_source="grid")
    return options.choose_ladder(
        classification, config, fit=fit, learned=learned, max_api_usd=config.budget.max_cost_usd
    )


def select_tasks(options: BenchOptions, home: Path) -> list[Task]:
    from tasks.loaders import checkout_repo, load_tasks

    tasks = load_tasks(options.suite, home)
    if options.ids:
        known = {task.instance_id for task in tasks}
        missing = [instance for instance in options.ids if instance not in known]
        if missing:
            raise ConfigError(f"no task {', '.join(missing)} in suite {options.suite}: check --ids")
        tasks = [task for task in tasks if task.instance_id in options.ids]
    tasks = tasks[: options.limit] if options.limit is not None else tasks
    return [checkout_repo(task, home) for task in tasks]  # a local repository at the base commit for each


@dataclass
class Bench:
    """What every job of one batch shares."""

    ctx: RunSetup
    batch: Batch
    grid: bool
    issue_cap: Decimal | None
    lock: threading.Lock
    options: BenchOptions = field(default_factory=BenchOptions)
    fit: RungFit | None = None
    learned: LadderChooser | None = None
    task_types: TaskTypes = field(default_factory=TaskTypes)
    environment_checks: dict[str, str | None] = field(default_factory=dict)

    @property
    def config(self) -> AgentConfig:
        return self.ctx.config

    def environment_problem(self, task: Task) -> str | None:
        """Why the task's tests cannot run at all here (checked once per task: grid jobs share it)."""
        from agent.engine.evaluation import evaluate_patch

        with self.lock:
            if task.instance_id in self.environment_checks:
                return self.environment_checks[task.instance_id]
        timeout = self.config.sandbox.command_timeout_s * 3
        report = evaluate_patch(task, "", self.ctx.sandbox_factory, timeout=timeout, home=self.config.home)
        if report.error_kind == "infra" and report.environment_problem is None:
            raise EvaluationFailed(f"checking {task.instance_id} at its base failed: {report.error}", {})
        with self.lock:
            self.environment_checks[task.instance_id] = report.environment_problem
        return report.environment_problem


def evaluator(ctx: RunSetup) -> Callable[[Task, str], tuple[bool, str, dict[str, Any]]]:
    """SWE-bench judging: evaluate_patch in a fresh sandbox; infra failures raise EvaluationFailed."""
    from agent.engine.evaluation import evaluate_patch

    def evaluate(task: Task, patch: str) -> tuple[bool, str, dict[str, Any]]:
        report = evaluate_patch(
            task, patch, ctx.sandbox_factory, timeout=ctx.config.sandbox.command_timeout_s * 3, home=ctx.config.home
        )
        data = report.model_dump(mode="json")
        if report.error_kind == "infra":
            raise EvaluationFailed(f"evaluating {task.instance_id} failed: {report.error}", data)
        f2p, p2p = report.FAIL_TO_PASS, report.PASS_TO_PASS
        why = (
            f"{'resolved' if report.resolved else 'unresolved'}: FAIL_TO_PASS {len(f2p['success'])}/"
            f"{len(f2p['success']) + len(f2p['failure'])}, PASS_TO_PASS {len(p2p['success'])}/"
            f"{len(p2p['success']) + len(p2p['failure'])}" + ("" if report.patch_applied else " (patch did not apply)")
        )
        return report.resolved, why, data

    return evaluate


def first_call_worst_case(bench: Bench, job: Job) -> Decimal | None:
    """What the job's first model call could cost at most (None: unpriced)."""
    rung = job.plan.ladder[0]
    model = bench.ctx.model_factory(rung.model, job.task)
    limits = bench.config.budget_for(rung.effort)
    system = system_prompt(bench.config.sandbox.workdir, job.task.test_cmd or "", [])
    prompt = tokens_at_most(
        len(system) + TOOLS_CHARS + len(task_message(job.task.display_title, job.task.problem_statement))
    )
    return worst_case_usd(prompt, limits.max_tokens, bench.ctx.price_for(model.name))


def with_latest_fit(bench: Bench, job: Job) -> Job:
    """The job with its ladder chosen again by the learned planner as refitted so far in this batch
    (the plan made when the batch was planned used the ledger as it was then)."""
    if bench.learned is None or job.rung:
        return job
    with bench.lock:
        plan = job_plan(job.plan.classification, bench.options, bench.config, bench.fit, None, bench.learned)
    return job.model_copy(update={"plan": plan})


def learn_from(bench: Bench, issue_id: int) -> None:
    """Refit the learned planner (warm-started) with the finished issue's measured attempts."""
    if bench.learned is None:
        return
    from agent.learning import observations_from_ledger

    ledger, run_id = bench.ctx.ledger, bench.ctx.run_id
    observations = observations_from_ledger(
        ledger, [run_id], issue_ids={issue_id}, review_estimate_minutes=bench.config.review.minutes_per_attempt
    )
    if observations:
        with bench.lock:
            bench.learned.observe(observations)


def run_job(bench: Bench, job: Job) -> int | None:
    """Run one job; returns its issue row id (None when the batch was stopped first)."""
    ctx = bench.ctx
    if ctx.stop.is_set():
        return None
    spent = ctx.ledger.spent(ctx.run_id, job.resume.issue_id) if job.resume else Decimal(0)
    budget = IssueBudget(bench.issue_cap, bench.batch, job.key, spent=spent)
    started = time.time()
    try:
        if job.resume is not None:
            return run_issue(ctx_for(bench, job), job.task, job.plan, budget, resume=job.resume).issue_id
        if job.classify:
            rung = job.plan.ladder[0] if job.rung else None
            plan = bench.task_types.plan(
                job.task,
                job.plan,
                ctx,
                budget,
                lambda decided: job_plan(decided, bench.options, bench.config, bench.fit, rung, bench.learned),
            )
            job = job.model_copy(update={"plan": plan, "classify": False})
        job = with_latest_fit(bench, job)
        worst, left = first_call_worst_case(bench, job), bench.batch.left()
        if worst is not None and left is not None and worst > left:
            return add_skipped(ctx, job, f"the batch has ${left:.4f} left; the first call could cost ${worst:.4f}")
        issue_id = run_issue(ctx_for(bench, job), job.task, job.plan, budget).issue_id
        learn_from(bench, issue_id)
        return issue_id
    except AttemptEnded:
        raise  # a signal (the batch stopped, the batch cap), not a failure
    except Exception as exc:  # one job's failure never stops the batch or leaves its row running
        return record_failure(ctx, job, exc, started)
    finally:
        budget.close()


def ctx_for(bench: Bench, job: Job) -> RunSetup:
    """The run setup a job runs in: tasks with FAIL_TO_PASS tests are judged SWE-bench style."""
    ctx = bench.ctx
    if job.task.FAIL_TO_PASS:
        return replace(ctx, evaluate=evaluator(ctx), evaluate_environment=bench.environment_problem)
    return ctx


def recorded_plan(issue: IssueRow) -> LadderChoice:
    """The ladder a paused issue was climbing, as its row recorded it (a resume does not plan again)."""
    decided = issue.decided_by or "task"
    classification = Classification(task_type=issue.task_type, reason=issue.task_type_reason or "", decided_by=decided)
    return LadderChoice(classification=classification, ladder=parse_ladder(issue.ladder), ladder_source=issue.policy)


def record_failure(ctx: RunSetup, job: Job, exc: Exception, started: float) -> int:
    """The job's issue row after `exc`: run_issue's own record when it made one, else the row this
    job left `running` (or a new row when it failed before adding one) closed as an error."""
    ladder = ",".join(str(rung) for rung in job.plan.ladder)
    mine = [
        issue
        for issue in ctx.ledger.issues(ctx.run_id)
        if issue.key == job.task.instance_id and issue.ladder == ladder and issue.started_at >= started
    ]
    if mine and mine[-1].status != "running":
        return mine[-1].id  # run_issue recorded it on the issue row
    kind = "provider" if isinstance(exc, ProviderError) else "infra"
    text = " ".join(str(exc).split())[:300]
    error = text if isinstance(exc, AgentError) else f"{type(exc).__name__}: {text or 'no message'}"
    issue_id = mine[-1].id if mine else add_issue_row(ctx, job)
    _close(ctx, issue_id, "error", error_kind=kind, error=error)
    return issue_id


def add_skipped(ctx: RunSetup, job: Job, reason: str) -> int:
    issue_id = add_issue_row(ctx, job)
    _close(ctx, issue_id, "skipped", error=reason)
    return issue_id


def add_issue_row(ctx: RunSetup, job: Job) -> int:
    """A `running` issue row for a job that run_issue did not start, with its classifier calls."""
    return open_issue(ctx.write, ctx.run_id, job.task, job.plan)[0]


def _close(ctx: RunSetup, issue_id: int, status: str, **fields: str) -> None:
    ctx.write(IssueClosed(issue_id=issue_id, status=status, fields=fields))


ProgressSink = Callable[[Job, IssueRow | None, Decimal], None]
"""(job, its issue row or None when not run, its API spend)."""
