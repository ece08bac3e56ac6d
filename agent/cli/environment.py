"""`agent env ...`: build a repository's environment image ahead of a run, list them, prune them.

`env_app` is mounted by `agent/cli/app.py`. Errors are `agent.core.errors` exceptions; the CLI's
main turns them into one red line and an exit code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from agent.cli.checks import IMAGE_HELP, SETUP_HELP, config_for, ensure_image
from agent.core.errors import ConfigError
from agent.reporting.render import Col, print_table, say
from agent.wiring import check_repo

env_app = typer.Typer(help="Build, list and prune the repositories' environment images.", no_args_is_help=True)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

RepoOption = Annotated[Path, typer.Option("--repo", help="Git repository (default: current directory).")]


@env_app.command()
def build(
    ctx: typer.Context,
    repo: RepoOption = Path("."),
    commit: Annotated[str, typer.Option("--commit", help="Build for this commit's dependency files.")] = "HEAD",
    setup: Annotated[str | None, typer.Option("--setup", help=SETUP_HELP)] = None,
    image: Annotated[str | None, typer.Option("--image", help=IMAGE_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Detect what REPO declares and build its environment image (reused when it is already there)."""
    from sandboxes.environment import Environments

    root, _head, _dirty = check_repo(repo.resolve())
    config = config_for(ctx, root, **{"sandbox.image": image, "environment.setup": setup})
    if config.sandbox.kind != "docker":
        raise ConfigError("environments are Docker images: the local sandbox uses this machine's Python")
    out = err if as_json else console
    ensure_image(config, None, out)
    environments = Environments(config.sandbox, config.environment)
    if out.is_terminal:
        with out.status("preparing the environment ...") as status:
            prepared = environments.prepare(root, commit, say=lambda line: status.update(escape(line)))
    else:  # piped: one plain line per step, so a minute-long build is not a minute of silence
        prepared = environments.prepare(root, commit, say=lambda line: out.print(f"environment: {line}", markup=False))
    _print(
        as_json,
        {"repo": str(root), **prepared.as_data()},
        lambda: say(console, f"environment: {escape(prepared.describe())}"),
    )


IMAGE_COLUMNS = (Col("image"), Col("repository", wrap=True), Col("python"), Col("MB", right=True), Col("created"))

ImagesOf = Annotated[Path | None, typer.Option("--repo", help="Only this repository's images.")]


def _repo_key(repo: Path | None) -> str | None:
    """The repository an image is labelled with (None: every repository's images)."""
    return None if repo is None else str(repo.resolve())


def _print(as_json: bool, data: Any, text: Callable[[], None]) -> None:
    """`data` as JSON on stdout with --json, else the text view."""
    if as_json:
        print(json.dumps(data))
    else:
        text()


@env_app.command("list")
def list_environments(
    repo: ImagesOf = None, as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False
) -> None:
    """The environment images on this machine, newest first."""
    from sandboxes.environment import environment_images

    rows = environment_images(_repo_key(repo))
    cells = [[escape(r.tag), escape(r.repo), r.python, f"{r.size_mb:.0f}", r.created] for r in rows]
    table = partial(print_table, console, f"{len(rows)} environment image(s)", IMAGE_COLUMNS, cells)
    _print(as_json, [row.model_dump() for row in rows], table)


@env_app.command()
def prune(
    repo: ImagesOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the removed tags as a JSON list.")] = False,
) -> None:
    """Remove environment images (they are rebuilt when next needed)."""
    from sandboxes.environment import prune_environments

    removed = prune_environments(_repo_key(repo))
    _print(as_json, removed, lambda: say(console, f"removed {len(removed)} environment image(s)"))
