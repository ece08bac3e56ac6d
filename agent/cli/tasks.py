"""`agent tasks ...`: list, show, validate, generate and mine benchmark tasks.

`tasks_app` is mounted by `agent/cli/app.py`. Errors are `agent.core.errors` exceptions; the CLI's main
turns them into one red line and an exit code. `validate` exits 1 when any task is invalid. `mine`
builds a task file from a repository's history (`tasks.history`, `agent.bench.mining`): here only its
options; the output file, the progress bar and the summary are `agent.cli.mining_output`'s.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from agent.cli.checks import IMAGE_HELP, SETUP_HELP, config_for, ensure_image
from agent.cli.mining_output import MineProgress, TaskSink, mining_summary, print_mining
from agent.core.errors import AgentError, ConfigError, TaskError
from agent.core.protocols import Sandbox
from agent.engine.evaluation import InstanceReport, evaluate_patch
from agent.engine.runner import EnvironmentPreparer
from agent.reporting.render import Col, print_table, say
from tasks.history import Merges, candidates, issue_lookup, open_repo, problem_statement, range_commits
from tasks.loaders import BUILTIN, checkout_repo, find_task, load_tasks
from tasks.models import Task

if TYPE_CHECKING:
    from agent.bench.mining import MineSettings, MiningResult
    from agent.core.config import AgentConfig

tasks_app = typer.Typer(help="List, show, validate, generate and mine benchmark tasks.", no_args_is_help=True)
console = Console(highlight=False)

Suite = Annotated[
    str, typer.Argument(help="`builtin`, `generated:N[:SEED]`, a .jsonl/.json task file, or a directory of them.")
]
SandboxOption = Annotated[str | None, typer.Option("--sandbox", help="docker (default) or local (NOT isolated).")]


@tasks_app.command("list")
def list_tasks(
    ctx: typer.Context, suite: Suite = BUILTIN, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """One line per task: id, task type, difficulty, repository."""
    tasks = load_tasks(suite, config_for(ctx).home)
    rows = [
        {"instance_id": t.instance_id, "task_type": t.task_type, "difficulty": t.difficulty, "repo": t.repo}
        for t in tasks
    ]
    if as_json:
        print(json.dumps(rows))
        return
    columns = [Col("id"), Col("task type"), Col("difficulty"), Col("repo", drop=True)]
    cells = [[escape(str(value or "-")) for value in row.values()] for row in rows]
    print_table(console, escape(f"{len(rows)} tasks in {suite}"), columns, cells)


@tasks_app.command()
def show(
    ctx: typer.Context,
    instance_id: Annotated[str, typer.Argument(help="The task's instance_id.")],
    suite: Annotated[str, typer.Option("--suite", help="Where the task is.")] = BUILTIN,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The task's fields, issue text and tests (the gold patch only with --json)."""
    task = find_task(instance_id, suite, config_for(ctx).home)
    if as_json:
        print(task.model_dump_json(indent=1))
        return
    say(console, f"[bold]{escape(task.instance_id)}[/]  {task.task_type or '-'} / {task.difficulty or '-'}")
    say(console, escape(f"repo {task.repo} at {task.base_commit}" + (f" ({task.repo_path})" if task.repo_path else "")))
    say(console, escape(f"test command: {task.test_cmd or '(default) python -m pytest -q'}"))
    console.rule("issue")
    console.print(task.problem_statement, markup=False)
    console.rule("tests")
    for label, ids in (("FAIL_TO_PASS", task.FAIL_TO_PASS), ("PASS_TO_PASS", task.PASS_TO_PASS)):
        console.print(f"{label} ({len(ids)})")
        for node in ids:
            console.print(f"  {node}", markup=False)


@tasks_app.command()
def generate(
    ctx: typer.Context,
    count: Annotated[int, typer.Option("--count", "-n", help="How many tasks (1 to 10000).")],
    out: Annotated[Path, typer.Option("--out", help="The .jsonl task file to write ('-': stdout).")],
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same tasks.")] = 0,
) -> None:
    """Write the generated suite `generated:COUNT:SEED` as a task file; `agent bench FILE` runs it with any model.

    Each task is a small repository (materialized under $AGENT_HOME/cache/generated) with a real failing test.
    """
    if count < 1 or seed < 0:
        raise ConfigError(f"--count {count} --seed {seed}: give a count of 1 or more and a seed of 0 or more")
    tasks = load_tasks(f"generated:{count}:{seed}", config_for(ctx).home)
    text = "".join(task.model_dump_json(exclude_none=True) + "\n" for task in tasks)
    if str(out) == "-":
        print(text, end="")
        return
    target = out.expanduser()
    if not target.parent.is_dir():
        raise ConfigError(f"--out {out}: folder {target.parent} does not exist: create it or pick another path")
    target.write_text(text, encoding="utf-8")
    say(console, escape(f"wrote {len(tasks)} tasks to {target}: run them with `agent bench {target}`"))


class Validation(BaseModel):
    """Whether a task can judge: F2P fail and P2P pass at the base, everything passes with the gold patch."""

    instance_id: str
    valid: bool
    problems: list[str]
    environment: dict[str, Any]
    """The task's environment: `needed`, `image`, `built`, `sources`, or the `error` building it."""
    base: InstanceReport
    gold: InstanceReport


def validate_task(
    task: Task,
    sandbox_factory: Callable[[Task], Sandbox],
    timeout: float = 600,
    prepare: EnvironmentPreparer | None = None,
) -> Validation:
    problems = []
    environment: dict[str, Any] = {"needed": False}
    if prepare is not None:
        try:
            environment = prepare(task, lambda _line: None)
        except AgentError as exc:
            environment = {"needed": True, "error": str(exc)}
            problems.append(f"environment: {exc}")
    base = evaluate_patch(task, "", sandbox_factory, timeout)
    gold = evaluate_patch(task, task.patch, sandbox_factory, timeout)
    for label, report in (("base", base), ("gold", gold)):
        if report.environment_problem and not environment.get("error"):
            problems.append(f"{label}: {report.environment_problem}")
        elif report.error_kind and not environment.get("error"):
            problems.append(f"{label}: {report.error}")
    if not task.patch.strip():
        problems.append("no gold patch")
    elif not gold.patch_applied:
        problems.append("the gold patch does not apply")
    if not task.FAIL_TO_PASS:
        problems.append("no FAIL_TO_PASS tests")
    if not base.error_kind:
        if passing := base.FAIL_TO_PASS["success"]:
            problems.append(f"F2P pass at the base: {', '.join(passing[:3])}")
        if failing := base.PASS_TO_PASS["failure"]:
            problems.append(f"P2P fail at the base: {', '.join(failing[:3])}")
    if gold.patch_applied and not gold.error_kind and not gold.resolved:
        failing = gold.FAIL_TO_PASS["failure"] + gold.PASS_TO_PASS["failure"]
        problems.append(f"fail with the gold patch: {', '.join(failing[:3])}")
    return Validation(
        instance_id=task.instance_id,
        valid=not problems,
        problems=problems,
        environment=environment,
        base=base,
        gold=gold,
    )


@tasks_app.command()
def validate(
    ctx: typer.Context,
    suite: Suite = BUILTIN,
    ids: Annotated[str | None, typer.Option("--ids", help="Only these instance ids, comma-separated.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Tasks validated at once.")] = 2,
    sandbox: SandboxOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per task.")] = False,
) -> None:
    """Check each task at the base (F2P fail, P2P pass) and with its gold patch (all pass); exit 1 if any fails."""
    from agent.wiring import environment_preparer, sandbox_factory, task_environments

    overrides = {"sandbox.kind": sandbox} if sandbox else {}
    config = config_for(ctx, Path.cwd(), **overrides)
    tasks = load_tasks(suite, config.home)
    if ids:
        wanted = [name.strip() for name in ids.split(",") if name.strip()]
        unknown = sorted(set(wanted) - {task.instance_id for task in tasks})
        if unknown:
            raise TaskError(f"no task {', '.join(unknown)} in {suite}: see `agent tasks list {suite}`")
        tasks = [task for task in tasks if task.instance_id in wanted]
    tasks = [checkout_repo(task, config.home) for task in tasks]
    environments = task_environments(config)
    make = sandbox_factory(config, "validate", environments)
    prepare = None if environments is None else environment_preparer(environments)
    if config.sandbox.kind == "local":
        warnings.warn("validating with the local sandbox: task tests run on this machine", stacklevel=1)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(
            pool.map(lambda task: validate_task(task, make, config.sandbox.command_timeout_s, prepare), tasks)
        )
    if as_json:
        for result in results:
            print(result.model_dump_json())
    else:
        _print_validation(results, suite)
    raise typer.Exit(0 if all(result.valid for result in results) else 1)


def _environment_cell(environment: dict[str, Any]) -> str:
    if environment.get("error"):
        return "[red]fails[/]"
    if not environment.get("needed"):
        return "-"
    return "built" if environment.get("built") else "cached"


def _print_validation(results: list[Validation], suite: str) -> None:
    columns = [
        Col("id"),
        Col("env", drop=True),
        Col("F2P at base"),
        Col("P2P at base"),
        Col("gold"),
        Col("s", right=True, drop=True),
        Col("verdict", wrap=True),
    ]
    rows = []
    for result in results:
        base, gold = result.base, result.gold
        f2p, p2p = base.FAIL_TO_PASS, base.PASS_TO_PASS
        rows.append(
            [
                escape(result.instance_id),
                _environment_cell(result.environment),
                f"{len(f2p['failure'])}/{len(f2p['failure']) + len(f2p['success'])} fail",
                f"{len(p2p['success'])}/{len(p2p['failure']) + len(p2p['success'])} pass",
                "resolved" if gold.resolved else "NOT resolved",
                f"{base.duration_s + gold.duration_s:.1f}",
                "[green]valid[/]" if result.valid else f"[red]invalid[/]: {escape('; '.join(result.problems))}",
            ]
        )
    print_table(console, escape(f"validation of {suite}"), columns, rows)
    invalid = sum(not result.valid for result in results)
    console.print(f"{len(results) - invalid} valid, {invalid} invalid")


RepoArgument = Annotated[Path, typer.Argument(help="The git repository whose history to mine (only read).")]
RangeOption = Annotated[
    str, typer.Option("--range", help="Commits to walk, newest first, e.g. v1.0..HEAD or HEAD~100..HEAD.")
]
LimitOption = Annotated[int | None, typer.Option("--limit", help="Validate at most N candidate commits.")]
MaxTasksOption = Annotated[int | None, typer.Option("--max-tasks", help="Stop once N tasks are kept (beside --limit).")]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Task file to write ('-': stdout). Default: ./REPO-mined.jsonl, or stdout with --json."),
]
TestCmdOption = Annotated[
    str | None, typer.Option("--test-cmd", help="The pytest command (default python -m pytest -q).")
]
SetupOption = Annotated[str | None, typer.Option("--setup", help=SETUP_HELP)]
ImageOption = Annotated[str | None, typer.Option("--image", help=IMAGE_HELP)]
SummaryOption = Annotated[
    bool, typer.Option("--json", help="Print a JSON summary (on stderr when the tasks go to stdout).")
]


@tasks_app.command()
def mine(
    ctx: typer.Context,
    repo: RepoArgument,
    rev_range: RangeOption = "HEAD",
    limit: LimitOption = None,
    max_tasks: MaxTasksOption = None,
    out: OutOption = None,
    test_cmd: TestCmdOption = None,
    sandbox: SandboxOption = None,
    setup: SetupOption = None,
    image: ImageOption = None,
    as_json: SummaryOption = False,
) -> None:
    """Build an eval set from REPO's history: commits whose change turns tests from failing to passing.

    Each commit that changes source and test files (merged ones included) is checked in a sandbox at
    its parent: the touched tests run 3 times with its test changes, then 3 times with its source
    changes too. Nothing in REPO is changed. Run the result with `agent bench FILE`.
    """
    from agent.bench.mining_setup import settings_for

    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: give a number of candidate commits of 1 or more")
    if max_tasks is not None and max_tasks < 1:
        raise ConfigError(f"--max-tasks {max_tasks}: give a number of tasks of 1 or more")
    info = open_repo(repo.expanduser())
    shas = range_commits(info.path, rev_range)
    config = config_for(ctx, info.path, **({"sandbox.kind": sandbox} if sandbox else {}))
    if config.sandbox.kind == "local" and (setup or image):
        raise ConfigError("--setup and --image build a Docker environment: leave them out with --sandbox local")
    settings = settings_for(info, config, test_cmd, setup, image)
    to_stdout = str(out) == "-" or (out is None and as_json)
    target = None if to_stdout else (out or Path(f"{info.name}-mined.jsonl")).expanduser().resolve()
    err = Console(stderr=True, highlight=False)
    shown = err if to_stdout or as_json else console
    ensure_image(config, sandbox, err)
    if config.sandbox.kind == "local":
        warnings.warn("mining with the local sandbox: the repository's tests run on this machine", stacklevel=1)
    result, kept, seconds = _mine_commits(config, settings, rev_range, shas, limit, max_tasks, target, err)
    written = "-" if to_stdout else (str(target) if kept else None)
    if as_json:
        summary = mining_summary(result, written, len(shas), seconds)
        print(json.dumps(summary), file=sys.stderr if to_stdout else sys.stdout)
    elif not result.tasks and not result.skips:
        say(shown, escape(f"no candidate in {rev_range}: none of its {len(shas)} commit(s) changes source and tests"))
    else:
        print_mining(shown, result, f"mined {info.name} ({rev_range})", target if kept else None)


def _mine_commits(
    config: AgentConfig,
    settings: MineSettings,
    rev_range: str,
    shas: list[str],
    limit: int | None,
    max_tasks: int | None,
    target: Path | None,
    err: Console,
) -> tuple[MiningResult, int, float]:
    """Check the candidate commits of `shas` in sandboxes, writing each kept task to `target` (None: stdout)
    as it comes: the result, how many tasks were written and the seconds it took."""
    from agent.bench.mining import mine as mine_history
    from agent.bench.mining_setup import PlannerClassifier
    from agent.wiring import sandbox_factory

    info = settings.repo
    lookup, merges = issue_lookup(info, os.environ), Merges(info.path, rev_range)
    classifier = PlannerClassifier(config, os.environ, info)
    started = time.monotonic()
    try:
        with TaskSink(target) as sink, MineProgress(err, limit) as progress:
            result = mine_history(
                islice(candidates(info.path, shas), limit),
                settings,
                sandbox_factory(config, f"mine-{info.name}"),
                describe=lambda candidate: problem_statement(candidate, lookup, merges.message_for(candidate.sha)),
                classify=classifier,
                max_tasks=max_tasks,
                on_task=sink,
                on_progress=progress,
            )
    finally:
        classifier.close()
    return result, sink.written, round(time.monotonic() - started, 1)
