"""What every command shares: the global options (in typer's context object, not a global), the
configuration read once per command, the option checks (--ledger, --ladder, --model, ISSUE, --image,
--max-cost, --html: bad input is refused before anything runs), the error object a --json command
prints when it fails, and whether a full-screen view can run.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from agent.core.config import AgentConfig, load_config
from agent.core.effort import MODEL_NAME, EffortLevel, parse_ladder
from agent.core.errors import AgentError, ConfigError, ProviderError, SandboxError, TaskError, UnverifiableError
from agent.ledger import Ledger
from agent.providers import is_simulated, resolve_model


class CliState(BaseModel):
    """The global options, kept as the root context's `obj`."""

    ledger_path: Path | None = None


def run_flags(
    ctx: typer.Context,
    ladder: str | None,
    model: str | None,
    effort: str | None,
    policy: str | None,
    fallback: str | None,
    sandbox: str | None,
    image: str | None,
    setup: str | None,
    allow_unpriced: bool = False,
) -> dict[str, Any]:
    """The flags `fix` and `bench` share, as the fields of their `RunOptions`."""
    shared = {"ladder": ladder, "model": model, "effort": effort, "policy": policy, "fallback": fallback}
    where = {"sandbox": sandbox, "image": image, "setup": setup, "ledger": state(ctx).ledger_path}
    return {**shared, **where, "allow_unpriced": allow_unpriced}


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


def file_problem(path: Path, example: str) -> str | None:
    """Why `path` cannot be a file to write (None: it can): a directory, or in a folder that does not exist."""
    if path.is_dir():
        return f"{path} is a directory: name the file, e.g. {path / example}"
    if not path.parent.is_dir():
        return f"folder {path.parent} does not exist: create it (mkdir -p {path.parent}) or choose another path"
    return None


def ledger_file(path: Path | None) -> Path | None:
    """Typer callback for the global --ledger: a file (new or not) in a folder that exists; bad input,
    so nothing is created for a path that cannot be right."""
    problem = None if path is None else file_problem(path, "ledger.sqlite")
    if problem:
        raise ConfigError(f"bad --ledger: {problem}")
    return path


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

ModelFlag = Annotated[str | None, typer.Option("--model", help="Climb effort on this model up to max.")]
EffortFlag = Annotated[str | None, typer.Option("--effort", help="Starting effort with --model.")]
IssueArgument = Annotated[str | None, typer.Argument(help="Issue file, '-', GitHub URL or owner/repo#N.")]
IssueTextFlag = Annotated[str | None, typer.Option("--text", help="The issue text itself.")]

SandboxFlag = Annotated[str | None, typer.Option("--sandbox", help="docker (default) or local (NOT isolated).")]
ImageFlag = Annotated[str | None, typer.Option("--image", help=IMAGE_HELP)]
SetupFlag = Annotated[str | None, typer.Option("--setup", help=SETUP_HELP)]
FallbackFlag = Annotated[str | None, typer.Option("--fallback", help=FALLBACK_HELP)]
NoTuiFlag = Annotated[bool, typer.Option("--no-tui", help="Plain output even in a terminal.")]
AllowUnpricedFlag = Annotated[
    bool,
    typer.Option(
        "--allow-unpriced",
        help="Run under a cost cap with models that have no price; their calls do not count against the cap.",
    ),
]


def ensure_image(config: AgentConfig, sandbox: str | None, console: Console, image: str | None = None) -> None:
    """Build the default sandbox image first when a Docker run needs it and it is missing; an image the
    user named (--image, [sandbox] image) that this machine does not have is bad input."""
    from sandboxes.engine import docker_client, image_present
    from sandboxes.images import DEFAULT_TAG
    from sandboxes.prepare import ensure_image as ensure

    chosen = {"kind": sandbox, "image": image}
    sandbox_config = config.sandbox.model_copy(update={key: value for key, value in chosen.items() if value})
    if sandbox_config.kind == "docker" and sandbox_config.image != DEFAULT_TAG:
        client = docker_client()
        try:
            present = image_present(client, sandbox_config.image)
        finally:
            client.close()
        if not present:
            raise ConfigError(
                f"image {sandbox_config.image} is not on this machine: build or pull it first, name another"
                f" with --image, or leave --image out to use {DEFAULT_TAG}"
            )
    ensure(sandbox_config, lambda line: console.print(line, markup=False, highlight=False))


def html_file(path: Path | None) -> Path | None:
    """Typer callback for --html: a file to write, in a folder that exists."""
    problem = None if path is None else file_problem(path, "report.html")
    if problem:
        raise typer.BadParameter(problem)
    return path


def positive_cost(value: float | None) -> float | None:
    """Typer callback for --max-cost: a USD cap must be more than 0."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"{value:g} is not a cost cap: give an amount in USD above 0, e.g. 2.50")
    return value


def unknown_model(name: str, config: AgentConfig) -> str | None:
    """Why `name` is no model this configuration knows (None: a provider's or a simulated model)."""
    if name == "scripted":
        return "the scripted model needs its script: write scripted:FILE (a JSON script of turns)"
    if is_simulated(name):
        return None
    try:
        resolve_model(name, config)
    except ConfigError as exc:
        return f"{exc} (`agent models` lists the known ones)"
    return None


def check_model(name: str | None, config: AgentConfig) -> None:
    """--model, checked before anything runs: a model this configuration knows."""
    problem = None if name is None else unknown_model(name, config)
    if problem:
        raise ConfigError(f"--model {name}: {problem}")


def check_ladder(spec: str | None, config: AgentConfig) -> None:
    """--ladder, checked the same way by every command that takes it: not empty, each rung a known model
    at a known effort (both named when both are wrong), then the ladder's form."""
    if spec is None:
        return
    if not spec.strip():
        raise ConfigError(
            "--ladder is empty: give rungs as MODEL@EFFORT[,MODEL@EFFORT...], e.g."
            " claude-opus-4-7@medium,claude-opus-4-7@high, or leave --ladder out to let the planner choose"
        )
    for part in spec.split(","):
        text = part.partition("*")[0].strip()
        model, sep, effort = text.partition("@")
        if not sep or not MODEL_NAME.fullmatch(model) or "@" in effort:
            break  # not MODEL@EFFORT: parse_ladder says how to write it
        problems = [unknown_model(model, config)]
        try:
            EffortLevel.parse(effort)
        except ConfigError as exc:
            problems.append(str(exc))
        named = [problem for problem in problems if problem]
        if named:
            raise ConfigError(f"bad rung {text!r}: {'; and '.join(named)}")
    parse_ladder(spec)


def check_issue_argument(issue: str | None) -> None:
    """ISSUE names a file, '-' or a GitHub issue: a directory is none of them."""
    if issue and Path(issue).is_dir():
        raise TaskError(
            f"issue {issue} is a directory: give the issue's file (e.g. {Path(issue) / 'issue.md'}),"
            " '-' to read it from stdin, a GitHub issue (owner/repo#N or its URL) or --text"
        )


ERROR_KINDS: dict[type[AgentError], str] = {
    UnverifiableError: "environment",
    ConfigError: "config",
    TaskError: "task",
    ProviderError: "provider",
    SandboxError: "sandbox",
}
"""The `error_kind` of a command's --json error object, by the failure's family."""


def error_object(exc: AgentError) -> dict[str, Any]:
    """What a --json command prints on stdout when it fails before it has a result."""
    kind = next((name for family, name in ERROR_KINDS.items() if isinstance(exc, family)), "error")
    return {"status": "error", "error_kind": kind, "error": str(exc), "exit_code": exc.exit_code}


Command = TypeVar("Command", bound=Callable[..., Any])


def json_errors(command: Command) -> Command:
    """Wrap a command that takes `as_json`: with --json, a failure also prints its error object on stdout
    (one JSON object, as for a result); the readable line on stderr and the exit code stay `main`'s."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AgentError as exc:
            if kwargs.get("as_json"):
                print(json.dumps(error_object(exc)))
            raise

    return run  # type: ignore[return-value]
