"""`AgentApp`: one Textual app for a live run, an attached viewer and the run picker.

A live run (`work`) runs in a daemon thread; it reaches the UI only through messages
(`FixScreen.EventsArrived`, `AgentApp.RunOver`). Quitting while it runs asks first, then sets
the stop event and exits only once the worker has returned, so its sandbox is closed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from agent.core.events import Event, EventSink
from tui.app_state import AppState
from tui.batch_screen import BatchScreen
from tui.fix_screen import FixScreen
from tui.quit_screen import QuitScreen
from tui.reads import RunChoice, recent_runs
from tui.run_picker import RunPicker

Work = Callable[[EventSink, Any], Any]
"""(on_event, stop: threading.Event) -> whatever the run returns; called in a thread worker."""

BATCH_KINDS = ("bench", "grid")


class AgentApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "agent"
    BINDINGS: ClassVar = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 (Textual declares the type)

    class RunOver(Message):
        """The live run's worker has returned (or raised)."""

    class BatchStarted(Message):
        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    class RunLoaded(Message):
        def __init__(self, choice: RunChoice | None, run_id: str) -> None:
            super().__init__()
            self.choice, self.run_id = choice, run_id

    class RunsListed(Message):
        def __init__(self, choices: list[RunChoice]) -> None:
            super().__init__()
            self.choices = choices

    def __init__(
        self, context: AppState, run_id: str | None = None, work: Work | None = None, batch: bool = False
    ) -> None:
        super().__init__()
        self.context, self.run_id, self.work, self.batch = context, run_id, work, batch
        self.context.live = work is not None
        if work is None:
            self.context.done.set()
        self.outcome: Any = None
        self.error: BaseException | None = None
        self.quitting = False
        self.interrupts = 0
        self.abandoned = False
        """A second Ctrl-C: the caller closes the sandboxes and exits without waiting for the turn."""
        self.events_seen = 0
        self.work_started = False

    def on_mount(self) -> None:
        if self.work is not None:
            screen = FixScreen(self.context, None, live_events=True)
            if not self.batch:
                self.push_screen(screen)
            self.run_live(screen)
        elif self.run_id is not None:
            self.load_run(self.run_id)
        else:
            self.push_screen(RunPicker())
            self.list_runs()

    # the live run ---------------------------------------------------------------------------
    def run_live(self, screen: FixScreen) -> None:
        """Start the run in a daemon thread of its own (not Textual's worker pool, which the app
        waits for on exit), so a second Ctrl-C can leave without waiting for the turn in flight."""
        self.work_started = True
        threading.Thread(target=self._run_work, args=(screen,), name="agent-live-run", daemon=True).start()

    def _run_work(self, screen: FixScreen) -> None:
        assert self.work is not None

        def on_event(event: Event) -> None:
            self.events_seen += 1
            if not self.batch:
                screen.post_message(FixScreen.EventsArrived([event]))
            elif self.events_seen == 1:
                self.post_message(self.BatchStarted(event.run_id))

        try:
            self.outcome = self.work(on_event, self.context.stop)
        except BaseException as exc:  # handed back to the caller after the app exits
            self.error = exc
        finally:
            self.context.done.set()
            self.post_message(self.RunOver())

    def on_agent_app_run_over(self, _message: AgentApp.RunOver) -> None:
        if self.quitting or (self.error is not None and self.events_seen == 0):
            self.exit()
        elif self.error is not None:
            self.notify(f"the run failed: {self.error}", severity="error", timeout=30)
        else:
            self.notify("the run is over: r review · d diff · q quit", timeout=10)

    async def action_quit(self) -> None:
        if self.context.done.is_set():
            self.exit()
        elif not self.quitting:
            self.push_screen(QuitScreen(), self.answer_quit)

    async def action_interrupt(self) -> None:
        """Ctrl-C: the first acts like `q` (asks, then stops after the turn); a second stops at once."""
        self.interrupts += 1
        if self.context.done.is_set():
            self.exit()
        elif self.interrupts == 1:
            self.notify("Ctrl-C again stops at once, without finishing the turn", timeout=10)
            if not self.quitting:
                self.push_screen(QuitScreen(), self.answer_quit)
        else:
            self.abandoned = True
            self.context.stop.set()
            self.exit()

    def answer_quit(self, stop: bool | None) -> None:
        if not stop:
            return
        self.quitting = True
        self.context.stop.set()
        if self.context.done.is_set():
            self.exit()
        else:
            self.notify("stopping after the current turn, then closing the sandbox…", timeout=60)

    def on_agent_app_batch_started(self, message: AgentApp.BatchStarted) -> None:
        self.push_screen(BatchScreen(self.context, message.run_id))

    # attached viewers -----------------------------------------------------------------------
    @work(thread=True, group="load")
    def load_run(self, run_id: str) -> None:
        run = self.context.ledger.run(run_id)
        choice = None if run is None else RunChoice(run=run, issues=self.context.ledger.issues(run_id))
        self.post_message(self.RunLoaded(choice, run_id))

    def on_agent_app_run_loaded(self, message: AgentApp.RunLoaded) -> None:
        choice = message.choice
        if choice is None:
            self.notify(f"no run {message.run_id} in the ledger", severity="error")
        elif choice.run.kind in BATCH_KINDS or len(choice.issues) > 1:
            self.push_screen(BatchScreen(self.context, choice.run.id))
        else:
            self.push_screen(FixScreen(self.context, choice.run.id))

    @work(thread=True, group="load")
    def list_runs(self) -> None:
        self.post_message(self.RunsListed(recent_runs(self.context.ledger)))

    def on_agent_app_runs_listed(self, message: AgentApp.RunsListed) -> None:
        if isinstance(self.screen, RunPicker):
            self.screen.call_after_refresh(self.screen.show, message.choices)

    def on_run_picker_run_chosen(self, message: RunPicker.RunChosen) -> None:
        self.load_run(message.run_id)
