"""A grid run written straight into a real ledger, for the offline policy evaluation tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.core.messages import Usage
from agent.ledger import CallRecord, Ledger

Grid = dict[str, dict[str, tuple[bool, str]]]
"""task -> rung -> (solved, API $). Review: 10 estimated minutes an attempt (every attempt leaves a patch)."""


def write_grid(
    path: Path,
    grid: Grid,
    types: dict[str, str],
    run_id: str = "grid-1",
    rate: int = 60,
    usage: Usage | None = None,
) -> str:
    """A finished grid run in a real ledger: one issue per task x rung, one attempt and one call each."""
    ledger = Ledger(path)
    ledger.create_run("grid", {"options": {}}, Decimal(rate), run_id=run_id)
    for key, cells in grid.items():
        for rung, (solved, cost) in cells.items():
            issue = ledger.add_issue(
                run_id, key=key, title=key, task_type=types.get(key, "bug_fix"), task_type_reason="task",
                decided_by="task", repo="r", base_commit="c", test_cmd="pytest", ladder=rung, policy="grid",
            )  # fmt: skip
            model, effort = rung.split("@")
            attempt = ledger.start_attempt(
                issue, run_id, rung_index=0, model=model, provider="p", effort_asked=effort, effort_sent=effort,
                max_turns=10,
            )  # fmt: skip
            record = CallRecord(
                turn=1,
                model=model,
                effort_sent=effort,
                usage=usage or Usage(input_tokens=100, output_tokens=10),
                cost_usd=Decimal(cost),
                price_source="test",
                duration_s=0.1,
            )
            ledger.record_call(attempt, record)
            ledger.finish_attempt(attempt, "finished", solved, diff_lines=2, patch="p")
            ledger.finish_issue(issue, "solved" if solved else "unsolved")
    ledger.close()
    return run_id
