"""The ledger: one SQLite file (WAL, transactional writes, pydantic rows), its tables' reads and
writes put together in one `Ledger`.

Each table's SQL lives with its rows: runs, issues and attempts (`runs.py`: how a dead runner's rows
read), calls and fallbacks (`call_log.py`), events (`events.py`), reviews (`reviews.py`), provider holds
(`holds.py`); the connection, its lock and transactions are `connection.py`'s, the schema `migrations.py`'s.
"""

from __future__ import annotations

from agent.ledger.call_log import CallLog
from agent.ledger.events import EventLog
from agent.ledger.holds import HoldLog
from agent.ledger.reviews import ReviewLog
from agent.ledger.runs import RunTables
from agent.ledger.runs import owner_tag as owner_tag  # re-exported: the batch runner names its owner with it


class Ledger(RunTables, CallLog, EventLog, ReviewLog, HoldLog):
    """One SQLite ledger file. Thread-safe; several processes may share the file (WAL)."""
