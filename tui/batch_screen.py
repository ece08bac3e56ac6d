"""The batch view of a run with many tasks (`agent bench`, grids): a table of tasks and the run's totals.

Built from the ledger's issues/attempts/calls of the run (read every POLL_S seconds in a thread
worker) plus the event stream for each running task's turn and the providers held now (rate limited,
or paused: `agent.engine.calling.quota`). Enter opens a task's fix view.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from agent.core.events import PROVIDER_HOLDS
from tui.app_state import AppState
from tui.batch_table import BatchTable
from tui.fix_screen import FixScreen
from tui.meters import review_minutes, usd
from tui.reads import POLL_S, BatchSnapshot, read_batch


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


class BatchScreen(Screen[None]):
    BINDINGS: ClassVar = [Binding("q", "app.quit", "Quit"), Binding("escape", "back", "Back", show=False)]

    class Polled(Message):
        def __init__(self, snapshot: BatchSnapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    def __init__(self, context: AppState, run_id: str) -> None:
        super().__init__()
        self.context, self.run_id = context, run_id
        self.turns: dict[int, str] = {}
        self.holds: dict[str, str] = {}
        """What each provider held now says (its latest `provider_held` or `provider_paused` text)."""

    def compose(self) -> ComposeResult:
        yield Static(id="batch-title")
        yield BatchTable(id="tasks")
        yield Static(id="batch-totals")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#batch-title", Static).update(Text(f"run {self.run_id}  ·  loading…", style="bold"))
        self.query_one("#batch-totals").border_title = "Totals"
        self.poll()

    @work(thread=True, exclusive=True, group="poll")
    def poll(self) -> None:
        worker, after_id = get_current_worker(), 0
        while not worker.is_cancelled:
            snapshot = read_batch(self.context.ledger, self.run_id, self.context.review, after_id, self.context.clock())
            if snapshot is None:
                return
            after_id = snapshot.after_id
            self.post_message(self.Polled(snapshot))
            if snapshot.run.status != "running":
                return
            time.sleep(POLL_S)

    def on_batch_screen_polled(self, message: BatchScreen.Polled) -> None:
        snapshot = message.snapshot
        for event in snapshot.events:
            if event.kind in PROVIDER_HOLDS:
                self._hold(event.kind, event.data)
            if event.issue_id is None:
                continue
            if event.kind == "turn_started":
                self.turns[event.issue_id] = f"turn {event.data.get('turn')}/{event.data.get('max_turns')}"
            elif event.kind in ("attempt_finished", "issue_finished"):
                self.turns.pop(event.issue_id, None)
        self.query_one(BatchTable).show(snapshot.rows, self.turns)
        run, progress, summary = snapshot.run, snapshot.progress, snapshot.summary
        self.query_one("#batch-title", Static).update(
            Text(f"run {run.id}  ·  {run.kind}  ·  {run.status.upper()}  ·  Enter: open a task", style="bold")
        )
        per_solved = summary.cost_per_solved_usd
        grid = Table.grid(expand=True, padding=(0, 2))
        for _ in range(3):
            grid.add_column(no_wrap=True)
        grid.add_row(
            f"solved {progress.solved} / done {progress.done} / total {progress.total}",
            f"API {usd(summary.api_cost_usd)}",
            f"total {usd(summary.total_cost_usd)} (review {review_minutes(summary)})",
        )
        eta = "done" if run.status != "running" else duration(progress.eta_s)
        grid.add_row(
            f"$ per solved {'- (none solved)' if per_solved is None else usd(per_solved)}",
            f"ETA {eta}",
            f"elapsed {duration(progress.elapsed_s)}",
        )
        for text in self.holds.values():
            grid.add_row(Text(f"⏸ {text}", style="bold yellow"), "", "")
        self.query_one("#batch-totals", Static).update(grid)

    def _hold(self, kind: str, data: dict) -> None:
        provider = str(data.get("provider", ""))
        if kind == "provider_released":
            self.holds.pop(provider, None)
        else:
            self.holds[provider] = str(data.get("text", ""))

    def on_batch_table_task_chosen(self, message: BatchTable.TaskChosen) -> None:
        self.app.push_screen(FixScreen(self.context, self.run_id, message.issue_id))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
