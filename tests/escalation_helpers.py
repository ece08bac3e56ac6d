"""Finished attempts with their turns' progress, written into a real ledger through the real writer, for the
tests of escalation inside an attempt: passing attempts edit at turn 2 and see their tests pass at turn 3;
failing ones wander (no edit until their last turns, failing test runs)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from agent.ledger import Ledger
from agent.ledger.events import AttemptProgress, TurnProgress
from agent.ledger.facts import AttemptClosed, AttemptOpened, IssueClosed, IssueOpened, ProgressNoted
from agent.ledger.writer import LedgerWriter

PER_TURN_USD = Decimal("0.1")


def passer(max_turns: int = 50) -> list[TurnProgress]:
    """Edits at turn 2, its tests pass at turn 3, ends at turn 5."""
    return [
        TurnProgress(
            turn=turn,
            edits=int(turn >= 2),
            test_runs=int(turn >= 3),
            last_test_passed=True if turn >= 3 else None,
            turns_left=max_turns - turn,
            spent_usd=PER_TURN_USD * turn,
        )
        for turn in range(1, 6)
    ]


def wanderer(max_turns: int = 50) -> list[TurnProgress]:
    """Reads until turn 13 (failing test runs at turns 5 and 9), edits at turn 13, ends at turn 14."""
    return [
        TurnProgress(
            turn=turn,
            edits=int(turn >= 13),
            test_runs=(turn >= 5) + (turn >= 9),
            failed_test_runs=(turn >= 5) + (turn >= 9),
            last_test_passed=False if turn >= 5 else None,
            turns_left=max_turns - turn,
            spent_usd=PER_TURN_USD * turn,
        )
        for turn in range(1, 15)
    ]


def history(count: int, rung: str = "sim-frontier@high", task_type: str = "bug_fix") -> list[AttemptProgress]:
    """`count` finished attempts at `rung`, every other one a passer (the first one is)."""
    return [
        AttemptProgress(
            attempt_id=index + 1,
            rung=rung,
            task_type=task_type,
            outcome="finished",
            passed=index % 2 == 0,
            max_turns=50,
            turns=passer() if index % 2 == 0 else wanderer(),
        )
        for index in range(count)
    ]


def write_history(path: Path, attempts: list[AttemptProgress], run_id: str = "history") -> None:
    """Each attempt as the engine reports it: its issue, its attempt, a progress fact per turn, both closed."""
    ledger = Ledger(path)
    write = LedgerWriter(ledger).write
    ledger.create_run("bench", {"options": {}}, Decimal(100), run_id=run_id)
    for attempt in attempts:
        fields = {"key": f"task-{attempt.attempt_id}", "title": "t", "task_type": attempt.task_type, "ladder": ""}
        fields |= {"task_type_reason": "task", "decided_by": "task", "repo": "r", "base_commit": "c", "test_cmd": "t"}
        issue_id = write(IssueOpened(run_id=run_id, fields=fields))
        assert issue_id is not None
        model, effort = attempt.rung.split("@")
        opened = {"rung_index": 0, "model": model, "provider": "sim", "effort_asked": effort, "effort_sent": effort}
        attempt_id = write(AttemptOpened(issue_id=issue_id, run_id=run_id, fields={**opened, "max_turns": 50}))
        assert attempt_id is not None
        for progress in attempt.turns:
            write(ProgressNoted(attempt_id=attempt_id, progress=progress))
        turns = attempt.turns[-1].turn
        write(
            AttemptClosed(
                attempt_id=attempt_id, outcome=attempt.outcome, passed=attempt.passed, fields={"turns": turns}
            )
        )
        write(IssueClosed(issue_id=issue_id, status="solved" if attempt.passed else "unsolved"))
    ledger.finish_run(run_id)
    ledger.close()
