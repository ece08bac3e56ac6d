"""What `agent tasks mine` gives `agent.bench.mining`: its settings, and the planner's classifier.

`settings_for` reads the configuration (the repository's agent.toml included) and the command's
flags. `PlannerClassifier` types each kept task the way `agent fix` types an issue
(`agent.engine.planner.classify`: the classifier model when `planner.classifier_model` is set,
else the rules, with the labels of the statement). A classifier model's calls are billed as fix's
are: priced, charged to a per-task budget of `budget.max_cost_usd`, and recorded in the ledger under
a run of kind `mine` (written at the first call), each call's row written before it is sent, then
put under one issue row per classified task (status `skipped`: mined, never run).
"""

from __future__ import annotations

from collections.abc import Mapping

from agent.bench.mining import MineSettings
from agent.core.config import AgentConfig
from agent.core.errors import ConfigError
from agent.engine.budget import Budget
from agent.engine.calling.meters import RunRecorder
from agent.engine.evaluation import DEFAULT_TEST_CMD
from agent.engine.planner import Classification, classify
from agent.engine.runner import record_classifier_calls
from agent.engine.testing import is_pytest
from agent.ledger import Ledger
from agent.ledger.facts import Fact
from agent.ledger.writer import LedgerWriter
from agent.wiring import model_factory, price_lookup
from tasks.history import RepoInfo
from tasks.models import Task

MINED = "mined: classified, not run"


def settings_for(
    info: RepoInfo, config: AgentConfig, test_cmd: str | None, setup: str | None = None, image: str | None = None
) -> MineSettings:
    """The run's settings from the configuration and the flags (--test-cmd, --setup, --image)."""
    command = test_cmd or DEFAULT_TEST_CMD
    if not is_pytest(command):
        raise ConfigError(
            f"--test-cmd {command!r} does not run pytest: mining reads each test's result from pytest's "
            "junit report; pass a pytest command such as 'python -m pytest -q'"
        )
    return MineSettings(
        repo=info,
        test_cmd=command,
        setup=setup or config.environment.setup,
        image=image,
        timeout_s=config.sandbox.command_timeout_s,
    )


class PlannerClassifier:
    """The planner's task type for each kept task; a classifier model's calls recorded in the ledger."""

    def __init__(self, config: AgentConfig, env: Mapping[str, str], repo: RepoInfo) -> None:
        self.config, self.repo = config, repo
        self.make_model, self.price_for = model_factory(config, env), price_lookup(config)
        self.ledger: Ledger | None = None
        self.run_id = ""
        self.decided: dict[str, Classification] = {}

    def __call__(self, task: Task, labels: list[str]) -> str:
        budget, run = Budget(self.config.budget.max_cost_usd), RunRecorder(self._run_id, self._write)
        planner = self.config.planner
        decided = classify(task.problem_statement, labels, planner, self.make_model, self.price_for, budget, run)
        self.decided[task.instance_id] = decided
        if decided.calls:
            self._record(task, decided)
        return decided.task_type

    def _ledger(self) -> Ledger:
        """The ledger, and the `mine` run in it, opened at the first classifier call."""
        if self.ledger is None:
            self.ledger = Ledger(self.config.ledger_path)
            self.run_id = self.ledger.create_run(
                "mine",
                {"repo": str(self.repo.path), "classifier": self.config.planner.classifier_model},
                self.config.review.hourly_rate_usd,
                self.config.budget.max_cost_usd,
            )
        return self.ledger

    def _run_id(self) -> str:
        self._ledger()
        return self.run_id

    def _write(self, fact: Fact) -> int | None:
        return LedgerWriter(self._ledger()).write(fact)

    def _record(self, task: Task, decided: Classification) -> None:
        ledger = self._ledger()
        issue_id = ledger.add_issue(
            self.run_id,
            key=task.instance_id,
            title=task.display_title,
            task_type=decided.task_type,
            task_type_reason=decided.reason,
            decided_by=decided.decided_by,
            repo=task.repo_path or task.repo,
            base_commit=task.base_commit,
            test_cmd=task.test_cmd or DEFAULT_TEST_CMD,
            ladder="",  # mined, never climbed
        )
        record_classifier_calls(ledger, issue_id, decided)
        ledger.finish_issue(issue_id, "skipped", error=MINED)

    def close(self) -> None:
        """Finish the ledger run (when a classifier model was asked)."""
        if self.ledger is not None:
            self.ledger.finish_run(self.run_id)
            self.ledger.close()
            self.ledger = None
