"""`agent tasks ...`: list, show and validate benchmark tasks.

`tasks_app` is mounted by `agent/cli/app.py`. Errors are `agent.core.errors` exceptions; the CLI's main
turns them into one red line and an exit code. `validate` exits 1 when any task is invalid.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from agent.cli.context import config_for
from agent.core.errors import TaskError
from agent.core.protocols import Sandbox
from agent.engine.evaluation import InstanceReport, evaluate_patch
from agent.reporting.render import Col, print_table, say
from tasks.loaders import BUILTIN, checkout_repo, find_task, load_tasks
from tasks.models import Task

tasks_app = typer.Typer(help="List, show and validate benchmark tasks.", no_args_is_help=True)
console = Console(highlight=False)

Suite = Annotated[str, typer.Argument(help="`builtin`, a .jsonl/.json task file, or a directory of them.")]


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


class Validation(BaseModel):
    """Whether a task can judge: F2P fail and P2P pass at the base, everything passes with the gold patch."""

    instance_id: str
    valid: bool
    problems: list[str]
    base: InstanceReport
    gold: InstanceReport


def validate_task(task: Task, sandbox_factory: Callable[[Task], Sandbox], timeout: float = 600) -> Validation:
    base = evaluate_patch(task, "", sandbox_factory, timeout)
    gold = evaluate_patch(task, task.patch, sandbox_factory, timeout)
    problems = []
    for label, report in (("base", base), ("gold", gold)):
        if report.error_kind:
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
    return Validation(instance_id=task.instance_id, valid=not problems, problems=problems, base=base, gold=gold)


@tasks_app.command()
def validate(
    ctx: typer.Context,
    suite: Suite = BUILTIN,
    ids: Annotated[str | None, typer.Option("--ids", help="Only these instance ids, comma-separated.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Tasks validated at once.")] = 2,
    sandbox: Annotated[str | None, typer.Option("--sandbox", help="docker (default) or local (NOT isolated).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per task.")] = False,
) -> None:
    """Check each task at the base (F2P fail, P2P pass) and with its gold patch (all pass); exit 1 if any fails."""
    from agent.wiring import sandbox_factory

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
    make = sandbox_factory(config, "validate")
    if config.sandbox.kind == "local":
        warnings.warn("validating with the local sandbox: task tests run on this machine", stacklevel=1)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda task: validate_task(task, make, config.sandbox.command_timeout_s), tasks))
    if as_json:
        for result in results:
            print(result.model_dump_json())
    else:
        _print_validation(results, suite)
    raise typer.Exit(0 if all(result.valid for result in results) else 1)


def _print_validation(results: list[Validation], suite: str) -> None:
    columns = [
        Col("id"),
        Col("F2P at base"),
        Col("P2P at base"),
        Col("gold"),
        Col("s", right=True),
        Col("verdict", wrap=True),
    ]
    rows = []
    for result in results:
        base, gold = result.base, result.gold
        f2p, p2p = base.FAIL_TO_PASS, base.PASS_TO_PASS
        rows.append(
            [
                escape(result.instance_id),
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
