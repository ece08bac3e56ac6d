"""What the learned planner is worth: its $ per solved issue and solve rate against fixed ladders.

Setup: the built-in suite (30 tasks; `--tasks N` takes N of them, spread over the suite, for a quick
check), the shipped simulated population, and a full grid: sim-flash, sim-pro and sim-frontier at
low, medium, high, xhigh and max (15 rungs), every task at every rung, run TWICE as two grid runs
(`agent bench builtin --grid ... --workers 2 --sandbox local`). `--sandbox local` is not isolated;
it is used here for speed, and is harmless: a sim attempt only applies the task's gold patch or
appends a comment to one of the task's files, in a throwaway copy of a built-in repository.

The two grid runs give two measurements of every task x rung, so ladders that repeat a rung can be
graded (`agent report` takes the k-th measurement for the k-th visit). The sim draws an attempt's
outcome from (task, rung, attempt number), and a grid job is always its issue's attempt 0, so a
second grid run against the stock server would copy the first outcome for outcome. The second run
is therefore served by this script's `NextDraw` responder, which numbers every attempt one higher:
each measurement of run 2 is the draw a live climb gets when it tries the same rung a second time.

Then `agent report RUN1 RUN2 --policy ... --hourly-rate R --json` at R = $0/h and $100/h (review
minutes at the shipped 10 per attempt with a change), with the learned policy cross-validated by
task (`--policy learned`, 5 folds: each fold's ladders are fitted on the other folds' tasks only).

The rules planner (`planner`) climbs `[planner] model_order` from each task type's start effort. This
script's AGENT_CONFIG sets model_order = ["sim-frontier", "sim-pro"]: the shipped default
(claude-opus-4-7, then deepseek-v4-pro) with each model replaced by its sim stand-in (see
agent/simulate/population.toml), i.e. the rules as a user gets them.

Targets (printed PASS/MISS, as measured): at $0/h the learned $ per solved is <= 1.05x the best
fixed ladder's (the lowest $ per solved of the fixed-ladder policies below, whatever their solve
rate) and <= 0.5x always-max's, with a solve rate at most 3 points below always-max's; and the
learned ladders (per fold and task type) differ between $0/h and $100/h.

Writes benchmarks/results/planner_value.txt and planner_value.png (solve rate vs $ per solved).
Usage: python benchmarks/planner_value.py [--tasks N] [--workers 2] [--home DIR] [--out DIR]
       [--runs RUN1,RUN2: only the reports, on grid runs already in --home]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.effort import EffortLevel
from agent.fake_provider.server import Api, FakeProvider
from agent.fake_provider.sim import (
    SIM_API_KEY,
    SimResponder,
    earlier_attempts,
    first_user_text,
    max_tokens_of,
    system_text,
)
from agent.ledger import Ledger
from agent.simulate.population import load_population
from agent.simulate.script import ScriptedTurn
from agent.simulate.sim_turns import sim_turn
from tasks.loaders import load_tasks
from tasks.models import Task

MODELS = ("sim-flash", "sim-pro", "sim-frontier")
GRID = f"{','.join(MODELS)}@low,medium,high,xhigh,max"
RATES = (0, 100)
CONFIG = '[planner]\nmodel_order = ["sim-frontier", "sim-pro"]\n'
POLICIES = {
    "always-max": "sim-frontier@max",
    "always-cheapest": "sim-flash@low",
    "planner": "planner",
    "climb-low": "sim-frontier@low,sim-frontier@medium,sim-frontier@high,sim-frontier@xhigh,sim-frontier@max",
    "climb-medium": "sim-frontier@medium,sim-frontier@high,sim-frontier@xhigh,sim-frontier@max",
    "cascade": "sim-flash@high,sim-pro@high,sim-frontier@max",
    "repeat-cheap": "sim-flash@high*2,sim-frontier@max",
    "learned": "learned",
}
FIXED = [name for name, spec in POLICIES.items() if spec not in ("planner", "learned")]
RESULTS = Path(__file__).resolve().parent / "results"


class NextDraw(SimResponder):
    """The sim, with every attempt numbered `offset` higher than the system prompt says (see above)."""

    def __init__(self, tasks: list[Task], offset: int) -> None:
        super().__init__(load_population(), tasks)
        self.offset = offset

    def turn(self, api: Api, body: dict[str, Any], effort: str | None, index: int) -> ScriptedTurn:
        task = self.match_task(first_user_text(body))
        attempt = earlier_attempts(system_text(api, body)) + self.offset
        level = EffortLevel.parse(effort or "")
        return sim_turn(self.population, task, str(body["model"]), level, attempt, index, max_tokens_of(body))


def spread(tasks: list[Task], count: int | None) -> list[Task]:
    """`count` tasks spread evenly over the suite (every repository and type); all when None."""
    if count is None or count >= len(tasks):
        return tasks
    return [tasks[index * len(tasks) // count] for index in range(count)]


def agent(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "agent", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"agent {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def run_grid(env: dict[str, str], tasks: list[Task], chosen: list[Task], run_id: str, offset: int, workers: int):
    ids = ["--ids", ",".join(task.instance_id for task in chosen)] if len(chosen) < len(tasks) else []
    started = time.perf_counter()
    with FakeProvider(responder=NextDraw(tasks, offset)) as fake:
        sim = {"SIM_BASE_URL": fake.anthropic_base_url, "SIM_API_KEY": SIM_API_KEY}
        args = ["--grid", GRID, "--workers", str(workers), "--sandbox", "local", "--run-id", run_id, "--json"]
        result = agent({**env, **sim}, "bench", "builtin", *ids, *args)
    if result["error_ids"] or result["skipped_ids"]:
        raise SystemExit(f"grid {run_id}: errors {result['error_ids']}, skipped {result['skipped_ids']}")
    return result, time.perf_counter() - started


def report(env: dict[str, str], runs: list[str], rate: int) -> dict[str, Any]:
    specs = [item for name, spec in POLICIES.items() for item in ("--policy", f"{name}={spec}")]
    data = agent(env, "report", *runs, *specs, "--hourly-rate", str(rate), "--json")
    return {row["group"]: row for row in data["policies"]}


def per_solved(row: dict[str, Any]) -> float:
    value = row["cost_per_solved_usd"]
    return math.inf if value is None else float(value)


def fold_ladders(row: dict[str, Any]) -> dict[str, list[str]]:
    """The learned ladders, `fold N task_type` -> ladder."""
    return {
        f"fold {fold['fold'] + 1} {task_type}": ladder
        for fold in row["folds"] or []
        for task_type, ladder in fold["ladders"].items()
    }


def targets(reports: dict[int, dict[str, dict[str, Any]]]) -> list[tuple[str, bool, str]]:
    free = reports[0]
    learned, always_max = free["learned"], free["always-max"]
    best = min(FIXED, key=lambda name: per_solved(free[name]))
    gap = (always_max["solve_rate"] - learned["solve_rate"]) * 100
    changed = sorted(
        key
        for key, ladder in fold_ladders(reports[0]["learned"]).items()
        if fold_ladders(reports[100]["learned"]).get(key) != ladder
    )
    ratio_best = per_solved(learned) / per_solved(free[best])
    ratio_max = per_solved(learned) / per_solved(always_max)
    return [
        (
            "$0/h: learned $/solved <= 1.05x the best fixed ladder",
            ratio_best <= 1.05,
            f"{ratio_best:.2f}x {best} (${per_solved(free[best]):.4f})",
        ),
        ("$0/h: learned $/solved <= 0.5x always-max", ratio_max <= 0.5, f"{ratio_max:.2f}x"),
        (
            "$0/h: learned solve rate >= always-max - 3 points",
            gap <= 3,
            f"{learned['solve_rate']:.1%} vs {always_max['solve_rate']:.1%} ({-gap + 0:+.1f} points)",
        ),
        (
            "learned ladders change between $0/h and $100/h",
            bool(changed),
            f"{len(changed)} of {len(fold_ladders(reports[0]['learned']))} fold x type ladders differ",
        ),
    ]


def context(reports: dict[int, dict[str, dict[str, Any]]]) -> list[str]:
    """Not targets: where the learned policy stands against fixed ladders that solve about as much, and at $100/h."""
    lines = []
    for rate in RATES:
        rows = reports[rate]
        floor = rows["always-max"]["solve_rate"] - 0.03
        close = [name for name in FIXED if rows[name]["solve_rate"] >= floor - 1e-9]
        best = min(close, key=lambda name: per_solved(rows[name]))
        learned = per_solved(rows["learned"])
        lines.append(
            f"info  ${rate}/h: the best fixed ladder solving >= always-max - 3 points is {best}"
            f" (${per_solved(rows[best]):.4f}); learned is {learned / per_solved(rows[best]):.2f}x it"
            f" and {learned / per_solved(rows['always-max']):.2f}x always-max"
        )
    return lines


def usd(value: float) -> str:
    return "-" if math.isinf(value) else f"{value:.4f}"


def table(reports: dict[int, dict[str, dict[str, Any]]]) -> list[str]:
    per_rate = " ".join(f"{f' review at ${rate}/h ':-^28}" for rate in RATES)
    columns = " ".join(f"{'solved':>8} {'rate':>7} {'$/solved':>11}" for _ in RATES)
    lines = [f"{'':<16} {'':<34} {per_rate}", f"{'policy':<16} {'ladder':<34} {columns}"]
    for name, spec in POLICIES.items():
        ladder = spec if len(spec) <= 34 else spec[:31] + "..."
        cells = []
        for rate in RATES:
            row = reports[rate][name]
            solved = f"{row['solved']}/{row['tasks']}"
            cells.append(f"{solved:>8} {row['solve_rate']:>7.1%} {usd(per_solved(row)):>11}")
        lines.append(f"{name:<16} {ladder:<34} " + " ".join(cells))
    return lines


def plot(reports: dict[int, dict[str, dict[str, Any]]], path: Path, subtitle: str) -> None:
    """Solve rate against $ per solved, one panel per hourly rate, one marker per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    figure, axes = plt.subplots(1, len(RATES), figsize=(12, 5.6))
    colors = [*[f"C{number}" for number in range(7)], "crimson"]  # the learned policy last, in red
    for axis, rate in zip(axes, RATES, strict=True):
        for number, name in enumerate(POLICIES):
            row = reports[rate][name]
            cost = per_solved(row)
            if math.isinf(cost):
                axis.scatter([], [], marker="os^vD<>*"[number], color=colors[number], label=f"{name} (solved none)")
                continue
            learned = name == "learned"
            axis.scatter(
                cost, row["solve_rate"] * 100, marker="os^vD<>*"[number], s=220 if learned else 80,
                color=colors[number], edgecolors="black" if learned else "none", zorder=4 if learned else 3,
                label=name, alpha=0.9,
            )  # fmt: skip
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"${value:g}"))
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel("$ per solved issue (log scale; left is cheaper)")
        axis.set_ylabel("solve rate (%)")
        axis.set_title(f"review priced at ${rate}/h")
        axis.grid(True, which="both", alpha=0.3)
    handles, labels = axes[-1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
    figure.suptitle(f"Learned planner vs fixed ladders (offline, cross-validated)\n{subtitle}", fontsize=10)
    figure.tight_layout(rect=(0, 0.1, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def clean_env(home: Path, config: Path) -> dict[str, str]:
    """This process's environment without AGENT_* settings, pointed at the benchmark's home and config."""
    kept = {key: value for key, value in os.environ.items() if not key.startswith(("AGENT_", "SIM_"))}
    return {**kept, "AGENT_HOME": str(home / "agent-home"), "AGENT_CONFIG": str(config), "COLUMNS": "200"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=None, help="N tasks of the built-in suite (default: all 30)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None, help="keep the ledger here (default: a temporary dir)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--runs", default=None, help="RUN1,RUN2: report on these grid runs in --home, run no grid")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = (args.home or Path(scratch)).resolve()
        home.mkdir(parents=True, exist_ok=True)
        config = home / "planner-value.toml"
        config.write_text(CONFIG)
        env = clean_env(home, config)
        tasks = load_tasks("builtin", home / "agent-home")
        chosen = spread(tasks, args.tasks)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        runs = args.runs.split(",") if args.runs else []
        for number in () if args.runs else (1, 2):
            run_id = f"pv-{stamp}-{number}"
            result, wall = run_grid(env, tasks, chosen, run_id, number - 1, args.workers)
            print(f"grid {run_id}: {result['instances']} jobs, {result['resolved']} solved, {wall:.0f} s", flush=True)
            runs.append(run_id)
        reports = {rate: report(env, runs, rate) for rate in RATES}
        ledger = Ledger(home / "agent-home" / "ledger.sqlite")
        walls = [(run.finished_at or run.created_at) - run.created_at for run in map(ledger.run, runs) if run]
        ledger.close()
    checks = targets(reports)
    count = reports[0]["always-max"]["tasks"]
    header = [
        f"planner_value: {count} built-in tasks x {GRID} (15 rungs), 2 grid runs {', '.join(runs)}"
        f" ({', '.join(f'{wall:.0f} s' for wall in walls)}; --workers {args.workers}, --sandbox local)",
        "rules planner: [planner] model_order = sim-frontier, sim-pro; learned: 5-fold cross-validated by task",
        "review: 10 min per attempt with a change; $ per solved = (API $ + review min x rate / 60) / solved",
        "",
    ]
    ladders = [
        line
        for rate in RATES
        for line in (
            f"learned ladders (per fold and task type) at ${rate}/h:",
            *(
                f"  {key}: {','.join(ladder) or '(none)'}"
                for key, ladder in fold_ladders(reports[rate]["learned"]).items()
            ),
        )
    ]
    verdicts = [f"{'PASS' if ok else 'MISS'}  {what}: {detail}" for what, ok, detail in checks]
    text = "\n".join([*header, *table(reports), "", *verdicts, *context(reports), "", *ladders]) + "\n"
    print(text, end="")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "planner_value.txt").write_text(text)
    plot(reports, args.out / "planner_value.png", f"{count} built-in tasks, sim population, 2 grid runs")
    print(f"wrote {args.out / 'planner_value.txt'} and {args.out / 'planner_value.png'}")


if __name__ == "__main__":
    main()
