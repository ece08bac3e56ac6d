"""Ledger reads and writes over SQLite (WAL). Writes are transactional; rows are pydantic models.

An attempt row is written as `running` when it starts and becomes `finished` in one transaction
with its outcome, so a crash never leaves an attempt that later reads as finished. A run whose owner
process (`host:pid`) is gone reads as `interrupted`, and so do its issues and attempts still `running`;
`close_interrupted` writes that down when the run is resumed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.core import owners
from agent.core.errors import ConfigError
from agent.core.messages import Usage
from agent.core.patches import changed_lines
from agent.ledger.calls import CallRecord, CallRow, Fallback
from agent.ledger.migrations import migrate


def owner_tag() -> str:
    return owners.owner_tag()


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


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


class EventRow(BaseModel):
    id: int
    run_id: str
    issue_id: int | None
    attempt_id: int | None
    ts: float
    kind: str
    data: dict[str, Any]


class ReviewRow(BaseModel):
    id: int
    attempt_id: int
    reviewer: str
    minutes: float
    verdict: str
    created_at: float


class Ledger:
    """One SQLite ledger file. Thread-safe; several processes may share the file (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: no corruption on crash, fewer fsyncs
            self._db.execute("PRAGMA foreign_keys=ON")
            self.applied_migrations = migrate(self._db)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise ConfigError(f"cannot open ledger {path}: {exc}; set --ledger or AGENT_LEDGER") from None
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _insert(self, table: str, values: dict[str, Any]) -> int:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.transaction() as db:
            cursor = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values()))
            return int(cursor.lastrowid or 0)

    def _update(self, table: str, row_id: int | str, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{column} = ?" for column in values)
        with self.transaction() as db:
            db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*values.values(), row_id])

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params))

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
                "max_cost_usd": _money(max_cost_usd),
            },
        )
        return run_id

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        self._update("runs", run_id, {"status": status, "finished_at": time.time()})

    def take_over_run(self, run_id: str) -> None:
        """This process now owns `run_id` (a resume of a run whose runner is gone): running again."""
        self._update("runs", run_id, {"owner": owner_tag(), "status": "running", "finished_at": None})

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

    def finish_attempt(self, attempt_id: int, outcome: str, tests_passed: bool, **fields: Any) -> None:
        """Mark the attempt finished with its outcome; a `patch` given also records its changed lines."""
        now = time.time()
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
            sets = ", ".join(f"{column} = ?" for column in values)
            db.execute(f"UPDATE attempts SET {sets} WHERE id = ?", [*values.values(), attempt_id])

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

    # calls ---------------------------------------------------------------------------------
    def record_call(self, attempt_id: int, call: CallRecord) -> int:
        """Record a call an attempt made (under the attempt's issue too); a `pending` one is settled
        later with `settle_call`. Returns the call's row id."""
        with self.transaction() as db:
            row = db.execute("SELECT issue_id FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
            return self._insert_call(db, row[0] if row else None, attempt_id, "attempt", call)

    def record_issue_call(self, issue_id: int, call: CallRecord, purpose: str) -> int:
        """Record a call made for an issue outside its attempts (`purpose` "classify": the classifier model)."""
        with self.transaction() as db:
            return self._insert_call(db, issue_id, None, purpose, call)

    @staticmethod
    def _insert_call(
        db: sqlite3.Connection, issue_id: int | None, attempt_id: int | None, purpose: str, call: CallRecord
    ) -> int:
        values = {
            "issue_id": issue_id,
            "attempt_id": attempt_id,
            "purpose": purpose,
            "turn": call.turn,
            "model": call.model,
            "max_tokens": call.max_tokens,
            "price_source": call.price_source,
            "reserved_usd": _money(call.reserved_usd),
            **Ledger._call_outcome(call),
            "created_at": time.time(),
        }
        columns, marks = ", ".join(values), ", ".join("?" for _ in values)
        cursor = db.execute(f"INSERT INTO calls ({columns}) VALUES ({marks})", list(values.values()))
        return int(cursor.lastrowid or 0)

    @staticmethod
    def _call_outcome(call: CallRecord) -> dict[str, Any]:
        """The columns a call's settlement writes."""
        usage = call.usage
        return {
            "effort_sent": call.effort_sent,
            "input_tokens": usage.input_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "output_tokens": usage.output_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "cost_usd": _money(call.cost_usd),
            "duration_s": call.duration_s,
            "retries": call.retries,
            "stop_reason": call.stop_reason,
            "error": call.error,
            "status": call.status,
            "error_kind": call.error_kind,
            "cost_reason": call.cost_reason,
            "validation": call.validation,
            "turn_s": call.turn_s,
        }

    def settle_call(self, call_id: int, call: CallRecord) -> None:
        """Settle a pending call: its reply's usage and cost (`ok`), or its failure (`failed`, $0)."""
        self._update("calls", call_id, self._call_outcome(call))

    def mark_unsettled(self, run_id: str) -> int:
        """Calls of `run_id` still pending whose runner is gone become `unsettled` (a resume does this
        first): they count at their worst case from now on. Returns how many."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE calls SET status = 'unsettled', cost_reason = 'worst case: in flight when its runner died'"
                " WHERE status = 'pending' AND issue_id IN (SELECT id FROM issues WHERE run_id = ?)",
                (run_id,),
            )
            return cursor.rowcount

    def calls(self, attempt_id: int) -> list[CallRow]:
        """The calls one attempt made, in order."""
        return self._calls("SELECT * FROM calls WHERE attempt_id = ? ORDER BY id", (attempt_id,))

    def issue_calls(self, issue_id: int) -> list[CallRow]:
        """The calls made for an issue outside its attempts (the classifier's), in order."""
        return self._calls("SELECT * FROM calls WHERE issue_id = ? AND attempt_id IS NULL ORDER BY id", (issue_id,))

    def spent(self, run_id: str, issue_id: int | None = None) -> Decimal:
        """The priced API spend of a run (or of one of its issues): every call, attempts' and classifier's,
        each settled call at its cost and each unsettled one (pending, or left in flight by a dead runner)
        at the worst case reserved for it."""
        sql = (
            "SELECT CASE WHEN calls.status IN ('pending', 'unsettled') THEN calls.reserved_usd ELSE calls.cost_usd END"
            " FROM calls JOIN issues ON issues.id = calls.issue_id WHERE issues.run_id = ?"
        )
        params: tuple[Any, ...] = (run_id,)
        if issue_id is not None:
            sql, params = sql + " AND issues.id = ?", (run_id, issue_id)
        rows = self._rows(sql, params)
        return sum((Decimal(row[0]) for row in rows if row[0] is not None), Decimal(0))

    def _calls(self, sql: str, params: tuple[Any, ...]) -> list[CallRow]:
        return [
            CallRow(
                id=row["id"],
                issue_id=row["issue_id"],
                attempt_id=row["attempt_id"],
                purpose=row["purpose"],
                turn=row["turn"],
                model=row["model"],
                effort_sent=row["effort_sent"],
                usage=Usage(
                    input_tokens=row["input_tokens"],
                    cache_read_tokens=row["cache_read_tokens"],
                    cache_write_tokens=row["cache_write_tokens"],
                    output_tokens=row["output_tokens"],
                    reasoning_tokens=row["reasoning_tokens"],
                ),
                max_tokens=row["max_tokens"],
                cost_usd=None if row["cost_usd"] is None else Decimal(row["cost_usd"]),
                price_source=row["price_source"],
                duration_s=row["duration_s"],
                retries=row["retries"],
                stop_reason=row["stop_reason"],
                error=row["error"],
                status=row["status"],
                error_kind=row["error_kind"],
                reserved_usd=None if row["reserved_usd"] is None else Decimal(row["reserved_usd"]),
                cost_reason=row["cost_reason"],
                validation=row["validation"],
                turn_s=row["turn_s"],
                created_at=row["created_at"],
            )
            for row in self._rows(sql, params)
        ]

    # fallbacks -----------------------------------------------------------------------------
    def record_fallback(self, attempt_id: int, fallback: Fallback) -> int:
        """Record a switch to a fallback rung within an attempt (under the attempt's issue)."""
        with self.transaction() as db:
            issue_id = db.execute("SELECT issue_id FROM attempts WHERE id = ?", (attempt_id,)).fetchone()[0]
            values = {
                "issue_id": issue_id,
                "attempt_id": attempt_id,
                **fallback.model_dump(),
                "created_at": time.time(),
            }
            columns, marks = ", ".join(values), ", ".join("?" for _ in values)
            cursor = db.execute(f"INSERT INTO fallbacks ({columns}) VALUES ({marks})", list(values.values()))
            return int(cursor.lastrowid or 0)

    def fallbacks(self, attempt_id: int) -> list[Fallback]:
        """The fallbacks one attempt took, in order."""
        rows = self._rows("SELECT * FROM fallbacks WHERE attempt_id = ? ORDER BY id", (attempt_id,))
        return [Fallback.model_validate({name: row[name] for name in Fallback.model_fields}) for row in rows]

    # events --------------------------------------------------------------------------------
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
        events = [
            EventRow(
                id=row["id"],
                run_id=row["run_id"],
                issue_id=row["issue_id"],
                attempt_id=row["attempt_id"],
                ts=row["ts"],
                kind=row["kind"],
                data=json.loads(row["data_json"]),
            )
            for row in rows
        ]
        return [event for event in events if not kinds or event.kind in kinds]

    # reviews -------------------------------------------------------------------------------
    def record_review(self, attempt_id: int, minutes: float, verdict: str, reviewer: str) -> int:
        if verdict not in ("accept", "reject"):
            raise ConfigError(f"review verdict must be accept or reject, not {verdict!r}")
        return self._insert(
            "reviews",
            {
                "attempt_id": attempt_id,
                "reviewer": reviewer,
                "minutes": minutes,
                "verdict": verdict,
                "created_at": time.time(),
            },
        )

    def reviews(self, attempt_id: int) -> list[ReviewRow]:
        rows = self._rows("SELECT * FROM reviews WHERE attempt_id = ? ORDER BY id", (attempt_id,))
        return [ReviewRow.model_validate(dict(row)) for row in rows]


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
