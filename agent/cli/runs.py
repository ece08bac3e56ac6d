"""The `runs` command (the ledger's recent runs, newest first, with their ids for `agent report`,
`agent review`, `agent tui`, `agent stats` and `agent bench --resume`); `register(app)` adds it to
the `agent` CLI. `latest_run` is what those commands read when no run id is given.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from agent.cli.checks import config_for, json_errors, open_ledger
from agent.core.errors import ConfigError
from agent.ledger import Ledger, RunRow
from agent.reporting.render import columns, print_table, say

SOURCE = "issue or suite"
"""The runs table's low-value column: what a run was given."""


def latest_run(ledger: Ledger) -> str:
    """The id of the ledger's newest run; a ledger without runs is bad input that says what to run."""
    runs = ledger.runs(limit=1)
    if not runs:
        raise ConfigError(f"{ledger.path} has no runs yet: run `agent fix`, `agent bench` or `agent demo` first")
    return runs[0].id


def run_summary(ledger: Ledger, run: RunRow) -> dict[str, Any]:
    """One run as `agent runs` shows it: what it ran and how many of its issues were solved."""
    issues = ledger.issues(run.id)
    options = run.args.get("options") or {}
    return {
        "run_id": run.id,
        "kind": run.kind,
        "status": run.status,
        "created_utc": datetime.fromtimestamp(run.created_at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "issues": len(issues),
        # a mining run's issues are its classifier's calls, not fixes: nothing there is solved or not
        "solved": None if run.kind == "mine" else sum(issue.status == "solved" for issue in issues),
        "source": run.args.get("issue") or options.get("resume") or options.get("suite"),
    }


def register(app: typer.Typer) -> None:
    app.command()(runs)


@json_errors
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """List the ledger's recent runs, newest first: id, kind, status, when, issues solved."""
    config = config_for(ctx, Path.cwd())
    ledger = open_ledger(config)
    try:
        rows = [run_summary(ledger, run) for run in ledger.runs(limit=limit)]
    finally:
        ledger.close()
    if as_json:
        print(json.dumps(rows))
        return
    console = Console()
    if not rows:
        say(console, escape(f"no runs in {config.ledger_path} yet: run `agent fix`, `agent bench` or `agent demo`"))
        return
    shown = columns("run", "kind", "status", "created (UTC)", "solved", SOURCE, right={"solved"}, drop={SOURCE})
    cells = [
        [
            escape(row["run_id"]),
            row["kind"],
            row["status"],
            row["created_utc"],
            "-" if row["solved"] is None else f"{row['solved']}/{row['issues']}",
            escape(str(row["source"] or "-")),
        ]
        for row in rows
    ]
    print_table(console, f"runs in {escape(str(config.ledger_path))}, newest first", shown, cells)
