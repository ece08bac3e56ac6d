"""A patch, full screen: the running attempt's work so far, the passing attempt's, or the latest finished one's."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static


class DiffScreen(Screen[None]):
    BINDINGS: ClassVar = [Binding("escape,q,d", "close", "Back")]

    def __init__(self, title: str, patch: str) -> None:
        super().__init__()
        self.heading, self.patch = title, patch

    def compose(self) -> ComposeResult:
        yield Static(Text(self.heading, no_wrap=True, overflow="ellipsis"), id="diff-title")
        with VerticalScroll(id="diff-body"):
            yield Static(Syntax(self.patch or "(empty patch)", "diff", theme="ansi_dark", word_wrap=True))
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
