"""What the provider-gate tests share: a real ledger with a run, an issue and its attempts, and a real
SDK model against the fake provider, metered and gated as an attempt calls it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from agent.core.config import AgentConfig
from agent.core.effort import EffortLevel
from agent.core.events import Event
from agent.core.messages import Message, ModelTurn
from agent.engine.calling.metered import MeteredModel
from agent.engine.calling.meters import AttemptMeter
from agent.engine.calling.quota import GatedModel, ProviderGates
from agent.engine.run_setup import IssueLog
from agent.fake_provider.server import FakeProvider
from agent.ledger import Ledger
from agent.ledger.writer import LedgerWriter
from agent.providers import build_model

ISSUE = {
    "task_type": "bug_fix",
    "task_type_reason": "r",
    "decided_by": "rules",
    "repo": "/r",
    "base_commit": "abc",
    "test_cmd": "pytest",
    "ladder": "m@high",
}
WIRES = {"anthropic": ("claude-opus-4-7", "ANTHROPIC"), "openai": ("gpt-5", "OPENAI")}
"""Per wire: a model it serves and the prefix of its base URL and key variables."""


@dataclass
class GatedRun:
    """One run of a real ledger whose attempts call one provider through one shared gate."""

    ledger: Ledger
    run_id: str
    config: AgentConfig
    fake: FakeProvider
    wire: str = "anthropic"
    max_wait_s: float = 1800.0
    gates: ProviderGates = field(default_factory=ProviderGates)
    events: list[Event] = field(default_factory=list)

    @classmethod
    def open(
        cls, path: Path, config: AgentConfig, fake: FakeProvider, wire: str = "anthropic", max_wait_s: float = 1800.0
    ) -> GatedRun:
        ledger = Ledger(path)
        return cls(ledger, ledger.create_run("fix", {}, Decimal(0)), config, fake, wire, max_wait_s)

    def attempt(self) -> tuple[GatedModel, int]:
        """A new issue and attempt of the run: its gated model and the attempt's id."""
        key = f"k{len(self.ledger.issues(self.run_id))}"
        issue_id = self.ledger.add_issue(self.run_id, key=key, title="t", **ISSUE)
        model_name, prefix = WIRES[self.wire]
        attempt = {"rung_index": 0, "model": model_name, "provider": self.wire, "effort_asked": "high"}
        attempt_id = self.ledger.start_attempt(issue_id, self.run_id, max_turns=5, effort_sent="high", **attempt)
        log = IssueLog(LedgerWriter(self.ledger).write, self.events.append, self.run_id)
        log.issue_id, log.attempt_id = issue_id, attempt_id
        meter = AttemptMeter(attempt_id, log.record, log)
        meter.turn = 1
        base_url = self.fake.anthropic_base_url if self.wire == "anthropic" else self.fake.openai_base_url
        env = {f"{prefix}_BASE_URL": base_url, f"{prefix}_API_KEY": "test-key"}
        model = build_model(model_name, self.config, env)
        gate = self.gates.gate(model.provider)
        gated = GatedModel(MeteredModel(model, None, None, meter), gate, log, self.max_wait_s, threading.Event())
        return gated, attempt_id

    def kinds(self, *kinds: str) -> list[str]:
        return [event.kind for event in self.events if event.kind in kinds]


def ask(model: GatedModel) -> ModelTurn:
    return model.complete([Message.user("fix it")], system="s", tools=[], effort=EffortLevel.HIGH, max_tokens=100)


def statuses(fake: FakeProvider) -> list[int]:
    return [request.status for request in fake.requests]
