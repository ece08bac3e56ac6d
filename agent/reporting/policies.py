"""Offline evaluation of escalation policies on grid runs (every task measured at every rung alone).

A policy is a ladder. For each task it is walked rung by rung until a rung that solved the task
in the grid data; the cost of that path is the sum of the real costs of the rungs walked (API $ +
review minutes x hourly rate / 60), summed with `agent.reporting.costs.summarize` like any run. This assumes
rungs are independent: a live climb also shows a later rung what the earlier ones tried.

Spec syntax (`agent report --policy`, repeatable):
  `[NAME=]MODEL@EFFORT[,MODEL@EFFORT...]`  an explicit ladder, e.g. `climb=m@medium,m@high,m@max`
  `planner`                                 each task's ladder from the planner (its task type)
A rung missing from the grid data for a task ends that task's walk unsolved and is counted in
`missing`, so an incomplete grid never looks cheaper than it is.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from pydantic import BaseModel

from agent.core.config import AgentConfig
from agent.core.effort import Rung, parse_ladder
from agent.core.errors import ConfigError
from agent.engine.planner import ladder_for
from agent.ledger import IssueRow, Ledger
from agent.reporting.costs import AttemptCost, CostSummary, attempt_cost, summarize


class Policy(BaseModel):
    name: str
    ladder: list[Rung] | None  # None: the planner's ladder per task type


class PolicyResult(BaseModel):
    policy: str
    summary: CostSummary
    missing: int
    paths: dict[str, list[str]]  # task key -> rungs walked


def parse_policy(spec: str) -> Policy:
    name, sep, ladder = spec.partition("=")
    if not sep:
        name, ladder = spec, spec
    if ladder.strip() == "planner":
        return Policy(name=name.strip(), ladder=None)
    if not name.strip():
        raise ConfigError(f"bad policy {spec!r}: write [NAME=]MODEL@EFFORT[,MODEL@EFFORT...] or planner")
    return Policy(name=name.strip(), ladder=parse_ladder(ladder))


class GridCell(BaseModel):
    issue: IssueRow
    costs: list[AttemptCost]


def grid_cells(
    ledger: Ledger, run_ids: list[str], config: AgentConfig
) -> tuple[dict[str, dict[str, GridCell]], Decimal]:
    """task key -> rung -> the grid's measurement; and the hourly rate of the runs."""
    cells: dict[str, dict[str, GridCell]] = {}
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
            cells.setdefault(issue.key, {})[issue.ladder] = GridCell(issue=issue, costs=costs)
    return cells, rate


def evaluate_policy(
    policy: Policy, cells: dict[str, dict[str, GridCell]], rate: Decimal, ladder_of: Callable[[str], list[Rung]]
) -> PolicyResult:
    chosen: list[AttemptCost] = []
    solved = missing = 0
    paths: dict[str, list[str]] = {}
    for key in sorted(cells):
        row = cells[key]
        task_type = next(iter(row.values())).issue.task_type
        ladder = policy.ladder if policy.ladder is not None else ladder_of(task_type)
        walked: list[str] = []
        for rung in ladder:
            cell = row.get(str(rung))
            if cell is None:
                missing += 1
                break
            walked.append(str(rung))
            chosen.extend(cell.costs)
            if cell.issue.status == "solved":
                solved += 1
                break
        paths[key] = walked
    return PolicyResult(
        policy=policy.name, summary=summarize(chosen, solved, len(cells), rate), missing=missing, paths=paths
    )


def evaluate_policies(ledger: Ledger, run_ids: list[str], specs: list[str], config: AgentConfig) -> list[PolicyResult]:
    policies = [parse_policy(spec) for spec in specs]
    cells, rate = grid_cells(ledger, run_ids, config)
    return [evaluate_policy(policy, cells, rate, lambda kind: ladder_for(kind, config)) for policy in policies]
