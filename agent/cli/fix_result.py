"""How `agent fix` and `agent resume` end: the result printed (or its JSON object) and the exit code."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from agent.core.errors import AgentError
from agent.reporting.render import print_fix_summary

PAUSED_EXIT = 75
"""The exit code of a fix that paused at its cap (EX_TEMPFAIL): `agent resume RUN --max-cost NEW` goes on."""


def finish_fix(result: dict[str, Any], failure: AgentError | None, as_json: bool) -> None:
    """Print the result and exit: 0 solved, 1 not solved, 75 paused, the failure's code (and its line) on error."""
    if as_json:
        print(json.dumps(result))
    else:
        print_fix_summary(Console(), result)
    if failure is not None:
        say_error(failure)  # said here: the result is stdout's one JSON object, not an error object
        raise typer.Exit(failure.exit_code)
    raise typer.Exit(0 if result["solved"] else PAUSED_EXIT if result["status"] == "paused" else 1)


def say_error(exc: AgentError) -> None:
    """The failure's one red line on stderr."""
    Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
