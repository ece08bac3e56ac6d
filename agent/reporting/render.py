"""Plain Rich output for terminals without the TUI (pipes, CI): a live event log and summaries.

Every table goes through `print_table`, which never cuts a cell: it prints the table at its
natural width when that fits the console (80 columns in a pipe), else drops the columns marked
low-value, else prints one `key: value` block per row. `say` wraps a line at spaces only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from agent.core.config import AgentConfig
from agent.core.effort import Rung, compact_ladder
from agent.core.errors import ConfigError
from agent.core.events import Event
from agent.engine.verdict import name_list
from agent.providers import resolve_model
from agent.providers.pricing import format_usd

_UNLIMITED = 100_000
"""Width to measure a table at when asking how wide it wants to be."""


class Col(NamedTuple):
    """One column of `print_table`."""

    header: str
    right: bool = False
    drop: bool = False
    """Low value: left out (and named in a note) when the full table does not fit."""
    wrap: bool = False
    """Prose that may wrap at spaces; every other column keeps each cell on one line."""


def columns(
    *headers: str, right: Collection[str] = (), drop: Collection[str] = (), wrap: Collection[str] = ()
) -> list[Col]:
    """One column per header, right-aligned, low-value or wrapping where `right`, `drop` or `wrap` names it."""
    return [Col(header, header in right, header in drop, header in wrap) for header in headers]


def _breaks(plain: str, width: int) -> list[int]:
    """Offsets where `plain` wraps at `width`: only at spaces, so a long token stays whole."""
    offsets: list[int] = []
    start = 0
    for word in re.finditer(r"\S+", plain):
        before = plain[start : word.start()]
        if before.strip() and cell_len(plain[start : word.end()]) > width:
            offsets.append(word.start())
            start = word.start()
    return offsets


def say(console: Console, markup: str) -> None:
    """Print a line (Rich markup), wrapped at spaces to the console width; tokens are never split."""
    for line in Text.from_markup(markup).split("\n", allow_blank=True):
        for part in line.divide(_breaks(line.plain, console.width)):
            part.rstrip()
            console.print(part, soft_wrap=True)


def _needed_width(console: Console, columns: Sequence[Col], rows: Sequence[Sequence[str]], keep: list[int]) -> int:
    """The narrowest the table can be without cutting a cell: prose columns wrapped at spaces, every other
    cell and header whole (Rich measures text by its longest word, so their spaces are held for this)."""

    def held(markup: str, column: Col) -> Text:
        text = Text.from_markup(markup)
        return text if column.wrap else Text(text.plain.replace(" ", "x"))

    table = Table(expand=False)
    for index in keep:
        table.add_column(held(columns[index].header, columns[index]), no_wrap=not columns[index].wrap)
    for row in rows:
        table.add_row(*(held(row[index], columns[index]) for index in keep))
    return Measurement.get(console, console.options.update_width(_UNLIMITED), table).minimum


def _build(columns: Sequence[Col], rows: Sequence[Sequence[str]], keep: list[int]) -> Table:
    table = Table(expand=False)
    for index in keep:
        column = columns[index]
        justify: JustifyMethod = "right" if column.right else "left"
        table.add_column(column.header, justify=justify, no_wrap=not column.wrap, overflow="fold")
    for row in rows:
        table.add_row(*(row[index] for index in keep))
    return table


def _print_blocks(console: Console, columns: Sequence[Col], rows: Sequence[Sequence[str]]) -> None:
    for row in rows:
        first, *rest = zip(columns, row, strict=True)
        say(console, f"[bold]{escape(first[0].header)}:[/] {first[1]}")
        for column, value in rest:
            say(console, f"  {escape(column.header)}: {value}")


def print_table(console: Console, title: str, columns: Sequence[Col], rows: Sequence[Sequence[str]]) -> None:
    """`rows` (Rich markup cells) as a table if it fits the console, else as `key: value` blocks."""
    everything = list(range(len(columns)))
    essential = [index for index, column in enumerate(columns) if not column.drop]
    for keep in (everything, essential) if len(essential) < len(everything) else (everything,):
        if _needed_width(console, columns, rows, keep) > console.width:
            continue
        table = _build(columns, rows, keep)
        if Text.from_markup(title).cell_len <= min(console.width, console.measure(table).maximum):
            table.title = title
        elif title:
            say(console, f"[bold]{title}[/]")
        console.print(table)
        if hidden := [columns[index].header for index in everything if index not in keep]:
            say(console, f"[dim]not shown at this width: {escape(', '.join(hidden))} (see --json)[/]")
        return
    if title:
        say(console, f"[bold]{title}[/]")
    _print_blocks(console, columns, rows)


def _one_line(text: str, limit: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _issue_started(data: dict[str, Any]) -> str:
    return "\n".join(
        (
            f"[bold]{escape(data['title'])}[/]",
            f"  task type [cyan]{data['task_type']}[/] ({escape(data['reason'])}, by {data['decided_by']})",
            f"  repo {escape(data['repo'])}  tests [cyan]{escape(data['test_cmd'])}[/]",
            f"  ladder {' → '.join(data['ladder'])}",
        )
    )


def _attempt_started(data: dict[str, Any]) -> str:
    return (
        f"[bold blue]▶ attempt {data['rung_index'] + 1}[/]: {data['model']} @ {data['effort']}"
        f" (sent {data['effort_sent']}, up to {data['max_turns']} turns)"
    )


def _tool_call(data: dict[str, Any]) -> str:
    detail = data["input"].get("command") or data["input"].get("path") or ""
    return f"  [dim]{data['turn']:>3}[/] {data['name']}: {escape(_one_line(str(detail), 100))}"


def _tests(data: dict[str, Any]) -> str:
    mark = "[green]PASS[/]" if data["passed"] else "[red]FAIL[/]"
    return f"  tests {mark} {escape(data['why'])}"


def _validation_failed(data: dict[str, Any]) -> str:
    text = data.get("text") or f"invalid reply ({data.get('reason')})"
    return f"  [dim]{escape(_one_line(text, 200))}[/]"


def _context_note(data: dict[str, Any]) -> str:
    return f"  [cyan]{escape(_one_line(data.get('text', ''), 200))}[/]"


def _attempt_finished(data: dict[str, Any]) -> str:
    fell = len(data.get("fallbacks") or [])
    after = f" ({fell} fallback(s))" if fell else ""
    return f"  attempt ended: {data['outcome']} after {data['turns']} turn(s){after}"


EVENT_LINES: dict[str, Callable[[dict[str, Any]], str]] = {
    "issue_started": _issue_started,
    "decision": lambda data: f"  planner: {escape(decision_line(data))}",
    "environment_progress": lambda data: f"  [dim]environment: {escape(_one_line(data['text']))}[/]",
    "environment": lambda data: f"  environment: {escape(data['text'])}",
    "baseline": lambda data: f"  baseline: {escape(data['summary'])}",
    "baseline_note": lambda data: f"  [yellow]baseline:[/] {escape(data['text'])}",
    "attempt_started": _attempt_started,
    "plan": lambda data: f"  [magenta]plan[/] {escape(_one_line(data['text'], 300))}",
    "tool_call": _tool_call,
    "tests": _tests,
    "validation_failed": _validation_failed,
    "context_masked": _context_note,
    "context_summarised": _context_note,
    "fallback": lambda data: (
        f"[bold yellow]⤳ fallback:[/] [yellow]{escape(data.get('text') or fallback_line(data))}[/]"
    ),
    "attempt_abandoned": lambda data: f"[bold yellow]⤳ abandoned:[/] [yellow]{escape(data.get('text', ''))}[/]",
    "attempt_finished": _attempt_finished,
    "rung_skipped": lambda data: f"[yellow]  skipped {data['rung']}: {data['reason']}[/]",
    "escalation": lambda data: f"[yellow]↑ escalating to {data['rung']}[/]",
    "warning": lambda data: f"[yellow]warning:[/] {escape(data['text'])}",
    "provider_held": lambda data: f"[bold yellow]⏸ {escape(data['text'])}[/]",
    "provider_released": lambda data: f"[green]▶ {escape(data['text'])}[/]",
    "provider_paused": lambda data: f"[bold red]⏸ {escape(data['text'])}[/]",
}
"""The line (Rich markup) each kind of event prints as; kinds not named here print nothing."""


class EventPrinter:
    """Prints each event of a run as a short line (no streaming deltas: the assistant text once)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: Event) -> None:
        line = EVENT_LINES.get(event.kind)
        if line is not None:
            say(self.console, line(event.data))


def fallback_line(fallback: dict[str, Any]) -> str:
    """A fallback as `from → to (reason)`, when an event or result carries no ready-made text."""
    return f"{fallback.get('from')} → {fallback.get('to')} ({fallback.get('reason')})"


FIX_COLUMNS = (
    Col("attempt", right=True),
    Col("rung"),
    Col("sent"),
    Col("outcome"),
    Col("tests"),
    Col("turns", right=True),
    Col("input", right=True),
    Col("cached", right=True),
    Col("cache write", right=True),
    Col("output", right=True),
    Col("API $", right=True),
    Col("review min", right=True),
    Col("time s", right=True),
)


def _review_cell(attempt: dict[str, Any]) -> str:
    """Review minutes and where they come from: measured, estimated, or why none were billed."""
    if attempt["review_measured"]:
        return f"{attempt['review_minutes']:g}"
    if not attempt.get("review_billed", True):
        return f"0 ({attempt.get('review_reason', 'not billed')})"
    return f"{attempt['review_minutes']:g} (est)"


def print_fix_summary(console: Console, result: dict[str, Any]) -> None:
    rows = [
        [
            str(number),
            escape(f"{attempt['model']}@{attempt['effort']}"),
            attempt["effort_sent"] or "-",
            attempt["outcome"] or "-",
            "pass" if attempt["tests_passed"] else "fail",
            str(attempt["turns"]),
            str(attempt["input_tokens"]),
            str(attempt["cache_read_tokens"]),
            str(attempt["cache_write_tokens"]),
            str(attempt["output_tokens"]),
            format_usd(attempt["api_cost_usd"]),
            _review_cell(attempt),
            f"{attempt['duration_s']:g}",
        ]
        for number, attempt in enumerate(result["attempts"], start=1)
    ]
    print_table(console, f"run {result['run_id']}", FIX_COLUMNS, rows)
    for number, attempt in enumerate(result["attempts"], start=1):
        for fallback in attempt.get("fallbacks", []):
            line = f"attempt {number}, turn {fallback['turn']}: fell back {fallback_line(fallback)}"
            say(console, f"[yellow]{escape(line)}[/]")
    status = result["status"]
    colour = {"solved": "green", "paused": "yellow"}.get(status, "red")
    say(console, f"[bold {colour}]{status}[/]  task type {result['task_type']}")
    if status == "paused" and result.get("error"):
        say(console, f"[yellow]{escape(result['error'])}[/]")
    if still := _still_failing(result["attempts"]):
        say(
            console,
            f"[yellow]not judged:[/] {len(still)} test(s) failed at the base commit and still fail "
            f"({escape(name_list(still))}); to judge by the tests about this issue only, pass them with --target",
        )
    if result["branch"]:
        say(console, f"branch [bold]{escape(result['branch'])}[/]")
        say(console, f"patch {escape(str(result['patch_path']))}")
    say(
        console,
        f"API {format_usd(result['api_cost_usd'])} + review {result['review_minutes']:g} min "
        f"({format_usd(result['review_cost_usd'])}) = total {format_usd(result['total_cost_usd'])}"
        + (" per solved issue" if result["solved"] else ""),
    )


def _still_failing(attempts: list[dict[str, Any]]) -> list[str]:
    """The tests that failed at the base and still failed after the last judged attempt."""
    verdicts = [attempt["verdict"] for attempt in attempts if attempt.get("verdict")]
    return list(verdicts[-1].get("still_failing") or []) if verdicts else []


def economics(config: AgentConfig) -> dict[str, Any]:
    """What the planner prices a plan at: the review rate and rule, and V with where it comes from."""
    planner, review = config.planner, config.review
    source = {
        "unsolved_cost": "[planner] unsolved_cost",
        "unsolved_hours": f"[planner] unsolved_hours = {planner.unsolved_hours or 0:g} x the hourly rate",
        "default": "the default; set [planner] unsolved_cost or unsolved_hours",
    }[planner.unsolved_from]
    return {
        "hourly_rate_usd": float(review.hourly_rate_usd),
        "review_bill": review.bill,
        "unsolved_usd": float(planner.unsolved_usd(review.hourly_rate_usd)),
        "unsolved_source": source,
    }


def print_plan(console: Console, data: dict[str, Any], config: AgentConfig) -> None:
    """`agent plan`: the task type and why, then one row per rung with what it sends and may spend."""
    say(console, f"task type [cyan]{data['task_type']}[/] ({escape(data['reason'])}; decided by {data['decided_by']})")
    rows = []
    for step, text in enumerate(data["ladder"], start=1):
        rung = Rung.parse(text)
        try:
            sent = resolve_model(rung.model, config).effort_for(rung.effort)[1]
        except ConfigError:
            sent = "-"  # a simulated model (oracle, null, scripted:...) sends nothing
        budget = config.budget_for(rung.effort)
        rows.append([str(step), escape(text), sent, str(budget.max_turns), str(budget.max_tokens)])
    shown = columns("step", "rung", "effort sent", "max turns", "max tokens", right={"step", "max turns", "max tokens"})
    print_table(console, f"ladder ({data['ladder_source']})", shown, rows)
    say(
        console,
        f"priced at: review ${data['hourly_rate_usd']:g}/h ({data['review_bill']}), an unsolved issue"
        f" V = ${data['unsolved_usd']:g} ({escape(data['unsolved_source'])})",
    )
    if data.get("decision"):
        print_decision(console, data["decision"])


def decision_line(decision: dict[str, Any]) -> str:
    """One line: who chose the ladder, on how much data, and what it expects (plain text)."""
    chosen = next((c for c in decision.get("candidates", []) if c["ladder"] == decision.get("ladder")), None)
    head = f"chosen by {decision.get('policy')} from {decision.get('measured_attempts', 0)} measured attempt(s)"
    if decision.get("chosen_by") != "learned":
        return f"{head}: {decision.get('note')}"
    if chosen is None:
        return head
    per_solved = chosen["usd_per_solved"]
    with_v = chosen.get("expected_total_usd")  # decisions recorded before V was priced have none
    return (
        f"{head}: P(solved) {chosen['p_solved']:.0%}, E[API $] {chosen['api_usd']:.4f}, "
        + ("" if with_v is None else f"E[total w/ V] {with_v:.2f}, ")
        + f"E[$ per solved] {_dollars(per_solved)}"
    )


def _dollars(value: float | None) -> str:
    """An expected $ to the cent; `-` when undefined (None, or infinite: nothing expected to be solved)."""
    return "-" if value is None or value == float("inf") else f"{value:.2f}"


def print_decision(console: Console, decision: dict[str, Any]) -> None:
    """The learned policy's candidates with their estimates, and where its data is thin."""
    say(console, escape(decision_line(decision)))
    rows = []
    candidates = decision.get("candidates", [])
    priced_v = bool(candidates) and all("expected_total_usd" in candidate for candidate in candidates)
    for candidate in candidates:
        mark = "→ " if candidate["ladder"] == decision.get("ladder") else ""
        row = [
            mark + escape(compact_ladder(candidate["ladder"])),
            f"{candidate['p_solved']:.0%}",
            f"{candidate['api_usd']:.4f}",
            f"{candidate['review_minutes']:.1f}",
        ]
        row += [_dollars(candidate["expected_total_usd"])] if priced_v else []
        rows.append([*row, _dollars(candidate["usd_per_solved"])])
    with_v = ("E[total w/ V]",) if priced_v else ()
    numbers = ("P(solved)", "E[API $]", "review min", *with_v, "E[$/solved]")
    shown = columns("ladder (→ chosen)", *numbers, right=numbers, drop={"review min"}, wrap={"ladder (→ chosen)"})
    if rows:
        print_table(console, f"candidates ({decision.get('task_type')})", shown, rows)
    chosen = next((c for c in decision.get("candidates", []) if c["ladder"] == decision.get("ladder")), None)
    thin = [rung["thin"] for rung in (chosen or {}).get("per_rung", []) if rung.get("thin")]
    for note in dict.fromkeys(thin):
        say(console, f"[yellow]thin data:[/] {escape(note)}")
