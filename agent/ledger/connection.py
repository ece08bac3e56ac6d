"""The ledger's SQLite connection (WAL, migrated on open) and the row helpers its tables share.

Every table's reads and writes (`runs.py`, `call_log.py`, `events.py`, `reviews.py`) are mixins over
`LedgerDB`; `store.Ledger` puts them together.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.ledger.migrations import migrate


def money(value: Decimal | None) -> str | None:
    """A Decimal as the ledger stores it (text); None stays None (unpriced)."""
    return None if value is None else str(value)


def insert_row(db: sqlite3.Connection, table: str, values: dict[str, Any]) -> int:
    """Insert one row inside the caller's transaction; returns its id."""
    columns, marks = ", ".join(values), ", ".join("?" for _ in values)
    cursor = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values()))
    return int(cursor.lastrowid or 0)


def update_row(db: sqlite3.Connection, table: str, row_id: int | str, values: dict[str, Any]) -> None:
    """Set `values` on the row `row_id` inside the caller's transaction."""
    sets = ", ".join(f"{column} = ?" for column in values)
    db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*values.values(), row_id])


class LedgerDB:
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
        """One transaction; a transaction opened inside it (same thread) joins it."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _insert(self, table: str, values: dict[str, Any]) -> int:
        with self.transaction() as db:
            return insert_row(db, table, values)

    def _update(self, table: str, row_id: int | str, values: dict[str, Any]) -> None:
        with self.transaction() as db:
            update_row(db, table, row_id, values)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params))
