"""The `resume` command: a paused run goes on with more granted (`agent resume RUN --max-cost NEW`).

A fix paused at its cap goes on where it stopped (`agent.wiring.resume`); a batch (bench or grid)
goes on as `agent bench --resume RUN` does, its paused issues where they stopped and its jobs not
yet done from the start, under the new batch cap. `register(app)` adds it to the `agent` CLI.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console

from agent.cli.checks import config_for, json_errors
from agent.core.errors import ConfigError
from agent.core.events import ignore
from agent.ledger import Ledger


def register(app: typer.Typer) -> None:
    app.command()(resume)


@json_errors
def resume(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The paused run (`agent runs` lists them).")],
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", min=0, help="The new cap in USD: the issue's for a fix, the batch's for a bench."),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="A batch's jobs at once.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Continue a paused run where it stopped, with more granted (--max-cost)."""
    config = config_for(ctx)
    ledger = Ledger(config.ledger_path)
    try:
        run = ledger.run(run_id)
    finally:
        ledger.close()
    if run is None:
        raise ConfigError(f"no run {run_id} in {config.ledger_path}: `agent runs` lists the run ids")
    cap = None if max_cost is None else Decimal(str(max_cost))
    if run.kind in ("bench", "grid"):
        from agent.bench.jobs import BenchOptions
        from agent.cli.bench import run_and_report

        options = BenchOptions(resume=run_id, batch_max_cost=cap, workers=workers or 1, ledger=config.ledger_path)
        run_and_report(options, as_json, no_tui=True)
        return
    if run.kind != "fix":
        raise ConfigError(f"run {run_id} is a {run.kind} run: only fix, bench and grid runs pause and resume")
    from agent.cli.fix_result import finish_fix
    from agent.reporting.render import EventPrinter
    from agent.wiring.resume import resume_fix

    printer = ignore if as_json else EventPrinter(Console())
    result, failure = resume_fix(run_id, cap, config, os.environ, printer)
    finish_fix(result, failure, as_json)
