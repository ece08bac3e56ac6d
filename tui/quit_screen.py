"""Asks before quitting while a run is still going (quitting stops it after the current turn)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitScreen(ModalScreen[bool]):
    BINDINGS: ClassVar = [
        Binding("y", "answer(True)", "Stop and quit"),
        Binding("n,escape", "answer(False)", "Keep running"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-box"):
            yield Static(
                "The run is still going. Quit = stop it after the current turn, close the sandbox, then exit.\n"
                "Stop and quit?",
                id="quit-question",
            )
            with Horizontal(id="quit-buttons"):
                yield Button("y  Stop and quit", id="quit-yes", variant="error")
                yield Button("n  Keep running", id="quit-no", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit-yes")

    def action_answer(self, stop: bool) -> None:
        self.dismiss(stop)
