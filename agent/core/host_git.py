"""Git on the host, in one place: the runner's git commands (delivery, clones, the built-in suite's
repositories, the sandbox's repository copy) all go through `git_out`.

It never prompts (a missing credential fails at once), and a failure becomes the caller's own
error, made by `failed(verb, detail)`, so each place keeps a message that says what to do.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

Failure = Callable[[str, str], Exception]
"""(the git verb, what git said) -> the exception to raise."""


def git_out(
    *args: str,
    failed: Failure,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float | None = None,
) -> str:
    """Run `git ARGS`; its stdout, or `failed(verb, detail)` raised on an error or a timeout."""
    verb = next((arg for arg in args if not arg.startswith("-") and "/" not in arg), args[0])
    try:
        done = subprocess.run(
            ["git", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise failed(verb, f"took over {timeout:g} s") from None
    if done.returncode != 0:
        raise failed(verb, done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}")
    return done.stdout
