"""What the learned planner is worth: its expected total cost (an unsolved issue priced at V) against
fixed ladders, on three populations, several seeds, 5-fold cross-validated by task; and whether the
P(solved) it predicts comes true.

Populations (`agent.simulate.population`: p(pass) = sigmoid(skill + gain[effort] - difficulty)):
  sim            the shipped population (flash 40%, pro 55%, frontier 72% at max on the built-in suite)
  cheap-close    the cheap models nearly as good as the frontier (flash and pro skills 0.3 and 0.15 below it)
  cheap-useless  the cheap models nearly useless (flash skill -6, pro -4: a few % on easy tasks)
Per seed: 60 tasks (the built-in suite's 30 (task type, difficulty) pairs, twice), each task's
difficulty offset and every attempt's outcome drawn by the population's own seeded draws
(`attempt_passes`, the function the fake provider's sim serves over HTTP), every task measured twice
at each of the 15 rungs (sim-flash, sim-pro, sim-frontier x low..max): the grid. An attempt's API $
comes from the population's token shape for the task type and effort (`attempt_shape`) at the sim
models' configured prices, its prompt growing by the last turn's output and 800 tokens of tool output
a turn from 3,000 (no cache): this script prices attempts itself, it does not run them. Review: 10
minutes per attempt (every sim attempt changes code), priced at $0/h and $100/h. V: the default
`[planner] unsolved_cost` ($200).

Policies: the fixed ladders below, the rules planner (`[planner] model_order` = sim-frontier,
sim-pro: the shipped order with each model replaced by its sim stand-in), and the learned planner:
for each fold, `agent.learning.fit` on the other folds' grid attempts (the product's prior: the
published effort curve, skills unknown) and `choose_ladder` per held-out task type. Also shown, not a
policy anyone can run: `oracle-fixed`, the one ladder with the lowest expected total under the true
probabilities of the very tasks scored (a bound on what any fixed ladder could do).

Scores, per task and averaged: the expected total under the population's TRUE probabilities (API $ +
review $ + V x P(unsolved), exact, no draw noise) and the realised total of walking the ladder on the
drawn outcomes (the k-th visit of a rung takes the task's k-th draw at it). Intervals: mean over seeds
+- t(0.975, seeds-1) x sd / sqrt(seeds); the learned policy is compared with the best listed fixed
ladder (chosen by its mean over seeds) by the paired per-seed difference.

Targets (PASS/MISS): per population and rate, learned's expected total is at or below the best fixed
ladder's within the interval (the paired difference's interval reaches 0 or below), and the mean P(solved)
it predicts is within 3 points of the realised solve rate.

Writes benchmarks/results/planner_value.txt and planner_value.png.
Usage: python benchmarks/planner_value.py [--seeds 5] [--tasks 60] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.config import AgentConfig, load_config
from agent.core.effort import EffortLevel
from agent.engine.planner import ladder_for
from agent.learning import Estimates, Observation, Prior, RungEstimate, choose_ladder, fit
from agent.simulate.population import (
    Population,
    attempt_passes,
    attempt_shape,
    load_population,
    pass_probability,
)
from tasks.models import Task

MODELS = ("sim-flash", "sim-pro", "sim-frontier")
RUNGS = [f"{model}@{level.value}" for model in MODELS for level in EffortLevel]
RATES = (0, 100)
REVIEW_MINUTES = 10.0
T_975 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36, 9: 2.31, 10: 2.26}
PAIRS = [
    ("architecture", "hard"), ("architecture", "medium"), ("boilerplate", "easy"), *[("bug_fix", "easy")] * 5,
    ("bug_fix", "hard"), *[("bug_fix", "medium")] * 4, ("complex_bug", "hard"), *[("complex_bug", "medium")] * 3,
    *[("feature", "hard")] * 2, *[("feature", "medium")] * 2, ("multi_file_refactor", "hard"),
    *[("multi_file_refactor", "medium")] * 2, *[("syntax_fix", "easy")] * 3, ("test_writing", "easy"),
    ("test_writing", "hard"), ("test_writing", "medium"),
]  # fmt: skip
"""The built-in suite's (task type, difficulty) pairs (`agent tasks list builtin`)."""
FIXED = {
    "always-max": "sim-frontier@max",
    "always-cheapest": "sim-flash@low",
    "climb-low": "sim-frontier@low,sim-frontier@medium,sim-frontier@high,sim-frontier@xhigh,sim-frontier@max",
    "climb-medium": "sim-frontier@medium,sim-frontier@high,sim-frontier@xhigh,sim-frontier@max",
    "cascade": "sim-flash@high,sim-pro@high,sim-frontier@max",
    "repeat-cheap": "sim-flash@high,sim-flash@high,sim-frontier@max",
    "frontier-twice": "sim-frontier@max,sim-frontier@max",
}
RESULTS = Path(__file__).resolve().parent / "results"


def populations() -> dict[str, Population]:
    shipped = load_population()
    frontier = shipped.models["sim-frontier"]

    def skills(flash: float, pro: float) -> Population:
        models = {
            "sim-flash": shipped.models["sim-flash"].model_copy(update={"skill": flash}),
            "sim-pro": shipped.models["sim-pro"].model_copy(update={"skill": pro}),
            "sim-frontier": frontier,
        }
        return shipped.model_copy(update={"models": models})

    return {
        "sim": shipped,
        "cheap-close": skills(frontier.skill - 0.3, frontier.skill - 0.15),
        "cheap-useless": skills(-6.0, -4.0),
    }


def prices() -> dict[str, tuple[float, float]]:
    config = load_config(env={"AGENT_CONFIG": os.devnull})
    out = {}
    for model in MODELS:
        price = config.models[model].price
        assert price is not None
        out[model] = (float(price.input), float(price.output))
    return out


def attempt_usd(population: Population, task: Task, rung: str, price: dict[str, tuple[float, float]]) -> float:
    model, _, effort = rung.partition("@")
    shape = attempt_shape(population, task, EffortLevel(effort))
    prompt = sum(3000 + turn * (shape.output_tokens + 800) for turn in range(shape.turns))
    per_input, per_output = price[model]
    return (prompt * per_input + shape.turns * shape.output_tokens * per_output) / 1e6


@dataclass
class World:
    """One seed of one population: its tasks, their true pass probabilities and costs."""

    population: Population
    tasks: list[Task]
    p: dict[tuple[str, str], float]  # (task id, rung) -> true P(pass)
    api: dict[tuple[str, str], float]  # (task id, rung) -> API $ of one attempt
    grid: list[Observation] = field(default_factory=list)

    def passes(self, task: Task, rung: str, visit: int) -> bool:
        model, _, effort = rung.partition("@")
        return attempt_passes(self.population, task, model, EffortLevel(effort), visit)


def make_world(population: Population, seed: int, count: int, price: dict[str, tuple[float, float]]) -> World:
    population = population.model_copy(update={"seed": population.seed + 1000 * seed})
    tasks = [
        Task(instance_id=f"s{seed}-t{n}", repo="sim", base_commit="0", problem_statement="",
             task_type=PAIRS[n % len(PAIRS)][0], difficulty=PAIRS[n % len(PAIRS)][1])
        for n in range(count)
    ]  # fmt: skip
    world = World(population, tasks, {}, {})
    for task in tasks:
        for rung in RUNGS:
            model, _, effort = rung.partition("@")
            world.p[task.instance_id, rung] = pass_probability(population, task, model, EffortLevel(effort))
            world.api[task.instance_id, rung] = attempt_usd(population, task, rung, price)
            for visit in range(2):
                passed = world.passes(task, rung, visit)
                world.grid.append(
                    Observation(task.instance_id, task.task_type or "", rung, 0, passed,
                                world.api[task.instance_id, rung], REVIEW_MINUTES)
                )  # fmt: skip
    return world


@dataclass
class Score:
    expected: float  # E[total] under the true probabilities
    p_solved: float  # true P(solved)
    realised: float  # total of the walk on the drawn outcomes
    solved: bool
    spent: float  # API $ + review $ of the walk (for $ per solved)


def score(world: World, task: Task, ladder: list[str], rate: float, v: float) -> Score:
    review = REVIEW_MINUTES * rate / 60
    expected, reach = 0.0, 1.0
    for rung in ladder:
        expected += reach * (world.api[task.instance_id, rung] + review)
        reach *= 1 - world.p[task.instance_id, rung]
    spent, solved, visits = 0.0, False, dict[str, int]()
    for rung in ladder:
        spent += world.api[task.instance_id, rung] + review
        solved = world.passes(task, rung, visits.get(rung, 0))
        visits[rung] = visits.get(rung, 0) + 1
        if solved:
            break
    return Score(expected + v * reach, 1 - reach, spent + (0 if solved else v), solved, spent)


def folds_of(tasks: list[Task], folds: int) -> list[list[Task]]:
    return [tasks[number::folds] for number in range(folds)]


def learned(world: World, rate: float, v: float, folds: int) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Per task: the learned ladder (its fold fitted on the other folds' tasks) and its predicted P(solved)."""
    ladders, predicted = {}, {}
    prior = Prior(rungs=RUNGS, review_minutes=REVIEW_MINUTES)
    types = sorted({task.task_type or "" for task in world.tasks})
    for held_out in folds_of(world.tasks, folds):
        names = {task.instance_id for task in held_out}
        estimates = fit([o for o in world.grid if o.task not in names], prior, types)
        for task_type in sorted({task.task_type or "" for task in held_out}):
            decision = choose_ladder(estimates, task_type, RUNGS, hourly_rate=rate, unsolved_usd=v, max_repeats=2)
            chosen = decision.chosen
            assert chosen is not None
            for task in held_out:
                if task.task_type == task_type:
                    ladders[task.instance_id], predicted[task.instance_id] = decision.ladder, chosen.p_solved
    return ladders, predicted


def oracle_fixed(world: World, rate: float, v: float) -> list[str]:
    """The one ladder with the lowest mean expected total over the world's tasks, under the truth: an
    `Estimates` whose posterior draws are the tasks themselves (spread 0, each at its true ability)."""
    logits = {rung: np.array([_logit(world.p[t.instance_id, rung]) for t in world.tasks]) for rung in RUNGS}
    api = {rung: float(np.mean([world.api[t.instance_id, rung] for t in world.tasks])) for rung in RUNGS}
    rungs = {rung: RungEstimate(logits[rung], api[rung], REVIEW_MINUTES, 0) for rung in RUNGS}
    truth = Estimates(rungs, {}, {}, np.zeros(len(world.tasks)))
    return choose_ladder(truth, "all", RUNGS, hourly_rate=rate, unsolved_usd=v, max_repeats=2).ladder


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


@dataclass
class Row:
    """One policy on one seed: means over the tasks."""

    expected: float
    realised: float
    p_solved: float
    solve_rate: float
    per_solved: float
    predicted: float | None = None


def summarise(scores: list[Score], predicted: list[float] | None = None) -> Row:
    solved = sum(s.solved for s in scores)
    return Row(
        expected=statistics.fmean(s.expected for s in scores),
        realised=statistics.fmean(s.realised for s in scores),
        p_solved=statistics.fmean(s.p_solved for s in scores),
        solve_rate=solved / len(scores),
        per_solved=sum(s.spent for s in scores) / solved if solved else math.inf,
        predicted=statistics.fmean(predicted) if predicted else None,
    )


Pairs = list[tuple[float, bool, float]]
"""The learned policy per task: (predicted P(solved), solved, true P(solved))."""


def evaluate(world: World, rate: float, v: float, config: AgentConfig, folds: int) -> tuple[dict[str, Row], Pairs]:
    """Every policy's row on one world; and the learned policy's (predicted, solved, true P) per task."""
    ladders = {name: spec.split(",") for name, spec in FIXED.items()}
    rows = {
        name: summarise([score(world, t, ladder, rate, v) for t in world.tasks]) for name, ladder in ladders.items()
    }
    rules = {t.instance_id: [str(r) for r in ladder_for(t.task_type or "", config)] for t in world.tasks}
    rows["planner"] = summarise([score(world, t, rules[t.instance_id], rate, v) for t in world.tasks])
    oracle = oracle_fixed(world, rate, v)
    rows["oracle-fixed"] = summarise([score(world, t, oracle, rate, v) for t in world.tasks])
    chosen, predicted = learned(world, rate, v, folds)
    scores = [score(world, t, chosen[t.instance_id], rate, v) for t in world.tasks]
    rows["learned"] = summarise(scores, [predicted[t.instance_id] for t in world.tasks])
    pairs = [(predicted[t.instance_id], s.solved, s.p_solved) for t, s in zip(world.tasks, scores, strict=True)]
    return rows, pairs


def interval(values: list[float]) -> tuple[float, float]:
    """(mean, half-width of the 95% t interval)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.inf
    return mean, T_975.get(len(values), 1.96) * statistics.stdev(values) / math.sqrt(len(values))


def report(
    name: str, rate: int, per_seed: list[dict[str, Row]], pairs: Pairs
) -> tuple[list[str], list[tuple[str, bool, str]]]:
    policies = list(per_seed[0])
    columns = f"{'E[total] (truth)':>20} {'realised total':>16} {'P(solved)':>10} {'solved':>8} {'$/solved':>9}"
    lines = [f"{name} at ${rate}/h (V $200, {len(per_seed)} seeds):", f"  {'policy':<16} {columns}"]
    for policy in policies:
        mean, half = interval([rows[policy].expected for rows in per_seed])
        realised = statistics.fmean(rows[policy].realised for rows in per_seed)
        p_solved = statistics.fmean(rows[policy].p_solved for rows in per_seed)
        rate_solved = statistics.fmean(rows[policy].solve_rate for rows in per_seed)
        per_solved = statistics.fmean(rows[policy].per_solved for rows in per_seed)
        solved = f"{p_solved:>10.1%} {rate_solved:>8.1%} {per_solved:>9.2f}"
        lines.append(f"  {policy:<16} {mean:>11.2f} +- {half:<6.2f} {realised:>16.2f} {solved}")
    fixed = [*FIXED, "planner"]
    best = min(fixed, key=lambda p: statistics.fmean(rows[p].expected for rows in per_seed))
    diff, half = interval([rows["learned"].expected - rows[best].expected for rows in per_seed])
    predicted = statistics.fmean(p for p, _, _ in pairs)
    realised = statistics.fmean(float(solved) for _, solved, _ in pairs)
    true_p = statistics.fmean(t for _, _, t in pairs)
    where = f"{name} ${rate}/h: learned"
    checks = [
        (f"{where} E[total] <= best fixed ({best}) within the interval", diff - half <= 0,
         f"learned - {best} = {diff:+.2f} +- {half:.2f} $ per issue"),
        (f"{where} predicted P(solved) within 3 points of realised", abs(predicted - realised) <= 0.03,
         f"predicted {predicted:.1%}, realised {realised:.1%} (true P {true_p:.1%}), {len(pairs)} task-draws"),
    ]  # fmt: skip
    return lines, checks


def reliability(pairs: Pairs) -> list[str]:
    bins = [(0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.0001)]
    lines = [f"  {'predicted P(solved)':<20} {'n':>5} {'mean predicted':>15} {'realised':>9} {'true P':>8}"]
    for low, high in bins:
        inside = [(p, s, t) for p, s, t in pairs if low <= p < high]
        if inside:
            predicted = statistics.fmean(p for p, _, _ in inside)
            realised = statistics.fmean(float(s) for _, s, _ in inside)
            true_p = statistics.fmean(t for _, _, t in inside)
            label = f"[{low:.2f}, {min(high, 1):.2f})"
            lines.append(f"  {label:<20} {len(inside):>5} {predicted:>15.1%} {realised:>9.1%} {true_p:>8.1%}")
    return lines


def plot(results: dict[tuple[str, int], list[dict[str, Row]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(results)
    figure, axes = plt.subplots(len(RATES), len(keys) // len(RATES), figsize=(15, 8), squeeze=False)
    for index, (name, rate) in enumerate(keys):
        axis = axes[RATES.index(rate)][index // len(RATES)]
        per_seed = results[name, rate]
        policies = list(per_seed[0])
        means = [interval([rows[p].expected for rows in per_seed]) for p in policies]
        colors = ["crimson" if p == "learned" else "grey" if p == "oracle-fixed" else "C0" for p in policies]
        axis.barh(policies, [m for m, _ in means], xerr=[h for _, h in means], color=colors)
        axis.set_title(f"{name}, review ${rate}/h", fontsize=10)
        axis.set_xlabel("expected total per issue, $ (API + review + V x P(unsolved))")
        axis.invert_yaxis()
    figure.suptitle(
        "Learned planner vs fixed ladders: expected total under the true probabilities (95% intervals over seeds)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    config = load_config(
        env={"AGENT_CONFIG": os.devnull}, overrides={"planner": {"model_order": ["sim-frontier", "sim-pro"]}}
    )
    v = float(config.planner.unsolved_usd(Decimal(100)))
    price = prices()
    started = time.perf_counter()
    results: dict[tuple[str, int], list[dict[str, Row]]] = {}
    lines, checks, tables = [], [], []
    for name, population in populations().items():
        worlds = [make_world(population, seed, args.tasks, price) for seed in range(args.seeds)]
        for rate in RATES:
            evaluated = [evaluate(world, rate, v, config, args.folds) for world in worlds]
            results[name, rate] = [rows for rows, _ in evaluated]
            pairs = [pair for _, seed_pairs in evaluated for pair in seed_pairs]
            block, verdicts = report(name, rate, results[name, rate], pairs)
            lines += [*block, ""]
            checks += verdicts
            tables += [
                f"{name} at ${rate}/h: learned's reliability over {len(pairs)} task-draws",
                *reliability(pairs),
                "",
            ]
            print(f"{name} ${rate}/h done ({time.perf_counter() - started:.0f} s)", flush=True)
    head = [
        f"planner_value: 3 populations x {args.seeds} seeds x {args.tasks} tasks, 15 rungs measured twice each;"
        f" learned {args.folds}-fold cross-validated by task; V ${v:g}; review {REVIEW_MINUTES:g} min per attempt",
        f"({time.perf_counter() - started:.0f} s)", "",
    ]  # fmt: skip
    verdicts = [f"{'PASS' if ok else 'MISS'}  {what}: {detail}" for what, ok, detail in checks]
    text = "\n".join([*head, *lines, *verdicts, "", *tables])
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "planner_value.txt").write_text(text + "\n")
    plot(results, args.out / "planner_value.png")
    print(f"wrote {args.out / 'planner_value.txt'} and {args.out / 'planner_value.png'}")


if __name__ == "__main__":
    main()
