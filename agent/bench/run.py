"""`agent bench`: run a suite of tasks through `run_issue`, N at a time, under one batch cap.

Each task (or, for a grid, each task x rung) is a job. A job runs the same `run_issue` as
`agent fix`, in its own sandboxes, with `deliver_branch=False`. Tasks with FAIL_TO_PASS tests are
judged SWE-bench style by `agent.engine.evaluation.evaluate_patch` (a fresh sandbox, test_patch applied);
others by their test command.

Resume: a job is done when its issue row is solved, unsolved, budget_exhausted or an error that
is not the infrastructure's or the provider's. `--resume ID` first marks the issue and attempt rows
the dead runner left `running` as `interrupted`, as the ledger already reads them (and the calls
it left in flight as `unsettled`: they count at their worst case, so the batch cap holds against
what a provider may have billed), and the
infra/provider errors and budget skips it will run again as `superseded` (their attempts' spend
still counts; the rows do not count as issues), then runs every job that is not done.
A paused issue (its cap reached, or its provider out of quota) is not done either: it goes on where
it stopped, with the ladder it had (`with_paused`; on Ray, on the head's threads, where its rows and
saved state are), under the batch cap `agent resume RUN --max-cost NEW` grants. A batch with an issue
still paused at its end is `paused`. predictions.jsonl and report.json are rewritten from the ledger,
so they hold each finished job exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.bench.batch_budget import BatchBudget
from agent.bench.executors import execute, reap_ray_homes
from agent.bench.jobs import (
    Bench,
    BenchOptions,
    Job,
    ProgressSink,
    job_key,
    plan_jobs,
    recorded_plan,
    select_tasks,
    wants_learned,
)
from agent.bench.outputs import bench_result, write_outputs
from agent.bench.planning import TaskTypes, recorded_task_types
from agent.core.config import AgentConfig
from agent.core.errors import ConfigError
from agent.core.events import EventSink, ignore
from agent.core.owners import owner_is_gone
from agent.ledger import Ledger, RunRow
from agent.ledger.store import owner_tag
from agent.wiring.factories import check_fallbacks, learned_planner, model_factory, run_setup, rung_fit
from agent.wiring.options import called_models, check_priced, checked_fallback, unpriced_note
from agent.wiring.resume import paused_point

FINISHED = ("solved", "unsolved", "budget_exhausted")
RETRIED_ERRORS = ("infra", "provider", "environment")
"""Error kinds a resumed batch runs again: the sandbox, the environment or the model's service
failed, not the model (an environment fixed since is picked up)."""


def check_not_running(run: RunRow) -> None:
    """Refuse to resume a run whose runner process is still alive (the ledger reads a run whose owner
    is gone as `interrupted`)."""
    if run.status == "running" and run.owner != owner_tag() and not owner_is_gone(run.owner):
        raise ConfigError(f"run {run.id} is still running in {run.owner}: stop it first, then resume")


def claim_run(ledger: Ledger, run_id: str, grid: bool, cap: Decimal | None = None) -> set[str]:
    """Take over run `run_id` whose runner is gone (or that paused), under the batch cap `cap` when one
    is granted; returns the keys of the jobs already done (a paused issue is not: it goes on)."""
    ledger.close_interrupted(run_id)  # what the dead runner left running: interrupted in the ledger too
    ledger.take_over_run(run_id, max_cost_usd=cap)
    ledger.mark_unsettled(run_id)  # calls the dead runner had in flight count at their worst case
    done: set[str] = set()
    for issue in ledger.issues(run_id):
        if issue.status == "running":
            ledger.finish_issue(issue.id, "interrupted")
        elif issue.status == "skipped" or (issue.status == "error" and issue.error_kind in RETRIED_ERRORS):
            ledger.finish_issue(issue.id, "superseded", error=issue.error)
        elif issue.status in FINISHED or issue.status == "error":
            done.add(job_key(issue, grid))
    return done


def run_bench(
    options: BenchOptions,
    config: AgentConfig,
    env: Mapping[str, str],
    on_done: ProgressSink,
    on_start: Callable[[int, str], None],
    on_event: EventSink = ignore,
    stop: threading.Event | None = None,
    note: Callable[[str], None] = lambda _text: None,
) -> dict[str, Any]:
    """Run (or resume) a batch with `config`, read once by the caller with the options' flags on top
    (`load_run_config`); returns the final result object (see `bench_result`).

    `note` hears, once, which models the planner left out of its ladders and why."""
    ledger = Ledger(config.ledger_path)
    try:
        options = options_to_run(ledger, options)
        if options.fallback is not None:  # after --resume: the run's own flag
            planner = config.planner.model_copy(update={"fallback": checked_fallback(options.fallback)})
            config = config.model_copy(update={"planner": planner})
        fit = rung_fit(config, env)
        seed = options.resume or options.run_id or "bench"
        learned = learned_planner(config, ledger, env, seed=seed) if wants_learned(options, config) else None
        jobs = plan_jobs(select_tasks(options, config.home), options, config, fit, learned)
        left_out = sorted({reason for job in jobs for reason in job.plan.left_out})
        if left_out:
            note(f"the planner left out {', '.join(left_out)}")
        make_model = model_factory(config, env)
        for job in jobs:
            for rung in job.plan.ladder:
                make_model(rung.model, job.task)  # unknown models, missing keys, oracle without patch: fail now
            check_fallbacks(config, job.plan.ladder, make_model)
        cap = config.budget.max_cost_usd if options.batch_max_cost is None else options.batch_max_cost
        models = [name for job in jobs for name in called_models(config, job.plan.ladder)]
        if (unpriced := unpriced_note(check_priced(models, config, cap, options.allow_unpriced))) is not None:
            note(unpriced)  # a capped batch refuses unpriced models unless --allow-unpriced
        run_id, done = start_run(ledger, options, config, len(jobs))
        ctx = run_setup(
            config, ledger, run_id, env, on_event=on_event, stop=stop, deliver_branch=False, make_model=make_model
        )
        bench = Bench(
            ctx=ctx,
            batch=BatchBudget(options.batch_max_cost, ledger.spent(run_id)),  # a resumed run's earlier spend too
            grid=bool(options.grid),
            issue_cap=config.budget.max_cost_usd,
            lock=threading.Lock(),
            options=options,
            fit=fit,
            learned=learned,
            task_types=TaskTypes(recorded_task_types(ledger, run_id)),
        )
        return run_jobs(bench, with_paused(ledger, ctx.run_dir, jobs, bench.grid), done, env, on_done, on_start)
    finally:
        ledger.close()


def options_to_run(ledger: Ledger, options: BenchOptions) -> BenchOptions:
    """The options the batch runs with: with --resume, the run's recorded ones (how it runs from
    `options`); a new run's id must be new."""
    if options.resume:
        recorded = ledger.run(options.resume)
        if recorded is None or recorded.kind not in ("bench", "grid") or "options" not in recorded.args:
            raise ConfigError(f"no bench run {options.resume} in {ledger.path}: `agent runs` lists the run ids")
        check_not_running(recorded)
        granted = {} if options.batch_max_cost is None else {"batch_max_cost": options.batch_max_cost}
        return BenchOptions.model_validate({**recorded.args["options"], **executor_fields(options), **granted})
    if options.run_id and ledger.run(options.run_id) is not None:
        raise ConfigError(f"run {options.run_id} already exists: pass --resume {options.run_id} to continue it")
    return options


def start_run(ledger: Ledger, options: BenchOptions, config: AgentConfig, total: int) -> tuple[str, set[str]]:
    """The batch's run id and the keys of its jobs already done: a resumed run taken over, else a new run."""
    grid = bool(options.grid)
    if options.resume:
        done = claim_run(ledger, options.resume, grid, options.batch_max_cost)
        reap_ray_homes()  # the temporary homes the dead batch's Ray workers left here
        return options.resume, done
    run_id = ledger.create_run(
        "grid" if grid else "bench",
        {"options": options.model_dump(mode="json", exclude=set(executor_fields(options))), "total": total},
        config.review.hourly_rate_usd,
        options.batch_max_cost,
        run_id=options.run_id,
    )
    return run_id, set()


def with_paused(ledger: Ledger, run_dir: Path, jobs: list[Job], grid: bool) -> list[Job]:
    """The jobs, those whose issue paused set to go on where it stopped (with the ladder it had); the
    run's directory is named by its id."""
    paused = {job_key(issue, grid): issue for issue in ledger.issues(run_dir.name) if issue.status == "paused"}
    if not paused:
        return jobs
    return [
        job
        if job.key not in paused
        else job.model_copy(
            update={
                "plan": recorded_plan(paused[job.key]),
                "classify": False,
                "resume": paused_point(ledger, run_dir, paused[job.key]),
            }
        )
        for job in jobs
    ]


def run_jobs(
    bench: Bench,
    jobs: list[Job],
    done: set[str],
    env: Mapping[str, str],
    on_done: ProgressSink,
    on_start: Callable[[int, str], None],
) -> dict[str, Any]:
    """Run the jobs not `done` on the batch's executor; the outputs written before and after."""
    ctx, ledger, grid = bench.ctx, bench.ctx.ledger, bench.grid
    write_outputs(ledger, ctx.run_id, ctx.run_dir, grid)
    on_start(len(jobs), ctx.run_id)
    for job in jobs:
        if job.key in done:
            on_done(job, None, Decimal(0))
    try:
        execute(bench, [job for job in jobs if job.key not in done], bench.options, on_done, env)
    except BaseException:
        ledger.finish_run(ctx.run_id, "interrupted")
        raise
    paused = any(issue.status == "paused" for issue in ledger.issues(ctx.run_id))
    ledger.finish_run(ctx.run_id, "interrupted" if ctx.stop.is_set() else "paused" if paused else "finished")
    write_outputs(ledger, ctx.run_id, ctx.run_dir, grid)
    return bench_result(ledger, ctx.run_id, bench.config, ctx.run_dir, len(jobs))


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
