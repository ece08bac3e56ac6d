"""The `bench` and `report` commands; `register(app)` adds them to the `agent` CLI."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from agent.bench.progress import BenchProgress
from agent.cli.approval import ApproveAboveFlag, EstimateFlag, YesFlag, approve
from agent.cli.checks import (
    AllowUnpricedFlag,
    EffortFlag,
    FallbackFlag,
    ImageFlag,
    ModelFlag,
    NoTuiFlag,
    SandboxFlag,
    SetupFlag,
    check_ladder,
    check_model,
    config_for,
    ensure_image,
    has_terminal,
    html_file,
    json_errors,
    open_ledger,
    positive_cost,
    run_flags,
)
from agent.core.config import AgentConfig
from agent.core.errors import ConfigError
from agent.reporting.estimate_view import print_batch_estimate
from agent.reporting.render import say
from agent.wiring.options import load_run_config

if TYPE_CHECKING:
    from agent.bench.estimate import BatchEstimate
    from agent.bench.jobs import BenchOptions

GRID_HELP = "Every task at every rung, no escalation: MODEL[,MODEL...]@EFFORT[,EFFORT...] (repeatable)."
POLICY_HELP = (
    "A policy to evaluate offline on grid runs (repeatable): [NAME=]MODEL@EFFORT[,...] (`m@low*2` repeats a rung),"
    " `planner` (or `rules`: the task type's ladder), or `learned` (the learned planner, cross-validated by task:"
    " see --folds)."
)
HOURLY_RATE_HELP = "Price review time at this USD rate per hour (what-if) instead of each run's recorded rate."
UNSOLVED_COST_HELP = (
    "Price an issue left unsolved at this many USD (V, what-if) in the total with V and the learned policy,"
    " instead of [planner] unsolved_cost / unsolved_hours."
)
FOLDS_HELP = "Folds of the `learned` policy's cross-validation by task: each fold is fitted on the others."


def register(app: typer.Typer) -> None:
    app.command()(bench)
    app.command()(report)


@json_errors
def bench(
    ctx: typer.Context,
    suite: Annotated[str | None, typer.Argument(help="builtin, a .jsonl/.json task file or a directory.")] = None,
    ladder: Annotated[str | None, typer.Option("--ladder", help="Exact rungs for every task: MODEL@EFFORT,...")] = None,
    model: ModelFlag = None,
    effort: EffortFlag = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="rules (the task type's ladder) or learned (the ledger's choice).")
    ] = None,
    grid: Annotated[list[str] | None, typer.Option("--grid", help=GRID_HELP)] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Tasks run at once.")] = 1,
    executor: Annotated[str, typer.Option("--executor", help="local (threads) or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Ray cluster address.")] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", callback=positive_cost, help="API cap in USD for the whole batch.")
    ] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Id for the new run.")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Continue this run (reruns infra errors).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N tasks.")] = None,
    ids: Annotated[str | None, typer.Option("--ids", help="Only these instance ids: ID,ID,...")] = None,
    sandbox: SandboxFlag = None,
    image: ImageFlag = None,
    setup: SetupFlag = None,
    fallback: FallbackFlag = None,
    allow_unpriced: AllowUnpricedFlag = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the final JSON object.")] = False,
    no_tui: NoTuiFlag = False,
    estimate: EstimateFlag = False,
    approve_above: ApproveAboveFlag = None,
    yes: YesFlag = False,
) -> None:
    """Run a suite of tasks N at a time; write predictions.jsonl and report.json; report cost per solved."""
    from agent.bench.jobs import BenchOptions

    if suite is None and resume is None:
        raise ConfigError("name a SUITE (builtin, a task file or a directory), or --resume RUN_ID")
    if executor not in ("local", "ray"):
        raise ConfigError(f"unknown executor {executor!r}: use local or ray")
    options = BenchOptions(
        **run_flags(ctx, ladder, model, effort, policy, fallback, sandbox, image, setup, allow_unpriced),
        suite=suite or "builtin",
        grid=grid or [],
        workers=workers,
        executor=executor,
        ray_address=ray_address,
        batch_max_cost=None if max_cost is None else Decimal(str(max_cost)),
        run_id=run_id,
        resume=resume,
        limit=limit,
        ids=[part.strip() for part in (ids or "").split(",") if part.strip()],
    )
    run_and_report(options, as_json, no_tui, Approval(estimate=estimate, above=approve_above, yes=yes))


class Approval(BaseModel):
    """`--estimate`, `--approve-above` and `--yes`: what happens before the batch spends anything."""

    estimate: bool = False
    above: float | None = None
    yes: bool = False


def run_and_report(options: BenchOptions, as_json: bool, no_tui: bool, approval: Approval | None = None) -> None:
    """The batch run with the configuration read once (from here, the flags on top), its ladder and
    model checked, its estimate approved and its image built first; in the TUI in a terminal, else with
    a progress line. With --estimate: the estimate alone, no run created."""
    config = load_run_config(options, Path.cwd())
    check_ladder(options.ladder, config)
    check_model(options.model, config)
    console = Console(stderr=True) if as_json else Console()
    approval = approval or Approval()
    if approval.estimate or approval.above is not None:
        from agent.bench.estimate import estimate_batch

        expected = estimate_batch(options, config, os.environ)
        if approval.estimate:
            _print_batch_estimate(expected, as_json)
            return
        approve(expected.total, approval.above, approval.yes, options.allow_unpriced, console)
    ensure_image(config, options.sandbox, console, options.image)
    if not as_json and not no_tui and has_terminal():
        result = bench_in_tui(options, config, console)
    else:
        result = bench_plain(options, config, console, as_json, no_tui)
    if as_json:
        print(json.dumps(result))
        return
    console.print(
        f"[bold]{result['resolved']}/{result['instances']} resolved[/]  API ${result['api_cost_usd']:.4f}"
        f" + review {result['review_minutes']:g} min = ${result['total_cost_usd']:.4f}"
        f"  per solved: {_usd(result['cost_per_solved_usd'])}"
    )
    say(console, f"predictions {escape(str(result['predictions_path']))}")


def bench_in_tui(options: BenchOptions, config: AgentConfig, console: Console) -> dict[str, Any]:
    """The batch with the batch view on screen; the planner's notes are said after it closes."""
    from agent.bench.run import run_bench
    from tui.launch import run_in_tui

    notes: list[str] = []
    try:
        return run_in_tui(
            lambda on_event, stop: run_bench(
                options, config, os.environ, _nothing, _nothing, on_event, stop, notes.append
            ),
            config.ledger_path,
            config.review,
            batch=True,
        )
    finally:
        for text in notes:
            console.print(f"[yellow]note:[/] {text}", highlight=False)


def bench_plain(
    options: BenchOptions, config: AgentConfig, console: Console, as_json: bool, no_tui: bool
) -> dict[str, Any]:
    """The batch with a progress bar in a terminal, else a line per job (--json: all of it on stderr)."""
    from agent.bench.run import run_bench

    shown = BenchProgress(console, live=console.is_terminal and not no_tui and not as_json)
    # --json: stdout holds only the result; what libraries print there (Ray's worker errors) goes to stderr
    chatter = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    try:
        with chatter:
            return run_bench(
                options,
                config,
                os.environ,
                shown.done,
                shown.start,
                note=lambda text: console.print(f"[yellow]note:[/] {text}", highlight=False),
            )
    finally:
        shown.stop()


def _print_batch_estimate(expected: BatchEstimate, as_json: bool) -> None:
    if as_json:
        print(json.dumps(expected.as_data()))
    else:
        print_batch_estimate(Console(), [(job.key, job.estimate) for job in expected.jobs], expected.total)


def _nothing(*_args: object) -> None:
    """Progress sink for runs the TUI watches through the ledger."""


def _usd(value: float | None) -> str:
    return "n/a (nothing solved)" if value is None else f"${value:.4f}"


@json_errors
def report(
    ctx: typer.Context,
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Runs to report on (bench, grid or fix; default: the latest run; `agent runs` lists them)."
        ),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Group by model, effort, rung, task_type or policy.")] = "rung",
    policy: Annotated[list[str] | None, typer.Option("--policy", help=POLICY_HELP)] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", callback=html_file, help="Write a self-contained HTML report to this file."),
    ] = None,
    hourly_rate: Annotated[float | None, typer.Option("--hourly-rate", min=0, help=HOURLY_RATE_HELP)] = None,
    unsolved_cost: Annotated[
        float | None, typer.Option("--unsolved-cost", min=0, metavar="USD", help=UNSOLVED_COST_HELP)
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help=FOLDS_HELP)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Cost per solved issue per group, and offline evaluation of escalation policies on grid runs."""
    from agent.cli.runs import latest_run
    from agent.reporting.report import build_report, policy_specs, print_report

    config = config_for(ctx, Path.cwd())
    policies = policy_specs(policy or [])  # bad policies are said before the runs are looked up
    ledger = open_ledger(config)
    try:
        rate = None if hourly_rate is None else Decimal(str(hourly_rate))
        value = None if unsolved_cost is None else Decimal(str(unsolved_cost))
        runs = run_ids or [latest_run(ledger)]
        data = build_report(ledger, runs, by, policies, config, hourly_rate=rate, unsolved_cost=value, folds=folds)
    finally:
        ledger.close()
    if html is not None:
        from agent.reporting.html import write_html

        write_html(data, html)
    if as_json:
        print(json.dumps(data))
    else:
        print_report(Console(), data)
        if html is not None:
            print(f"HTML report: {html}", file=sys.stdout)
