"""What `agent tasks mine` writes and shows while it runs: the kept tasks as JSONL (to a file or stdout),
the progress (a bar on a terminal, else a line per candidate), and the summary at the end.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from agent.reporting.render import Col, print_table, say
from tasks.models import Task

if TYPE_CHECKING:
    from agent.bench.mining import MiningProgress, MiningResult


class TaskSink:
    """Kept tasks as JSONL lines as they come: to stdout, or to a file opened (and emptied) at the first one."""

    def __init__(self, target: Path | None) -> None:
        self.target, self.written = target, 0
        self.file: IO[str] | None = None

    def __call__(self, task: Task) -> None:
        line = task.model_dump_json(exclude_none=True) + "\n"
        if self.target is None:
            print(line, end="", flush=True)
        else:
            if self.file is None:
                self.file = self.target.open("w", encoding="utf-8")
            self.file.write(line)
            self.file.flush()
        self.written += 1

    def __enter__(self) -> TaskSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


class MineProgress:
    """Candidates scanned, kept and skipped: a Rich progress bar on stderr when it is a terminal, else
    one line per candidate checked (`[3/40] abc1234567 subject -> kept (2 FAIL_TO_PASS, bug_fix)`)."""

    def __init__(self, console: Console, total: int | None) -> None:
        self.console, self.total = console, total
        self.progress: Progress | None = None
        if console.is_terminal:
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]mining"),
                BarColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("[dim]{task.description}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self.bar = self.progress.add_task("", total=total, counts="")

    def __call__(self, state: MiningProgress) -> None:
        if self.progress is None:
            if state.outcome:
                where = f"{state.scanned}/{self.total}" if self.total else str(state.scanned)
                line = f"[{where}] {state.current[:80]} -> {state.outcome}"
                self.console.print(line, markup=False, highlight=False, soft_wrap=True)
                self.console.file.flush()
        else:
            counts = f"{state.scanned} scanned [green]{state.kept} kept[/] [yellow]{state.skipped} skipped[/]"
            self.progress.update(
                self.bar, completed=state.scanned, counts=counts, description=escape(state.current[:60])
            )

    def __enter__(self) -> MineProgress:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self.progress is not None:
            self.progress.stop()


def mining_summary(result: MiningResult, out: str | None, commits: int, seconds: float) -> dict[str, Any]:
    return {
        "kept": len(result.tasks),
        "skipped": result.skipped(),
        "causes": result.causes(),
        "seconds": seconds,
        "out": out,
        "tasks": [task.instance_id for task in result.tasks],
        "commits": commits,
        "candidates": len(result.tasks) + len(result.skips),
        "skipped_commits": [skip.model_dump() for skip in result.skips],
    }


def print_mining(shown: Console, result: MiningResult, title: str, written: Path | None) -> None:
    from agent.bench.mining import CAUSES, SKIP_REASONS

    rows = [["[green]kept[/]", str(len(result.tasks)), ""]]
    for reason, count in result.skipped().items():
        skips = [skip for skip in result.skips if skip.reason == reason]
        causes = {CAUSES[skip.cause]: sum(other.cause == skip.cause for other in skips) for skip in skips}
        why = ", ".join(f"{cause} {n}" for cause, n in causes.items())
        example = f"{why}; first {skips[0].commit[:10]} {skips[0].subject}: {skips[0].detail}" if skips else ""
        rows.append([escape(f"skipped: {SKIP_REASONS[reason]}"), str(count), escape(example[:240])])
    columns = [Col("outcome", wrap=True), Col("commits", right=True), Col("causes", wrap=True, drop=True)]
    print_table(shown, escape(title), columns, rows)
    if written is not None:
        say(shown, escape(f"wrote {len(result.tasks)} task(s) to {written}: run them with `agent bench {written}`"))
    elif not result.tasks:
        say(shown, "no task kept: nothing written")
