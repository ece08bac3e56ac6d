"""What every command shares: the global options (in typer's context object, not a global), the
configuration read once per command, the option checks, and whether a full-screen view can run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

from agent.core.config import AgentConfig, load_config
from agent.ledger import Ledger


class CliState(BaseModel):
    """The global options, kept as the root context's `obj`."""

    ledger_path: Path | None = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def config_for(ctx: typer.Context, project: Path | None = None, **overrides: Any) -> AgentConfig:
    """The configuration for this command: every layer, plus the global --ledger."""
    ledger = state(ctx).ledger_path
    if ledger is not None:
        overrides["ledger"] = str(ledger)
    return load_config(project_dir=project, overrides=overrides)


def open_ledger(config: AgentConfig) -> Ledger:
    return Ledger(config.ledger_path)


def has_terminal() -> bool:
    """Whether a full-screen view can run: stdin and stdout are both a terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()


IMAGE_HELP = "Sandbox image to use as it is (no dependency detection; it must have python3 and git)."
SETUP_HELP = (
    "Shell command that installs the repository's dependencies in its environment image (instead of detection)."
)
FALLBACK_HELP = (
    "MODEL[@EFFORT] an attempt switches to when its model's replies keep failing validation or its provider "
    "fails (after the model's own [models] fallback)."
)


def ensure_image(config: AgentConfig, sandbox: str | None, console: Console) -> None:
    """Build the default sandbox image first when a Docker run needs it and it is missing."""
    from sandboxes.prepare import ensure_image as ensure

    sandbox_config = config.sandbox if sandbox is None else config.sandbox.model_copy(update={"kind": sandbox})
    ensure(sandbox_config, lambda line: console.print(line, markup=False, highlight=False))


def html_file(path: Path | None) -> Path | None:
    """Typer callback for --html: a file to write, in a folder that exists."""
    if path is None:
        return None
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory: name the file to write, e.g. {path / 'report.html'}")
    if not path.parent.is_dir():
        raise typer.BadParameter(f"folder {path.parent} does not exist: create it or choose another path")
    return path


def positive_cost(value: float | None) -> float | None:
    """Typer callback for --max-cost: a USD cap must be more than 0."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"{value:g} is not a cost cap: give an amount in USD above 0, e.g. 2.50")
    return value
