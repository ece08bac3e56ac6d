"""The runs, issues and attempts tables: their rows, and how a dead runner's rows read.

An attempt row is written as `running` when it starts and becomes `finished` in one transaction
with its outcome, so a crash never leaves an attempt that later reads as finished. A run whose owner
process (`host:pid`) is gone reads as `interrupted`, and so do its issues and attempts still `running`;
`close_interrupted` writes that down when the run is resumed.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent.core import owners
from agent.core.patches import changed_lines
from agent.ledger.connection import LedgerDB, money, update_row


def owner_tag() -> str:
    return owners.owner_tag()


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


class RunRow(BaseModel):
    id: str
    kind: str
    status: str
    created_at: float
    finished_at: float | None
    owner: str
    args_json: str
    hourly_rate_usd: Decimal
    max_cost_usd: Decimal | None

    @property
    def args(self) -> dict[str, Any]:
        return json.loads(self.args_json)


class IssueRow(BaseModel):
    id: int
    run_id: str
    key: str
    title: str
    task_type: str
    task_type_reason: str
    decided_by: str
    repo: str
    base_commit: str
    test_cmd: str
    ladder: str
    policy: str
    status: str
    error_kind: str | None
    error: str | None
    branch: str | None
    patch_path: str | None
    started_at: float
    finished_at: float | None


class AttemptRow(BaseModel):
    id: int
    issue_id: int
    run_id: str
    rung_index: int
    model: str
    provider: str
    effort_asked: str
    effort_sent: str
    state: str
    outcome: str | None
    tests_passed: bool | None
    turns: int
    max_turns: int
    started_at: float
    finished_at: float | None
    duration_s: float | None
    model_time_s: float | None
    command_time_s: float | None
    diff_lines: int | None
    patch: str | None
    plan: str | None
    test_report_json: str | None
    error: str | None
    changed_lines: int | None = None  # added + removed lines of `patch`; None while no patch is recorded


class RunTables(LedgerDB):
    """Reads and writes of runs, their issues and the issues' attempts."""

    # runs ----------------------------------------------------------------------------------
    def create_run(
        self,
        kind: str,
        args: dict[str, Any],
        hourly_rate_usd: Decimal,
        max_cost_usd: Decimal | None = None,
        run_id: str | None = None,
    ) -> str:
        run_id = run_id or new_run_id()
        self._insert(
            "runs",
            {
                "id": run_id,
                "kind": kind,
                "status": "running",
                "created_at": time.time(),
                "owner": owner_tag(),
                "args_json": json.dumps(args, default=str),
                "hourly_rate_usd": str(hourly_rate_usd),
                "max_cost_usd": money(max_cost_usd),
            },
        )
        return run_id

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        self._update("runs", run_id, {"status": status, "finished_at": time.time()})

    def take_over_run(self, run_id: str, max_cost_usd: Decimal | None = None) -> None:
        """This process now owns `run_id` (a resume of a run whose runner is gone, or paused): running
        again, under the cap `max_cost_usd` when one is granted."""
        values: dict[str, Any] = {"owner": owner_tag(), "status": "running", "finished_at": None}
        if max_cost_usd is not None:
            values["max_cost_usd"] = money(max_cost_usd)
        self._update("runs", run_id, values)

    def run(self, run_id: str) -> RunRow | None:
        rows = self._rows("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _read_run(rows[0]) if rows else None

    def runs(self, limit: int = 20) -> list[RunRow]:
        rows = self._rows("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,))
        return [_read_run(row) for row in rows]

    def _over(self, run_id: str) -> bool:
        """True when nothing of `run_id` runs any more: it ended, or its owner process is gone."""
        run = self.run(run_id)
        return run is not None and run.status != "running"

    def close_interrupted(self, run_id: str) -> tuple[int, int]:
        """The issues and attempts of `run_id` that its dead runner left `running` become `interrupted`
        in the ledger (a resume does this before taking the run over). Returns how many of each."""
        with self.transaction() as db:
            issues = db.execute(
                "UPDATE issues SET status = 'interrupted', finished_at = ? WHERE run_id = ? AND status = 'running'",
                (time.time(), run_id),
            ).rowcount
            attempts = db.execute(
                "UPDATE attempts SET state = 'interrupted' WHERE run_id = ? AND state = 'running'", (run_id,)
            ).rowcount
        return issues, attempts

    # issues --------------------------------------------------------------------------------
    def add_issue(self, run_id: str, **fields: Any) -> int:
        return self._insert("issues", {"run_id": run_id, "status": "running", "started_at": time.time(), **fields})

    def finish_issue(self, issue_id: int, status: str, **fields: Any) -> None:
        self._update("issues", issue_id, {"status": status, "finished_at": time.time(), **fields})

    def reopen_issue(self, issue_id: int) -> None:
        """A paused issue runs again: `running`, not finished."""
        self._update("issues", issue_id, {"status": "running", "finished_at": None, "error": None})

    def issues(self, run_id: str) -> list[IssueRow]:
        rows = self._rows("SELECT * FROM issues WHERE run_id = ? ORDER BY id", (run_id,))
        over = self._over(run_id)
        return [_read_issue(row, over) for row in rows]

    def issue(self, issue_id: int) -> IssueRow:
        row = self._rows("SELECT * FROM issues WHERE id = ?", (issue_id,))[0]
        return _read_issue(row, self._over(row["run_id"]))

    # attempts ------------------------------------------------------------------------------
    def start_attempt(self, issue_id: int, run_id: str, **fields: Any) -> int:
        return self._insert(
            "attempts",
            {"issue_id": issue_id, "run_id": run_id, "state": "running", "started_at": time.time(), **fields},
        )

    def update_attempt(self, attempt_id: int, **fields: Any) -> None:
        self._update("attempts", attempt_id, fields)

    def finish_attempt(
        self, attempt_id: int, outcome: str, tests_passed: bool, at: float | None = None, **fields: Any
    ) -> None:
        """Mark the attempt finished with its outcome (`at`: when; default now); a `patch` given also
        records its changed lines."""
        now = time.time() if at is None else at
        if fields.get("patch") is not None:
            fields.setdefault("changed_lines", changed_lines(fields["patch"]))
        with self.transaction() as db:
            started = db.execute("SELECT started_at FROM attempts WHERE id = ?", (attempt_id,)).fetchone()[0]
            values = {
                "state": "finished",
                "outcome": outcome,
                "tests_passed": int(tests_passed),
                "finished_at": now,
                "duration_s": now - started,
                **fields,
            }
            update_row(db, "attempts", attempt_id, values)

    def attempts(self, run_id: str, issue_id: int | None = None) -> list[AttemptRow]:
        if issue_id is None:
            rows = self._rows("SELECT * FROM attempts WHERE run_id = ? ORDER BY id", (run_id,))
        else:
            rows = self._rows("SELECT * FROM attempts WHERE issue_id = ? ORDER BY id", (issue_id,))
        over = bool(rows) and self._over(rows[0]["run_id"])
        return [_read_attempt(row, over) for row in rows]

    def attempt(self, attempt_id: int) -> AttemptRow:
        row = self._rows("SELECT * FROM attempts WHERE id = ?", (attempt_id,))[0]
        return _read_attempt(row, self._over(row["run_id"]))


# Reading a dead runner's rows: a run whose owner process is gone reads as `interrupted`, and the
# issues and attempts of a run that is over (ended, or its owner gone) that still say `running` read
# as `interrupted` too. Nothing is written here: `close_interrupted` records it when a run is resumed.
def _read_run(row: sqlite3.Row) -> RunRow:
    run = RunRow.model_validate(dict(row))
    if run.status == "running" and owners.owner_is_gone(run.owner):
        return run.model_copy(update={"status": "interrupted"})
    return run


def _read_issue(row: sqlite3.Row, over: bool) -> IssueRow:
    issue = IssueRow.model_validate(dict(row))
    return issue.model_copy(update={"status": "interrupted"}) if over and issue.status == "running" else issue


def _read_attempt(row: sqlite3.Row, over: bool) -> AttemptRow:
    attempt = AttemptRow.model_validate(dict(row))
    return attempt.model_copy(update={"state": "interrupted"}) if over and attempt.state == "running" else attempt
