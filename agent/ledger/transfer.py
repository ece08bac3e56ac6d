"""Moving a run's rows between ledgers: a Ray worker runs each job against a private ledger and
the head copies its rows into the batch's ledger, with new ids, in one transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from agent.ledger.store import Ledger

TABLES = ("issues", "attempts", "calls", "events", "fallbacks")


def export_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables a job writes, by table, in id order."""
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return {table: [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY id")] for table in TABLES}


def insert_rows(ledger: Ledger, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert exported rows with new ids, their references remapped, in one transaction."""

    def insert(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
        values = {column: value for column, value in row.items() if column != "id"}
        columns, marks = ", ".join(values), ", ".join("?" for _ in values)
        cursor = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values()))
        return int(cursor.lastrowid or 0)

    def ref(ids: dict[int, int], old: int | None) -> int | None:
        return None if old is None else ids[old]

    with ledger.transaction() as db:
        issue_ids = {row["id"]: insert(db, "issues", row) for row in rows["issues"]}
        attempt_ids = {
            row["id"]: insert(db, "attempts", {**row, "issue_id": issue_ids[row["issue_id"]]})
            for row in rows["attempts"]
        }
        for table in ("calls", "events", "fallbacks"):
            for row in rows[table]:
                remapped = {
                    "issue_id": ref(issue_ids, row["issue_id"]),
                    "attempt_id": ref(attempt_ids, row["attempt_id"]),
                }
                insert(db, table, {**row, **remapped})
