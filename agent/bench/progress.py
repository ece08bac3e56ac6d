"""A batch's progress on a Rich console: solved/failed/cost so far, as a live bar or one line per job."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.ledger import IssueRow
from agent.reporting.render import say

if TYPE_CHECKING:
    from agent.bench.jobs import Job


class BenchProgress:
    """Solved/failed/cost so far: a Rich progress bar in a terminal, else one plain `n/N` line per job."""

    def __init__(self, console: Console, live: bool) -> None:
        self.console, self.live = console, live
        self.solved = self.failed = self.finished = self.total = 0
        self.cost = Decimal(0)
        self.progress: Progress | None = None
        self.bar: Any = None

    def start(self, total: int, run_id: str) -> None:
        self.total = total
        say(self.console, f"bench run [bold]{escape(run_id)}[/]: {total} job(s)")
        if self.live:
            self.progress = Progress(
                TextColumn("[bold]bench"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.progress.start()
            self.bar = self.progress.add_task(self._line(), total=total)

    def _line(self) -> str:
        return f"[green]{self.solved} solved[/] [red]{self.failed} failed[/] API ${self.cost:.4f}"

    def done(self, job: Job, issue: IssueRow | None, spent: Decimal) -> None:
        self.cost += spent
        self.finished += 1
        status = issue.status if issue else "done earlier"
        if status == "solved":
            self.solved += 1
        elif status != "done earlier":
            self.failed += 1
        if self.progress is not None:
            self.progress.update(self.bar, advance=1, description=self._line())
        else:
            say(self.console, f"{self.finished}/{self.total} {escape(job.key)}: {status}  ({self._line()})")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
