"""Meters: tokens (input / cached / output), API $ (the classifier's part too), budget used,
review $ (estimated and measured apart, and the attempts that bill none), total $.

Every value is a field of `agent.reporting.costs.CostSummary`, read from the ledger: the same numbers
`agent fix --json` prints.
"""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

from agent.reporting.costs import RUNNING, CostSummary


def usd(value: Decimal | None) -> str:
    return "unpriced" if value is None else f"${value:.4f}"


class Meters(Vertical):
    """Token and money meters for one issue."""

    summary: CostSummary | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="meter-lines")
        with Horizontal(id="budget-row"):
            yield Static("budget ", id="budget-label")
            yield ProgressBar(id="budget-bar", show_eta=False)
        yield Static(id="meter-totals")

    def on_mount(self) -> None:
        self.show(None, None)

    def show(self, summary: CostSummary | None, cap: str | None) -> None:
        self.summary = summary
        summary = summary or CostSummary()
        usage = summary.usage
        lines = Table.grid(expand=True, padding=(0, 1))
        lines.add_column(no_wrap=True)
        lines.add_column(justify="right", no_wrap=True, ratio=1)
        lines.add_row("tokens in", f"{usage.input_tokens:,}")
        lines.add_row("  cached", f"{usage.cache_read_tokens:,}")
        lines.add_row("tokens out", f"{usage.output_tokens:,}")
        unpriced = f" +{summary.unpriced_calls} unpriced" if summary.unpriced_calls else ""
        lines.add_row("API", usd(summary.api_cost_usd) + unpriced)
        if summary.classifier_calls:
            lines.add_row("  classifier", usd(summary.classifier_cost_usd))
        self.query_one("#meter-lines", Static).update(lines)
        bar = self.query_one("#budget-bar", ProgressBar)
        bar.display = cap is not None
        label = "budget no cap" if cap is None else f"budget ${Decimal(cap):.2f}"
        self.query_one("#budget-label", Static).update(label)
        if cap is not None:
            bar.update(total=float(Decimal(cap)) or None, progress=float(summary.api_cost_usd))
        totals = Table.grid(expand=True, padding=(0, 1))
        totals.add_column(no_wrap=True)
        totals.add_column(justify="right", no_wrap=True, ratio=1)
        for label, row in review_rows(summary):
            totals.add_row(label, row)
        totals.add_row(Text("total", style="bold"), Text(usd(summary.total_cost_usd), style="bold"))
        self.query_one("#meter-totals", Static).update(totals)


def review_rows(summary: CostSummary) -> list[tuple[str, str]]:
    """Estimated review time, measured review time (once a review is recorded) and the attempts
    that bill none (no change to review), each on its own line."""
    rows = [(f"review {summary.estimated_review_minutes:g} min est", usd(summary.review_cost_estimated_usd))]
    if summary.measured_review_minutes:
        rows.append((f"review {summary.measured_review_minutes:g} min measured", usd(summary.review_cost_measured_usd)))
    for reason, attempts in sorted(summary.review_not_billed.items()):
        if reason != RUNNING:  # not billed yet: it has no diff until it ends
            rows.append((f"  {reason}", f"{attempts} × 0 min"))
    return rows


def review_minutes(summary: CostSummary) -> str:
    """Billed review minutes in a few words, estimated and measured apart: "60 min est + 1.5 measured"."""
    text = f"{summary.estimated_review_minutes:g} min est"
    return text + (f" + {summary.measured_review_minutes:g} measured" if summary.measured_review_minutes else "")
