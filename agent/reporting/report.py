"""`agent report`: cost per solved issue per group over runs, and policies side by side.

Every number comes from `agent.reporting.costs` (`grouped_costs`, `summarize`); this module only shapes
it into rows for a Rich table, JSON and the HTML report.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape

from agent.core.config import AgentConfig
from agent.core.errors import ConfigError
from agent.ledger import Ledger
from agent.reporting.costs import CostSummary, GroupKey, grouped_costs
from agent.reporting.policies import evaluate_policies
from agent.reporting.render import Col, print_table, say

GROUPS: dict[str, GroupKey] = {
    "model": lambda issue, attempt: attempt.model if attempt else "(no attempt)",
    "effort": lambda issue, attempt: attempt.effort_asked if attempt else "(no attempt)",
    "rung": lambda issue, attempt: f"{attempt.model}@{attempt.effort_asked}" if attempt else "(no attempt)",
    "task_type": lambda issue, attempt: issue.task_type,
    "policy": lambda issue, attempt: issue.policy or "(none)",
}


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 6))


def summary_row(group: str, summary: CostSummary) -> dict[str, Any]:
    usage = summary.usage
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
        "unsettled_calls": summary.unsettled_calls,
        "unsettled_cost_usd": _money(summary.unsettled_cost_usd),
        "classifier_calls": summary.classifier_calls,
        "classifier_cost_usd": _money(summary.classifier_cost_usd),
        "review_hours_measured": round(summary.measured_review_minutes / 60, 4),
        "review_hours_estimated": round(summary.estimated_review_minutes / 60, 4),
        "review_minutes_measured": round(summary.measured_review_minutes, 4),
        "review_minutes_estimated": round(summary.estimated_review_minutes, 4),
        "review_billed_attempts": summary.review_billed_attempts,
        "review_not_billed": summary.review_not_billed,
        "total_cost_usd": _money(summary.total_cost_usd),
        "cost_per_solved_usd": _money(summary.cost_per_solved_usd),
    }


def build_report(
    ledger: Ledger, run_ids: list[str], by: str, policies: list[str], config: AgentConfig
) -> dict[str, Any]:
    if by not in GROUPS:
        raise ConfigError(f"cannot group by {by!r}: use one of {', '.join(GROUPS)}")
    for run_id in run_ids:
        if ledger.run(run_id) is None:
            raise ConfigError(f"no run {run_id} in {ledger.path}: check the id (or --ledger)")
    groups = grouped_costs(ledger, run_ids, config.review, GROUPS[by])
    by_type = grouped_costs(ledger, run_ids, config.review, GROUPS["task_type"])
    data: dict[str, Any] = {
        "runs": run_ids,
        "by": by,
        "groups": [summary_row(name, summary) for name, summary in groups.items()],
        "by_task_type": [summary_row(name, summary) for name, summary in by_type.items()],
        "policies": [],
    }
    for result in evaluate_policies(ledger, run_ids, policies, config) if policies else []:
        row = summary_row(result.policy, result.summary)
        data["policies"].append({**row, "missing": result.missing, "paths": result.paths})
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
)


def cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "solve_rate":
        return f"{value:.0%}"
    if key.endswith("_usd"):
        return f"{value:.4f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def missing_rungs_note(row: dict[str, Any]) -> str | None:
    """Why a policy row may show few solves: its walk reached rungs the grid did not run (see policies)."""
    if not row.get("missing"):
        return None
    return (
        f"{row['group']}: {row['missing']} task(s) hit a rung the grid did not run;"
        " the walk stops there and the task counts as unsolved"
    )


def calls_note(row: dict[str, Any]) -> str | None:
    """Calls that never settled (in API $ at their worst case) and calls that failed ($0), apart."""
    parts = []
    if row.get("unsettled_calls"):
        parts.append(
            f"{row['unsettled_calls']} unsettled call(s) counted at their worst case, "
            f"${row['unsettled_cost_usd']:.4f} (in flight when the runner stopped)"
        )
    if row.get("failed_calls"):
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(row["failed_by_kind"].items()))
        parts.append(f"{row['failed_calls']} failed call(s) at $0 ({kinds})")
    return f"{row['group']}: {'; '.join(parts)}" if parts else None


def _text_columns() -> list[tuple[str, str]]:
    """COLUMNS, with the count of unpriced calls right after API $ (which leaves them out)."""
    at = [key for key, _ in COLUMNS].index("api_cost_usd") + 1
    return [*COLUMNS[:at], ("unpriced_calls", "unpriced calls"), *COLUMNS[at:]]


def _print_rows(console: Console, title: str, first: str, rows: list[dict[str, Any]]) -> None:
    shown = _text_columns()
    columns = [Col(first), *(Col(header, right=True) for _, header in shown)]
    cells = [[escape(str(row["group"])), *(cell(key, row[key]) for key, _ in shown)] for row in rows]
    print_table(console, title, columns, cells)


def print_report(console: Console, data: dict[str, Any]) -> None:
    _print_rows(console, escape(f"runs {', '.join(data['runs'])} by {data['by']}"), data["by"], data["groups"])
    for row in data["groups"]:
        if note := calls_note(row):
            say(console, f"[yellow]{escape(note)}[/]")
        if row.get("interrupted_attempts"):
            say(
                console,
                escape(
                    f"{row['group']}: {row['interrupted_attempts']} interrupted attempt(s) not counted"
                    " (their runner died; their calls are in API $)"
                ),
            )
    if data["policies"]:
        _print_rows(console, "policies (offline, from the grid)", "policy", data["policies"])
        for row in data["policies"]:
            if note := missing_rungs_note(row):
                say(console, f"[yellow]{escape(note)}[/]")
