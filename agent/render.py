"""Plain Rich output for terminals without the TUI (pipes, CI): a live event log and summaries."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.events import Event
from agent.pricing import format_usd


def _one_line(text: str, limit: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class EventPrinter:
    """Prints each event of a run as a short line (no streaming deltas: the assistant text once)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: Event) -> None:
        data, say = event.data, self.console.print
        kind = event.kind
        if kind == "issue_started":
            say(f"[bold]{escape(data['title'])}[/]")
            say(f"  task type [cyan]{data['task_type']}[/] ({escape(data['reason'])}, by {data['decided_by']})")
            say(f"  repo {escape(data['repo'])}  tests [cyan]{escape(data['test_cmd'])}[/]")
            say(f"  ladder {' → '.join(data['ladder'])}")
        elif kind == "baseline":
            say(f"  baseline: {data['summary']}")
        elif kind == "attempt_started":
            say(
                f"[bold blue]▶ attempt {data['rung_index'] + 1}[/]: {data['model']} @ {data['effort']}"
                f" (sent {data['effort_sent']}, up to {data['max_turns']} turns)"
            )
        elif kind == "plan":
            say(f"  [magenta]plan[/] {escape(_one_line(data['text'], 300))}")
        elif kind == "tool_call":
            detail = data["input"].get("command") or data["input"].get("path") or ""
            say(f"  [dim]{data['turn']:>3}[/] {data['name']}: {escape(_one_line(str(detail), 100))}")
        elif kind == "tests":
            mark = "[green]PASS[/]" if data["passed"] else "[red]FAIL[/]"
            say(f"  tests {mark} {escape(data['why'])}")
        elif kind == "attempt_finished":
            say(f"  attempt ended: {data['outcome']} after {data['turns']} turn(s)")
        elif kind == "rung_skipped":
            say(f"[yellow]  skipped {data['rung']}: {data['reason']}[/]")
        elif kind == "escalation":
            say(f"[yellow]↑ escalating to {data['rung']}[/]")
        elif kind == "warning":
            say(f"[yellow]warning:[/] {escape(data['text'])}")


def print_fix_summary(console: Console, result: dict[str, Any]) -> None:
    table = Table(title=f"run {result['run_id']}", show_lines=False)
    for column in (
        "#",
        "rung",
        "outcome",
        "tests",
        "turns",
        "input",
        "cached",
        "output",
        "API $",
        "review min",
    ):
        table.add_column(column, justify="right" if column not in ("rung", "outcome") else "left")
    for number, attempt in enumerate(result["attempts"], start=1):
        table.add_row(
            str(number),
            f"{attempt['model']}@{attempt['effort']}",
            attempt["outcome"] or "-",
            "pass" if attempt["tests_passed"] else "fail",
            str(attempt["turns"]),
            str(attempt["input_tokens"]),
            str(attempt["cache_read_tokens"]),
            str(attempt["output_tokens"]),
            format_usd(attempt["api_cost_usd"]),
            f"{attempt['review_minutes']:g}{'' if attempt['review_measured'] else ' (est)'}",
        )
    console.print(table)
    status = result["status"]
    colour = "green" if status == "solved" else "red"
    console.print(f"[bold {colour}]{status}[/]  task type {result['task_type']}")
    if result["branch"]:
        console.print(f"branch [bold]{result['branch']}[/]  patch {result['patch_path']}")
    console.print(
        f"API {format_usd(result['api_cost_usd'])} + review {result['review_minutes']:g} min "
        f"({format_usd(result['review_cost_usd'])}) = total {format_usd(result['total_cost_usd'])}"
        + (" per solved issue" if result["solved"] else "")
    )
