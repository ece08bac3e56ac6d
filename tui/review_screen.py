"""Review a fix: the diff, a running timer, accept or reject; the measured minutes go to the ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Static


class ReviewScreen(Screen[tuple[str, float] | None]):
    """Dismisses with (verdict, minutes) on accept/reject, None on escape (nothing recorded)."""

    BINDINGS: ClassVar = [
        Binding("a", "verdict('accept')", "Accept"),
        Binding("x", "verdict('reject')", "Reject"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, patch: str, clock: Callable[[], float]) -> None:
        super().__init__()
        self.heading, self.patch, self.clock = title, patch, clock
        self.started = clock()

    def compose(self) -> ComposeResult:
        with Horizontal(id="review-top"):
            yield Static(Text(self.heading, no_wrap=True, overflow="ellipsis"), id="review-title")
            yield Static(id="review-timer")
        with VerticalScroll(id="review-body"):
            yield Static(Syntax(self.patch or "(empty patch)", "diff", theme="ansi_dark", word_wrap=True))
        with Horizontal(id="review-buttons"):
            yield Button("a  Accept", id="accept", variant="success")
            yield Button("x  Reject", id="reject", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        seconds = int(self.clock() - self.started)
        self.query_one("#review-timer", Static).update(f"review time {seconds // 60:02d}:{seconds % 60:02d}")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_verdict(str(event.button.id))

    def action_verdict(self, verdict: str) -> None:
        self.dismiss((verdict, (self.clock() - self.started) / 60))

    def action_cancel(self) -> None:
        self.dismiss(None)
