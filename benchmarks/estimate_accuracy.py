"""Estimate vs actual: `agent bench --estimate` before a batch, against what the batch then spent and solved.

The simulated population (`sim-*`, served by the fake provider over the real Anthropic API) runs the
suite with `--sandbox local` and 2 workers; per task, the estimate made before the run (the planner's
model: rules = price x the effort's token budget and the published prior's odds; learned = the
posterior) is compared with the ledger's actual API $, review and verdict:

  ratio = actual / estimated expected, per task: median, quartiles, 10th-90th percentile, and the
  batch's sum over its estimated sum; for API $ and for the total (API $ + review $ at $100/h).
  P(solved): the mean predicted against the share solved.

Planner: `[planner] model_order = ["sim-frontier", "sim-pro"]` (the shipped order, each model by its sim
stand-in), the shipped effort budgets and review settings, V the default. Rules: an empty ledger.
Learned: its own ledger, first a grid over the first `--grid-tasks` tasks (sim-frontier, sim-pro at
low, medium, max), then the batch on the other tasks (the same ones the rules run on), the learned
planner fitted on the grid. Last, the rules again on that ledger: their API $ per attempt is then the
mean measured at each rung it holds (at least 3 priced attempts), the token budget rule elsewhere.
Suite: `generated:N` when the loader has it, else `builtin` (30 tasks).

Writes benchmarks/results/estimate_accuracy.txt.
Usage: python benchmarks/estimate_accuracy.py [--tasks 60] [--grid-tasks 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.bench.estimate import Accuracy, BatchEstimate, Spread, accuracy, estimate_batch, outcomes
from agent.bench.jobs import BenchOptions
from agent.bench.run import run_bench
from agent.core.errors import AgentError
from agent.fake_provider.sim import sim_env, start_sim
from agent.ledger import Ledger
from agent.wiring.options import load_run_config
from tasks.loaders import load_tasks
from tasks.models import Task

MODELS = ["sim-frontier", "sim-pro"]
GRID = "sim-frontier,sim-pro@low,medium,max"
RESULTS = Path(__file__).resolve().parent / "results"


def suite(count: int, home: Path) -> tuple[str, list[Task]]:
    """`generated:count` when the loader knows it, else the built-in suite."""
    try:
        return f"generated:{count}", load_tasks(f"generated:{count}", home)
    except AgentError:
        return "builtin", load_tasks("builtin", home)


def home_env(root: Path, name: str, sim: dict[str, str]) -> dict[str, str]:
    folder = root / name
    folder.mkdir()
    config = folder / "agent.toml"
    config.write_text(f"[planner]\nmodel_order = {json.dumps(MODELS)}\n")
    return {**os.environ, **sim, "AGENT_HOME": str(folder / "home"), "AGENT_CONFIG": str(config)}


def bench(spec: str, ids: list[str], env: dict[str, str], workers: int, **flags: object) -> tuple[BenchOptions, str]:
    options = BenchOptions(suite=spec, ids=ids, sandbox="local", workers=workers, **flags)  # type: ignore[arg-type]
    config = load_run_config(options, None, env)
    result = run_bench(options, config, env, lambda *_: None, lambda *_: None)
    return options, str(result["run_id"])


def measure(spec: str, ids: list[str], env: dict[str, str], workers: int, policy: str) -> tuple[Accuracy, float]:
    """The batch's estimate, then the batch, then the comparison; and the batch's wall time."""
    options = BenchOptions(suite=spec, ids=ids, sandbox="local", workers=workers, policy=policy, run_id=policy)
    config = load_run_config(options, None, env)
    expected: BatchEstimate = estimate_batch(options, config, env)
    started = time.perf_counter()
    run_bench(options, config, env, lambda *_: None, lambda *_: None)
    wall = time.perf_counter() - started
    ledger = Ledger(config.ledger_path)
    try:
        return accuracy(outcomes(expected, ledger, policy, config.review)), wall
    finally:
        ledger.close()


def spread_line(name: str, spread: Spread) -> str:
    return (
        f"  {name:<8} median {spread.median:6.2f}   IQR {spread.q25:5.2f}-{spread.q75:5.2f}"
        f"   10-90% {spread.p10:5.2f}-{spread.p90:5.2f}   batch sum {spread.batch:5.2f}"
    )


def report(policy: str, found: Accuracy, wall: float) -> list[str]:
    return [
        f"{policy}: {found.jobs} tasks ({wall:.0f} s); ratio actual / estimated expected, per task:",
        spread_line("API $", found.api),
        spread_line("total", found.total),
        f"  P(solved) predicted {found.predicted_solved:.0%} (mean), realised {found.realised_solved:.0%}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--grid-tasks", type=int, default=10)
    parser.add_argument("--eval-tasks", type=int, default=None, help="Run only this many of the other tasks.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        spec, tasks = suite(args.tasks, root / "load")
        ids = [task.instance_id for task in tasks]
        grid_ids, eval_ids = ids[: args.grid_tasks], ids[args.grid_tasks :][: args.eval_tasks]
        with start_sim(tasks) as fake:
            sim = sim_env(fake)
            rules_env = home_env(root, "rules", sim)
            lines = [f"suite {spec}: {len(eval_ids)} tasks estimated and run per policy, {args.workers} workers"]
            lines += report("rules", *measure(spec, eval_ids, rules_env, args.workers, "rules"))
            learned_env = home_env(root, "learned", sim)
            bench(spec, grid_ids, learned_env, args.workers, grid=[GRID], run_id="grid")
            lines += report(
                f"learned (after a grid of {len(grid_ids)} tasks x 6 rungs)",
                *measure(spec, eval_ids, learned_env, args.workers, "learned"),
            )
            lines += report(
                "rules with that ledger (API $ per attempt as measured at the rungs it holds)",
                *measure(spec, eval_ids, learned_env, args.workers, "rules"),
            )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "estimate_accuracy.txt").write_text(text)


if __name__ == "__main__":
    main()
