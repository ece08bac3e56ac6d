"""The batch view's table: one row per task with its status, current rung, attempts and $."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from tui.meters import usd
from tui.reads import BatchRow

STATUS = {
    "running": ("▶ running", "cyan"),
    "solved": ("✓ solved", "green"),
    "unsolved": ("✗ unsolved", "red"),
    "budget_exhausted": ("✗ budget", "red"),
    "paused": ("⏸ paused", "yellow"),
    "error": ("! error", "bold red"),
    "skipped": ("– skipped", "yellow"),
    "interrupted": ("■ interrupted (ran again)", "dim"),
    "superseded": ("■ superseded (ran again)", "dim"),
}
COLUMNS = ("#", "task", "status", "rung", "attempts", "API $", "total $")


class BatchTable(DataTable[Text | str]):
    """Rows keyed by issue id; Enter on a row posts `TaskChosen`."""

    class TaskChosen(Message):
        def __init__(self, issue_id: int) -> None:
            super().__init__()
            self.issue_id = issue_id

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for column in COLUMNS:
            self.add_column(column, key=column)

    def show(self, rows: list[BatchRow], turns: dict[int, str]) -> None:
        for number, row in enumerate(rows, start=1):
            word, colour = STATUS.get(row.issue.status, (row.issue.status, ""))
            turn = turns.get(row.issue.id) if row.issue.status == "running" else None
            rung = f"{row.rung} {turn}" if turn else row.rung
            cells: tuple[Text | str, ...] = (
                str(number),
                row.issue.key,
                Text(word, style=colour),
                rung,
                str(row.attempts),
                usd(row.summary.api_cost_usd),
                usd(row.summary.total_cost_usd),
            )
            key = str(row.issue.id)
            if key in self.rows:
                for column, cell in zip(COLUMNS, cells, strict=True):
                    self.update_cell(key, column, cell)
            else:
                self.add_row(*cells, key=key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.TaskChosen(int(event.row_key.value)))
