"""Where a batch's jobs run: a local thread pool, or Ray tasks on a local or remote Ray cluster.

Local: `workers` threads in this process share the ledger, the run context and the batch budget
(each run_issue is I/O-bound: model calls and sandbox round trips).

Ray: the SQLite ledger stays on the head; workers never open it. Each Ray task builds its own
model factory, prices and sandboxes from the configuration (API keys come from the worker's
environment: a local `ray.init()` inherits this process's), runs `run_job` against a private
ledger in a temporary AGENT_HOME, and returns that ledger's rows and the job's run-directory
files; the head copies them into the real ledger in one transaction. The batch cap is a Ray
actor (`BatchKeeper`) every worker's issue budget reserves from. A head killed mid-batch loses
only jobs in flight (no rows were written for them), so resume re-runs exactly those.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.bench.batch_budget import BatchBudget
from agent.bench.jobs import Bench, BenchOptions, Job, ProgressSink, run_job
from agent.bench.outputs import write_outputs
from agent.core.errors import BudgetExhausted, ConfigError
from agent.ledger import IssueRow, Ledger
from agent.ledger.transfer import export_rows, insert_rows
from agent.providers.pricing import PriceQuote


def execute(bench: Bench, jobs: list[Job], options: BenchOptions, on_done: ProgressSink) -> None:
    if options.executor == "ray":
        run_on_ray(bench, jobs, options, on_done)
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
class BatchKeeper:
    """The batch budget as a Ray actor; BudgetExhausted travels back as a message."""

    def __init__(self, cap: Decimal | None, spent: Decimal) -> None:
        self.budget = BatchBudget(cap, spent)

    def left(self) -> Decimal | None:
        return self.budget.left()

    def allow_for(
        self, key: str, own_left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None
    ) -> tuple[int, str]:
        try:
            return self.budget.allow_for(key, own_left, prompt_tokens, max_tokens, price), ""
        except BudgetExhausted as exc:
            return 0, str(exc)

    def settle(self, key: str, cost: Decimal | None) -> None:
        self.budget.settle(key, cost)


class KeeperProxy:
    """A `Batch` in a Ray worker that asks the head's BatchKeeper actor."""

    def __init__(self, keeper: Any) -> None:
        self.keeper = keeper

    def left(self) -> Decimal | None:
        import ray

        left: Decimal | None = ray.get(self.keeper.left.remote())
        return left

    def allow_for(
        self, key: str, own_left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None
    ) -> int:
        import ray

        fits, refused = ray.get(self.keeper.allow_for.remote(key, own_left, prompt_tokens, max_tokens, price))
        if refused:
            raise BudgetExhausted(refused)
        return int(fits)

    def settle(self, key: str, cost: Decimal | None) -> None:
        import ray

        ray.get(self.keeper.settle.remote(key, cost))


def ray_job(bench_data: dict[str, Any], job: Job, keeper: Any) -> dict[str, Any]:
    """Runs in a Ray worker: one job against a private ledger; returns its rows and files."""
    from agent.bench.planning import TaskTypes
    from agent.wiring import run_context, rung_fit

    with tempfile.TemporaryDirectory(prefix="agent-ray-") as home:
        config = bench_data["config"].model_copy(update={"home": Path(home), "ledger": None})
        ledger = Ledger(config.ledger_path)
        run_id = bench_data["run_id"]
        ledger.create_run(bench_data["kind"], {}, config.review.hourly_rate_usd, run_id=run_id)
        ctx = run_context(config, ledger, run_id, os.environ, deliver_branch=False)
        bench = Bench(
            ctx,
            KeeperProxy(keeper),
            bench_data["grid"],
            bench_data["issue_cap"],
            threading.Lock(),
            options=bench_data["options"],
            fit=rung_fit(config, os.environ),
            task_types=TaskTypes(bench_data["task_types"]),
        )
        run_job(bench, job)
        ledger.close()
        rows = export_rows(config.ledger_path)
        run_dir = config.runs_dir / run_id
        for issue in rows["issues"]:
            if issue["patch_path"]:  # relative to the run directory; the head makes it its own
                issue["patch_path"] = str(Path(issue["patch_path"]).relative_to(run_dir))
        files = {str(path.relative_to(run_dir)): path.read_text() for path in run_dir.rglob("*") if path.is_file()}
        return {"rows": rows, "files": files}


def import_rows(ledger: Ledger, rows: dict[str, list[dict[str, Any]]], run_dir: Path) -> None:
    """Copy one worker's rows into the head's ledger; its patch files now live under `run_dir`."""
    for issue in rows["issues"]:
        if issue["patch_path"]:
            issue["patch_path"] = str(run_dir / issue["patch_path"])
    insert_rows(ledger, rows)


def run_on_ray(bench: Bench, jobs: list[Job], options: BenchOptions, on_done: ProgressSink) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install -e '.[ray]' (or pip install 'ray[default]')") from None

    if options.ray_address:
        ray.init(address=options.ray_address, ignore_reinit_error=True, log_to_driver=False)
    else:
        cpus = max(options.workers, os.cpu_count() or 1)
        ray.init(num_cpus=cpus, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
    ctx, batch = bench.ctx, bench.batch
    if not isinstance(batch, BatchBudget):
        raise ConfigError("the Ray executor runs from the head's batch budget")
    keeper = ray.remote(BatchKeeper).remote(batch.cap, batch.spent)  # spent: a resumed run's earlier spend
    remote: Callable[..., Any] = ray.remote(num_cpus=1, max_retries=0)(ray_job).remote
    data = {
        "config": ctx.config,
        "run_id": ctx.run_id,
        "kind": "grid" if bench.grid else "bench",
        "grid": bench.grid,
        "issue_cap": bench.issue_cap,
        "options": bench.options,
        "task_types": dict(bench.task_types.known),  # decisions recorded before a resume: not asked again
    }
    queue, running = list(jobs), dict[Any, Job]()
    try:
        while queue or running:
            while queue and len(running) < options.workers and not ctx.stop.is_set():
                job = queue.pop(0)
                running[remote(data, job, keeper)] = job
            if not running:
                break
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                job = running.pop(ref)
                result = ray.get(ref)
                import_rows(ctx.ledger, result["rows"], ctx.run_dir)
                for name, text in result["files"].items():
                    path = ctx.run_dir / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
                finished(bench, job, on_done)
    except BaseException:
        ctx.stop.set()
        for ref in running:
            ray.cancel(ref, force=True)
        raise
