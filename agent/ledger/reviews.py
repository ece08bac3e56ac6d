"""The reviews table: a person's verdict on an attempt's patch and the minutes it took."""

from __future__ import annotations

import time

from pydantic import BaseModel

from agent.core.errors import ConfigError
from agent.ledger.connection import LedgerDB


class ReviewRow(BaseModel):
    id: int
    attempt_id: int
    reviewer: str
    minutes: float
    verdict: str
    created_at: float


class ReviewLog(LedgerDB):
    """Reads and writes of reviews."""

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
