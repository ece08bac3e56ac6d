"""`agent` for the tests: in-process (`run_agent`) for every command, and as a real `python -m agent`
process (`run_agent_process`, `start_agent_process`, `agent_command`) only where the process boundary
is what a test pins (a kill, a signal, a terminal) or where a library keeps per-process state (a
local Ray session).

Both give the command the same environment: HOME, AGENT_HOME under the test's home, no user
configuration (AGENT_CONFIG=/dev/null), COLUMNS=200 and PATH, plus the test's `env`; every other
variable of this process (API keys, AGENT_*, TERM, FORCE_COLOR...) is unset.

In-process, `run_agent` is `python -m agent` as far as the command can tell: `agent/__main__.py` runs
as `__main__` with `sys.argv` set (so typer names the program `python -m agent`), inside typer's
CliRunner isolation (its own stdin, stdout, stderr and `os.environ`, restored afterwards); warnings
and an uncaught exception's traceback (exit code 1) are printed on its stderr, as Python prints them.
The CLI's modules are imported once (`import_cli`, from conftest.py) as a fresh process imports them:
with none of this process's variables set. A command leaves no thread behind; the first Docker
sandbox installs sandboxes.lifecycle's SIGINT/SIGTERM handlers in this process, which clean up, then
hand the signal on to pytest's own.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel

TIMEOUT_S = 300
"""The longest a `python -m agent` process may run."""


class Ran(BaseModel):
    """One `agent` command's exit code, stdout and stderr."""

    code: int
    stdout: str
    stderr: str

    @property
    def returncode(self) -> int:
        """The exit code, under the name `subprocess.CompletedProcess` gives it."""
        return self.code

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def agent_env(home: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment an `agent` command gets: its home under `home`, no user configuration."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AGENT_HOME": str(home / "agent-home"),
        "AGENT_CONFIG": os.devnull,
        "COLUMNS": "200",
        **(env or {}),
    }


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """`os.environ` holding exactly `values`, and the temporary folder found again from them (TMPDIR),
    then this process's own again."""
    saved, saved_tempdir = dict(os.environ), tempfile.tempdir
    os.environ.clear()
    os.environ.update(values)
    tempfile.tempdir = None  # gettempdir() caches its answer: a fresh process reads TMPDIR anew
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        tempfile.tempdir = saved_tempdir


def import_cli() -> None:
    """Import the CLI's modules as a fresh process would, with none of this process's variables set
    (what a module reads at import, as typer's FORCE_COLOR or the default reviewer's USER, is then
    what `python -m agent` saw) and COLUMNS unset, so Rich's consoles made at import read the width
    per command. Called by conftest.py before any test module is imported."""
    with _environment({"PATH": os.environ["PATH"]}):
        importlib.import_module("agent.cli.app")


PYTHON_WARNING_FILTERS = [
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
]
"""Python's default warning filters (a process started without -W or -X dev), last first."""


def _print_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """As Python shows a warning: its formatted lines on stderr."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


@contextlib.contextmanager
def _process_warnings() -> Iterator[None]:
    """Warnings as `python -m agent` shows them (on its stderr, by Python's default filters), not as
    pytest collects them; pytest's own again afterwards."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, category, module in reversed(PYTHON_WARNING_FILTERS):
            warnings.filterwarnings(action, category=category, module=module)  # type: ignore[arg-type]
        warnings.showwarning = _print_warning
        yield


@contextlib.contextmanager
def _argv(args: tuple[str, ...]) -> Iterator[None]:
    """`sys.argv` as `python -m agent ARGS...` has it (runpy sets argv[0] to agent/__main__.py)."""
    saved = sys.argv
    sys.argv = ["-m", *args]
    try:
        yield
    finally:
        sys.argv = saved


def _exit_code(exc: SystemExit) -> int:
    """The process's exit code for `sys.exit(code)`: None is 0; a message goes to stderr and is 1."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


def run_agent(
    home: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path | None = None
) -> Ran:
    """`python -m agent ARGS...` in this process, in the environment of `agent_env(home, env)` only, in the
    folder `cwd` (default: this process's)."""
    from typer.testing import CliRunner  # typer is imported by import_cli, as `python -m agent` imports it

    with (
        CliRunner().isolation(input=stdin) as (out, err, _output),
        _environment(agent_env(home, env)),
        _argv(args),
        contextlib.chdir(cwd or Path.cwd()),
        _process_warnings(),
    ):
        try:
            runpy.run_module("agent", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        except Exception:  # as Python ends a process on an uncaught exception
            traceback.print_exc()
            code = 1
        sys.stdout.flush()  # what `print` left in the isolation's text wrappers
        sys.stderr.flush()
        return Ran(code=code, stdout=out.getvalue().decode(), stderr=err.getvalue().decode())


def agent_command(*args: str) -> list[str]:
    """The command line of `python -m agent ARGS...` with this Python."""
    return [sys.executable, "-m", "agent", *args]


def run_agent_process(
    home: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m agent ARGS...` as a process of its own, to its end."""
    return subprocess.run(
        agent_command(*args),
        env=agent_env(home, env),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=TIMEOUT_S,
    )


def start_agent_process(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m agent ARGS...` started as a process of its own (stdout and stderr piped, as text), for a
    test that kills it or signals it."""
    return subprocess.Popen(
        agent_command(*args), env=agent_env(home, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
