"""Builds the parts a command needs from the configuration: models, prices, sandboxes, tasks.

Shared by `fix`, `bench`, `demo` and the TUI so every entry point wires the runner the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

import git

from agent.config import AgentConfig
from agent.effort import Rung
from agent.errors import TaskError
from agent.pricing import PriceQuote, quote
from agent.protocols import Model, Sandbox
from agent.providers import SCRIPTED_PREFIX, build_model, resolve_model
from agent.validation_models import VALIDATION_MODELS, NullModel, OracleModel
from tasks.issues import IssueText
from tasks.models import Task, slugify


def model_factory(config: AgentConfig, env: Mapping[str, str]) -> Callable[[str, Task | None], Model]:
    """A factory of models by name: one client per provider model for the whole run.

    `oracle` needs the task (its gold patch) and is built per task; `null` needs nothing.
    """

    @cache
    def provider_model(name: str) -> Model:
        return build_model(name, config, env)

    def make(name: str, task: Task | None = None) -> Model:
        if name in VALIDATION_MODELS and task is not None and not task.patch.strip():
            raise TaskError(
                f"task {task.instance_id} has no gold patch: the {name} model only checks the harness on "
                "benchmark tasks (agent bench); pick a real model"
            )
        if name == "null":
            return NullModel()
        if name == "oracle":
            return OracleModel(task.patch if task is not None else "")
        return provider_model(name)

    return make


def rung_fit(config: AgentConfig, env: Mapping[str, str]) -> Callable[[Rung], tuple[Rung, str | None]]:
    """For the planner: a rung at its provider's nearest native effort, and why its model cannot run."""

    def fit(rung: Rung) -> tuple[Rung, str | None]:
        if rung.model.startswith(SCRIPTED_PREFIX) or rung.model in VALIDATION_MODELS:
            return rung, None
        resolved = resolve_model(rung.model, config)
        level, _wire = resolved.effort_for(rung.effort)
        key_env = resolved.provider_config.api_key_env
        missing = key_env is not None and not env.get(key_env, "").strip()
        return Rung(model=rung.model, effort=level), f"{key_env} is not set" if missing else None

    return fit


def price_lookup(config: AgentConfig) -> Callable[[str], PriceQuote | None]:
    @cache
    def price_for(name: str) -> PriceQuote | None:
        if name.startswith(SCRIPTED_PREFIX) or name in VALIDATION_MODELS:
            return None  # simulated models cost nothing and have no price
        resolved = resolve_model(name, config)
        return quote(resolved.wire_name, resolved.price_provider_id, resolved.price)

    return price_for


def sandbox_factory(config: AgentConfig, run_id: str) -> Callable[[Task], Sandbox]:
    from sandboxes import NotIsolatedWarning, make_sandbox

    def make(task: Task) -> Sandbox:
        if not task.repo_path:
            raise TaskError(f"task {task.instance_id} has no local repository to copy")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotIsolatedWarning)  # the CLI says it once, loudly
            return make_sandbox(config.sandbox, Path(task.repo_path), task.base_commit, run_id)

    return make


def check_repo(repo: Path) -> tuple[Path, str, bool]:
    """The repository's top level, HEAD commit, and whether its working tree has changes."""
    if not repo.exists():
        raise TaskError(f"repository {repo} does not exist: pass --repo PATH to a git repository")
    try:
        found = git.Repo(repo, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise TaskError(f"{repo} is not a git repository: run `git init` and commit, or pass --repo") from None
    with found:
        root = Path(found.working_tree_dir or repo)
        if not found.head.is_valid():
            raise TaskError(f"{root} has no commits yet: commit the code the agent should start from")
        return root, found.head.commit.hexsha, found.is_dirty(untracked_files=True)


def task_from_issue(issue: IssueText, repo: Path, base_commit: str, test_cmd: str, targets: list[str]) -> Task:
    return Task(
        instance_id=slugify(issue.title or issue.body[:60]),
        repo=repo.name,
        base_commit=base_commit,
        problem_statement=issue.body if issue.title else issue.text,
        title=issue.title,
        labels=issue.labels,
        repo_path=str(repo),
        test_cmd=test_cmd,
        targets=targets,
        source=issue.source,
    )
