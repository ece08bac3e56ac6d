"""The events table: what happened during a run, in order, for the TUI and the reports; and what each
attempt had done after each of its turns (`attempt_progress`) and the attempts abandoned on it
(`abandonments`), which `agent.learning.progress` learns from."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent.ledger.connection import LedgerDB, insert_row


class EventRow(BaseModel):
    id: int
    run_id: str
    issue_id: int | None
    attempt_id: int | None
    ts: float
    kind: str
    data: dict[str, Any]


class TurnProgress(BaseModel):
    """What an attempt had done after one of its turns."""

    turn: int
    edits: int = 0
    """Turns after which the work tree's diff had changed."""
    test_runs: int = 0
    failed_test_runs: int = 0
    last_test_passed: bool | None = None
    """None: the model has not run the tests yet."""
    turns_left: int = 0
    """Of the effort's turn budget."""
    spent_usd: Decimal | None = None
    """API $ of the attempt's calls so far (None: unpriced)."""


class Abandonment(BaseModel):
    """An attempt ended early to climb to the ladder's next rung, with the estimate behind it."""

    turn: int
    from_rung: str
    to_rung: str
    p_pass: float
    """P(this attempt passes | its progress)."""
    remaining_usd: float
    """Expected API $ of the attempt from here to its end."""
    at_stake_usd: float
    """What a pass here would save: the rest of the ladder's expected cost, the price of an unsolved issue included."""
    reason: str = ""


class AttemptProgress(BaseModel):
    """A finished attempt with its turns' progress: one example for the progress estimator."""

    attempt_id: int
    rung: str
    task_type: str
    outcome: str
    passed: bool
    max_turns: int
    turns: list[TurnProgress]


class EventLog(LedgerDB):
    """Reads and writes of a run's events."""

    def record_event(
        self,
        run_id: str,
        kind: str,
        data: dict[str, Any],
        issue_id: int | None = None,
        attempt_id: int | None = None,
    ) -> int:
        return self._insert(
            "events",
            {
                "run_id": run_id,
                "issue_id": issue_id,
                "attempt_id": attempt_id,
                "ts": time.time(),
                "kind": kind,
                "data_json": json.dumps(data, default=str),
            },
        )

    def events(self, run_id: str, after_id: int = 0, kinds: tuple[str, ...] = ()) -> list[EventRow]:
        rows = self._rows("SELECT * FROM events WHERE run_id = ? AND id > ? ORDER BY id", (run_id, after_id))
        events = [EventRow.model_validate({**dict(row), "data": json.loads(row["data_json"])}) for row in rows]
        return [event for event in events if not kinds or event.kind in kinds]

    # progress ------------------------------------------------------------------------------

    def record_progress(self, attempt_id: int, progress: TurnProgress) -> int:
        values = progress.model_dump()
        values["spent_usd"] = None if progress.spent_usd is None else str(progress.spent_usd)
        values["last_test_passed"] = None if progress.last_test_passed is None else int(progress.last_test_passed)
        return self._insert("attempt_progress", {"attempt_id": attempt_id, **values, "created_at": time.time()})

    def record_abandonment(self, attempt_id: int, abandonment: Abandonment) -> int:
        """Record an attempt abandoned to climb (under the attempt's issue)."""
        with self.transaction() as db:
            issue_id = db.execute("SELECT issue_id FROM attempts WHERE id = ?", (attempt_id,)).fetchone()[0]
            values = {"issue_id": issue_id, "attempt_id": attempt_id, **abandonment.model_dump()}
            return insert_row(db, "abandonments", {**values, "created_at": time.time()})

    def abandonments(self, attempt_id: int) -> list[Abandonment]:
        rows = self._rows("SELECT * FROM abandonments WHERE attempt_id = ? ORDER BY id", (attempt_id,))
        return [Abandonment.model_validate({name: row[name] for name in Abandonment.model_fields}) for row in rows]

    def progress(self, attempt_id: int) -> list[TurnProgress]:
        rows = self._rows("SELECT * FROM attempt_progress WHERE attempt_id = ? ORDER BY turn, id", (attempt_id,))
        return [_turn_progress(row) for row in rows]

    def finished_progress(self) -> list[AttemptProgress]:
        """Every finished attempt of the ledger that has progress rows, with them, oldest first."""
        rows = self._rows(
            """SELECT p.*, a.model, a.effort_asked, a.outcome, a.tests_passed, a.max_turns, i.task_type
            FROM attempt_progress p JOIN attempts a ON a.id = p.attempt_id JOIN issues i ON i.id = a.issue_id
            WHERE a.state = 'finished' ORDER BY p.attempt_id, p.turn, p.id"""
        )
        found: dict[int, AttemptProgress] = {}
        for row in rows:
            attempt = found.get(row["attempt_id"])
            if attempt is None:
                attempt = found[row["attempt_id"]] = AttemptProgress(
                    attempt_id=row["attempt_id"],
                    rung=f"{row['model']}@{row['effort_asked']}",
                    task_type=row["task_type"] or "",
                    outcome=row["outcome"] or "",
                    passed=bool(row["tests_passed"]),
                    max_turns=row["max_turns"],
                    turns=[],
                )
            attempt.turns.append(_turn_progress(row))
        return list(found.values())


def _turn_progress(row: Any) -> TurnProgress:
    passed = row["last_test_passed"]
    spent = row["spent_usd"]
    return TurnProgress(
        turn=row["turn"],
        edits=row["edits"],
        test_runs=row["test_runs"],
        failed_test_runs=row["failed_test_runs"],
        last_test_passed=None if passed is None else bool(passed),
        turns_left=row["turns_left"],
        spent_usd=None if spent is None else Decimal(spent),
    )
