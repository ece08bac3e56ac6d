"""Where a metered model's calls are recorded: an attempt's calls as ledger facts and events, or a
classifier's calls kept for the issue that is not opened yet (each recorded under the run, pending,
before it is sent, when the run has a ledger: the issue claims the row when it opens)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from agent.ledger import CallRecord, Fallback
from agent.ledger.facts import CallSent, CallSettled, Fact, FallbackTaken


class CallMeter(Protocol):
    turn: int
    """The turn the next call belongs to."""
    model_time_s: float
    """Seconds spent waiting for the calls made so far."""

    def sent(self, record: CallRecord) -> int:
        """Record a request before it is sent (`record` pending); returns the call's id."""
        ...

    def settled(self, call_id: int, record: CallRecord) -> None:
        """Record how the call ended (answered and billed, or failed)."""
        ...


@dataclass
class AttemptMeter:
    """One attempt's calls: each a pending row before it is sent, settled when it ends, with its events."""

    attempt_id: int
    record: Callable[[Fact], int | None]
    emit: Callable[[str, dict], None]
    turn: int = 0
    model_time_s: float = 0.0
    prompt_tokens: int = 0
    """The budget's bound on the next turn's prompt, set by the loop: the turn's metered model reserves with it."""
    last: tuple[int, CallRecord] | None = None

    def sent(self, record: CallRecord) -> int:
        call_id = self.record(CallSent(record=record, attempt_id=self.attempt_id))
        assert call_id is not None
        return call_id

    def settled(self, call_id: int, record: CallRecord) -> None:
        answered = record.status == "ok"
        self.record(CallSettled(call_id=call_id, record=record, attempt_id=self.attempt_id if answered else None))
        self.last = (call_id, record)
        if answered:
            spent = None if record.cost_usd is None else str(record.cost_usd)
            self.emit("model_call", {"turn": record.turn, **record.usage.model_dump(), "cost_usd": spent})
        else:
            data = {"error_kind": record.error_kind, "retries": record.retries, "error": record.error}
            self.emit("model_call_failed", {"turn": record.turn, **data})

    def judged(self, validation: str | None, turn_s: float | None) -> None:
        """Add the loop's judgement of the last reply: why it was invalid, or the seconds of the turn it ended."""
        if self.last is not None:
            call_id, record = self.last
            update = {"validation": validation, "turn_s": turn_s}
            self.record(CallSettled(call_id=call_id, record=record.model_copy(update=update)))

    def fell_back(self, fallback: Fallback, text: str) -> None:
        """Record a switch to a fallback rung: its row and its `fallback` event."""
        self.record(FallbackTaken(attempt_id=self.attempt_id, fallback=fallback))
        self.emit(
            "fallback",
            {
                "turn": fallback.turn,
                "from": f"{fallback.from_model}@{fallback.from_effort}",
                "to": f"{fallback.to_model}@{fallback.to_effort}",
                "reason": fallback.reason,
                "detail": fallback.detail,
                "text": text,
            },
        )


@dataclass(frozen=True)
class RunRecorder:
    """Where calls made for a run before their issue has a row are recorded: under the run itself."""

    run_id: Callable[[], str]
    """The run's id (asked at the first call: a fix writes its run row then)."""
    record: Callable[[Fact], int | None]
    purpose: str = "classify"


@dataclass
class KeptCalls:
    """Calls made before there is an issue row to put them under (the classifier's), kept for the issue.

    With `run`, each is recorded under the run, pending, before it is sent and settled after (its
    record keeps its row's `call_id`, and the issue claims that row when it opens); without, the
    issue writes them when it opens (`agent plan`, which records nothing, and tests)."""

    turn: int = 1
    model_time_s: float = 0.0
    calls: list[CallRecord] = field(default_factory=list)
    run: RunRecorder | None = None

    def sent(self, record: CallRecord) -> int:
        if self.run is not None:
            fact = CallSent(record=record, run_id=self.run.run_id(), purpose=self.run.purpose)
            record = record.model_copy(update={"call_id": self.run.record(fact)})
        self.calls.append(record)
        return len(self.calls) - 1

    def settled(self, call_id: int, record: CallRecord) -> None:
        row_id = self.calls[call_id].call_id
        if self.run is not None and row_id is not None:
            self.run.record(CallSettled(call_id=row_id, record=record))
        self.calls[call_id] = record.model_copy(update={"call_id": row_id})
