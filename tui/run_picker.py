"""Recent runs from the ledger to pick from (`agent tui` without a run id)."""

from __future__ import annotations

import time
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.reads import RunChoice


class RunPicker(Screen[None]):
    BINDINGS: ClassVar = [Binding("q", "app.quit", "Quit")]

    class RunChosen(Message):
        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def compose(self) -> ComposeResult:
        yield Static("Recent runs — Enter to open", id="picker-title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def show(self, choices: list[RunChoice]) -> None:
        table = self.query_one("#runs", DataTable)
        table.clear(columns=True)
        for column in ("run", "kind", "status", "issues", "started", "what"):
            table.add_column(column, key=column)
        for choice in choices:
            run = choice.run
            what = choice.issues[0].title if len(choice.issues) == 1 else f"{len(choice.issues)} tasks"
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at))
            table.add_row(run.id, run.kind, run.status, str(len(choice.issues)), started, what, key=run.id)
        table.focus()
        if not choices:
            empty = "The ledger has no runs yet: run `agent fix` or `agent demo`"
            self.query_one("#picker-title", Static).update(empty)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.RunChosen(event.row_key.value))
