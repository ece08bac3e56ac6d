"""What the failed-call billing tests share: a responder that reads the ledger when a request reaches
the fake provider (to see which rows exist before the call is answered), and the configuration of a
client that gives up fast (no retries, a short timeout)."""

from __future__ import annotations

import fnmatch
import threading
from pathlib import Path
from typing import Any

from agent.fake_provider.server import Api
from agent.ledger import Ledger
from agent.simulate.script import Script, ScriptedTurn

FAST_CLIENT = {"timeout_s": 0.5, "max_retries": 0}
"""A provider client that times out after half a second and never retries."""


def fast_client_toml(*providers: str) -> str:
    """The `[providers.NAME]` tables of a client that gives up fast."""
    return "".join(
        f"[providers.{name}]\ntimeout_s = {FAST_CLIENT['timeout_s']}\nmax_retries = {FAST_CLIENT['max_retries']}\n"
        for name in providers
    )


CallSeen = tuple[str, str, str, int | None]
"""(purpose, status, model, issue id) of a ledger row."""


class LedgerAtArrival:
    """Answers from `script`; when a request for a model matching `watched` arrives, first notes the
    calls rows the ledger at `path` holds that no issue has claimed yet (the run's own)."""

    def __init__(self, script: Script, path: Path, watched: str) -> None:
        self.script, self.path, self.watched = script, path, watched
        self.seen: list[list[CallSeen]] = []
        self._lock = threading.Lock()

    def turn(self, api: Api, body: dict[str, Any], effort: str | None, index: int) -> ScriptedTurn:
        model = str(body.get("model", ""))
        if fnmatch.fnmatch(model, self.watched):
            rows = self._rows()
            with self._lock:
                self.seen.append(rows)
        return self.script.turn_for(model, effort, index)

    def _rows(self) -> list[CallSeen]:
        if not self.path.exists():
            return []
        ledger = Ledger(self.path)
        try:
            return [
                (call.purpose, call.status, call.model, call.issue_id)
                for run in ledger.runs()
                for call in ledger.run_calls(run.id)
            ]
        finally:
            ledger.close()
