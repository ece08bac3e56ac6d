"""`agent review`: show each solved attempt's diff, time the developer, record minutes and verdict."""

from __future__ import annotations

import time

from rich.console import Console
from rich.prompt import Prompt
from rich.syntax import Syntax

from agent.cli.runs import latest_run
from agent.core.errors import TaskError
from agent.ledger import Ledger


def review_run(ledger: Ledger, run_id: str | None, reviewer: str, console: Console) -> int:
    """Review every passing, not yet reviewed attempt of a run; returns how many were recorded."""
    if run_id is None:
        run_id = latest_run(ledger)
    elif ledger.run(run_id) is None:
        raise TaskError(f"no run {run_id} in {ledger.path}: `agent runs` lists the run ids (or check --ledger)")
    pending = [
        attempt for attempt in ledger.attempts(run_id) if attempt.tests_passed and not ledger.reviews(attempt.id)
    ]
    if not pending:
        console.print(f"run {run_id}: nothing to review (no unreviewed solved attempt)")
        return 0
    for attempt in pending:
        issue = ledger.issue(attempt.issue_id)
        console.rule(f"{issue.title} — {attempt.model}@{attempt.effort_asked}")
        started = time.monotonic()
        console.print(Syntax(attempt.patch or "(empty patch)", "diff", theme="ansi_dark", word_wrap=True))
        verdict = Prompt.ask("accept or reject?", choices=["accept", "reject"], console=console)
        minutes = (time.monotonic() - started) / 60
        ledger.record_review(attempt.id, round(minutes, 4), verdict, reviewer)
        console.print(f"recorded {verdict} after {minutes:.2f} min")
    return len(pending)
