"""`agent fix` (and the TUI's live fix, and the demo) end to end: checks, plan, `run_issue`, result.

`prepare_fix` checks the repository once and reads the configuration from its root (its
agent.toml, with the flags on top); `run_fix` detects the test command, classifies the issue,
plans the ladder, checks every model can run, records the run and calls `run_issue`. What it
says on the way (warnings, the detected test command, models left out) goes to the Rich console
it is given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from agent.core.config import AgentConfig
from agent.core.effort import format_ladder
from agent.core.errors import AgentError, ConfigError, TaskError, UnverifiableError
from agent.core.events import EventSink
from agent.core.protocols import Model
from agent.engine.budget import Budget
from agent.engine.calling.meters import RunRecorder
from agent.engine.pause import PausedAttempt
from agent.engine.planner import LadderChoice, classify
from agent.engine.run_setup import RunSetup
from agent.engine.runner import run_issue
from agent.engine.testing import detect_test_cmd, unusable_test_command
from agent.ledger import Ledger
from agent.ledger.facts import Fact
from agent.ledger.writer import LedgerWriter
from agent.reporting.results import fix_result
from agent.wiring.factories import (
    check_fallbacks,
    learned_if_asked,
    model_factory,
    price_lookup,
    run_setup,
    rung_fit,
)
from agent.wiring.options import (
    RunOptions,
    called_models,
    check_priced,
    checked_fallback,
    load_run_config,
    unpriced_note,
)
from tasks.history import git_repo
from tasks.issues import IssueText
from tasks.models import Task, slugify


class FixOptions(RunOptions):
    """What `agent fix` was asked to do: the shared run options, plus the repository and its tests."""

    repo: Path = Field(Path("."), description="The git repository (--repo); the fix starts from its HEAD.")
    test_cmd: str | None = Field(None, description="How success is judged (--test-cmd; default: detected).")
    targets: list[str] = Field(default_factory=list, description="Test ids that must pass (--target).")
    max_cost_per_issue: float | None = Field(
        None, description="`agent fix --max-cost`: the API cap in USD for this one issue ([budget] max_cost_usd)."
    )
    kind: str = Field("fix", description="The run's kind in the ledger.")

    def config_overrides(self) -> dict[str, str | None]:
        """The shared flags' keys, the fallback (its form checked) and the per-issue cap."""
        return {
            **super().config_overrides(),
            "planner.fallback": checked_fallback(self.fallback),
            "budget.max_cost_usd": None if self.max_cost_per_issue is None else str(self.max_cost_per_issue),
        }


RESUME_FILE = "resume.json"


class FixResume(BaseModel):
    """What a fix leaves in its run directory for `agent resume` (`agent.wiring.resume`): how it ran
    and what it was running, so a resume asks neither the classifier nor the planner again."""

    options: dict[str, Any]
    repo: str
    task: Task
    plan: LadderChoice


def save_fix_resume(run_dir: Path, options: FixOptions, repo: Path, task: Task, plan: LadderChoice) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = FixResume(options=options.model_dump(mode="json"), repo=str(repo), task=task, plan=plan)
    (run_dir / RESUME_FILE).write_text(saved.model_dump_json(indent=1))


class FixRepo(BaseModel):
    """The repository a fix runs on, checked once, and the configuration it brings (its agent.toml)."""

    model_config = ConfigDict(frozen=True)

    root: Path
    head: str
    dirty: bool
    config: AgentConfig


def check_repo(repo: Path) -> tuple[Path, str, bool]:
    """The repository's top level, HEAD commit, and whether its working tree has changes."""
    found = git_repo(repo, "pass --repo PATH to a git repository", "run `git init` and commit, or pass --repo")
    with found:
        root = Path(found.working_tree_dir or repo)
        if not found.head.is_valid():
            raise TaskError(f"{root} has no commits yet: commit the code the agent should start from")
        return root, found.head.commit.hexsha, found.is_dirty(untracked_files=True)


def prepare_fix(options: FixOptions) -> FixRepo:
    """Check the options' repository and read the configuration the fix runs with, from its root."""
    if options.sandbox not in (None, "docker", "local"):
        raise ConfigError(f"unknown sandbox {options.sandbox!r}: use docker or local")
    root, head, dirty = check_repo(options.repo.resolve())
    return FixRepo(root=root, head=head, dirty=dirty, config=load_run_config(options, root))


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


def say_left_out(say: Console, left_out: list[str]) -> None:
    """One line naming the models the planner left out of its ladder, and why."""
    if left_out:
        say.print(f"[yellow]note:[/] the planner left out {', '.join(left_out)}", highlight=False)


def fix_test_command(asked: str | None, root: Path, say: Console) -> str:
    """The test command that judges the fix: the flag's, else the one detected in `root` (said);
    refused before any model call when it cannot tell a fix from a failure."""
    test_cmd = asked
    if test_cmd is None:
        test_cmd = detect_test_cmd(root)
        if test_cmd is None:
            raise ConfigError(f"cannot tell how to run the tests in {root}: pass --test-cmd")
        say.print(f"tests: [cyan]{test_cmd}[/] (detected; pass --test-cmd to change)")
    if (problem := unusable_test_command(test_cmd)) is not None:
        raise UnverifiableError(f"{problem}; no model was called")
    return test_cmd


def run_fix(
    issue: IssueText,
    options: FixOptions,
    env: Mapping[str, str],
    say: Console,
    on_event: EventSink,
    stop: threading.Event | None = None,
    repo: FixRepo | None = None,
) -> tuple[dict[str, Any], AgentError | None]:
    """Run one issue (on `repo` when the caller prepared it); returns the result and the failure
    (if any) that ended it."""
    repo = repo or prepare_fix(options)
    config = repo.config
    if repo.dirty:
        say.print("[yellow]warning:[/] uncommitted changes are not part of what the agent sees (it starts from HEAD)")
    test_cmd = fix_test_command(options.test_cmd, repo.root, say)
    make_model, budget = model_factory(config, env), Budget(config.budget.max_cost_usd)
    run = FixRun(config, options.kind, {"issue": issue.source, "repo": str(repo.root)})
    try:
        chosen = plan_fix(issue, options, config, env, make_model, budget, run)
        say_left_out(say, chosen.left_out)
        task = task_from_issue(issue, repo.root, repo.head, test_cmd, options.targets)
        for name in sorted({rung.model for rung in chosen.ladder}):
            make_model(name, task)  # unknown models, missing keys, oracle without a gold patch: fail first
        check_fallbacks(config, chosen.ladder, make_model)
        cap = config.budget.max_cost_usd
        unpriced = check_priced(called_models(config, chosen.ladder), config, cap, options.allow_unpriced)
    except BaseException:
        run.abandon()  # a run the classifier's first call opened ends as an error, its call recorded
        raise
    if (note := unpriced_note(unpriced)) is not None:
        say.print(f"[yellow]note:[/] {note}", highlight=False)
    if config.sandbox.kind == "local":
        say.print("[bold red]LocalSandbox is NOT isolated: commands run on this machine as you[/]")
    ledger, run_id = run.ledger(), run.run_id(ladder=format_ladder(chosen.ladder))
    context = run_setup(config, ledger, run_id, env, on_event=on_event, stop=stop, make_model=make_model)
    save_fix_resume(context.run_dir, options, repo.root, task, chosen)
    failure = run_to_its_end(context, task, chosen, budget)  # the classifier's calls are charged to it already
    result = fix_result(ledger, run_id, config)
    ledger.close()
    return result, failure


def run_to_its_end(
    context: RunSetup, task: Task, chosen: LadderChoice, budget: Budget, resume: PausedAttempt | None = None
) -> AgentError | None:
    """`run_issue`, and the run's row closed as it ended: finished, paused, error (returned) or interrupted."""
    ledger, run_id = context.ledger, context.run_id
    try:
        done = run_issue(context, task, chosen, budget, resume=resume)
    except AgentError as exc:
        ledger.finish_run(run_id, "error")
        return exc
    except BaseException:
        ledger.finish_run(run_id, "interrupted")
        raise
    ledger.finish_run(run_id, "paused" if done.status == "paused" else "finished")
    return None


def plan_fix(
    issue: IssueText,
    options: FixOptions,
    config: AgentConfig,
    env: Mapping[str, str],
    make_model: Callable[[str, Task | None], Model],
    budget: Budget,
    run: FixRun | None = None,
) -> LadderChoice:
    """The issue classified (the classifier's calls charged to `budget`, each recorded under `run`
    before it is sent) and the ladder it climbs."""
    learned = learned_if_asked(config, options.policy, env, seed=issue.text)
    classifier = [config.planner.classifier_model] if config.planner.classifier_model else []
    check_priced(classifier, config, config.budget.max_cost_usd, options.allow_unpriced)  # before it is asked
    recorder = None if run is None else RunRecorder(run.run_id, run.write)
    prices = price_lookup(config)
    classification = classify(issue.text, issue.labels, config.planner, make_model, prices, budget, recorder)
    fit, cap = rung_fit(config, env), config.budget.max_cost_usd
    return options.choose_ladder(classification, config, fit=fit, learned=learned, max_api_usd=cap)


class FixRun:
    """The fix's ledger and run row, written when first needed: at the classifier's first call (its
    row must exist before the request is sent), else once the ladder is planned and checked."""

    def __init__(self, config: AgentConfig, kind: str, args: dict[str, Any]) -> None:
        self.config, self.kind, self.args = config, kind, args
        self._ledger: Ledger | None = None
        self._run_id: str | None = None

    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.config.ledger_path)
        return self._ledger

    def run_id(self, ladder: str | None = None) -> str:
        """The run's id, its row written now if it has none (with the ladder when it is known)."""
        if self._run_id is None:
            args = self.args if ladder is None else {**self.args, "ladder": ladder}
            budget = self.config.budget.max_cost_usd
            self._run_id = self.ledger().create_run(self.kind, args, self.config.review.hourly_rate_usd, budget)
        return self._run_id

    def write(self, fact: Fact) -> int | None:
        return LedgerWriter(self.ledger()).write(fact)

    def abandon(self) -> None:
        """The fix stopped before its issue ran: a run row written already ends as an error."""
        if self._ledger is not None:
            if self._run_id is not None:
                self._ledger.finish_run(self._run_id, "error")
            self._ledger.close()
