"""`agent resume RUN --max-cost NEW` for a paused fix: the same issue and attempt rows, the conversation
taken up where the cap stopped it, then the ladder's next rungs (`agent.engine.pause`).

A fix saves what it needs to go on in its run directory (`resume.json`: the options it ran with,
the repository, the task and the ladder chosen), so a resume neither asks the classifier nor the
planner again. The cap given replaces the issue's; what the issue spent before counts against it.
A paused batch goes on through `agent bench --resume` (`agent.bench.run`), which `agent resume`
calls for bench and grid runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.core.config import AgentConfig
from agent.core.errors import AgentError, ConfigError
from agent.core.events import EventSink
from agent.engine.budget import Budget
from agent.engine.pause import PausedAttempt, read_paused
from agent.ledger import IssueRow, Ledger
from agent.reporting.results import fix_result
from agent.wiring.factories import model_factory, run_setup
from agent.wiring.fix import RESUME_FILE, FixOptions, FixResume, run_to_its_end
from agent.wiring.options import load_run_config


def load_fix_resume(run_dir: Path, run_id: str) -> FixResume:
    path = run_dir / RESUME_FILE
    try:
        return FixResume.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError):
        raise ConfigError(f"run {run_id} left no {path}: only fixes run by this version can be resumed") from None


def paused_point(ledger: Ledger, run_dir: Path, issue: IssueRow) -> PausedAttempt:
    """The resume point of a paused issue: its paused attempt and the state saved in its trajectory."""
    attempts = [attempt for attempt in ledger.attempts(issue.run_id, issue.id) if attempt.outcome == "paused"]
    if not attempts:
        raise ConfigError(f"issue {issue.key} of run {issue.run_id} has no paused attempt to go on from")
    attempt = attempts[-1]
    return read_paused(run_dir, issue.key, issue.id, attempt.id, attempt.rung_index)


def resume_fix(
    run_id: str,
    max_cost: Decimal | None,
    base: AgentConfig,
    env: Mapping[str, str],
    on_event: EventSink,
    stop: threading.Event | None = None,
) -> tuple[dict[str, Any], AgentError | None]:
    """Go on with paused fix `run_id` (found in `base`'s ledger and runs) under the cap `max_cost` (None:
    the cap it had), with the configuration it ran with (its repository's agent.toml, its flags on top)."""
    ledger = Ledger(base.ledger_path)
    try:
        issue = paused_issue(ledger, run_id)
        run_dir = base.runs_dir / run_id
        saved = load_fix_resume(run_dir, run_id)
        point = paused_point(ledger, run_dir, issue)
        options = FixOptions.model_validate(saved.options)
        if max_cost is not None:
            options = options.model_copy(update={"max_cost_per_issue": float(max_cost)})
        config = load_run_config(options, Path(saved.repo))
        cap = config.budget.max_cost_usd
        budget = Budget(cap, spent=ledger.spent(run_id, issue.id))
        make_model = model_factory(config, env)
        ledger.take_over_run(run_id, max_cost_usd=cap)
        context = run_setup(config, ledger, run_id, env, on_event=on_event, stop=stop, make_model=make_model)
        failure = run_to_its_end(context, saved.task, saved.plan, budget, point)
        return fix_result(ledger, run_id, config), failure
    finally:
        ledger.close()


def paused_issue(ledger: Ledger, run_id: str) -> IssueRow:
    """The paused issue of fix `run_id`; ConfigError when there is none to go on with."""
    run = ledger.run(run_id)
    if run is None:
        raise ConfigError(f"no run {run_id} in {ledger.path}: `agent runs` lists the run ids")
    issues = ledger.issues(run_id)
    if not issues or issues[0].status != "paused":
        status = issues[0].status if issues else "no issue"
        raise ConfigError(f"run {run_id} is not paused ({status}): only a paused run can be resumed")
    return issues[0]
