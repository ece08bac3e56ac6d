"""What every issue of one run shares (`RunSetup`): the configuration, the ledger and where its facts
go, the factories of models and sandboxes, prices and windows, and how attempts are judged.

The engine reports through `IssueLog`, one issue's voice: `emit(kind, data)` sends an event to the
live sink and, as a `Logged` fact, to the run's writer; `record(fact)` hands any other fact over
(`agent.ledger.facts`) and returns the id of the row it opened. The writer is the run's
(`RunSetup.record`): the ledger's, or a Ray worker's forwarder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.config import AgentConfig
from agent.core.errors import ConfigError, SandboxError
from agent.core.events import Event, EventSink
from agent.core.protocols import Model, Sandbox
from agent.engine.calling.quota import ProviderGates
from agent.ledger import Ledger
from agent.ledger.facts import Fact, Logged
from agent.ledger.writer import LedgerWriter
from agent.providers.pricing import PriceQuote
from tasks.models import Task

Record = Callable[[Fact], "int | None"]
"""Writes one fact (wherever the run's rows go); returns the id of the row it opened, if any."""


class IssueLog:
    def __init__(self, record: Record, on_event: EventSink, run_id: str) -> None:
        self.record = record
        self.on_event = on_event
        self.run_id = run_id
        self.issue_id: int | None = None
        self.attempt_id: int | None = None

    def opened(self, fact: Fact) -> int:
        """Record a fact that opens a row; its id."""
        row_id = self.record(fact)
        assert row_id is not None, f"{fact.kind} opened no row"
        return row_id

    def __call__(self, kind: str, data: dict) -> None:
        event = Event(kind=kind, data=data, run_id=self.run_id, issue_id=self.issue_id, attempt_id=self.attempt_id)
        self.record(Logged(event=event))
        self.on_event(event)


def tests_of(task: Task) -> str:
    """The command that judges `task` (its loaders and `agent fix` set it, detected when not given)."""
    if not task.test_cmd:
        raise ConfigError(f"task {task.instance_id} has no test command: set its test_cmd")
    return task.test_cmd


Evaluator = Callable[[Task, str], tuple[bool, str, dict[str, Any]]]
"""(task, patch) -> (passed, one-line reason, report as JSON-able data)."""


class EvaluationFailed(SandboxError):
    """The evaluation itself could not run (an infrastructure failure); `report` says what happened."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


EnvironmentPreparer = Callable[[Task, Callable[[str], None]], dict[str, Any]]
"""(task, progress line sink) -> what the environment is (image, built, seconds, sources), building
it when missing; raises EnvironmentBuildError when it cannot be built."""


@dataclass
class RunSetup:
    """What every issue of one run shares."""

    config: AgentConfig
    ledger: Ledger
    run_id: str
    model_factory: Callable[[str, Task | None], Model]
    price_for: Callable[[str], PriceQuote | None]
    sandbox_factory: Callable[[Task], Sandbox]
    on_event: EventSink
    deliver_branch: bool = True
    stop: threading.Event = field(default_factory=threading.Event)
    evaluate: Evaluator | None = None
    """When set, an attempt passes when `evaluate(task, patch)` says so (SWE-bench style: a fresh
    sandbox with the task's test_patch), instead of the test command in the attempt's sandbox;
    the baseline run is skipped. It raises SandboxError for infrastructure failures."""
    prepare_environment: EnvironmentPreparer | None = None
    """Builds (or finds) the task's environment image before its first sandbox."""
    evaluate_environment: Callable[[Task], str | None] | None = None
    """With `evaluate`: why the environment cannot run the task's tests at all (None: it can)."""
    window_for: Callable[[str], int | None] = lambda name: None
    """A model's context window in prompt tokens (None: unknown); routes context-window fallbacks."""
    record: Record | None = None
    """Where the run's facts become rows (None: this ledger, through its writer)."""
    gates: ProviderGates = field(default_factory=ProviderGates)
    """One gate per provider: a rate limit or a quota error holds (or pauses) every attempt's use of it."""

    def __post_init__(self) -> None:
        if self.record is None:
            self.record = LedgerWriter(self.ledger).write

    @property
    def run_dir(self) -> Path:
        return self.config.runs_dir / self.run_id

    def write(self, fact: Fact) -> int | None:
        """Write one fact where the run's rows go; the id of the row it opened, if any."""
        assert self.record is not None  # set in __post_init__
        return self.record(fact)

    def issue_log(self) -> IssueLog:
        return IssueLog(self.write, self.on_event, self.run_id)
