"""The `fix` flow shared by `agent fix`, `agent demo` and the TUI: checks, plan, run, result.

API keys and base URLs are read from the `env` mapping given (AGENT_* settings from the process
environment as usual), so the demo can point the real SDKs at its loopback fake provider without
touching the process environment.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from agent.budget import Budget
from agent.compose import check_repo, model_factory, price_lookup, rung_fit, sandbox_factory, task_from_issue
from agent.config import AgentConfig, load_config
from agent.effort import EffortLevel, format_ladder
from agent.errors import AgentError, ConfigError
from agent.events import EventSink
from agent.ledger import Ledger
from agent.planner import classify, plan_ladder
from agent.results import fix_result
from agent.runner import RunContext, run_issue
from agent.testing import detect_test_cmd
from tasks.issues import IssueText


class FixOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    repo: Path = Path(".")
    ladder: str | None = None
    model: str | None = None
    effort: str | None = None
    test_cmd: str | None = None
    targets: list[str] = Field(default_factory=list)
    max_cost: float | None = None
    sandbox: str | None = None
    image: str | None = None
    ledger: Path | None = None
    kind: str = "fix"


def fix_config(options: FixOptions, root: Path | None) -> AgentConfig:
    """The configuration a fix runs with: the repository's agent.toml (when `root` is known) plus the flags."""
    return load_config(
        project_dir=root,
        overrides={
            "ledger": None if options.ledger is None else str(options.ledger),
            "sandbox.kind": options.sandbox,
            "sandbox.image": options.image,
            "budget.max_cost_usd": None if options.max_cost is None else str(options.max_cost),
        },
    )


def say_left_out(say: Console, left_out: list[str]) -> None:
    """One line naming the models the planner left out of its ladder, and why."""
    if left_out:
        say.print(f"[yellow]note:[/] the planner left out {', '.join(left_out)}", highlight=False)


def run_fix(
    issue: IssueText,
    options: FixOptions,
    env: Mapping[str, str],
    say: Console,
    on_event: EventSink,
    stop: threading.Event | None = None,
) -> tuple[dict[str, Any], AgentError | None]:
    """Run one issue; returns the result object and the failure (if any) that ended it."""
    if options.sandbox not in (None, "docker", "local"):
        raise ConfigError(f"unknown sandbox {options.sandbox!r}: use docker or local")
    root, head, dirty = check_repo(options.repo.resolve())
    config = fix_config(options, root)
    if dirty:
        say.print("[yellow]warning:[/] uncommitted changes are not part of what the agent sees (it starts from HEAD)")
    test_cmd = options.test_cmd
    if test_cmd is None:
        test_cmd = detect_test_cmd(root)
        if test_cmd is None:
            raise ConfigError(f"cannot tell how to run the tests in {root}: pass --test-cmd")
        say.print(f"tests: [cyan]{test_cmd}[/] (detected; pass --test-cmd to change)")
    make_model = model_factory(config, env)
    effort = EffortLevel.parse(options.effort) if options.effort else None
    price_for, budget = price_lookup(config), Budget(config.budget.max_cost_usd)
    classification = classify(issue.text, issue.labels, config.planner, make_model, price_for, budget)
    chosen = plan_ladder(classification, config, options.ladder, options.model, effort, fit=rung_fit(config, env))
    say_left_out(say, chosen.left_out)
    task = task_from_issue(issue, root, head, test_cmd, options.targets)
    for name in sorted({rung.model for rung in chosen.ladder}):
        make_model(name, task)  # unknown models, missing keys, oracle without a gold patch: fail before anything runs
    if config.sandbox.kind == "local":
        say.print("[bold red]LocalSandbox is NOT isolated: commands run on this machine as you[/]")
    ledger = Ledger(config.ledger_path)
    run_id = ledger.create_run(
        options.kind,
        {"issue": issue.source, "repo": str(root), "ladder": format_ladder(chosen.ladder)},
        config.review.hourly_rate_usd,
        config.budget.max_cost_usd,
    )
    context = RunContext(
        config=config,
        ledger=ledger,
        run_id=run_id,
        model_factory=make_model,
        price_for=price_for,
        sandbox_factory=sandbox_factory(config, run_id),
        on_event=on_event,
        stop=stop or threading.Event(),
    )
    failure: AgentError | None = None
    try:
        run_issue(context, task, chosen, test_cmd, budget)  # the classifier's calls are charged to it already
        ledger.finish_run(run_id)
    except AgentError as exc:
        ledger.finish_run(run_id, "error")
        failure = exc
    except BaseException:
        ledger.finish_run(run_id, "interrupted")
        raise
    result = fix_result(ledger, run_id, config)
    ledger.close()
    return result, failure
