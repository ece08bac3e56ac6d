"""The `agent` command: the composition root that wires config, planner, runner, ledger and sandboxes.

Only this module turns an AgentError into a red one-line message and an exit code:
0 solved, 1 not solved, 2 bad input or configuration, 3 provider or sandbox failure.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.exceptions import Abort, TyperException

from agent.cli import bench as bench_commands
from agent.cli import resume as resume_commands
from agent.cli import runs as runs_commands
from agent.cli import stats as stats_commands
from agent.cli.approval import ApproveAboveFlag, EstimateFlag, YesFlag, approve
from agent.cli.checks import (
    AllowUnpricedFlag,
    EffortFlag,
    FallbackFlag,
    ImageFlag,
    IssueArgument,
    IssueTextFlag,
    ModelFlag,
    NoTuiFlag,
    SandboxFlag,
    SetupFlag,
    check_issue_argument,
    check_ladder,
    check_model,
    config_for,
    ensure_image,
    has_terminal,
    json_errors,
    ledger_file,
    open_ledger,
    positive_cost,
    run_flags,
    state,
)
from agent.cli.environment import env_app
from agent.cli.fix_result import finish_fix, say_error
from agent.cli.sandbox import sandbox_app
from agent.cli.tasks import tasks_app
from agent.core.effort import EffortLevel
from agent.core.errors import AgentError, ConfigError, RunAbandoned
from agent.core.events import ignore
from agent.engine.planner import NoUsableModel, classify, plan_ladder
from agent.learning.ladder_estimate import Estimate
from agent.reporting.estimate_view import print_estimate
from agent.reporting.render import EventPrinter, economics, print_plan
from agent.wiring.estimates import PlannerModel, estimate_issue, opening_chars
from agent.wiring.factories import learned_if_asked, model_factory, policy_of, rung_fit
from agent.wiring.fix import FixOptions, prepare_fix, run_fix, say_left_out
from agent.wiring.options import load_run_config
from tasks.issues import read_issue

app = typer.Typer(
    name="agent",
    help="Fix issues in git repositories with a ladder of models and effort levels; report cost per solved issue.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        print(f"agent {version('agent-ladder')}")
        raise typer.Exit(0)


@app.callback()
def _global(
    ctx: typer.Context,
    ledger: Annotated[
        Path | None,
        typer.Option(
            "--ledger",
            callback=ledger_file,
            help="Ledger file (default $AGENT_HOME/ledger.sqlite); its folder must exist.",
        ),
    ] = None,
    _version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    state(ctx).ledger_path = ledger


# --- models ---------------------------------------------------------------------------------
@app.command()
def models(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List known and configured models: provider, prices per 1M tokens, effort levels."""
    from agent.providers.catalog import catalog
    from agent.reporting.catalog_view import print_catalog

    entries = catalog(config_for(ctx, Path.cwd()))
    if as_json:
        print(json.dumps([entry.model_dump(mode="json") for entry in entries], indent=1))
    else:
        print_catalog(console, entries)


# --- plan / fix -----------------------------------------------------------------------------
POLICY_HELP = "Who chooses the ladder: rules (task type -> ladder) or learned (the ledger's measurements)."


def _parse_effort(effort: str | None) -> EffortLevel | None:
    return EffortLevel.parse(effort) if effort else None


@app.command()
@json_errors
def plan(
    ctx: typer.Context,
    issue: IssueArgument = None,
    text: IssueTextFlag = None,
    ladder: Annotated[str | None, typer.Option("--ladder", help="Exact rungs: MODEL@EFFORT,...")] = None,
    model: ModelFlag = None,
    effort: EffortFlag = None,
    policy: Annotated[str | None, typer.Option("--policy", help=POLICY_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the task type, why, and the ladder (with the learned policy: its alternatives), running nothing."""
    config = config_for(ctx, Path.cwd())
    check_issue_argument(issue)
    found = read_issue(issue, text, env=os.environ, max_kb=config.issue.max_kb)
    policy_of(config.planner, policy)  # an unknown policy is bad input even when no model can run here
    check_ladder(ladder, config)  # as `agent fix` checks it: plan shows only ladders a run would accept
    check_model(model, config)
    classification = classify(found.text, found.labels, config.planner, model_factory(config, os.environ))
    fit, note, learned = rung_fit(config, os.environ), None, None
    cap = config.budget.max_cost_usd
    try:
        learned = learned_if_asked(config, policy, os.environ, seed=found.text)
        chosen = plan_ladder(
            classification, config, ladder, model, _parse_effort(effort), fit=fit, learned=learned, max_api_usd=cap
        )
    except NoUsableModel as exc:  # plan runs nothing: still show the ladder a run would climb with keys
        chosen = plan_ladder(
            classification, config, ladder, model, _parse_effort(effort), fit=fit, require_usable=False
        )
        note = str(exc)
    planner_model = PlannerModel(config, learned, chosen.ladder, [classification.task_type])
    expected = planner_model.estimate(chosen, opening_chars(config, found.title, found.body, None))
    data = {
        "task_type": classification.task_type,
        "reason": classification.reason,
        "decided_by": classification.decided_by,
        "ladder": [str(rung) for rung in chosen.ladder],
        "ladder_source": chosen.ladder_source,
        "left_out": chosen.left_out,
        "note": note,
        "decision": chosen.decision,
        **economics(config),
        "estimate": expected.model_dump(mode="json"),
    }
    if as_json:
        print(json.dumps(data))
        return
    say_left_out(err, chosen.left_out)
    if note:
        err.print(f"[yellow]note:[/] {note}", highlight=False)
    print_plan(console, data, config)
    print_estimate(console, expected)


@app.command()
@json_errors
def fix(
    ctx: typer.Context,
    issue: IssueArgument = None,
    repo: Annotated[Path, typer.Option("--repo", help="Git repository (default: current directory).")] = Path("."),
    text: IssueTextFlag = None,
    ladder: Annotated[str | None, typer.Option("--ladder", help="Exact rungs: MODEL@EFFORT,...")] = None,
    model: ModelFlag = None,
    effort: EffortFlag = None,
    test_cmd: Annotated[str | None, typer.Option("--test-cmd", help="How success is judged.")] = None,
    target: Annotated[list[str] | None, typer.Option("--target", help="Test id that must pass (repeatable).")] = None,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", callback=positive_cost, help="Per-issue API cap in USD."),
    ] = None,
    sandbox: SandboxFlag = None,
    image: ImageFlag = None,
    setup: SetupFlag = None,
    policy: Annotated[str | None, typer.Option("--policy", help=POLICY_HELP)] = None,
    fallback: FallbackFlag = None,
    allow_unpriced: AllowUnpricedFlag = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    no_tui: NoTuiFlag = False,
    estimate: EstimateFlag = False,
    approve_above: ApproveAboveFlag = None,
    yes: YesFlag = False,
) -> None:
    """Fix ISSUE in a sandbox copy of the repository; deliver a branch and a patch."""
    shared = run_flags(ctx, ladder, model, effort, policy, fallback, sandbox, image, setup, allow_unpriced)
    options = FixOptions(**shared, repo=repo, test_cmd=test_cmd, targets=target or [], max_cost_per_issue=max_cost)
    check_issue_argument(issue)
    prepared = prepare_fix(options)  # the repository is checked once, here, and its configuration read
    found = read_issue(issue, text, env=os.environ, max_kb=prepared.config.issue.max_kb)
    say = err if as_json else console
    check_ladder(ladder, prepared.config)
    check_model(model, prepared.config)
    if estimate or approve_above is not None:  # before any model call, even the classifier's
        expected = estimate_issue(found.title, found.body, found.labels, options, prepared.config, os.environ)
        if estimate:
            _print_estimate(expected, as_json)
            return
        approve(expected, approve_above, yes, allow_unpriced, say)
    ensure_image(prepared.config, None, say)
    if _use_tui(as_json, no_tui):
        from tui.launch import run_fix_in_tui

        result, failure = run_fix_in_tui(found, options, os.environ, prepared, say)
    else:
        printer = ignore if as_json else EventPrinter(console)
        result, failure = run_fix(found, options, os.environ, say, printer, repo=prepared)
    finish_fix(result, failure, as_json)


def _print_estimate(expected: Estimate, as_json: bool) -> None:
    if as_json:
        print(json.dumps(expected.model_dump(mode="json")))
    else:
        print_estimate(console, expected)


def _use_tui(as_json: bool, no_tui: bool) -> bool:
    """The TUI opens when stdin and stdout are a terminal, unless --json or --no-tui."""
    return not as_json and not no_tui and has_terminal()


@app.command()
@json_errors
def demo(
    ctx: typer.Context,
    sandbox: SandboxFlag = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    no_tui: NoTuiFlag = False,
    grid: Annotated[
        bool,
        typer.Option(
            "--grid",
            help="Instead: 10 built-in tasks at every rung of the simulated models (a grid run, `demo-grid-...`;"
            " about 5 minutes in Docker), then the learned planner, the rules and fixed ladders compared on it.",
        ),
    ] = False,
) -> None:
    """Try the whole flow without an API key: a simulated model fixes a demo repository."""
    if grid:
        demo_grid(ctx, sandbox, as_json, no_tui)
        return
    config = config_for(ctx, Path.cwd())
    say = err if as_json else console
    ensure_image(config, sandbox, say)
    if _use_tui(as_json, no_tui):
        from tui.launch import run_demo_in_tui

        result, failure = run_demo_in_tui(config, sandbox, state(ctx).ledger_path, say)
    else:
        from agent.demo import run_demo

        result, failure = run_demo(
            config.home, say, ignore if as_json else EventPrinter(console), sandbox, state(ctx).ledger_path
        )
    finish_fix(result, failure if isinstance(failure, AgentError) else None, as_json)


def demo_grid(ctx: typer.Context, sandbox: str | None, as_json: bool, no_tui: bool) -> None:
    """`agent demo --grid`: the grid batch with the configuration read once (from here, the flags on
    top), its image built first, its progress shown, then the policies' table (--json: its data)."""
    from agent.demo import GridProgress, grid_options, run_demo_grid

    options = grid_options(sandbox, state(ctx).ledger_path)
    config = load_run_config(options, Path.cwd())
    say = err if as_json else console
    ensure_image(config, sandbox, say)
    progress = GridProgress(say, live=say.is_terminal and not as_json and not no_tui)
    data = run_demo_grid(config, options, os.environ, progress, None if as_json else console)
    if as_json:
        print(json.dumps(data))


# --- review ---------------------------------------------------------------------------------
@app.command()
def review(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Argument(help="Run to review (default: the latest).")] = None,
    reviewer: Annotated[str, typer.Option("--reviewer")] = os.environ.get("USER", "developer"),
) -> None:
    """Show each solved attempt's diff, time the review, and record minutes and verdict."""
    from agent.cli.review import review_run

    config = config_for(ctx, Path.cwd())
    review_run(open_ledger(config), run_id, reviewer, console)


# --- tui ------------------------------------------------------------------------------------
@app.command()
def tui(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Argument(help="Run to watch (default: pick from recent runs).")] = None,
) -> None:
    """Watch a running or finished run from any terminal (reads the ledger; several viewers are fine)."""
    from tui.launch import attach

    if not has_terminal():
        raise ConfigError(
            "agent tui needs a terminal (stdin and stdout): run it in one, or use `agent report [RUN_ID]`"
        )
    attach(config_for(ctx, Path.cwd()), run_id)


app.add_typer(sandbox_app, name="sandbox", help="Build, check and clean the Docker sandboxes.")
app.add_typer(env_app, name="env", help="Build, list and prune the repositories' environment images.")
app.add_typer(tasks_app, name="tasks", help="List, show and validate benchmark tasks.")
bench_commands.register(app)
runs_commands.register(app)
stats_commands.register(app)
resume_commands.register(app)


def main(args: list[str] | None = None) -> None:
    """Run `agent` on `args` (default: the command line) and exit with its code."""
    try:
        code = app(args=args, standalone_mode=False)
    except (Abort, EOFError, KeyboardInterrupt) as exc:
        err.print("[red]aborted[/]")
        if isinstance(exc, RunAbandoned):  # a live run's worker is still in its turn: do not wait for it
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        sys.exit(130)
    except TyperException as exc:  # usage errors from typer's bundled click: the usage line and one error line
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err.print(f"error: {exc.format_message()}", markup=False)
        sys.exit(2)
    except AgentError as exc:
        say_error(exc)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
