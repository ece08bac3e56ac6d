"""`agent sandbox ...`: build the image, prune leftover containers, check isolation (doctor).

`sandbox_app` is mounted by `agent/cli/app.py`. Errors become one red line on stderr and exit code 3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.checks import config_for
from agent.core.config import SandboxConfig
from agent.core.errors import AgentError
from sandboxes import doctor as probe
from sandboxes import images, lifecycle

sandbox_app = typer.Typer(help="Build, check and clean up the Docker sandbox.", no_args_is_help=True)

T = TypeVar("T")


def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except AgentError as exc:
        _console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", markup=True)
        raise typer.Exit(exc.exit_code) from None


def _sandbox_config(ctx: typer.Context) -> SandboxConfig:
    return _run(lambda: config_for(ctx, Path.cwd()).sandbox)


@sandbox_app.command()
def build(
    ctx: typer.Context,
    base: str | None = typer.Option(
        None, help=f"Base image (default: {images.DEFAULT_BASE}, else the offline Debian base when no registry)."
    ),
    tag: str | None = typer.Option(None, help="Tag for the result (default: sandbox.image from config)."),
) -> None:
    """Build the sandbox image from sandboxes/images/default/Dockerfile."""
    from sandboxes.prepare import build_sandbox_image

    target = tag or _sandbox_config(ctx).image
    console = _console()
    image_id = _run(lambda: build_sandbox_image(target, base, lambda line: console.print(line, markup=False)))
    console.print(f"image id {image_id[:19]}")


@sandbox_app.command()
def prune(
    all: bool = typer.Option(False, "--all", help="Remove every container with an agent.run label."),
    run: str | None = typer.Option(None, "--run", help="Only the containers of this run (its id)."),
) -> None:
    """Remove orphaned sandbox containers (owner process gone), or with --all every sandbox container
    (with --run, only that run's), and the temporary homes of Ray workers that are gone."""
    from agent.bench.executors import reap_ray_homes

    console = _console()
    homes = reap_ray_homes()
    for home in homes:
        console.print(f"removed {home} (Ray worker's home, its process is gone)")
    removed = _run(lambda: lifecycle.prune(all=all, run=run))
    if not removed and not homes:
        console.print("nothing to remove")
    for item in removed:
        console.print(f"removed {item.id} {item.name} (run {item.run}, owner {item.owner}: {item.reason})")


@sandbox_app.command()
def doctor(
    ctx: typer.Context, json_output: bool = typer.Option(False, "--json", help="Print one JSON object.")
) -> None:
    """Check the engine and image and measure the isolation inside a live container."""
    config = _sandbox_config(ctx)
    report = _run(lambda: probe.doctor(config))
    if json_output:
        typer.echo(json.dumps({**report.model_dump(), "isolated": report.isolated}))
        return
    expected = {
        "network": "blocked" if config.network == "none" else config.network,
        "uid": "not 0",
        "memory_limit": config.mem_limit,
        "pids_limit": str(config.pids_limit),
        "cap_eff": "0000000000000000",
        "no_new_privs": "1",
        "system_writable": "no",
    }
    table = Table(title=f"sandbox doctor ({report.image})")
    table.add_column("check")
    table.add_column("measured inside")
    table.add_column("expected")
    table.add_row("engine", report.engine, "reachable")
    table.add_row("image present", "yes" if report.image_present else "no", "yes")
    for key, want in expected.items():
        table.add_row(key.replace("_", " "), str(getattr(report, key)), want)
    console = _console()
    console.print(table)
    verdict = "[green]isolated[/]" if report.isolated else "[red]NOT fully isolated[/]"
    console.print(verdict, markup=True)
