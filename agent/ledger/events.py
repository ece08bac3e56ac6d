"""The events table: what happened during a run, in order, for the TUI and the reports."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel

from agent.ledger.connection import LedgerDB


class EventRow(BaseModel):
    id: int
    run_id: str
    issue_id: int | None
    attempt_id: int | None
    ts: float
    kind: str
    data: dict[str, Any]


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
