"""Git on the host, in one place: the runner's git commands (delivery, clones, the built-in suite's
repositories, the sandbox's repository copy) all go through `git_out`; the files tracked at a
commit come from `tracked_files`.

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


def tracked_files(repo: Path, commit: str, failed: Failure) -> list[str]:
    """Every file path tracked at `commit` in `repo`, read NUL-separated so that any name survives
    (bytes that are not UTF-8 are kept as surrogates); `failed("ls-tree", detail)` raised on an error."""
    done = subprocess.run(
        ["git", "ls-tree", "-r", "-z", "--name-only", commit],
        cwd=repo,
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        check=False,
    )
    if done.returncode != 0:
        raise failed("ls-tree", done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}")
    return [name.decode("utf-8", errors="surrogateescape") for name in done.stdout.split(b"\0") if name]
