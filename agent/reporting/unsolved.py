"""V, the price of an issue left unsolved, in the reports: the total with V next to $ per solved.

$ per solved rewards giving up (an issue left unsolved costs nothing in it), so every row of `agent
report` also carries the total with V: API $ + review $ + V x unsolved issues, and that per issue.
V is `--unsolved-cost` when given, else `[planner] unsolved_cost`, else `[planner] unsolved_hours` x
the hourly rate that prices the row's review time, else the default (`agent.core.config`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent.core.config import PlannerConfig
from agent.reporting.costs import CostSummary


class UnsolvedValue(BaseModel):
    """Where the report's V comes from, and V at a given hourly rate."""

    planner: PlannerConfig
    override: Decimal | None = None  # --unsolved-cost

    @property
    def source(self) -> str:
        if self.override is not None:
            return "--unsolved-cost"
        return {
            "unsolved_cost": "[planner] unsolved_cost",
            "unsolved_hours": f"[planner] unsolved_hours ({self.planner.unsolved_hours or 0:g} h x the review rate)",
            "default": "the default",
        }[self.planner.unsolved_from]

    @property
    def follows_rate(self) -> bool:
        """V moves with the hourly rate (hours x rate)."""
        return self.override is None and self.planner.unsolved_from == "unsolved_hours"

    def usd(self, hourly_rate_usd: Decimal) -> Decimal:
        return self.override if self.override is not None else self.planner.unsolved_usd(hourly_rate_usd)


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 6))


def with_v_fields(summary: CostSummary, value: UnsolvedValue) -> dict[str, Any]:
    """A report row's V (at the row's rate), its total with V and that per issue (None with no issue)."""
    v_usd = value.usd(summary.hourly_rate_usd)
    total = summary.total_cost_usd + v_usd * (summary.issues - summary.solved)
    return {
        "unsolved_value_usd": _money(v_usd),
        "total_with_v_usd": _money(total),
        "total_with_v_per_issue_usd": _money(total / summary.issues) if summary.issues else None,
    }


def value_json(value: UnsolvedValue, hourly_rate: Decimal | None) -> dict[str, Any]:
    """The report's V: in USD (None when it follows each run's own rate: see each row) and its source."""
    usd = None if value.follows_rate and hourly_rate is None else value.usd(hourly_rate or Decimal(0))
    return {"usd": _money(usd), "source": value.source}


def value_note(data: dict[str, Any]) -> str:
    """What `total w/ V $` adds and where V comes from."""
    value = data["unsolved_value"]
    at = (
        "at each run's review rate (see unsolved_value_usd in --json)" if value["usd"] is None else f"${value['usd']:g}"
    )
    return (
        f"total w/ V $ = total $ + V for each unsolved task, V = {at} from {value['source']} (the price of an issue"
        " left unsolved); per issue, total w/ V $ / tasks, in --json and --html"
    )


BILL_NOTES = {
    "each_attempt": 'review billed for every attempt that changed the code ([review] bill = "each_attempt")',
    "delivered": "review billed only for the delivered patch, a solved issue's passing attempt"
    ' ([review] bill = "delivered")',
}
"""How the report billed review time, per `[review] bill`."""
