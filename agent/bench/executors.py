"""Where a batch's jobs run: a local thread pool, or Ray tasks on a local or remote Ray cluster.

Local: `workers` threads in this process share the ledger, the run setup and the batch budget
(each run_issue is I/O-bound: model calls and sandbox round trips).

Ray: the SQLite ledger stays on the head; workers never open it. Each Ray task builds its own
model factory, prices and sandboxes from the head's configuration and an env mapping the head
resolved (`provider_env`): the base URLs and API keys of the batch's providers travel as the task's
arguments, and the worker reads nothing from the environment the cluster was started in. Keys are
not sent as `runtime_env` env_vars: Ray's runtime_env agent logs those in clear text on every node
(runtime_env_agent.log), and they would sit in the worker's os.environ. A task runs `run_job`
against a private ledger in a temporary AGENT_HOME (`agent-ray-<pid>-<start>-*`: the worker's pid
and start time, so a home whose worker is gone can be told apart and reaped; every temporary file
of the job lives inside it) and returns that ledger's rows and the job's run-directory files; the
head copies them into the real ledger in one transaction. The batch cap is a Ray actor
(`BatchKeeper`) every worker's issue budget reserves from. A lost worker (killed, out of memory,
its node gone) is an infrastructure failure of its job: Ray runs the job once more
(`RAY_RETRIES`), and when that is lost too the job gets an infra error on its issue row
(`--resume` runs it again); the batch goes on. The calls a lost try made are billed on the job's
issue from the keeper's record of them (`bill_lost_calls`). A head killed mid-batch loses only jobs in flight
(no rows were written for them), so resume re-runs exactly those.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.bench.batch_budget import BatchBudget
from agent.bench.batch_keeper import KeeperProxy, bill_lost_calls, keeper_on_this_node
from agent.bench.jobs import Bench, BenchOptions, Job, ProgressSink, add_skipped, run_job
from agent.bench.outputs import write_outputs
from agent.core.config import AgentConfig
from agent.core.effort import parse_ladder
from agent.core.errors import ConfigError
from agent.core.owners import process_start
from agent.engine.calling.quota import ProviderGates
from agent.ledger import IssueRow, Ledger
from agent.ledger.facts import Fact, IssueClosed
from agent.ledger.writer import FactLog, LedgerWriter, replay
from agent.providers import is_simulated, resolve_model
from tasks.models import Task

RAY_HOME_PREFIX = "agent-ray-"
_reaped_here: list[int] = []
"""Set once this (Ray worker) process has reaped the homes of gone workers."""
RAY_RETRIES = 1
"""Times Ray runs a job again when its worker is lost; after that the job is an infra error."""


def execute(
    bench: Bench, jobs: list[Job], options: BenchOptions, on_done: ProgressSink, env: Mapping[str, str]
) -> None:
    """Run `jobs`; `env` is the head's environment, the only one provider keys and base URLs come from."""
    if options.executor == "ray":
        going_on = [job for job in jobs if job.resume is not None]  # their rows and state live on the head
        if going_on:
            run_local(bench, going_on, options.workers, on_done)
        run_on_ray(bench, [job for job in jobs if job.resume is None], options, on_done, env)
    else:
        run_local(bench, jobs, options.workers, on_done)


def latest_issue(ledger: Ledger, run_id: str, job: Job) -> IssueRow | None:
    rows = [
        issue
        for issue in ledger.issues(run_id)
        if issue.key == job.task.instance_id and (not job.rung or issue.ladder == job.rung)
    ]
    return rows[-1] if rows else None


def finished(bench: Bench, job: Job, on_done: ProgressSink) -> None:
    ctx = bench.ctx
    with bench.lock:
        write_outputs(ctx.ledger, ctx.run_id, ctx.run_dir, bench.grid)
        issue = latest_issue(ctx.ledger, ctx.run_id, job)
        on_done(job, issue, ctx.ledger.spent(ctx.run_id, issue.id) if issue else Decimal(0))


def run_local(bench: Bench, jobs: list[Job], workers: int, on_done: ProgressSink) -> None:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench")
    futures: dict[Future[int | None], Job] = {pool.submit(run_job, bench, job): job for job in jobs}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()
                finished(bench, futures[future], on_done)
    except BaseException:
        bench.ctx.stop.set()  # running jobs end after their current turn; queued ones never start
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


# Ray ------------------------------------------------------------------------------------------
def batch_models(jobs: Iterable[Job], config: AgentConfig) -> set[str]:
    """The provider models a batch's jobs may call: their ladders', and when a job's type is
    decided in its worker, the classifier and every model the planner may then pick."""
    jobs = list(jobs)
    names = {rung.model for job in jobs for rung in job.plan.ladder}
    if any(job.classify for job in jobs):
        planner = config.planner
        names |= {*planner.model_order, *([planner.classifier_model] if planner.classifier_model else [])}
        for ladder in planner.task_types.values():
            names |= set(ladder.models or [])
            names |= {rung.model for rung in parse_ladder(ladder.ladder)} if ladder.ladder else set()
    return {name for name in names if not is_simulated(name)}


def provider_env(
    models: Iterable[str], config: AgentConfig, env: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The head's settings for `models`' providers: (base URL env vars, API key env vars) that are set."""
    base_urls: dict[str, str] = {}
    keys: dict[str, str] = {}
    for name in sorted(models):
        try:
            provider = resolve_model(name, config).provider_config
        except ConfigError:
            continue  # a planner model this configuration cannot build: the planner leaves it out
        if provider.base_url_env and env.get(provider.base_url_env):
            base_urls[provider.base_url_env] = env[provider.base_url_env]
        if provider.api_key_env and env.get(provider.api_key_env, "").strip():
            keys[provider.api_key_env] = env[provider.api_key_env]
    return base_urls, keys


def ray_home_prefix() -> str:
    """`agent-ray-<pid>-<start>-`: this process owns the home (start: clock ticks since boot, 0 unknown)."""
    return f"{RAY_HOME_PREFIX}{os.getpid()}-{process_start(os.getpid()) or 0}-"


def reap_ray_homes(root: Path | None = None) -> list[Path]:
    """Remove the Ray workers' temporary homes under `root` (the temp dir) whose worker is gone."""
    removed = []
    for path in sorted(Path(root or tempfile.gettempdir()).glob(f"{RAY_HOME_PREFIX}*")):
        pid, _, rest = path.name.removeprefix(RAY_HOME_PREFIX).partition("-")
        start = rest.partition("-")[0]
        if not (pid.isdigit() and start.isdigit() and path.is_dir()):
            continue
        now = process_start(int(pid))
        if now is None or (start != "0" and now != start):  # gone, or its pid now names another process
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def ray_job(bench_data: dict[str, Any], job: Job, keeper: Any, keys: dict[str, str]) -> dict[str, Any]:
    """Runs in a Ray worker: one job against a private ledger; returns the facts it recorded (with the
    ids they were given there), its files and the tag its calls carried to the batch keeper.

    Its env holds only what the head resolved: the base URLs in `bench_data` and `keys` (never
    logged, never in os.environ). Every temporary file of the job (sandbox copies too) lives in
    the private home, removed at the end; homes of workers that were killed are reaped first."""
    from agent.bench.planning import TaskTypes
    from agent.wiring import run_setup, rung_fit

    if not _reaped_here:  # once per worker process: the homes of workers killed before it started
        reap_ray_homes()
        _reaped_here.append(os.getpid())
    env = {**bench_data["base_urls"], **keys}
    tag = secrets.token_hex(4)  # this try of the job (Ray may run it again on another worker)
    home = Path(tempfile.mkdtemp(prefix=ray_home_prefix()))
    (home / "tmp").mkdir()
    tempdir, tempfile.tempdir = tempfile.tempdir, str(home / "tmp")
    try:
        config = bench_data["config"].model_copy(update={"home": home, "ledger": None})
        ledger = Ledger(config.ledger_path)
        run_id = bench_data["run_id"]
        ledger.create_run(bench_data["kind"], {}, config.review.hourly_rate_usd, run_id=run_id)
        ctx = run_setup(config, ledger, run_id, env, deliver_branch=False)
        proxy = KeeperProxy(keeper, tag)
        ctx.gates = ProviderGates(shared=proxy)  # a rate limit or quota one worker finds holds them all
        log = FactLog(LedgerWriter(ledger))
        ctx.record = log.write
        bench = Bench(
            ctx,
            proxy,
            bench_data["grid"],
            bench_data["issue_cap"],
            threading.Lock(),
            options=bench_data["options"],
            fit=rung_fit(config, env),
            task_types=TaskTypes(bench_data["task_types"]),
        )
        run_job(bench, job)
        ledger.close()
        run_dir = config.runs_dir / run_id
        facts = [(_patch_path(fact, lambda path: path.relative_to(run_dir)), row_id) for fact, row_id in log.facts]
        files = {str(path.relative_to(run_dir)): path.read_text() for path in run_dir.rglob("*") if path.is_file()}
        return {"facts": facts, "files": files, "tag": tag}
    finally:
        tempfile.tempdir = tempdir
        shutil.rmtree(home, ignore_errors=True)


def import_facts(ledger: Ledger, facts: list[tuple[Fact, int | None]], run_dir: Path) -> None:
    """Write one worker's facts into the head's ledger; its patch files now live under `run_dir`."""
    replay(ledger, [(_patch_path(fact, lambda path: run_dir / path), row_id) for fact, row_id in facts])


def _patch_path(fact: Fact, move: Callable[[Path], Path]) -> Fact:
    """An issue's patch path moved (relative to the worker's run directory, then under the head's)."""
    if not isinstance(fact, IssueClosed) or not (path := fact.fields.get("patch_path")):
        return fact
    return fact.model_copy(update={"fields": {**fact.fields, "patch_path": str(move(Path(path)))}})


def lost_worker_errors() -> tuple[type[BaseException], ...]:
    """Ray's errors for a job whose worker (or its node) died: the infrastructure's failure."""
    from ray import exceptions

    return (
        exceptions.WorkerCrashedError,
        exceptions.NodeDiedError,
        exceptions.LocalRayletDiedError,
        exceptions.OutOfMemoryError,
        exceptions.ObjectLostError,
    )


def record_lost(bench: Bench, job: Job, error: BaseException) -> None:
    """A job whose worker was lost `RAY_RETRIES + 1` times: an infra error on its issue row."""
    lost = f"the Ray worker running it was lost {RAY_RETRIES + 1} times ({type(error).__name__})"
    reason = f"{lost}: resume the run to run it again"
    with bench.lock:
        issue_id = add_skipped(bench.ctx, job, reason)
        bench.ctx.ledger.finish_issue(issue_id, "error", error=reason, error_kind="infra")


def take_result(bench: Bench, job: Job, ref: Any, keeper: Any, lost: tuple[type[BaseException], ...]) -> None:
    """Write a finished Ray job into the head's ledger and run directory (an infra error when its worker
    was lost every time), then bill the calls of its tries whose workers were lost."""
    import ray

    ctx = bench.ctx
    try:
        result = ray.get(ref)
    except lost as exc:
        record_lost(bench, job, exc)
        reap_ray_homes()
        result = {"tag": None}
    else:
        import_facts(ctx.ledger, result["facts"], ctx.run_dir)
        for name, text in result["files"].items():
            path = ctx.run_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    calls = ray.get(keeper.lost_calls.remote(job.key, result["tag"]))
    if calls and (issue := latest_issue(ctx.ledger, ctx.run_id, job)):
        with bench.lock:
            bill_lost_calls(ctx.ledger, issue.id, calls)


def start_ray(options: BenchOptions) -> bool:
    """Join the Ray cluster at `options.ray_address`, or start a local one; True when this call started
    Ray (the caller shuts it down), False when the caller's Ray session was already running."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install -e '.[ray]' (or pip install 'ray[default]')") from None

    reap_ray_homes()  # homes of workers a killed batch left on this machine
    started = not ray.is_initialized()  # else the caller's Ray session: left running
    if options.ray_address:
        ray.init(address=options.ray_address, ignore_reinit_error=True, log_to_driver=False)
    else:
        cpus = max(options.workers, os.cpu_count() or 1)
        ray.init(num_cpus=cpus, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
    return started


def driver_images(config: AgentConfig) -> Callable[[Task], str] | None:
    """Each task's environment image, found (or built) here on the head, so that every node runs the
    image the driver chose and detects nothing itself (None: the local sandbox, no images)."""
    from agent.wiring.factories import task_environments

    environments = task_environments(config)
    if environments is None:
        return None
    chosen: dict[tuple[str, str], str] = {}

    def image(task: Task) -> str:
        key = (task.repo_path or "", task.base_commit)
        if key not in chosen:
            prepared = environments.prepare(
                Path(task.repo_path or "."), task.base_commit, image=task.image, setup=task.setup, say=lambda _: None
            )
            chosen[key] = prepared.image
        return chosen[key]

    return image


def image_chosen(job: Job, images: Callable[[Task], str] | None) -> Job:
    """The job with its task's image set by the driver (as it is when there are no images to choose)."""
    if images is None or job.task.image:
        return job
    return job.model_copy(update={"task": job.task.model_copy(update={"image": images(job.task)})})


def run_on_ray(
    bench: Bench, jobs: list[Job], options: BenchOptions, on_done: ProgressSink, env: Mapping[str, str]
) -> None:
    started = start_ray(options)
    import ray

    ctx, batch = bench.ctx, bench.batch
    if not isinstance(batch, BatchBudget):
        raise ConfigError("the Ray executor runs from the head's batch budget")
    base_urls, keys = provider_env(batch_models(jobs, ctx.config), ctx.config, env)
    keeper = keeper_on_this_node(batch)
    remote: Callable[..., Any] = ray.remote(num_cpus=1, max_retries=RAY_RETRIES)(ray_job).remote
    data = {
        "config": ctx.config,
        "run_id": ctx.run_id,
        "kind": "grid" if bench.grid else "bench",
        "grid": bench.grid,
        "issue_cap": bench.issue_cap,
        "options": bench.options,
        "task_types": dict(bench.task_types.known),  # decisions recorded before a resume: not asked again
        "base_urls": base_urls,
    }
    lost = lost_worker_errors()
    queue, running = list(jobs), dict[Any, Job]()
    images = driver_images(ctx.config)
    try:
        while queue or running:
            while queue and len(running) < options.workers and not ctx.stop.is_set():
                job = queue.pop(0)
                running[remote(data, image_chosen(job, images), keeper, keys)] = job
            if not running:
                break
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                job = running.pop(ref)
                take_result(bench, job, ref, keeper, lost)
                finished(bench, job, on_done)
    except BaseException:
        ctx.stop.set()
        for ref in running:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()  # also ends Ray's thread that prints the cluster's error messages
        reap_ray_homes()
