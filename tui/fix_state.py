"""What the fix view shows, folded from a run's events: the issue, the ladder and each rung's state.

Plain data with no widgets, so the live view (events from the runner) and an attached view
(events read back from the ledger) end up in the same state.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.core.events import Event
from agent.reporting.render import decision_line

SYMBOLS = {
    "waiting": "·",
    "running": "▶",
    "tests failed": "✗",
    "passed": "✓",
    "skipped": "–",
    "stopped": "■",
    "error": "!",
    "not needed": " ",
    "not run": " ",
}

SKIP_WORDS = {"budget": "budget", "stopped": "stopped"}  # anything else: the same request as an earlier rung


class RungState(BaseModel):
    rung: str
    state: str = "waiting"  # a key of SYMBOLS
    turn: int = 0
    max_turns: int = 0
    reason: str = ""  # why it was skipped, or the loop outcome of a failed attempt
    escalated: bool = False  # reached by escalating from the rung before
    attempt_id: int | None = None

    def label(self) -> str:
        """The state in words (readable without colour)."""
        if self.state == "running":
            return f"running {self.turn}/{self.max_turns}" if self.turn else "running"
        if self.state == "skipped":
            return f"skipped ({SKIP_WORDS.get(self.reason, 'same')})" if self.reason else "skipped"
        return self.state


class FixState(BaseModel):
    run_id: str = ""
    issue_id: int | None = None
    title: str = ""
    task_type: str = ""
    reason: str = ""
    decided_by: str = ""
    repo: str = ""
    test_cmd: str = ""
    max_cost_usd: str | None = None
    status: str = "starting"  # starting | preparing | running | solved | unsolved | budget_exhausted | error
    error: str = ""
    rungs: list[RungState] = Field(default_factory=list)
    current: int | None = None  # index of the rung of the latest attempt
    work_patch: str = ""  # the running attempt's diff as of its latest `work_patch` event
    work_patch_turn: int = 0
    planner_note: str = ""  # who chose the ladder and what it expects (the `decision` event)

    def accepts(self, event: Event) -> bool:
        """Whether `event` belongs to this view's issue (the first issue seen when none was chosen)."""
        return self.issue_id is None or event.issue_id in (None, self.issue_id)

    def apply(self, event: Event) -> None:
        data = event.data
        self.run_id = event.run_id or self.run_id
        if event.kind == "issue_started":
            self.issue_id = event.issue_id
            self.title, self.task_type = data.get("title", ""), data.get("task_type", "")
            self.reason, self.decided_by = data.get("reason", ""), data.get("decided_by", "")
            self.repo, self.test_cmd = data.get("repo", ""), data.get("test_cmd", "")
            self.max_cost_usd = data.get("max_cost_usd")
            self.rungs = [RungState(rung=rung) for rung in data.get("ladder", [])]
            self.status = "running"
        elif event.kind == "decision":
            self.planner_note = decision_line(data)
        elif event.kind == "environment_preparing":
            self.status = "preparing"
        elif event.kind == "environment":
            self.status = "running"
        elif event.kind == "attempt_started" and self._has(data.get("rung_index")):
            self.current = data["rung_index"]
            rung = self.rungs[self.current]
            rung.state, rung.turn, rung.max_turns = "running", 0, data.get("max_turns", 0)
            rung.attempt_id = event.attempt_id
            self.work_patch, self.work_patch_turn = "", 0
        elif event.kind == "work_patch" and self.current is not None:
            self.work_patch, self.work_patch_turn = data.get("patch", ""), data.get("turn", 0)
        elif event.kind == "turn_started" and self.current is not None:
            self.rungs[self.current].turn = data.get("turn", 0)
            self.rungs[self.current].max_turns = data.get("max_turns", self.rungs[self.current].max_turns)
        elif event.kind == "attempt_finished" and self._has(data.get("rung_index")):
            rung = self.rungs[data["rung_index"]]
            outcome = data.get("outcome", "")
            if data.get("tests_passed"):
                rung.state = "passed"
            else:
                rung.state = "stopped" if outcome == "stopped" else "tests failed"
            rung.reason, rung.turn = outcome, data.get("turns", rung.turn)
        elif event.kind == "rung_skipped" and self._has(data.get("rung_index")):
            rung = self.rungs[data["rung_index"]]
            rung.state, rung.reason = "skipped", data.get("reason", "")
        elif event.kind == "escalation" and self._has(data.get("rung_index")):
            self.rungs[data["rung_index"]].escalated = True
        elif event.kind == "issue_finished":
            self.status, self.error = data.get("status", "error"), data.get("error") or ""
            for rung in self.rungs:
                if rung.state == "running":
                    rung.state = "error"
                elif rung.state == "waiting":
                    rung.state = "not needed" if self.status == "solved" else "not run"

    def running_rung(self) -> RungState | None:
        """The rung whose attempt is running now, if any."""
        if self.status != "running" or self.current is None:
            return None
        rung = self.rungs[self.current]
        return rung if rung.state == "running" else None

    def _has(self, index: object) -> bool:
        return isinstance(index, int) and 0 <= index < len(self.rungs)
