"""The ledger: every run, issue, attempt, model call, event and review, in one SQLite file."""

from agent.ledger.calls import CallRecord, CallRow, Fallback
from agent.ledger.store import AttemptRow, EventRow, IssueRow, Ledger, ReviewRow, RunRow

__all__ = ["AttemptRow", "CallRecord", "CallRow", "EventRow", "Fallback", "IssueRow", "Ledger", "ReviewRow", "RunRow"]
