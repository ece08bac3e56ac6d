"""The ledger: every run, issue, attempt, model call, event and review, in one SQLite file."""

from agent.ledger.calls import CallRecord, CallRow, Fallback
from agent.ledger.events import EventRow
from agent.ledger.reviews import ReviewRow
from agent.ledger.runs import AttemptRow, IssueRow, RunRow
from agent.ledger.store import Ledger

__all__ = ["AttemptRow", "CallRecord", "CallRow", "EventRow", "Fallback", "IssueRow", "Ledger", "ReviewRow", "RunRow"]
