"""`agent demo`: the whole flow without an API key, above `agent.bench` (it runs a fix and a batch).

`run_demo` runs `run_fix` on the shipped demo repository (`agent.simulate.demo`) against the
loopback fake provider: the real SDK, sandbox, git and ledger, a simulated model. `run_demo_grid`
(`agent demo --grid`) runs built-in tasks at every rung of the simulated models through
`run_bench`, then compares the escalation policies offline on that grid.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console

from agent.bench.jobs import BenchOptions, Job
from agent.bench.progress import BenchProgress
from agent.bench.run import run_bench
from agent.core.config import AgentConfig
from agent.core.events import EventSink
from agent.fake_provider import FakeProvider
from agent.ledger import IssueRow, Ledger
from agent.simulate.demo import BANNER, DEMO_MODEL, demo_issue_path, demo_script, make_demo_repo
from agent.wiring.fix import FixOptions, run_fix
from tasks.issues import read_issue
from tasks.models import Task

GRID = "sim-flash,sim-pro,sim-frontier@low,medium,high,xhigh,max"
"""The demo grid: the three simulated models at every effort (15 rungs)."""

POLICIES = {
    "always-max": "sim-frontier@max",
    "cheapest": "sim-flash@low",
    "rules": "planner",
    "climb": "sim-frontier@medium,sim-frontier@high,sim-frontier@xhigh,sim-frontier@max",
    "cascade": "sim-flash@high,sim-pro@high,sim-frontier@max",
    "learned": "learned",
}
"""The escalation policies the demo compares on its grid, by name."""

ABOUT = {
    "planner": "each task type's start effort up to max on sim-frontier, then on sim-pro (the shipped order)",
    "learned": "per task type, the ladder with the lowest expected $ per solved, fitted on the other tasks",
}
"""What the policies that are not a fixed ladder climb, for the printed table."""

SHOWN = ("solved", "tasks", "solve_rate", "cost_per_solved_usd", "folds")
"""The report row's keys the demo returns for each policy at each review rate."""


def run_demo(
    home: Path,
    console: Console,
    on_event: EventSink,
    sandbox: str | None = None,
    ledger: Path | None = None,
    stop: threading.Event | None = None,
) -> tuple[dict, Exception | None]:
    """`agent demo`: the fix flow on a fresh copy of the demo repository in `home`, the simulated
    model served by the fake provider in this process."""
    console.print(BANNER)
    repo = make_demo_repo(home)
    console.print(f"demo repository: {repo}")
    script, issue = demo_script(), read_issue(str(demo_issue_path()))
    with FakeProvider(script) as fake:
        env = {"ANTHROPIC_BASE_URL": fake.anthropic_base_url, "ANTHROPIC_API_KEY": "demo-not-a-real-key"}
        options = FixOptions(
            repo=repo,
            model=DEMO_MODEL,
            effort="medium",
            test_cmd="python -m pytest -q",
            sandbox=sandbox,
            ledger=ledger,
        )
        return run_fix(issue, options, env, console, on_event, stop)


class GridProgress(BenchProgress):
    """The grid's progress: the live bar in a terminal, else a line every 25 jobs, not one per job."""

    def done(self, job: Job, issue: IssueRow | None, spent: Decimal) -> None:
        if self.live:
            super().done(job, issue, spent)
            return
        self.finished += 1
        if self.finished % 25 == 0 or self.finished == self.total:
            self.console.print(f"{self.finished}/{self.total} grid jobs done", highlight=False)


def grid_options(sandbox: str | None, ledger: Path | None) -> BenchOptions:
    """The demo grid's batch: every rung of `GRID`, 4 jobs at once, a new `demo-grid-...` run."""
    run_id = f"demo-grid-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    return BenchOptions(grid=[GRID], workers=4, sandbox=sandbox, run_id=run_id, ledger=ledger)


def run_demo_grid(
    config: AgentConfig,
    options: BenchOptions,
    env: Mapping[str, str],
    progress: BenchProgress,
    say: Console | None = None,
    tasks: int = 10,
) -> dict[str, Any]:
    """`agent demo --grid`: `tasks` built-in tasks (spread over the suite) at every rung of the simulated
    models (the batch `options`, see `grid_options`, run with `config`), then the escalation policies
    compared offline on that grid, with review at $0/h and at the configured rate; printed to `say`,
    and returned. No API key: the fake provider serves the population in this process, its
    SIM_BASE_URL and SIM_API_KEY added to `env`.

    The rules planner is graded with the shipped model order's sim stand-ins, sim-frontier then sim-pro
    (for claude-opus-4-7 then deepseek-v4-pro), from each task type's start effort."""
    from tasks.loaders import load_tasks

    suite = load_tasks("builtin", config.home)
    chosen = [suite[index * len(suite) // tasks] for index in range(min(tasks, len(suite)))]
    if say is not None:
        say.print(
            f"Simulated models sim-flash, sim-pro and sim-frontier (no API key) on {len(chosen)} built-in tasks,"
            f" each task at every effort: {len(chosen) * 15} attempts, then the policies compared on them.",
            highlight=False,
        )
    run_id = run_grid(chosen, config, options, env, progress)
    rows = compare_policies(config, run_id)
    shown = [
        {
            "policy": name,
            "ladder": spec,
            **{
                f"at_{float(rate):g}_per_hour": {key: by_policy[name][key] for key in SHOWN}
                for rate, by_policy in rows.items()
            },
        }
        for name, spec in POLICIES.items()
    ]
    if say is not None:
        print_comparison(say, rows, len(chosen), run_id)
    return {"run_id": run_id, "grid": GRID, "tasks": [task.instance_id for task in chosen], "policies": shown}


def run_grid(
    chosen: list[Task], config: AgentConfig, options: BenchOptions, env: Mapping[str, str], progress: BenchProgress
) -> str:
    """The grid run over `chosen` with the simulated population served here; its run id."""
    from agent.fake_provider.sim import sim_env, start_sim

    batch = options.model_copy(update={"ids": [task.instance_id for task in chosen]})
    with start_sim(chosen) as fake:
        try:
            result = run_bench(batch, config, {**env, **sim_env(fake)}, progress.done, progress.start)
        finally:
            progress.stop()
    return str(result["run_id"])


def compare_policies(config: AgentConfig, run_id: str) -> dict[Decimal, dict[str, dict[str, Any]]]:
    """Each policy's report row on the grid run, by review rate ($0/h and the configured rate), by policy."""
    from agent.reporting.report import build_report

    starts = {
        name: entry.model_copy(update={"models": None, "ladder": None})
        for name, entry in config.planner.task_types.items()
    }
    rules = config.planner.model_copy(update={"model_order": ["sim-frontier", "sim-pro"], "task_types": starts})
    graded = config.model_copy(update={"planner": rules})
    specs = [f"{name}={spec}" for name, spec in POLICIES.items()]
    ledger = Ledger(config.ledger_path)
    try:
        return {
            rate: {
                row["group"]: row
                for row in build_report(ledger, [run_id], "rung", specs, graded, hourly_rate=rate)["policies"]
            }
            for rate in sorted({Decimal(0), config.review.hourly_rate_usd})
        }
    finally:
        ledger.close()


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.2f}" if value >= 1 else f"${value:.3f}"


def print_comparison(say: Console, rows: dict[Decimal, dict[str, dict[str, Any]]], tasks: int, run_id: str) -> None:
    """The policies' solved counts and $ per solved at each review rate, what each climbs, and the upshot."""
    from agent.reporting.render import Col, print_table

    columns = [Col("policy")]
    columns += [Col(f"{head} ${float(rate):g}/h", right=True) for rate in rows for head in ("solved", "$/solved")]
    cells = []
    for name in POLICIES:
        cells.append([name])
        for by_policy in rows.values():
            cells[-1] += [f"{by_policy[name]['solved']}/{tasks}", _usd(by_policy[name]["cost_per_solved_usd"])]
    print_table(say, f"{tasks} built-in tasks x 15 sim rungs: policies compared offline", columns, cells)
    ladders = [[name, ABOUT.get(spec) or spec.replace(",", " → ")] for name, spec in POLICIES.items()]
    print_table(say, "", [Col("policy"), Col("ladder", wrap=True)], ladders)
    learned, top = rows[Decimal(0)]["learned"], rows[Decimal(0)]["always-max"]
    say.print(
        f"At $0/h the learned planner pays {_usd(learned['cost_per_solved_usd'])} per solved issue (always-max"
        f" {_usd(top['cost_per_solved_usd'])}) and solves {learned['solved']}/{tasks} (always-max"
        f" {top['solved']}/{tasks}); - is nothing solved. The learned ladders, fold by fold:"
        f" agent report {run_id} --policy learned",
        highlight=False,
        markup=False,
    )
