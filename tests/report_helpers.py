"""Runs written straight into a real ledger for the report tests: a live climb (one issue, several
attempts, each with a patch of a given size) to bill review under either `[review] bill` rule."""

from __future__ import annotations

from decimal import Decimal

from agent.core.messages import Usage
from agent.ledger import CallRecord, Ledger


def patch_of(lines: int) -> str:
    """A unified diff adding `lines` lines to one file ("" for none: an attempt that changed nothing)."""
    if not lines:
        return ""
    added = "".join(f"+line {n}\n" for n in range(lines))
    return f"diff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n@@ -0,0 +1,{lines} @@\n{added}"


def write_climb(ledger: Ledger, run_id: str, attempts: list[tuple[bool, int]], rate: int = 60) -> str:
    """A finished fix run of one issue climbing m@low, m@medium, ...: each attempt (passed, changed
    lines) costs $1 in one call; the issue is solved when its last attempt passed."""
    efforts = ["low", "medium", "high", "max"]
    ledger.create_run("fix", {"options": {}}, Decimal(rate), run_id=run_id)
    ladder = ",".join(f"m@{effort}" for effort in efforts[: len(attempts)])
    issue = ledger.add_issue(
        run_id, key=run_id, title=run_id, task_type="bug_fix", task_type_reason="task", decided_by="task",
        repo="r", base_commit="c", test_cmd="pytest", ladder=ladder, policy="rules",
    )  # fmt: skip
    for index, (passed, lines) in enumerate(attempts):
        attempt = ledger.start_attempt(
            issue, run_id, rung_index=index, model="m", provider="p", effort_asked=efforts[index],
            effort_sent=efforts[index], max_turns=10,
        )  # fmt: skip
        call = CallRecord(
            turn=1, model="m", effort_sent=efforts[index], usage=Usage(input_tokens=100, output_tokens=10),
            cost_usd=Decimal(1), price_source="test", duration_s=0.1,
        )  # fmt: skip
        ledger.record_call(attempt, call)
        ledger.finish_attempt(attempt, "finished", passed, diff_lines=lines, patch=patch_of(lines))
    ledger.finish_issue(issue, "solved" if attempts and attempts[-1][0] else "unsolved")
    return run_id
