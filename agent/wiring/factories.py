"""The run setup and its factories: the only place the configuration becomes what the engine receives.

`model_factory`, `price_lookup`, `window_lookup`, `sandbox_factory` (each from its repository's
environment image: `task_environments`, `environment_preparer`) and `rung_fit` turn the
configuration into the engine's factories; `run_setup` assembles them for one run. The learned
planner is fitted here too (`learned_planner`, `learned_if_asked`), over the rungs that can run.
API keys and base URLs are read from the `env` mapping given, so the demo can point the real SDKs
at its fake provider without touching the process environment.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.core.config import AgentConfig, PlannerConfig
from agent.core.effort import EffortLevel, Rung
from agent.core.errors import ConfigError, TaskError
from agent.core.events import EventSink, ignore
from agent.core.protocols import Model, Sandbox
from agent.engine.calling.router import fallback_chain, parse_target
from agent.engine.planner import allowed_rungs
from agent.engine.runner import EnvironmentPreparer, RunSetup
from agent.ledger import Ledger
from agent.providers import build_model, is_simulated, resolve_model, simulated_class
from agent.providers.pricing import PriceQuote, catalog_window, quote
from tasks.models import Task

if TYPE_CHECKING:
    from agent.engine.learned import LearnedPlanner
    from sandboxes.environment import Environments, Prepared


def model_factory(config: AgentConfig, env: Mapping[str, str]) -> Callable[[str, Task | None], Model]:
    """A factory of models by name: one client per provider model for the whole run; simulated
    models that work from the task (oracle, null) are built per task."""

    @cache
    def run_model(name: str) -> Model:
        return build_model(name, config, env)

    def make(name: str, task: Task | None = None) -> Model:
        simulated = simulated_class(name)
        if simulated is not None and simulated.per_task:
            return build_model(name, config, env, task)
        return run_model(name)

    return make


def rung_fit(config: AgentConfig, env: Mapping[str, str]) -> Callable[[Rung], tuple[Rung, str | None]]:
    """For the planner: a rung at its provider's nearest native effort, and why its model cannot run."""

    def fit(rung: Rung) -> tuple[Rung, str | None]:
        if is_simulated(rung.model):
            return rung, None
        resolved = resolve_model(rung.model, config)
        level, _wire = resolved.effort_for(rung.effort)
        key_env = resolved.provider_config.api_key_env
        missing = key_env is not None and not env.get(key_env, "").strip()
        return Rung(model=rung.model, effort=level), f"{key_env} is not set" if missing else None

    return fit


def window_lookup(config: AgentConfig) -> Callable[[str], int | None]:
    """A model's context window: `[models."X"] context_window`, else the catalog's (None: unknown)."""

    @cache
    def window_for(name: str) -> int | None:
        if is_simulated(name):
            return None
        resolved = resolve_model(name, config)
        configured = config.models.get(name)
        if configured is not None and configured.context_window is not None:
            return configured.context_window
        return catalog_window(resolved.wire_name, resolved.price_provider_id)

    return window_for


def check_fallbacks(config: AgentConfig, ladder: list[Rung], make_model: Callable[[str, Task | None], Model]) -> None:
    """Every fallback the ladder's rungs may take, and the summary model, must be able to run here: a
    safety net that cannot catch anything is bad configuration, said before anything runs."""
    for target in dict.fromkeys(target for rung in ladder for target in fallback_chain(config, rung)):
        try:
            make_model(target.model, None)
        except ConfigError as exc:
            raise ConfigError(f"fallback {target} cannot run: {exc}") from None
    writer = config.context.summary_model
    if writer is not None:
        try:
            make_model(parse_target(writer, EffortLevel.MEDIUM).model, None)
        except ConfigError as exc:
            raise ConfigError(f"[context] summary_model {writer} cannot run: {exc}") from None


def price_lookup(config: AgentConfig) -> Callable[[str], PriceQuote | None]:
    """A model's price: its configured one, else the catalog's (None: unpriced, or simulated)."""

    @cache
    def price_for(name: str) -> PriceQuote | None:
        if is_simulated(name):
            return None  # simulated models cost nothing and have no price
        resolved = resolve_model(name, config)
        return quote(resolved.wire_name, resolved.price_provider_id, resolved.price)

    return price_for


def learned_planner(config: AgentConfig, ledger: Ledger, env: Mapping[str, str], *, seed: str = "") -> LearnedPlanner:
    """The learned policy fitted on every measured attempt of `ledger`, over the rungs allowed here."""
    from agent.engine.learned import LearnedPlanner
    from agent.learning import observations_from_ledger

    allowed, _left_out = allowed_rungs(config, rung_fit(config, env))
    prices = price_lookup(config)

    def price_of(name: str) -> tuple[Decimal, Decimal] | None:
        quoted = prices(name)
        return None if quoted is None else (quoted.input, quoted.output)

    observations = observations_from_ledger(ledger, review_estimate_minutes=config.review.minutes_per_attempt)
    return LearnedPlanner(config, observations, allowed, price_of, seed=seed)


def learned_if_asked(
    config: AgentConfig, asked: str | None, env: Mapping[str, str], *, seed: str = ""
) -> LearnedPlanner | None:
    """The learned policy fitted on the configured ledger when the run uses it (`asked`, else the
    configuration's policy); None when the rules choose."""
    if policy_of(config.planner, asked) != "learned":
        return None
    history = Ledger(config.ledger_path)
    try:
        return learned_planner(config, history, env, seed=seed)
    finally:
        history.close()


def policy_of(planner: PlannerConfig, asked: str | None) -> str:
    """The planner policy a run uses: the flag's, else the configuration's ([planner] policy)."""
    policy = asked or planner.policy
    if policy not in ("rules", "learned"):
        raise ConfigError(f"unknown planner policy {policy!r}: use rules or learned")
    return policy


def run_setup(
    config: AgentConfig,
    ledger: Ledger,
    run_id: str,
    env: Mapping[str, str],
    *,
    on_event: EventSink = ignore,
    stop: threading.Event | None = None,
    deliver_branch: bool = True,
    make_model: Callable[[str, Task | None], Model] | None = None,
) -> RunSetup:
    """Everything `run_issue` needs for one run: the only place a RunSetup is built."""
    environments = task_environments(config)
    return RunSetup(
        config=config,
        ledger=ledger,
        run_id=run_id,
        model_factory=make_model or model_factory(config, env),
        price_for=price_lookup(config),
        window_for=window_lookup(config),
        sandbox_factory=sandbox_factory(config, run_id, environments),
        prepare_environment=None if environments is None else environment_preparer(environments),
        on_event=on_event,
        stop=stop or threading.Event(),
        deliver_branch=deliver_branch,
    )


def task_environments(config: AgentConfig) -> Environments | None:
    """The run's environment images (None for the local sandbox, which runs in the host's own Python)."""
    if config.sandbox.kind != "docker":
        return None
    from sandboxes.environment import Environments

    return Environments(config.sandbox, config.environment)


def _prepare(environments: Environments, task: Task, say: Callable[[str], None]) -> Prepared:
    if not task.repo_path:
        raise TaskError(f"task {task.instance_id} has no local repository to copy")
    return environments.prepare(Path(task.repo_path), task.base_commit, image=task.image, setup=task.setup, say=say)


def environment_preparer(environments: Environments) -> EnvironmentPreparer:
    """For the runner: build (or find) a task's environment, saying how it goes; what it is, as data."""

    def prepare(task: Task, say: Callable[[str], None]) -> dict[str, Any]:
        return _prepare(environments, task, say).as_data()

    return prepare


def sandbox_factory(
    config: AgentConfig, run_id: str, environments: Environments | None = None
) -> Callable[[Task], Sandbox]:
    """Sandboxes for tasks, each from its repository's environment image (built once when missing)."""
    from sandboxes import NotIsolatedWarning, make_sandbox

    environments = environments or task_environments(config)

    def make(task: Task) -> Sandbox:
        if not task.repo_path:
            raise TaskError(f"task {task.instance_id} has no local repository to copy")
        sandbox = config.sandbox
        if environments is not None:
            image = _prepare(environments, task, lambda _line: None).image
            sandbox = sandbox.model_copy(update={"image": image})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotIsolatedWarning)  # the CLI says it once, loudly
            return make_sandbox(sandbox, Path(task.repo_path), task.base_commit, run_id)

    return make
