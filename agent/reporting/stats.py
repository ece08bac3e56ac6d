"""`agent stats` (and the same sections in `agent report`): how the fallback router did over runs, and
the providers' rate limits and quotas, as tables for the terminal and the HTML report.

The sections are computed by `agent.reporting.stats_sections` (`read_facts`, `build_stats`, re-exported
here); which runs `agent stats` reads is `agent.cli.stats`'s choice; `agent report` reads the runs it names.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rich.console import Console
from rich.markup import escape

from agent.reporting.render import Col, print_table, say
from agent.reporting.stats_sections import build_stats as build_stats  # re-exported with read_facts, percentiles
from agent.reporting.stats_sections import percentiles as percentiles
from agent.reporting.stats_sections import read_facts as read_facts
from agent.reporting.stats_sections import reason_order

SPEND_TITLE = "API $ per model per day"
HOLDS_TITLE = "rate limits and quotas (providers held)"


class StatsTable(NamedTuple):
    """One table of the stats: plain-text cells (escape them for Rich or HTML), and advice to show under it."""

    title: str
    columns: list[Col]
    rows: list[list[str]]
    advice: tuple[str, ...] = ()  # lines to stand out under the table


def money_cell(row: dict[str, Any]) -> str:
    """API $ of some calls: `unpriced` when none was priced, and the unpriced ones named when some were;
    the failed calls billed at an uncertain cost counted after it."""
    if not row["calls"]:
        return "-"
    if row["api_cost_usd"] is None:
        return "unpriced"
    extra = f" +{row['unpriced_calls']} unpriced" if row["unpriced_calls"] else ""
    uncertain = f" ({row['uncertain_calls']} uncertain)" if row.get("uncertain_calls") else ""
    return f"${row['api_cost_usd']:.4f}{extra}{uncertain}"


def seconds_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _rate_table(title: str, key: str, rows: list[dict[str, Any]]) -> StatsTable:
    columns = [
        Col(key.replace("_", " ")),
        Col("finished attempts", right=True),
        Col("fell back", right=True),
        Col("rate", right=True),
        Col("fallbacks", right=True, drop=True),
        Col("reasons", wrap=True, drop=True),
    ]
    cells = [
        [
            str(row[key]),
            str(row["attempts"]),
            str(row["with_fallback"]),
            f"{row['fallback_rate']:.0%}",
            str(row["fallbacks"]),
            ", ".join(f"{reason}={count}" for reason, count in row["reasons"].items()) or "-",
        ]
        for row in rows
    ]
    return StatsTable(title, columns, cells)


def spend_table(spend: dict[str, Any]) -> StatsTable:
    """Days down, models across, with the total of each day and of each model."""
    models = [row["model"] for row in spend["by_model"]]
    cells = {(row["day"], row["model"]): row for row in spend["by_day"]}
    lines = [
        [row["day"], *(money_cell(cells.get((row["day"], model), {"calls": 0})) for model in models), money_cell(row)]
        for row in spend["days"]
    ]
    lines.append(["total", *(money_cell(row) for row in spend["by_model"]), money_cell(spend["total"])])
    columns = [Col("day (UTC)"), *(Col(model, right=True) for model in models), Col("total", right=True)]
    return StatsTable(SPEND_TITLE, columns, lines)


def validation_table(rows: list[dict[str, Any]]) -> StatsTable:
    reasons = reason_order(reason for row in rows for reason in row["by_reason"])
    columns = [
        Col("model"),
        Col("replies", right=True),
        Col("invalid", right=True),
        Col("rate", right=True),
        *(Col(reason, right=True, drop=not any(row["by_reason"].get(reason) for row in rows)) for reason in reasons),
    ]
    cells = [
        [
            row["model"],
            str(row["replies"]),
            str(row["invalid"]),
            f"{row['invalid_rate']:.0%}",
            *(str(row["by_reason"].get(reason, 0)) for reason in reasons),
        ]
        for row in rows
    ]
    return StatsTable("validation failures by reason per model (the model that replied)", columns, cells)


def latency_tables(rows: list[dict[str, Any]]) -> list[StatsTable]:
    def quantiles(stats: dict[str, Any]) -> list[str]:
        return [str(stats["n"]), *(seconds_cell(stats[name]) for name in ("p50", "p90", "p99"))]

    heads = [Col("n", right=True), Col("p50", right=True), Col("p90", right=True), Col("p99", right=True)]
    calls = [[row["model"], *quantiles(row["call_s"])] for row in rows if row["call_s"]["n"]]
    turns = [
        [row["model"], *quantiles(row["turn_s"]), str(row["hop_turn_s"]["n"]), seconds_cell(row["hop_turn_s"]["p50"])]
        for row in rows
        if row["turn_s"]["n"]
    ]
    hop = [Col("with a hop n", right=True), Col("hop p50", right=True)]
    tables = []
    if calls:
        tables.append(StatsTable("model call time (s) per model", [Col("model"), *heads], calls))
    if turns:
        title = "turn latency (s) per primary model, invalid replies and fallback hops included"
        tables.append(StatsTable(title, [Col("primary model"), *heads, *hop], turns))
    return tables


def holds_table(rows: list[dict[str, Any]]) -> StatsTable:
    columns = [
        Col("provider"),
        Col("holds", right=True),
        Col("seconds waited", right=True),
        Col("refusals", right=True),
        Col("quota stops", right=True),
        Col("rate-limit pauses", right=True),
    ]
    cells = [
        [
            row["provider"],
            str(row["holds"]),
            f"{row['waited_s']:.1f}",
            str(row["refusals"]),
            str(row["quota_stops"]),
            str(row["rate_limit_pauses"]),
        ]
        for row in rows
    ]
    return StatsTable(HOLDS_TITLE, columns, cells)


def stats_tables(data: dict[str, Any]) -> list[StatsTable]:
    rates = data["fallback_rate"]
    tables = []
    if rates["by_task_type"]:
        tables.append(_rate_table("fallback rate by task type", "task_type", rates["by_task_type"]))
        by_model = _rate_table("fallback rate by primary model", "model", rates["by_model"])
        tables.append(by_model._replace(advice=tuple(line["text"] for line in rates["advice"])))
    if data["spend"]["by_day"]:
        tables.append(spend_table(data["spend"]))
    if data["validation_failures"]:
        tables.append(validation_table(data["validation_failures"]))
    holds = [holds_table(data["rate_limits"])] if data.get("rate_limits") else []
    return tables + latency_tables(data["latency"]) + holds


def stats_notes(data: dict[str, Any]) -> list[str]:
    """What the tables cannot say: the sections with nothing to show, and thin data."""
    rates, notes = data["fallback_rate"], []
    if not rates["by_task_type"]:
        notes.append("fallback rate: no finished attempts in these runs")
    elif rates["thin_cells"]:
        notes.append(
            f"advice needs {data['min_attempts']} finished attempts of a task type on a model:"
            f" {rates['thin_cells']} such cell(s) have fewer"
        )
    if not data["spend"]["by_day"]:
        notes.append("API $: no model calls in these runs")
    if any(row["unsettled_calls"] for row in data["spend"]["by_model"]):
        notes.append("API $ counts calls that never settled at the worst case reserved for them")
    if data["spend"]["total"].get("uncertain_calls"):
        notes.append(
            "uncertain: failed calls billed at the input the provider counted before the failure, or at the"
            " worst case reserved when nothing was known; the provider's bill may be lower"
        )
    if not data["latency"]:
        notes.append("latency: no settled model calls in these runs")
    return notes


def is_empty(data: dict[str, Any]) -> bool:
    return not data["fallback_rate"]["by_task_type"] and not data["spend"]["by_day"]


def print_stats(console: Console, data: dict[str, Any]) -> None:
    for table in stats_tables(data):
        rows = [[escape(cell) for cell in row] for row in table.rows]
        print_table(console, escape(table.title), table.columns, rows)
        for line in table.advice:
            say(console, f"[bold yellow]advice:[/] {escape(line)}")
    for note in stats_notes(data):
        say(console, f"[dim]{escape(note)}[/]")
