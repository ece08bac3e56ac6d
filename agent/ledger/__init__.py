"""The ledger: every run, issue, attempt, model call, event and review, in one SQLite file."""

from agent.ledger.store import AttemptRow, CallRecord, CallRow, EventRow, IssueRow, Ledger, ReviewRow, RunRow

__all__ = ["AttemptRow", "CallRecord", "CallRow", "EventRow", "IssueRow", "Ledger", "ReviewRow", "RunRow"]
