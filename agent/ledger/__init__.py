"""The ledger: every run, issue, attempt, model call, event and review, in one SQLite file."""

from agent.ledger.store import AttemptRow, CallRecord, EventRow, IssueRow, Ledger, RunRow

__all__ = ["AttemptRow", "CallRecord", "EventRow", "IssueRow", "Ledger", "RunRow"]
