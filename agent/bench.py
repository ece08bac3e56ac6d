"""`agent bench`: run a suite of tasks through `run_issue`, N at a time, under one batch cap.

Each task (or, for a grid, each task x rung) is a job. A job runs the same `run_issue` as
`agent fix`, in its own sandboxes, with `deliver_branch=False`. Tasks with FAIL_TO_PASS tests are
judged SWE-bench style by `tasks.evaluation.evaluate_patch` (a fresh sandbox, test_patch applied);
others by their test command.

Resume: a job is done when its issue row is solved, unsolved, budget_exhausted or an error that
is not the infrastructure's or the provider's. `--resume ID` first marks the rows the dead runner
left `running` as `interrupted`, and the infra/provider errors and budget skips it will run again
as `superseded` (their attempts' spend still counts; the rows do not count as issues), then runs
every job that is not done. predictions.jsonl and report.json are rewritten from the ledger, so
they hold each finished job exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.batch_budget import Batch, BatchBudget, IssueBudget, worst_case_usd
from agent.bench_outputs import bench_result, write_outputs
from agent.bench_planning import TaskTypes, recorded_task_types
from agent.budget import estimate_tokens
from agent.compose import model_factory, price_lookup, rung_fit, sandbox_factory
from agent.config import AgentConfig, load_config
from agent.effort import EffortLevel, Rung
from agent.errors import AgentError, ConfigError
from agent.events import EventSink, ignore
from agent.ledger import IssueRow, Ledger, RunRow
from agent.ledger.store import owner_tag
from agent.loop import TOOLS_CHARS
from agent.planner import Classification, Plan, RungFit, classify, plan_ladder
from agent.prompts import system_prompt, task_message
from agent.runner import EvaluationFailed, RunContext, record_classifier_calls, run_issue
from agent.testing import detect_test_cmd
from tasks.models import Task

FINISHED = ("solved", "unsolved", "budget_exhausted")
RETRIED_ERRORS = ("infra", "provider")
"""Error kinds a resumed batch runs again: the sandbox or the model's service failed, not the model."""


class BenchOptions(BaseModel):
    """What `agent bench` was asked to do (recorded in the run's args for --resume)."""

    model_config = ConfigDict(frozen=True)

    suite: str = "builtin"
    ladder: str | None = None
    model: str | None = None
    effort: str | None = None
    policy: str | None = Field(None, description="`planner`: the planner's ladder per task (the default).")
    grid: list[str] = Field(default_factory=list, description="MODEL[,MODEL...]@EFFORT[,EFFORT...] specs.")
    workers: int = Field(1, ge=1)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    max_cost: Decimal | None = None
    run_id: str | None = None
    resume: str | None = Field(None, description="Continue this run: its jobs not yet done.")
    limit: int | None = None
    ids: list[str] = Field(default_factory=list)
    sandbox: str | None = None
    image: str | None = None
    ledger: Path | None = None


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


def climb_all(model: str, levels: list[EffortLevel]) -> list[Rung]:
    return [Rung(model=model, effort=level) for level in levels]


class Job(BaseModel):
    """One run_issue call of a batch. `rung` is set for grid jobs (a one-rung ladder each)."""

    task: Task
    plan: Plan
    test_cmd: str
    rung: str = ""
    classify: bool = False
    """The classifier model decides the task's type when the job runs (see agent.bench_planning);
    until then `plan` is the rules' plan."""

    @property
    def key(self) -> str:
        return f"{self.task.instance_id}@{self.rung}" if self.rung else self.task.instance_id


def job_key(issue: IssueRow, grid: bool) -> str:
    return f"{issue.key}@{issue.ladder}" if grid else issue.key


def classification_for(task: Task, config: AgentConfig) -> Classification:
    if task.task_type:
        return Classification(task_type=task.task_type, reason="set by the task", decided_by="task")
    return classify(task.problem_statement, task.labels, config.planner)


def plan_jobs(tasks: list[Task], options: BenchOptions, config: AgentConfig, fit: RungFit | None = None) -> list[Job]:
    grid = parse_grid(options.grid) if options.grid else []
    if grid and (options.ladder or options.model or options.policy):
        raise ConfigError("--grid runs every rung on its own: drop --ladder/--model/--policy")
    if options.policy not in (None, "planner"):
        raise ConfigError(f"unknown bench policy {options.policy!r}: use planner (or --ladder/--model)")
    rungs: list[Rung | None] = [*grid] or [None]
    jobs: list[Job] = []
    for task in tasks:
        test_cmd = task.test_cmd or (detect_test_cmd(Path(task.repo_path)) if task.repo_path else None)
        if test_cmd is None:
            raise ConfigError(f"task {task.instance_id} has no test_cmd and none can be detected: set it")
        classification = classification_for(task, config)
        later = not task.task_type and bool(config.planner.classifier_model)
        for rung in rungs:
            plan = job_plan(classification, options, config, fit, rung)
            jobs.append(
                Job(task=task, test_cmd=test_cmd, rung="" if rung is None else str(rung), plan=plan, classify=later)
            )
    return jobs


def job_plan(
    classification: Classification, options: BenchOptions, config: AgentConfig, fit: RungFit | None, rung: Rung | None
) -> Plan:
    """A job's plan: its grid rung alone, else the ladder the options and the task type give."""
    if rung is not None:
        return Plan(classification=classification, ladder=[rung], ladder_source="grid")
    effort = EffortLevel.parse(options.effort) if options.effort else None
    return plan_ladder(classification, config, options.ladder, options.model, effort, fit=fit)


def select_tasks(options: BenchOptions) -> list[Task]:
    from tasks.loaders import checkout_repo, load_tasks

    tasks = load_tasks(options.suite)
    if options.ids:
        known = {task.instance_id for task in tasks}
        missing = [instance for instance in options.ids if instance not in known]
        if missing:
            raise ConfigError(f"no task {', '.join(missing)} in suite {options.suite}: check --ids")
        tasks = [task for task in tasks if task.instance_id in options.ids]
    tasks = tasks[: options.limit] if options.limit is not None else tasks
    return [checkout_repo(task) for task in tasks]  # a local repository at the base commit for each


@dataclass
class Bench:
    """What every job of one batch shares."""

    ctx: RunContext
    batch: Batch
    grid: bool
    issue_cap: Decimal | None
    lock: threading.Lock
    options: BenchOptions = field(default_factory=BenchOptions)
    fit: RungFit | None = None
    task_types: TaskTypes = field(default_factory=TaskTypes)

    @property
    def config(self) -> AgentConfig:
        return self.ctx.config


def evaluator(ctx: RunContext) -> Callable[[Task, str], tuple[bool, str, dict[str, Any]]]:
    """SWE-bench judging: evaluate_patch in a fresh sandbox; infra failures raise EvaluationFailed."""
    from tasks.evaluation import evaluate_patch

    def evaluate(task: Task, patch: str) -> tuple[bool, str, dict[str, Any]]:
        report = evaluate_patch(task, patch, ctx.sandbox_factory, timeout=ctx.config.sandbox.command_timeout_s * 3)
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
    system = system_prompt(bench.config.sandbox.workdir, job.test_cmd, [])
    prompt = estimate_tokens(
        len(system) + TOOLS_CHARS + len(task_message(job.task.display_title, job.task.problem_statement))
    )
    return worst_case_usd(prompt, limits.max_tokens, bench.ctx.price_for(model.name))


def run_job(bench: Bench, job: Job) -> int | None:
    """Run one job; returns its issue row id (None when the batch was stopped first)."""
    ctx = bench.ctx
    if ctx.stop.is_set():
        return None
    budget = IssueBudget(bench.issue_cap, bench.batch, job.key)
    try:
        if job.classify:
            rung = job.plan.ladder[0] if job.rung else None
            plan = bench.task_types.plan(
                job.task,
                job.plan,
                ctx,
                budget,
                lambda decided: job_plan(decided, bench.options, bench.config, bench.fit, rung),
            )
            job = job.model_copy(update={"plan": plan, "classify": False})
        worst, left = first_call_worst_case(bench, job), bench.batch.left()
        if worst is not None and left is not None and worst > left:
            return add_skipped(ctx, job, f"the batch has ${left:.4f} left; the first call could cost ${worst:.4f}")
        if job.task.FAIL_TO_PASS:
            ctx = replace(ctx, evaluate=evaluator(ctx))
        return run_issue(ctx, job.task, job.plan, job.test_cmd, budget).issue_id
    except AgentError:
        return None  # run_issue recorded it on the issue row
    finally:
        budget.close()


def add_skipped(ctx: RunContext, job: Job, reason: str) -> int:
    issue_id = ctx.ledger.add_issue(
        ctx.run_id,
        key=job.task.instance_id,
        title=job.task.display_title,
        task_type=job.plan.classification.task_type,
        task_type_reason=job.plan.classification.reason,
        decided_by=job.plan.classification.decided_by,
        repo=job.task.repo_path or job.task.repo,
        base_commit=job.task.base_commit,
        test_cmd=job.test_cmd,
        ladder=",".join(str(rung) for rung in job.plan.ladder),
        policy=job.plan.ladder_source,
    )
    record_classifier_calls(ctx.ledger, issue_id, job.plan.classification)
    ctx.ledger.finish_issue(issue_id, "skipped", error=reason)
    return issue_id


def check_not_running(run: RunRow) -> None:
    """Refuse to resume a run whose runner process is still alive."""
    from sandboxes.lifecycle import OWNER_LABEL, owner_is_gone

    if run.status == "running" and run.owner != owner_tag() and not owner_is_gone({OWNER_LABEL: run.owner}):
        raise ConfigError(f"run {run.id} is still running in {run.owner}: stop it first, then resume")


def claim_run(ledger: Ledger, run_id: str, grid: bool) -> set[str]:
    """Take over run `run_id` whose runner is gone; returns the keys of the jobs already done."""
    with ledger.transaction() as db:
        db.execute(
            "UPDATE runs SET owner = ?, status = 'running', finished_at = NULL WHERE id = ?", (owner_tag(), run_id)
        )
    done: set[str] = set()
    for issue in ledger.issues(run_id):
        if issue.status == "running":
            ledger.finish_issue(issue.id, "interrupted")
        elif issue.status == "skipped" or (issue.status == "error" and issue.error_kind in RETRIED_ERRORS):
            ledger.finish_issue(issue.id, "superseded", error=issue.error)
        elif issue.status in FINISHED or issue.status == "error":
            done.add(job_key(issue, grid))
    return done


ProgressSink = Callable[[Job, IssueRow | None, Decimal], None]
"""(job, its issue row or None when not run, its API spend)."""


def run_bench(
    options: BenchOptions,
    env: Mapping[str, str],
    on_done: ProgressSink,
    on_start: Callable[[int, str], None],
    on_event: EventSink = ignore,
    stop: threading.Event | None = None,
    note: Callable[[str], None] = lambda _text: None,
) -> dict[str, Any]:
    """Run (or resume) a batch; returns the final result object (see `bench_result`).

    `note` hears, once, which models the planner left out of its ladders and why."""
    config = load_config(
        project_dir=Path.cwd(),
        overrides={
            "ledger": None if options.ledger is None else str(options.ledger),
            "sandbox.kind": options.sandbox,
            "sandbox.image": options.image,
        },
        env=dict(env),
    )
    ledger = Ledger(config.ledger_path)
    try:
        if options.resume:
            recorded = ledger.run(options.resume)
            if recorded is None or recorded.kind not in ("bench", "grid") or "options" not in recorded.args:
                raise ConfigError(f"no bench run {options.resume} in {ledger.path}: see `agent report` for run ids")
            check_not_running(recorded)
            options = BenchOptions.model_validate({**recorded.args["options"], **executor_fields(options)})
        elif options.run_id and ledger.run(options.run_id) is not None:
            raise ConfigError(f"run {options.run_id} already exists: pass --resume {options.run_id} to continue it")
        fit = rung_fit(config, env)
        jobs = plan_jobs(select_tasks(options), options, config, fit)
        left_out = sorted({reason for job in jobs for reason in job.plan.left_out})
        if left_out:
            note(f"the planner left out {', '.join(left_out)}")
        make_model = model_factory(config, env)
        for job in jobs:
            for rung in job.plan.ladder:
                make_model(rung.model, job.task)  # unknown models, missing keys, oracle without patch: fail now
        grid = bool(options.grid)
        if options.resume:
            run_id = options.resume
            done = claim_run(ledger, run_id, grid)
        else:
            run_id = ledger.create_run(
                "grid" if grid else "bench",
                {"options": options.model_dump(mode="json", exclude=set(executor_fields(options))), "total": len(jobs)},
                config.review.hourly_rate_usd,
                options.max_cost,
                run_id=options.run_id,
            )
            done = set()
        ctx = RunContext(
            config=config,
            ledger=ledger,
            run_id=run_id,
            model_factory=make_model,
            price_for=price_lookup(config),
            sandbox_factory=sandbox_factory(config, run_id),
            on_event=on_event,
            deliver_branch=False,
            stop=stop or threading.Event(),
        )
        write_outputs(ledger, run_id, ctx.run_dir, grid)
        todo = [job for job in jobs if job.key not in done]
        on_start(len(jobs), run_id)
        for job in jobs:
            if job.key in done:
                on_done(job, None, Decimal(0))
        spent = ledger.spent(run_id)  # a resumed run's earlier spend, the classifier's calls included
        bench = Bench(
            ctx=ctx,
            batch=BatchBudget(options.max_cost, spent),
            grid=grid,
            issue_cap=config.budget.max_cost_usd,
            lock=threading.Lock(),
            options=options,
            fit=fit,
            task_types=TaskTypes(recorded_task_types(ledger, run_id)),
        )
        from agent.bench_executors import execute

        try:
            execute(bench, todo, options, on_done)
        except BaseException:
            ledger.finish_run(run_id, "interrupted")
            raise
        ledger.finish_run(run_id, "interrupted" if ctx.stop.is_set() else "finished")
        write_outputs(ledger, run_id, ctx.run_dir, grid)
        return bench_result(ledger, run_id, config, ctx.run_dir, len(jobs))
    finally:
        ledger.close()


def executor_fields(options: BenchOptions) -> dict[str, Any]:
    """Options a resumed run may change: how it runs, not what."""
    return {
        "workers": options.workers,
        "executor": options.executor,
        "ray_address": options.ray_address,
        "run_id": options.run_id,
        "resume": options.resume,
        "sandbox": options.sandbox,
        "image": options.image,
        "ledger": options.ledger,
    }
