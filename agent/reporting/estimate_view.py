"""Estimates before spending, on the terminal: one issue's (`agent fix --estimate`, `agent plan`), a
batch's per task and in total (`agent bench --estimate`), and the words of `--approve-above`.

Money reads "unpriced" when a model has no price, never $0; every interval is the 80% one over the
planner's posterior draws (`agent.learning.ladder_estimate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.console import Console
from rich.markup import escape

from agent.core.effort import compact_ladder
from agent.learning.ladder_estimate import Estimate, Interval
from agent.reporting.render import columns, print_table, say

TOTAL_MEANS = "API $ + review $, V not included"
"""What an estimate's total is, and what `--approve-above` compares."""


def usd(value: Interval | None, places: int = 4) -> str:
    """An expected $ with its 80% interval, or "unpriced"."""
    if value is None:
        return "unpriced"
    return f"${value.mean:.{places}f} (80%: ${value.low:.{places}f}-${value.high:.{places}f})"


def share(value: Interval) -> str:
    return f"{value.mean:.0%} (80%: {value.low:.0%}-{value.high:.0%})"


def total_text(estimate: Estimate) -> str:
    """The expected total in one phrase, unpriced models named."""
    if estimate.total_usd is None:
        known = estimate.known_usd.mean
        return f"unpriced ({', '.join(estimate.unpriced)} unpriced; the priced part ${known:.2f})"
    return f"${estimate.total_usd.mean:.2f}"


def print_estimate(console: Console, estimate: Estimate) -> None:
    """One issue's estimate: API $, review, total and P(solved), each with its interval, and the basis."""
    ladder = compact_ladder(estimate.ladder) if estimate.ladder else "-"
    say(console, f"[bold]estimate[/] ({estimate.policy}) for [cyan]{escape(ladder)}[/]:")
    lines = [
        f"  API           {usd(estimate.api_usd)}",
        f"  review        {estimate.review_minutes.mean:.1f} min, {usd(estimate.review_usd, 2)}",
        f"  total         {usd(estimate.total_usd, 2)} ({TOTAL_MEANS})",
        f"  P(solved)     {share(estimate.p_solved)}",
    ]
    for line in lines:
        say(console, escape(line))
    _print_notes(console, estimate)


def _print_notes(console: Console, estimate: Estimate) -> None:
    say(console, f"[dim]{escape(estimate.basis)}[/]")
    for note in estimate.notes:
        say(console, f"[yellow]note:[/] {escape(note)}")
    if estimate.unpriced:
        say(console, f"[yellow]note:[/] {escape(', '.join(estimate.unpriced))} unpriced: their API $ are unknown")


def print_batch_estimate(console: Console, rows: Sequence[tuple[str, Estimate]], total: Estimate) -> None:
    """A batch's estimate: one row per task, then the total (intervals summed draw by draw)."""
    table = []
    for key, estimate in rows:
        api = "unpriced" if estimate.api_usd is None else f"{estimate.api_usd.mean:.4f}"
        whole = "unpriced" if estimate.total_usd is None else f"{estimate.total_usd.mean:.2f}"
        table.append(
            [
                escape(key),
                escape(estimate.task_type),
                escape(compact_ladder(estimate.ladder)),
                api,
                f"{estimate.review_minutes.mean:.1f}",
                whole,
                f"{estimate.p_solved.mean:.0%}",
            ]
        )
    shown = columns(
        "task", "type", "ladder", "API $", "review min", "total $", "P(solved)",
        right={"API $", "review min", "total $", "P(solved)"}, drop={"type"}, wrap={"ladder"},
    )  # fmt: skip
    print_table(console, f"estimate ({total.policy}), {total.issues} task(s), no run created", shown, table)
    say(console, "[bold]batch total:[/]")
    for line in (
        f"  API           {usd(total.api_usd, 2)}",
        f"  review        {total.review_minutes.mean:.0f} min, {usd(total.review_usd, 2)}",
        f"  total         {usd(total.total_usd, 2)} ({TOTAL_MEANS})",
        f"  solved        {total.p_solved.mean:.1f} of {total.issues}"
        f" (80%: {total.p_solved.low:.1f}-{total.p_solved.high:.1f})",
    ):
        say(console, escape(line))
    _print_notes(console, total)


def approval_question(estimate: Estimate, threshold: Decimal) -> str:
    """What `--approve-above` asks on a terminal."""
    return f"Estimated {total_text(estimate)} ({TOTAL_MEANS}), above ${threshold}: proceed?"


def refusal(estimate: Estimate, threshold: Decimal) -> str:
    """The one line `--approve-above` says without a terminal (exit 2)."""
    unpriced = " (or --allow-unpriced to compare the priced part)" if estimate.total_usd is None else ""
    return (
        f"estimated {total_text(estimate)} ({TOTAL_MEANS}) is above --approve-above ${threshold} and there is"
        f" no terminal to ask: nothing was run; pass --yes to run anyway{unpriced}, or raise the threshold"
    )
