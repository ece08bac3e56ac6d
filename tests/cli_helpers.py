"""`agent` run in-process: `agent.cli.app.main` inside typer's CliRunner isolation (its own stdin,
stdout, stderr and environment), with the exit code and both streams as text."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pydantic import BaseModel
from typer.testing import CliRunner

from agent.cli.app import main

KEYS_UNSET = {
    name: None for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "DEEPSEEK_API_KEY", "GEMINI_API_KEY", "SIM_API_KEY")
}
"""Keys a developer's shell may hold: unset, so a test sees the same machine everywhere."""


class Ran(BaseModel):
    """One `agent` command's exit code, stdout and stderr."""

    code: int
    stdout: str
    stderr: str

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def agent(home: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Ran:
    """`agent ARGS...` with AGENT_HOME under `home`, no user configuration and no API keys."""
    full_env: dict[str, str | None] = {
        **KEYS_UNSET,
        "HOME": str(home),
        "AGENT_HOME": str(home / "agent-home"),
        "AGENT_CONFIG": os.devnull,
        "COLUMNS": "200",
        **(env or {}),
    }
    with CliRunner().isolation(input=stdin, env=full_env) as (out, err, _output):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()  # what `print` left in the isolation's text wrappers
        sys.stderr.flush()
        return Ran(code=code, stdout=out.getvalue().decode(), stderr=err.getvalue().decode())
