"""`agent report`: cost per solved issue per group over runs, and policies side by side.

Every number comes from `agent.reporting.costs` (`grouped_costs`, `summarize`); this module only shapes
it into rows for a Rich table, JSON and the HTML report.

`hourly_rate` (`--hourly-rate`) re-prices review time in every row and policy (a what-if; the learned
policy also learns at it); without it each run's recorded rate is used. `total_usd_all_billed` is a
row's total when every task it left unsolved is also billed one attempt at the priciest rung (the
highest mean $ per attempt in the runs), so that giving up early does not look cheap. `with_v` holds,
per section (groups, by_task_type, policies) and row, `total_with_v_usd`: the row's total when every
task it left unsolved costs V, the price of an issue left unsolved (`agent.reporting.unsolved`:
`--unsolved-cost`, else `[planner]`), and `total_with_v_per_issue_usd`, that per task; kept beside the
rows so that their fields stay as they were. `review_bill` names the rule that billed review time.

With a `learned` policy, `calibration` (policy name -> `agent.reporting.calibration.Calibration`)
sets the P(solved) each fold predicted for its held-out tasks against what their walks solved.

Each row also carries the router's `fallbacks` (switches to a fallback rung in the group's attempts),
`attempts_with_fallback` and `validation_failures` (invalid replies by reason, whichever model of the
attempt replied); `stats` holds the sections of `agent stats` for the same runs (`agent.reporting.stats`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape

from agent.core.config import AgentConfig, ReviewConfig
from agent.core.effort import compact_ladder
from agent.core.errors import ConfigError
from agent.ledger import Ledger
from agent.reporting.calibration import calibration, calibration_notes, reliability_columns, reliability_tables
from agent.reporting.costs import CostSummary, GroupKey, attempt_cost, grouped_costs, summarize
from agent.reporting.policies import DEFAULT_FOLDS, evaluate_policies, parse_policy
from agent.reporting.render import Col, print_table, say
from agent.reporting.stats import build_stats, print_stats, read_facts
from agent.reporting.unsolved import BILL_NOTES, UnsolvedValue, value_json, value_note, with_v_fields

GROUPS: dict[str, GroupKey] = {
    "model": lambda issue, attempt: attempt.model if attempt else "(no attempt)",
    "effort": lambda issue, attempt: attempt.effort_asked if attempt else "(no attempt)",
    "rung": lambda issue, attempt: f"{attempt.model}@{attempt.effort_asked}" if attempt else "(no attempt)",
    "task_type": lambda issue, attempt: issue.task_type,
    "policy": lambda issue, attempt: issue.policy or "(none)",
}


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 6))


def priciest_rung(
    ledger: Ledger, run_ids: list[str], review: ReviewConfig, hourly_rate: Decimal | None
) -> tuple[str, Decimal] | None:
    """The rung with the highest mean $ per finished attempt in the runs (API $ + review at each run's
    rate, or `hourly_rate`), and that mean; None when no attempt finished."""
    costs: dict[str, list[Decimal]] = {}
    for run_id in run_ids:
        run = ledger.run(run_id)
        rate = hourly_rate if hourly_rate is not None else run.hourly_rate_usd if run else review.hourly_rate_usd
        for attempt in ledger.attempts(run_id):
            if attempt.state == "finished":
                usd = summarize([attempt_cost(ledger, attempt, review)], 0, 0, rate)
                costs.setdefault(f"{attempt.model}@{attempt.effort_asked}", []).append(usd.total_cost_usd)
    means = {rung: sum(usd, Decimal(0)) / len(usd) for rung, usd in sorted(costs.items())}
    rung = max(means, key=means.__getitem__, default=None)
    return None if rung is None else (rung, means[rung])


def summary_row(group: str, summary: CostSummary, unsolved_usd: Decimal | None = None) -> dict[str, Any]:
    """One row; `unsolved_usd` is what `total_usd_all_billed` adds per unsolved task (None: unknown)."""
    usage = summary.usage
    unsolved = summary.issues - summary.solved
    all_billed: Decimal | None = summary.total_cost_usd
    if unsolved:
        all_billed = None if unsolved_usd is None else summary.total_cost_usd + unsolved * unsolved_usd
    return {
        "group": group,
        "tasks": summary.issues,
        "solved": summary.solved,
        "solve_rate": round(summary.solved / summary.issues, 4) if summary.issues else None,
        "attempts": summary.attempts,
        "interrupted_attempts": summary.interrupted_attempts,
        "input_tokens": usage.input_tokens,
        "cached_tokens": usage.cache_read_tokens,
        "output_tokens": usage.output_tokens,
        "api_cost_usd": _money(summary.api_cost_usd),
        "unpriced_calls": summary.unpriced_calls,
        "calls": summary.calls,
        "failed_calls": summary.failed_calls,
        "failed_by_kind": summary.failed_by_kind,
        "failed_cost_usd": _money(summary.failed_cost_usd),
        "unsettled_calls": summary.unsettled_calls,
        "unsettled_cost_usd": _money(summary.unsettled_cost_usd),
        "classifier_calls": summary.classifier_calls,
        "classifier_cost_usd": _money(summary.classifier_cost_usd),
        "lost_worker_calls": summary.lost_calls,
        "lost_worker_cost_usd": _money(summary.lost_cost_usd),
        "review_hours_measured": round(summary.measured_review_minutes / 60, 4),
        "review_hours_estimated": round(summary.estimated_review_minutes / 60, 4),
        "review_minutes_measured": round(summary.measured_review_minutes, 4),
        "review_minutes_estimated": round(summary.estimated_review_minutes, 4),
        "review_billed_attempts": summary.review_billed_attempts,
        "review_not_billed": summary.review_not_billed,
        "hourly_rate_usd": float(summary.hourly_rate_usd),
        "total_cost_usd": _money(summary.total_cost_usd),
        "cost_per_solved_usd": _money(summary.cost_per_solved_usd),
        "total_usd_all_billed": _money(all_billed),
        "fallbacks": summary.fallbacks,
        "attempts_with_fallback": summary.attempts_with_fallback,
        "validation_failures": dict(sorted(summary.validation_failures.items())),
    }


POLICY_FORMS = (
    "planner (or rules: each task type's ladder), learned (the learned planner, cross-validated),"
    " MODEL@EFFORT[,MODEL@EFFORT...] (a fixed ladder; MODEL@EFFORT*N repeats a rung), each as NAME=... to name it,"
    " e.g. climb=claude-opus-4-7@medium,claude-opus-4-7@max"
)


def policy_specs(specs: list[str]) -> list[str]:
    """The --policy values as `evaluate_policies` reads them: `rules` (what `fix` and `bench` call the
    planner's rules) is `planner`; a value of no accepted form is bad input that lists the forms."""
    read = []
    for spec in specs:
        name, sep, body = spec.partition("=")
        name, body = (name.strip(), body.strip()) if sep else (spec.strip(), spec.strip())
        if body == "rules":
            spec = f"{name}=planner"
        try:
            parse_policy(spec)
        except ConfigError as exc:
            why = f" ({exc})" if "@" in body else ""
            raise ConfigError(f"--policy {spec!r} is not a policy{why}: use {POLICY_FORMS}") from None
        read.append(spec)
    return read


def build_report(
    ledger: Ledger,
    run_ids: list[str],
    by: str,
    policies: list[str],
    config: AgentConfig,
    *,
    hourly_rate: Decimal | None = None,
    unsolved_cost: Decimal | None = None,
    folds: int = DEFAULT_FOLDS,
) -> dict[str, Any]:
    """The report's JSON object (see the module docstring); `hourly_rate` and `unsolved_cost` override the
    review rate and V (what-ifs)."""
    if by not in GROUPS:
        raise ConfigError(f"cannot group by {by!r}: use one of {', '.join(GROUPS)}")
    policies = policy_specs(policies)
    for run_id in run_ids:
        if ledger.run(run_id) is None:
            raise ConfigError(f"no run {run_id} in {ledger.path}: `agent runs` lists the run ids (or check --ledger)")

    def priced(summary: CostSummary) -> CostSummary:
        return summary if hourly_rate is None else summary.model_copy(update={"hourly_rate_usd": hourly_rate})

    groups = grouped_costs(ledger, run_ids, config.review, GROUPS[by])
    by_type = grouped_costs(ledger, run_ids, config.review, GROUPS["task_type"])
    priciest = priciest_rung(ledger, run_ids, config.review, hourly_rate)
    unsolved_usd = priciest[1] if priciest else None
    value = UnsolvedValue(planner=config.planner, override=unsolved_cost)
    data: dict[str, Any] = {
        "runs": run_ids,
        "by": by,
        "hourly_rate_usd": None if hourly_rate is None else float(hourly_rate),  # None: each run's own rate
        "unsolved_billed_at": {"rung": priciest[0], "attempt_usd": _money(priciest[1])} if priciest else None,
        "unsolved_value": value_json(value, hourly_rate),
        "review_bill": config.review.bill,
        "groups": [summary_row(name, priced(summary), unsolved_usd) for name, summary in groups.items()],
        "by_task_type": [summary_row(name, priced(summary), unsolved_usd) for name, summary in by_type.items()],
        "policies": [],
        "with_v": {
            "groups": {name: with_v_fields(priced(summary), value) for name, summary in groups.items()},
            "by_task_type": {name: with_v_fields(priced(summary), value) for name, summary in by_type.items()},
            "policies": {},
        },
        "calibration": {},
        "stats": build_stats(read_facts(ledger, run_ids), config),
    }
    results = evaluate_policies(
        ledger, run_ids, policies, config, hourly_rate=hourly_rate, unsolved_usd=unsolved_cost, folds=folds
    )
    for result in results:
        row = summary_row(result.policy, result.summary, unsolved_usd)
        data["with_v"]["policies"][result.policy] = with_v_fields(result.summary, value)
        folds_chosen = None if result.folds is None else [choice.model_dump() for choice in result.folds]
        extra = {"missing": result.missing, "repeats_reused": result.repeats_reused, "paths": result.paths}
        data["policies"].append({**row, **extra, "folds": folds_chosen})
        if result.folds is not None:
            data["calibration"][result.policy] = calibration(result).model_dump()
    return data


COLUMNS = (
    ("tasks", "tasks"),
    ("solved", "solved"),
    ("solve_rate", "rate"),
    ("attempts", "attempts"),
    ("input_tokens", "input"),
    ("cached_tokens", "cached"),
    ("output_tokens", "output"),
    ("api_cost_usd", "API $"),
    ("review_hours_measured", "review h (meas.)"),
    ("review_hours_estimated", "review h (est.)"),
    ("total_cost_usd", "total $"),
    ("cost_per_solved_usd", "$ / solved"),
    ("total_usd_all_billed", "all billed $"),
)
V_COLUMNS = (("total_with_v_usd", "total w/ V $"), ("total_with_v_per_issue_usd", "w/ V $ / issue"))
"""The total with V and that per issue, shown after $ / solved (in JSON under `with_v`, not in the rows).
The terminal shows the total only: with both, the table no longer fits 200 columns whole."""


def shown_columns(per_issue: bool = True) -> list[tuple[str, str]]:
    """COLUMNS with the total with V (and, `per_issue`, that per issue) right after $ / solved."""
    at = [key for key, _ in COLUMNS].index("cost_per_solved_usd") + 1
    return [*COLUMNS[:at], *(V_COLUMNS if per_issue else V_COLUMNS[:1]), *COLUMNS[at:]]


def rows_with_v(data: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """The rows of a section ("groups", "by_task_type", "policies") with their `with_v` fields merged in."""
    extra = data["with_v"][section]
    return [{**row, **extra[row["group"]]} for row in data[section]]


def cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "solve_rate":
        return f"{value:.0%}"
    if "_usd" in key:
        return f"{value:.4f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


POLICY_WARNINGS = {
    "missing": "task(s) hit a rung the grid did not run; the walk stops there and the task counts as unsolved",
    "repeats_reused": "repeated rung(s) re-used a measurement already walked"
    " (a grid run measures each task at each rung once): billed again, never solving",
}
"""Why a policy row may show few solves (see policies): its walk reached rungs the grid did not run, or
repeated a rung past the grid's measurements. Row key -> what its count counts."""

GROUP_NOTES = {
    "interrupted_attempts": "interrupted attempt(s) not counted (their runner died; their calls are in API $)",
}
"""What a group row leaves out: row key -> what its count counts."""


def count_notes(row: dict[str, Any], notes: dict[str, str]) -> list[str]:
    """`group: N what` for each of `notes` whose count the row has (and is not 0)."""
    return [f"{row['group']}: {row[key]} {what}" for key, what in notes.items() if row.get(key)]


def fold_notes(row: dict[str, Any]) -> list[str]:
    """The learned policy's ladders, per fold and task type."""
    folds = row.get("folds") or []
    lines = []
    for fold in folds:
        ladders = "; ".join(
            f"{task_type} {compact_ladder(ladder) if ladder else '(no usable ladder)'}"
            for task_type, ladder in fold["ladders"].items()
        )
        lines.append(
            f"{row['group']} fold {fold['fold'] + 1} of {len(folds)} ({len(fold['held_out'])} task(s) held out,"
            f" fitted on {fold['training_tasks']}): {ladders}"
        )
    return lines


def policy_notes(row: dict[str, Any]) -> list[str]:
    return count_notes(row, POLICY_WARNINGS) + fold_notes(row)


def report_notes(data: dict[str, Any]) -> list[str]:
    """How review time is priced and billed, and what `total w/ V $` and `all billed $` add."""
    notes = [BILL_NOTES[data["review_bill"]]]
    if data.get("hourly_rate_usd") is not None:
        notes.append(f"review priced at ${data['hourly_rate_usd']:g}/h (--hourly-rate), not the runs' recorded rate")
    notes.append(value_note(data))
    if priciest := data.get("unsolved_billed_at"):
        notes.append(
            f"all billed $ = total $ + one attempt at {priciest['rung']} (${priciest['attempt_usd']:.4f},"
            " the highest mean $ per attempt in these runs) for each unsolved task"
        )
    return notes


def calls_note(row: dict[str, Any]) -> str | None:
    """Calls that never settled (in API $ at their worst case), calls of lost Ray workers and calls that
    failed, apart."""
    parts = []
    if row.get("unsettled_calls"):
        parts.append(
            f"{row['unsettled_calls']} unsettled call(s) counted at their worst case, "
            f"${row['unsettled_cost_usd']:.4f} (in flight when the runner stopped or its Ray worker was lost)"
        )
    if row.get("lost_worker_calls"):
        parts.append(
            f"{row['lost_worker_calls']} call(s) of Ray workers lost mid-job, ${row['lost_worker_cost_usd']:.4f}"
            " (as the batch keeper saw them: settled at their cost, in flight at their worst case)"
        )
    if row.get("failed_calls"):
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(row["failed_by_kind"].items()))
        billed = row.get("failed_cost_usd") or 0
        at = f"billed ${billed:.4f} as their providers bill them" if billed else "at $0"
        parts.append(f"{row['failed_calls']} failed call(s) {at} ({kinds})")
    return f"{row['group']}: {'; '.join(parts)}" if parts else None


def _text_columns() -> list[tuple[str, str]]:
    """The terminal's columns, with the count of unpriced calls right after API $ (which leaves them out)."""
    shown = shown_columns(per_issue=False)
    at = [key for key, _ in shown].index("api_cost_usd") + 1
    return [*shown[:at], ("unpriced_calls", "unpriced calls"), *shown[at:]]


DROPPABLE = frozenset(
    {"input_tokens", "cached_tokens", "output_tokens", "review_hours_measured", "review_hours_estimated"}
)
"""Columns a narrow terminal leaves out (named under the table; --json has them); so is the count of
unpriced calls when it is 0 in every row."""


def _print_rows(console: Console, title: str, first: str, rows: list[dict[str, Any]]) -> None:
    shown = _text_columns()
    priced = not any(row["unpriced_calls"] for row in rows)
    droppable = DROPPABLE | {"unpriced_calls"} if priced else DROPPABLE
    columns = [Col(first), *(Col(header, right=True, drop=key in droppable) for key, header in shown)]
    cells = [[escape(str(row["group"])), *(cell(key, row[key]) for key, _ in shown)] for row in rows]
    print_table(console, title, columns, cells)


def print_report(console: Console, data: dict[str, Any]) -> None:
    title = escape(f"runs {', '.join(data['runs'])} by {data['by']}")
    _print_rows(console, title, data["by"], rows_with_v(data, "groups"))
    for row in data["groups"]:
        if note := calls_note(row):
            say(console, f"[yellow]{escape(note)}[/]")
        for note in count_notes(row, GROUP_NOTES):
            say(console, escape(note))
    if data["policies"]:
        _print_rows(console, "policies (offline, from the grid)", "policy", rows_with_v(data, "policies"))
        for row in data["policies"]:
            for warning in count_notes(row, POLICY_WARNINGS):
                say(console, f"[yellow]{escape(warning)}[/]")
            for line in fold_notes(row):
                say(console, escape(line))
    for name, calibrated in data["calibration"].items():
        for title, first, rows in reliability_tables(name, calibrated):
            print_table(console, escape(title), reliability_columns(first), [[escape(c) for c in r] for r in rows])
        for note in calibration_notes(name, calibrated):
            say(console, escape(note))
    for note in report_notes(data):
        say(console, escape(note))
    print_stats(console, data["stats"])
