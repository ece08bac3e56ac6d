"""What the engine reports as it runs, as typed facts; `agent.ledger.writer` turns each into its row.

The engine never writes a row itself: it hands a fact to its recorder, which writes it (here, or
on the head of a Ray cluster after the worker forwarded it) and gives back the new row's id for
the facts that open a row (an issue, an attempt, a call). Each fact is written in one place.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.core.events import Event
from agent.ledger.calls import CallRecord, Fallback
from agent.ledger.events import Abandonment, TurnProgress
from agent.ledger.holds import ProviderHold


class IssueOpened(BaseModel):
    """An issue of the run begins (its row is `running`); `fields` are the row's columns."""

    kind: Literal["issue_opened"] = "issue_opened"
    at: float = Field(default_factory=time.time, description="When it happened (where it happened: a Ray worker too).")
    run_id: str
    fields: dict[str, Any]


class IssueClosed(BaseModel):
    """How an issue ended (solved, unsolved, paused, error, skipped) and what it left: branch,
    patch, error."""

    kind: Literal["issue_closed"] = "issue_closed"
    at: float = Field(default_factory=time.time, description="When it happened (where it happened: a Ray worker too).")
    issue_id: int
    status: str
    fields: dict[str, Any] = Field(default_factory=dict)


class AttemptOpened(BaseModel):
    """A rung is tried on an issue: the attempt's row, `running` until it is closed."""

    kind: Literal["attempt_opened"] = "attempt_opened"
    at: float = Field(default_factory=time.time, description="When it happened (where it happened: a Ray worker too).")
    issue_id: int
    run_id: str
    fields: dict[str, Any]


class AttemptClosed(BaseModel):
    """How an attempt ended: the loop's outcome, whether its tests passed, its times, patch and report."""

    kind: Literal["attempt_closed"] = "attempt_closed"
    at: float = Field(default_factory=time.time, description="When it happened (where it happened: a Ray worker too).")
    attempt_id: int
    outcome: str
    passed: bool
    fields: dict[str, Any] = Field(default_factory=dict)


class CallSent(BaseModel):
    """A request about to be sent (`record` is pending, its worst case reserved): under an attempt,
    or under an issue outside its attempts (`purpose`, e.g. "classify", with `record` settled), or
    under the run alone (`run_id`: the classifier's, before its issue has a row)."""

    kind: Literal["call_sent"] = "call_sent"
    record: CallRecord
    attempt_id: int | None = None
    issue_id: int | None = None
    run_id: str | None = None
    purpose: str = "attempt"


class CallSettled(BaseModel):
    """A sent call's end: its reply (billed) or its failure; an answered attempt call also counts the turn."""

    kind: Literal["call_settled"] = "call_settled"
    call_id: int
    record: CallRecord
    attempt_id: int | None = None
    issue_id: int | None = None
    """Set when the issue claims a call recorded under its run before the issue had a row."""


class FallbackTaken(BaseModel):
    kind: Literal["fallback_taken"] = "fallback_taken"
    attempt_id: int
    fallback: Fallback


class ProgressNoted(BaseModel):
    """What an attempt had done after one of its turns (edits, test runs, turns left, $ spent)."""

    kind: Literal["progress_noted"] = "progress_noted"
    attempt_id: int
    progress: TurnProgress


class AttemptAbandoned(BaseModel):
    """An attempt ended early to climb to the ladder's next rung: its progress said continuing was worth less."""

    kind: Literal["attempt_abandoned"] = "attempt_abandoned"
    attempt_id: int
    abandonment: Abandonment


class ProviderHoldEnded(BaseModel):
    """A hold of a provider ended (released, or the run paused its use): written once, at its end."""

    kind: Literal["provider_hold_ended"] = "provider_hold_ended"
    run_id: str
    hold: ProviderHold


class IssueReopened(BaseModel):
    """A paused issue goes on (`agent resume`): its row is `running` again."""

    kind: Literal["issue_reopened"] = "issue_reopened"
    issue_id: int


class AttemptReopened(BaseModel):
    """A paused attempt goes on where it stopped: its row is `running` again."""

    kind: Literal["attempt_reopened"] = "attempt_reopened"
    attempt_id: int


class Logged(BaseModel):
    """An event of the run's stream (stored in the `events` table unless it is live only)."""

    kind: Literal["logged"] = "logged"
    event: Event


Fact = (
    IssueOpened
    | IssueClosed
    | AttemptOpened
    | AttemptClosed
    | CallSent
    | CallSettled
    | FallbackTaken
    | ProgressNoted
    | AttemptAbandoned
    | IssueReopened
    | AttemptReopened
    | ProviderHoldEnded
    | Logged
)
