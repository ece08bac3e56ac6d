"""The fix view of one issue: header, ladder, meters and the live transcript.

Live (`agent fix` in a terminal), events arrive from the runner's thread as messages, text
deltas included. Attached (`agent tui RUN_ID`), a thread worker reads new events from the
ledger every POLL_S seconds. Either way the meters come from `agent.reporting.costs` over the ledger.
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import get_current_worker

from agent.core.events import Event
from tui.app_state import AppState
from tui.diff_screen import DiffScreen
from tui.fix_state import FixState
from tui.header import IssueHeader
from tui.ladder import LadderView
from tui.meters import Meters
from tui.reads import POLL_S, FixSnapshot, issue_id_of, patch_attempt, read_fix, review_attempt
from tui.review_screen import ReviewScreen
from tui.transcript import Transcript


class FixScreen(Screen[None]):
    BINDINGS: ClassVar = [
        Binding("d", "diff", "Diff"),
        Binding("r", "review", "Review"),
        Binding("s", "stop", "Stop after turn"),
        Binding("escape", "back", "Back", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    class EventsArrived(Message):
        """Events for this view: from the runner (live) or read from the ledger (attached)."""

        def __init__(self, events: list[Event]) -> None:
            super().__init__()
            self.events = events

    class Polled(Message):
        def __init__(self, snapshot: FixSnapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    def __init__(
        self, context: AppState, run_id: str | None, issue_id: int | None = None, live_events: bool = False
    ) -> None:
        super().__init__()
        self.context, self.live_events = context, live_events
        self.state = FixState(run_id=run_id or "", issue_id=issue_id)
        self.note = ""
        self.after_id = 0
        self.polling = False

    def compose(self) -> ComposeResult:
        yield IssueHeader(id="header")
        with Horizontal(id="body"):
            with Vertical(id="side"):
                yield LadderView(id="ladder")
                yield Meters(id="meters")
            yield Transcript(id="transcript")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ladder").border_title = "Ladder"
        self.query_one("#meters").border_title = "Cost"
        self.query_one("#transcript").border_title = "Transcript"
        self.redraw()
        if self.state.run_id:
            self.start_polling()

    # incoming -------------------------------------------------------------------------------
    def on_fix_screen_events_arrived(self, message: FixScreen.EventsArrived) -> None:
        self.take(message.events, news=True)
        if not self.polling and self.state.run_id:
            self.start_polling()

    def on_fix_screen_polled(self, message: FixScreen.Polled) -> None:
        snapshot = message.snapshot
        if snapshot.events:
            self.take(snapshot.events, news=self.after_id > 0)  # the first read is history: no toasts
            self.after_id = snapshot.after_id
        self.query_one(Meters).show(snapshot.summary, self.state.max_cost_usd)
        if snapshot.run_status not in ("running", "missing") and self.state.status in ("solved", "unsolved"):
            self.note = "r review · d diff · q quit"
            self.redraw()

    def take(self, events: list[Event], news: bool) -> None:
        transcript = self.query_one(Transcript)
        for event in events:
            if not self.state.accepts(event):
                continue
            self.state.apply(event)
            transcript.show(event)
            if event.kind == "escalation" and news:
                self.notify(f"escalating to {event.data.get('rung')}", title="↑ escalation")
            if event.kind == "fallback" and news:
                self.notify(str(event.data.get("text", "")), title="⤳ fallback", severity="warning")
            if event.kind in ("provider_held", "provider_paused") and news:
                self.notify(str(event.data.get("text", "")), title="⏸ provider held", severity="warning")
            if event.kind == "attempt_started":
                rung = f"{event.data.get('model')}@{event.data.get('effort')}"
                transcript.border_title = f"Attempt {event.data.get('rung_index', 0) + 1} · {rung}"
        self.redraw()

    def redraw(self) -> None:
        self.query_one(IssueHeader).show(self.state, self.note)
        self.query_one(LadderView).show(self.state.rungs)

    # ledger reads ---------------------------------------------------------------------------
    def start_polling(self) -> None:
        self.polling = True
        self.poll(self.state.run_id, None if self.live_events else self.after_id)

    @work(thread=True, exclusive=True, group="poll")
    def poll(self, run_id: str, after_id: int | None) -> None:
        """Every POLL_S: the issue's totals, and (attached) new events; ends after the run has ended."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            issue_id = issue_id_of(self.context.ledger, run_id, self.state.issue_id)
            snapshot = read_fix(self.context.ledger, run_id, issue_id, self.context.review, after_id)
            if after_id is not None:
                after_id = snapshot.after_id
            self.post_message(self.Polled(snapshot))
            if snapshot.run_status != "running":
                return
            time.sleep(POLL_S)

    @work(thread=True, group="meters")
    def refresh_meters(self) -> None:
        ledger, run_id = self.context.ledger, self.state.run_id
        issue_id = issue_id_of(ledger, run_id, self.state.issue_id)
        self.post_message(self.Polled(read_fix(ledger, run_id, issue_id, self.context.review, None)))

    # keys -----------------------------------------------------------------------------------
    def action_stop(self) -> None:
        if not self.live_events:
            self.notify("attached viewer: stop the run in the terminal that runs it", severity="warning")
        elif self.context.done.is_set():
            self.notify("the run is over")
        else:
            self.context.stop.set()
            self.note = "stop requested: after this turn"
            self.redraw()
            self.notify("stopping after the current turn")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_diff(self) -> None:
        running = self.state.running_rung()
        if running is None:
            self.load_attempt("diff")
            return
        attempt = f"attempt {(self.state.current or 0) + 1}, {running.rung}"
        if not self.state.work_patch:
            self.notify(f"no change yet in {attempt}", severity="warning")
            return
        heading = f"Diff of the running {attempt}, after turn {self.state.work_patch_turn} — {self.state.title}"
        self.app.push_screen(DiffScreen(heading, self.state.work_patch))

    def action_review(self) -> None:
        self.load_attempt("review")

    @work(thread=True, group="attempt")
    def load_attempt(self, purpose: str) -> None:
        ledger, run_id = self.context.ledger, self.state.run_id
        issue_id = issue_id_of(ledger, run_id, self.state.issue_id) if run_id else None
        attempts = ledger.attempts(run_id, issue_id) if issue_id is not None else []
        attempt = patch_attempt(attempts) if purpose == "diff" else review_attempt(attempts)
        if attempt is None:
            why = "an attempt's diff is recorded when it finishes" if purpose == "diff" else "no attempt passed"
            self.app.call_from_thread(self.notify, f"nothing to {purpose} yet: {why}", severity="warning")
            return
        which = "passing" if attempt.tests_passed else "latest finished"
        rung = f"attempt {attempt.rung_index + 1}, {attempt.model}@{attempt.effort_asked}"
        if purpose == "diff":
            diff = DiffScreen(f"Diff of the {which} {rung} — {self.state.title}", attempt.patch or "")
            self.app.call_from_thread(self.app.push_screen, diff)
        else:
            screen = ReviewScreen(f"Review {rung} — {self.state.title}", attempt.patch or "", self.context.monotonic)

            def done(verdict: tuple[str, float] | None) -> None:
                if verdict is not None:
                    self.record_review(attempt.id, *verdict)

            self.app.call_from_thread(self.app.push_screen, screen, done)

    @work(thread=True, group="attempt")
    def record_review(self, attempt_id: int, verdict: str, minutes: float) -> None:
        self.context.ledger.record_review(attempt_id, round(minutes, 4), verdict, self.context.reviewer)
        self.app.call_from_thread(self.notify, f"recorded {verdict} after {minutes:.2f} min")
        self.app.call_from_thread(self.refresh_meters)
