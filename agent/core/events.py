"""Events a run emits as it goes: the one stream the CLI, the TUI and the ledger all read.

`kind` names what happened; `data` is plain JSON. Streaming text deltas (`text_delta`) are
delivered live only; everything else is also stored in the ledger's `events` table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

LIVE_ONLY = frozenset({"text_delta", "environment_preparing", "environment_progress"})
PROVIDER_HOLDS = ("provider_held", "provider_released", "provider_paused")
"""The events of a provider's hold (`agent.engine.calling.quota`): held until a time (rate limited), released
(it answered again), paused (out of quota, or held too long); each with `provider`, `reason` and `text`."""


class Event(BaseModel):
    kind: str
    data: dict[str, Any] = Field(default_factory=dict)
    run_id: str = ""
    issue_id: int | None = None
    attempt_id: int | None = None
    ts: float = Field(default_factory=time.time)


EventSink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """An event sink that drops everything."""
