"""The provider holds of a run (`provider_holds`): each time the run stopped sending to a provider
because it answered 429 (rate limited) or said the account is out of quota, how long every caller
waited and how it ended (`agent.engine.calling.quota` reports them, `agent stats` reads them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from agent.ledger.connection import LedgerDB

HoldReason = Literal["rate_limit", "quota"]
HoldOutcome = Literal["released", "paused"]


class ProviderHold(BaseModel):
    """One hold of a provider, from its first refusal to its end."""

    provider: str
    reason: HoldReason
    started_at: float
    ended_at: float
    waited_s: float
    """Seconds from the first refusal to the end: how long the run's use of the provider was held."""
    refusals: int
    """The 429s (or quota errors) the provider answered during the hold."""
    outcome: HoldOutcome
    """released: the provider answered again; paused: the run stopped using it (quota, or too long a wait)."""


class ProviderHoldRow(ProviderHold):
    id: int
    run_id: str


class HoldLog(LedgerDB):
    """Reads and writes of a run's provider holds."""

    def record_hold(self, run_id: str, hold: ProviderHold) -> int:
        return self._insert("provider_holds", {"run_id": run_id, **hold.model_dump()})

    def holds(self, run_id: str) -> list[ProviderHoldRow]:
        rows = self._rows("SELECT * FROM provider_holds WHERE run_id = ? ORDER BY started_at, id", (run_id,))
        return [ProviderHoldRow.model_validate(dict(row)) for row in rows]
