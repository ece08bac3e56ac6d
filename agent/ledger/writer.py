"""The ledger writer: each fact the engine reports (`agent.ledger.facts`) becomes its row, here and only here.

`write` returns the new row's id for the facts that open a row (an issue, an attempt, a call).
A Ray worker writes into a private ledger through a `FactLog`, which keeps each fact with the id it
was given; the head replays them (`replay`) into the batch's ledger in one transaction, each id
mapped to the row written there.
"""

from __future__ import annotations

from agent.core.events import LIVE_ONLY
from agent.ledger.facts import (
    AttemptAbandoned,
    AttemptClosed,
    AttemptOpened,
    AttemptReopened,
    CallSent,
    CallSettled,
    Fact,
    FallbackTaken,
    IssueClosed,
    IssueOpened,
    IssueReopened,
    Logged,
    ProgressNoted,
    ProviderHoldEnded,
)
from agent.ledger.store import Ledger


class LedgerWriter:
    """Writes facts into one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def write(self, fact: Fact) -> int | None:
        ledger = self.ledger
        match fact:
            case IssueOpened():
                return ledger.add_issue(fact.run_id, **{"started_at": fact.at, **fact.fields})
            case IssueClosed():
                ledger.finish_issue(fact.issue_id, fact.status, **{"finished_at": fact.at, **fact.fields})
            case AttemptOpened():
                return ledger.start_attempt(fact.issue_id, fact.run_id, **{"started_at": fact.at, **fact.fields})
            case AttemptClosed():
                ledger.finish_attempt(fact.attempt_id, fact.outcome, fact.passed, at=fact.at, **fact.fields)
            case CallSent(attempt_id=int(attempt_id)):
                return ledger.record_call(attempt_id, fact.record)
            case CallSent(issue_id=int(issue_id)):
                return ledger.record_issue_call(issue_id, fact.record, fact.purpose)
            case CallSent(run_id=str(run_id)):
                return ledger.record_run_call(run_id, fact.record, fact.purpose)
            case CallSettled():
                ledger.settle_call(fact.call_id, fact.record, fact.issue_id)
                if fact.attempt_id is not None:
                    ledger.update_attempt(fact.attempt_id, turns=fact.record.turn)
            case FallbackTaken():
                ledger.record_fallback(fact.attempt_id, fact.fallback)
            case ProgressNoted():
                ledger.record_progress(fact.attempt_id, fact.progress)
            case AttemptAbandoned():
                ledger.record_abandonment(fact.attempt_id, fact.abandonment)
            case IssueReopened():
                ledger.reopen_issue(fact.issue_id)
            case AttemptReopened():
                ledger.update_attempt(fact.attempt_id, state="running", outcome=None, finished_at=None)
            case ProviderHoldEnded():
                ledger.record_hold(fact.run_id, fact.hold)
            case Logged(event=event) if event.kind not in LIVE_ONLY:
                ledger.record_event(event.run_id, event.kind, event.data, event.issue_id, event.attempt_id)
        return None


class FactLog:
    """Writes through `writer` and keeps every fact with the id it was given, for `replay` elsewhere."""

    def __init__(self, writer: LedgerWriter) -> None:
        self.writer = writer
        self.facts: list[tuple[Fact, int | None]] = []

    def write(self, fact: Fact) -> int | None:
        row_id = self.writer.write(fact)
        self.facts.append((fact, row_id))
        return row_id


def replay(ledger: Ledger, facts: list[tuple[Fact, int | None]]) -> None:
    """Write another ledger's facts (with the ids they had there) into `ledger`, in one transaction."""
    mapped = Replay(LedgerWriter(ledger))
    with ledger.transaction():
        for fact, row_id in facts:
            mapped.write(fact, row_id)


class Replay:
    """Writes facts recorded against other ids, mapping each id to the row written here."""

    def __init__(self, writer: LedgerWriter) -> None:
        self.writer = writer
        self.ids: dict[str, dict[int, int]] = {"issue": {}, "attempt": {}, "call": {}}

    def write(self, fact: Fact, recorded_id: int | None) -> None:
        issues, attempts, calls = self.ids["issue"], self.ids["attempt"], self.ids["call"]
        update: dict[str, object] = {}
        for name, ids in (("issue_id", issues), ("attempt_id", attempts), ("call_id", calls)):
            old = getattr(fact, name, None)
            if old is not None:
                update[name] = ids[old]
        if isinstance(fact, Logged):
            event = fact.event
            mapped = {"issue_id": _mapped(issues, event.issue_id), "attempt_id": _mapped(attempts, event.attempt_id)}
            fact = fact.model_copy(update={"event": event.model_copy(update=mapped)})
        new_id = self.writer.write(fact.model_copy(update=update))
        if recorded_id is not None and new_id is not None:
            kind = {"issue_opened": issues, "attempt_opened": attempts, "call_sent": calls}[fact.kind]
            kind[recorded_id] = new_id


def _mapped(ids: dict[int, int], old: int | None) -> int | None:
    return None if old is None else ids[old]
