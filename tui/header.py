"""The fix view's header: the issue, its task type and why, the repository, the test command, the status."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.fix_state import FixState

STATUS_WORDS = {
    "starting": "STARTING",
    "preparing": "PREPARING ENVIRONMENT",
    "running": "RUNNING",
    "solved": "✓ SOLVED",
    "unsolved": "✗ UNSOLVED",
    "budget_exhausted": "✗ BUDGET SPENT",
    "paused": "⏸ PAUSED (agent resume)",
    "error": "! ERROR",
}


class IssueHeader(Static):
    """Three lines about the issue (four with the learned planner's choice); the run status at the right."""

    def show(self, state: FixState, note: str = "") -> None:
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        status = STATUS_WORDS.get(state.status, state.status.upper())
        title = state.title or "planning: classifying the issue and choosing a ladder…"
        grid.add_row(Text(title, style="bold"), Text(status, style=f"bold {self._colour(state.status)}"))
        why = f" ({state.reason}; by {state.decided_by})" if state.reason else ""
        grid.add_row(Text(f"task type {state.task_type or '-'}{why}"), Text(note, style="italic"))
        grid.add_row(Text(f"repo {state.repo or '-'}  ·  tests {state.test_cmd or '-'}"), Text(state.run_id))
        if state.planner_note:
            grid.add_row(Text(f"planner: {state.planner_note}", style="dim"), Text(""))
        self.update(grid)

    @staticmethod
    def _colour(status: str) -> str:
        return {"solved": "green", "running": "cyan", "starting": "cyan", "preparing": "cyan"}.get(status, "red")
