"""Offline evaluation of escalation policies on grid runs (every task measured at every rung alone).

A policy is a ladder. For each task it is walked rung by rung until a rung that solved the task
in the grid data; the cost of that path is the sum of the real costs of the rungs walked (API $ +
review minutes x hourly rate / 60), summed with `agent.reporting.costs.summarize` like any run. This assumes
rungs are independent: a live climb also shows a later rung what the earlier ones tried.

Spec syntax (`agent report --policy`, repeatable):
  `[NAME=]MODEL@EFFORT[,MODEL@EFFORT...]`  an explicit ladder, e.g. `climb=m@medium,m@high,m@max`;
                                            `m@low*2` repeats a rung (the same as `m@low,m@low`)
  `[NAME=]planner`                          each task's ladder from the planner (its task type)
  `[NAME=]learned`                          the learned planner's ladders, cross-validated by task (below)
A rung missing from the grid data for a task ends that task's walk unsolved and is counted in
`missing`, so an incomplete grid never looks cheaper than it is.

Repeated rungs: a grid run measures each task at each rung once. The k-th time a walk reaches a
rung it takes the k-th measurement of that task at that rung (several grid runs given together
measure it several times, in the order of the runs); when there are fewer measurements than
repeats, the walk re-uses one it already took. Such a re-used attempt is billed again but can never
solve (the walk would have stopped at it), so a repeat beyond the data is counted in
`repeats_reused` and costs without helping: it is not an independent draw.

The learned policy (`learned`): the tasks, sorted by key, are dealt into `folds` folds (task i to
fold i mod folds). For each fold, `agent.learning.fit` sees the grid attempts of the OTHER folds'
tasks only, under the learned planner's prior (the published effort curve, every model's skill
unknown, API $ unknown), and `choose_ladder` picks one ladder per task type from the grid's rungs at the report's
hourly rate, the price of an issue left unsolved (V, `[planner] unsolved_cost`, or the report's
`--unsolved-cost`) and the review rule (`[review] bill`); the fold's held-out tasks are then walked
with their type's ladder like any policy. Each fold also keeps the P(solved) its fit predicted for
each type's chosen ladder (`FoldChoice.predicted`), which `agent.reporting.calibration` scores
against what the walks solved (`PolicyResult.solved_tasks`).
A ladder repeats a rung at most as often as the grid measured every task at it (once for one grid
run), so the learned policy only chooses ladders the data can grade without re-using a measurement.
The fitter is a parameter (`fitter`), so a test can check what it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from agent.core.config import AgentConfig, ReviewConfig
from agent.core.effort import Rung, parse_ladder
from agent.core.errors import ConfigError
from agent.engine.planner import ladder_for
from agent.learning import Decision, Estimates, Observation, Prior, choose_ladder, fit, observations_from_ledger
from agent.ledger import IssueRow, Ledger
from agent.reporting.costs import AttemptCost, CostSummary, ReviewBill, attempt_cost, review_charge, summarize

DEFAULT_FOLDS = 5


class Policy(BaseModel):
    name: str
    kind: Literal["ladder", "planner", "learned"] = "ladder"
    ladder: list[Rung] | None = None  # for kind "ladder"


class FoldChoice(BaseModel):
    """What the learned policy chose for one fold of the cross-validation."""

    fold: int
    held_out: list[str]  # task keys walked with this fold's ladders (never seen by its fit)
    training_tasks: int  # tasks whose grid attempts the fit saw
    max_repeats: int  # how often a ladder could repeat a rung: the grid's fewest measurements of a task at a rung
    ladders: dict[str, list[str]]  # task type (of the held-out tasks) -> ladder; empty: no usable ladder
    predicted: dict[str, float] = Field(default_factory=dict)  # task type -> P(solved) its fit expects of its ladder


class PolicyResult(BaseModel):
    policy: str
    summary: CostSummary
    missing: int
    repeats_reused: int
    paths: dict[str, list[str]]  # task key -> rungs walked
    solved_tasks: list[str] = Field(default_factory=list)  # task keys the walk solved, sorted
    task_types: dict[str, str] = Field(default_factory=dict)  # task key -> its task type
    folds: list[FoldChoice] | None = None  # the learned policy's choices


def parse_policy(spec: str) -> Policy:
    name, sep, body = spec.partition("=")
    if not sep:
        name, body = spec, spec
    name, body = name.strip(), body.strip()
    if not name:
        raise ConfigError(f"bad policy {spec!r}: write [NAME=]MODEL@EFFORT[,MODEL@EFFORT...], planner or learned")
    if body in ("planner", "learned"):
        return Policy(name=name, kind=body)
    return Policy(name=name, ladder=parse_ladder(body))


class GridCell(BaseModel):
    issue: IssueRow
    costs: list[AttemptCost]


Cells = dict[str, dict[str, list[GridCell]]]
"""task key -> rung -> the grid's measurements of the task at the rung, in the order of the runs."""
LadderOf = Callable[[str, str], list[str]]
"""(task key, task type) -> the rungs a policy walks for that task."""
Fitter = Callable[[list[Observation], Prior, list[str]], Estimates]
"""`agent.learning.fit`'s shape: (observations, prior, task types) -> estimates."""


def grid_cells(ledger: Ledger, run_ids: list[str], config: AgentConfig) -> tuple[Cells, Decimal]:
    """The grid's measurements; and the hourly rate of the runs (the last one's)."""
    cells: Cells = {}
    rate = config.review.hourly_rate_usd
    for run_id in run_ids:
        run = ledger.run(run_id)
        if run is None or run.kind != "grid":
            raise ConfigError(f"run {run_id} is not a grid run: policies are evaluated on `agent bench --grid` runs")
        rate = run.hourly_rate_usd
        attempts = ledger.attempts(run_id)
        for issue in ledger.issues(run_id):
            if issue.status not in ("solved", "unsolved", "budget_exhausted"):
                continue  # errors, skips and interrupted rows are not measurements
            costs = [attempt_cost(ledger, a, config.review) for a in attempts if a.issue_id == issue.id]
            cells.setdefault(issue.key, {}).setdefault(issue.ladder, []).append(GridCell(issue=issue, costs=costs))
    return cells, rate


def _task_type(row: dict[str, list[GridCell]]) -> str:
    return next(iter(row.values()))[0].issue.task_type


def walk(name: str, cells: Cells, rate: Decimal, ladder_of: LadderOf) -> PolicyResult:
    """Each task's ladder walked over its measurements until one solved it (see the module docstring)."""
    chosen: list[AttemptCost] = []
    missing = reused = 0
    paths: dict[str, list[str]] = {}
    solved: list[str] = []
    for key in sorted(cells):
        row = cells[key]
        walked: list[str] = []
        taken: dict[str, int] = {}
        for rung in ladder_of(key, _task_type(row)):
            measured = row.get(rung)
            if not measured:
                missing += 1
                break
            nth = taken.get(rung, 0)
            taken[rung] = nth + 1
            reused += nth >= len(measured)
            cell = measured[nth % len(measured)]
            walked.append(rung)
            chosen.extend(cell.costs)
            if cell.issue.status == "solved":
                solved.append(key)
                break
        paths[key] = walked
    summary = summarize(chosen, len(solved), len(cells), rate)
    types = {key: _task_type(row) for key, row in cells.items()}
    return PolicyResult(
        policy=name, summary=summary, missing=missing, repeats_reused=reused, paths=paths, solved_tasks=solved,
        task_types=types,
    )  # fmt: skip


def folds_of(keys: list[str], folds: int) -> list[list[str]]:
    """The sorted task keys dealt into `folds` folds (fewer when there are fewer tasks); deterministic."""
    if folds < 2:
        raise ConfigError(f"--folds {folds}: cross-validation needs at least 2 folds")
    ordered = sorted(keys)
    count = min(folds, len(ordered))
    return [ordered[index::count] for index in range(count)]


def cross_validate(
    cells: Cells,
    observations: list[Observation],
    *,
    folds: int,
    hourly_rate: Decimal,
    review_minutes: float,
    unsolved_usd: float,
    review_bill: ReviewBill,
    fitter: Fitter = fit,
) -> list[FoldChoice]:
    """Per fold, fit on the other folds' tasks' observations only and choose a ladder per held-out task
    type, pricing an unsolved issue at `unsolved_usd` (V) and billing review by `review_bill`."""
    allowed = sorted({rung for row in cells.values() for rung in row})
    repeats = min((len(measured) for row in cells.values() for measured in row.values()), default=1)
    task_types = sorted({_task_type(row) for row in cells.values()})
    prior = Prior(rungs=allowed, review_minutes=review_minutes)
    choices = []
    for number, held_out in enumerate(folds_of(list(cells), folds)):
        training = set(cells) - set(held_out)
        estimates = fitter([o for o in observations if o.task in training], prior, task_types)
        decisions = {
            task_type: choose_ladder(
                estimates,
                task_type,
                allowed,
                hourly_rate=float(hourly_rate),
                unsolved_usd=unsolved_usd,
                review_bill=review_bill,
                max_repeats=repeats,
            )
            for task_type in sorted({_task_type(cells[key]) for key in held_out})
        }
        choices.append(
            FoldChoice(
                fold=number,
                held_out=held_out,
                training_tasks=len(training),
                max_repeats=repeats,
                ladders={task_type: decision.ladder for task_type, decision in decisions.items()},
                predicted=predicted_p_solved(decisions),
            )
        )
    return choices


def predicted_p_solved(decisions: dict[str, Decision]) -> dict[str, float]:
    """Task type -> the P(solved) its decision expects of the chosen ladder (its candidate of that ladder);
    a type with no usable ladder predicts nothing."""
    predicted = {}
    for task_type, decision in decisions.items():
        chosen = decision.chosen
        if decision.ladder and chosen is not None:
            predicted[task_type] = float(chosen.p_solved)
    return predicted


def learned_ladders(choices: list[FoldChoice]) -> LadderOf:
    fold_of = {key: choice for choice in choices for key in choice.held_out}
    return lambda key, task_type: fold_of[key].ladders[task_type]


def _fixed_or_planner(policy: Policy, config: AgentConfig) -> LadderOf:
    if policy.kind == "planner":
        return lambda _key, task_type: [str(rung) for rung in ladder_for(task_type, config)]
    fixed = [str(rung) for rung in policy.ladder or []]
    return lambda _key, _task_type: fixed


def grid_observations(ledger: Ledger, run_ids: list[str], review: ReviewConfig) -> list[Observation]:
    """The grid's attempts as the learner sees them, each with the minutes its review takes when it is
    billed (`bill="each_attempt"`: the learner applies `[review] bill` itself, as `review_bill`)."""
    return observations_from_ledger(
        ledger,
        run_ids,
        review_minutes_for=lambda a: review_charge(a, ledger.reviews(a.id), review, bill="each_attempt").minutes,
    )


def evaluate_policies(
    ledger: Ledger,
    run_ids: list[str],
    specs: list[str],
    config: AgentConfig,
    *,
    hourly_rate: Decimal | None = None,
    unsolved_usd: Decimal | None = None,
    folds: int = DEFAULT_FOLDS,
    fitter: Fitter = fit,
) -> list[PolicyResult]:
    """Each policy walked over the grid runs; `hourly_rate` (None: the runs' own) prices review time and
    `unsolved_usd` (None: `[planner]`'s V at that rate) an issue the learned policy leaves unsolved."""
    policies = [parse_policy(spec) for spec in specs]
    if not policies:
        return []
    cells, recorded = grid_cells(ledger, run_ids, config)
    rate = recorded if hourly_rate is None else hourly_rate
    value = config.planner.unsolved_usd(rate) if unsolved_usd is None else unsolved_usd
    learning = any(policy.kind == "learned" for policy in policies)
    observations = grid_observations(ledger, run_ids, config.review) if learning else []
    results = []
    for policy in policies:
        if policy.kind != "learned":
            results.append(walk(policy.name, cells, rate, _fixed_or_planner(policy, config)))
            continue
        choices = cross_validate(
            cells, observations, folds=folds, hourly_rate=rate, review_minutes=config.review.minutes_per_attempt,
            unsolved_usd=float(value), review_bill=config.review.bill, fitter=fitter,
        )  # fmt: skip
        result = walk(policy.name, cells, rate, learned_ladders(choices))
        results.append(result.model_copy(update={"folds": choices}))
    return results
