"""The `stats` command (how the fallback router did); `register(app)` adds it to the `agent` CLI.

Which runs it reads: the RUN_IDs named, else every run created on or after `--since` DATE (UTC
midnight), else the runs created in the last DEFAULT_DAYS days; every kind of run counts (fix,
bench, grid, demo). The sections are `agent.reporting.stats`'s.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from agent.cli.checks import config_for, json_errors, open_ledger
from agent.core.errors import ConfigError
from agent.ledger import Ledger
from agent.reporting.render import say

DEFAULT_DAYS = 30
"""Without RUN_IDs or --since: the runs created in the last 30 days."""
SINCE_HELP = f"Every run created on or after this UTC day, YYYY-MM-DD (default: the last {DEFAULT_DAYS} days)."
_EVERY_RUN = 1_000_000  # `Ledger.runs` takes a limit: more runs than any ledger holds


def parse_since(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"--since {text!r} is not a date: give a UTC day as YYYY-MM-DD, e.g. 2026-01-31") from None


def select_runs(ledger: Ledger, run_ids: list[str], since: date | None, now: float) -> tuple[list[str], str]:
    """The runs to read (named: in that order; else oldest first), and how they were chosen."""
    if run_ids and since is not None:
        raise ConfigError("give RUN_IDs or --since, not both")
    for run_id in run_ids:
        if ledger.run(run_id) is None:
            raise ConfigError(f"no run {run_id} in {ledger.path}: `agent runs` lists the run ids (or check --ledger)")
    if run_ids:
        named = list(dict.fromkeys(run_ids))
        return named, f"runs {', '.join(named)}"
    start = since or datetime.fromtimestamp(now, tz=UTC).date() - timedelta(days=DEFAULT_DAYS)
    cutoff = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    runs = [run.id for run in reversed(ledger.runs(limit=_EVERY_RUN)) if run.created_at >= cutoff]
    return runs, f"runs created since {start.isoformat()} (UTC)"


def register(app: typer.Typer) -> None:
    app.command()(stats)


@json_errors
def stats(
    ctx: typer.Context,
    run_ids: Annotated[list[str] | None, typer.Argument(help="Runs to read (default: see --since).")] = None,
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fallback rate per task type and model (with advice), API $ per model per day, validation failures
    by reason and latency percentiles per model."""
    from agent.reporting.stats import build_stats, is_empty, print_stats, read_facts

    config = config_for(ctx, Path.cwd())
    day = None if since is None else parse_since(since)
    ledger = open_ledger(config)
    try:
        runs, chosen = select_runs(ledger, run_ids or [], day, time.time())
        data = build_stats(read_facts(ledger, runs), config, chosen)
    finally:
        ledger.close()
    nothing = None
    if not runs:
        nothing = f"no {chosen} in {config.ledger_path}: name runs (agent stats RUN_ID ...) or an earlier --since"
    elif is_empty(data):
        nothing = f"nothing to show yet: {chosen} made no model calls"
    if as_json:
        print(json.dumps({**data, "note": nothing}))
        return
    console = Console()
    if nothing:
        say(console, escape(nothing))
        return
    say(console, f"[bold]{escape(chosen)}[/]")
    print_stats(console, data)
