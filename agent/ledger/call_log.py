"""The calls and fallbacks tables: every model request recorded before it is sent and settled when it
ends, what a run has spent, and the switches to a fallback rung within an attempt.

Every call names its run. One made before its issue has a row (the classifier's) is recorded under
the run alone, and its issue claims it when it opens (`settle_call` with `issue_id`)."""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from typing import Any

from agent.core.messages import Usage
from agent.ledger.calls import CallRecord, CallRow, Fallback
from agent.ledger.connection import LedgerDB, insert_row, money

SETTLED_COLUMNS = {
    "effort_sent",
    "duration_s",
    "retries",
    "stop_reason",
    "error",
    "status",
    "error_kind",
    "cost_reason",
    "cost_basis",
    "validation",
    "turn_s",
}
"""The columns a call's settlement writes besides its token counts (`Usage`'s fields) and its cost."""


def call_outcome(call: CallRecord) -> dict[str, Any]:
    """The columns a call's settlement writes."""
    return {**call.model_dump(include=SETTLED_COLUMNS), **call.usage.model_dump(), "cost_usd": money(call.cost_usd)}


def insert_call(
    db: sqlite3.Connection,
    run_id: str | None,
    issue_id: int | None,
    attempt_id: int | None,
    purpose: str,
    call: CallRecord,
) -> int:
    values = {
        "run_id": run_id,
        "issue_id": issue_id,
        "attempt_id": attempt_id,
        "purpose": purpose,
        "turn": call.turn,
        "model": call.model,
        "max_tokens": call.max_tokens,
        "price_source": call.price_source,
        "reserved_usd": money(call.reserved_usd),
        **call_outcome(call),
        "created_at": time.time(),
    }
    return insert_row(db, "calls", values)


def read_call(row: sqlite3.Row) -> CallRow:
    values = dict(row)
    usage = Usage(**{name: values.pop(name) for name in Usage.model_fields})
    return CallRow.model_validate({**values, "usage": usage})


class CallLog(LedgerDB):
    """Reads and writes of model calls and fallbacks."""

    def record_call(self, attempt_id: int, call: CallRecord) -> int:
        """Record a call an attempt made (under the attempt's issue too); a `pending` one is settled
        later with `settle_call`. Returns the call's row id."""
        with self.transaction() as db:
            row = db.execute("SELECT run_id, issue_id FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
            run_id, issue_id = (row[0], row[1]) if row else (None, None)
            return insert_call(db, run_id, issue_id, attempt_id, "attempt", call)

    def record_issue_call(self, issue_id: int, call: CallRecord, purpose: str) -> int:
        """Record a call made for an issue outside its attempts (`purpose` "classify": the classifier model)."""
        with self.transaction() as db:
            row = db.execute("SELECT run_id FROM issues WHERE id = ?", (issue_id,)).fetchone()
            return insert_call(db, row[0] if row else None, issue_id, None, purpose, call)

    def record_run_call(self, run_id: str, call: CallRecord, purpose: str) -> int:
        """Record a call made for a run before its issue has a row (`purpose` "classify"), usually
        pending; its issue claims it when it opens (`settle_call` with `issue_id`)."""
        with self.transaction() as db:
            return insert_call(db, run_id, None, None, purpose, call)

    def settle_call(self, call_id: int, call: CallRecord, issue_id: int | None = None) -> None:
        """Settle a pending call: its reply's usage and cost (`ok`), or its failure (`failed`, billed as
        `cost_basis` says); `issue_id` puts a call recorded under its run alone under its issue."""
        claimed = {} if issue_id is None else {"issue_id": issue_id}
        self._update("calls", call_id, call_outcome(call) | claimed)

    def mark_unsettled(self, run_id: str) -> int:
        """Calls of `run_id` still pending whose runner is gone become `unsettled` (a resume does this
        first): they count at their worst case from now on. Returns how many."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE calls SET status = 'unsettled', cost_reason = 'worst case: in flight when its runner died'"
                " WHERE status = 'pending' AND run_id = ?",
                (run_id,),
            )
            return cursor.rowcount

    def calls(self, attempt_id: int) -> list[CallRow]:
        """The calls one attempt made, in order."""
        return self._calls("SELECT * FROM calls WHERE attempt_id = ? ORDER BY id", (attempt_id,))

    def issue_calls(self, issue_id: int) -> list[CallRow]:
        """The calls made for an issue outside its attempts (the classifier's), in order."""
        return self._calls("SELECT * FROM calls WHERE issue_id = ? AND attempt_id IS NULL ORDER BY id", (issue_id,))

    def run_calls(self, run_id: str) -> list[CallRow]:
        """The calls of a run that no issue claimed (a classifier's call in flight when its runner died)."""
        return self._calls("SELECT * FROM calls WHERE run_id = ? AND issue_id IS NULL ORDER BY id", (run_id,))

    def _calls(self, sql: str, params: tuple[Any, ...]) -> list[CallRow]:
        return [read_call(row) for row in self._rows(sql, params)]

    def spent(self, run_id: str, issue_id: int | None = None) -> Decimal:
        """The priced API spend of a run (or of one of its issues): every call, attempts' and classifier's
        (those no issue claimed too), each settled call at its cost (a failed one at what its provider
        may bill) and each unsettled one (pending, or left in flight by a dead runner) at the worst case
        reserved for it."""
        sql = (
            "SELECT CASE WHEN status IN ('pending', 'unsettled') THEN reserved_usd ELSE cost_usd END"
            " FROM calls WHERE run_id = ?"
        )
        params: tuple[Any, ...] = (run_id,)
        if issue_id is not None:
            sql, params = sql + " AND issue_id = ?", (run_id, issue_id)
        rows = self._rows(sql, params)
        return sum((Decimal(row[0]) for row in rows if row[0] is not None), Decimal(0))

    # fallbacks -----------------------------------------------------------------------------
    def record_fallback(self, attempt_id: int, fallback: Fallback) -> int:
        """Record a switch to a fallback rung within an attempt (under the attempt's issue)."""
        with self.transaction() as db:
            issue_id = db.execute("SELECT issue_id FROM attempts WHERE id = ?", (attempt_id,)).fetchone()[0]
            values = {"issue_id": issue_id, "attempt_id": attempt_id, **fallback.model_dump()}
            return insert_row(db, "fallbacks", {**values, "created_at": time.time()})

    def fallbacks(self, attempt_id: int) -> list[Fallback]:
        """The fallbacks one attempt took, in order."""
        rows = self._rows("SELECT * FROM fallbacks WHERE attempt_id = ? ORDER BY id", (attempt_id,))
        return [Fallback.model_validate({name: row[name] for name in Fallback.model_fields}) for row in rows]
