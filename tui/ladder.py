"""The ladder: every rung (model @ effort) with its state in words and a symbol, escalations marked ↑."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.fix_state import SYMBOLS, RungState

STYLES = {
    "running": "bold cyan",
    "passed": "bold green",
    "tests failed": "red",
    "error": "bold red",
    "stopped": "yellow",
    "skipped": "yellow",
    "waiting": "dim",
    "not needed": "dim",
    "not run": "dim",
}


class LadderView(Static):
    """One line per rung, `✓ claude-opus-4-7@high   passed`; on narrow screens the state goes below the rung."""

    rungs: list[RungState] | None = None

    def on_resize(self) -> None:
        if self.rungs is not None:
            self.show(self.rungs)

    def show(self, rungs: list[RungState]) -> None:
        self.rungs = rungs
        if not rungs:
            self.update(Text("(the planner is choosing the rungs)", style="dim"))
            return
        narrow = self.screen.has_class("-narrow")
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(width=2, no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        if not narrow:
            grid.add_column(no_wrap=True, justify="right")
        for rung in rungs:
            style = STYLES.get(rung.state, "")
            mark = ("↑" if rung.escalated else " ") + SYMBOLS.get(rung.state, "?")
            cells = [Text(mark, style=style), Text(rung.rung, style=style), Text(rung.label(), style=style)]
            if narrow:
                grid.add_row(*cells[:2])
                grid.add_row("", Text("  " + rung.label(), style=style))
            else:
                grid.add_row(*cells)
        self.update(grid)
