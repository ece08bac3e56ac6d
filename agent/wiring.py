"""The only builder of the run context and its factories, and the two flows built on it.

`model_factory`, `price_lookup`, `window_lookup`, `sandbox_factory` and `rung_fit` turn the configuration into
what the engine receives; `run_context` assembles them for one run. `run_fix` is `agent fix`
(and the TUI's live fix) end to end: checks, plan, `run_issue`, result; `run_demo` runs it on
the shipped demo repository against the loopback fake provider. API keys and base URLs are read
from the `env` mapping given, so the demo can point the real SDKs at its fake provider without
touching the process environment.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import git
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from agent.core.config import AgentConfig, load_config
from agent.core.effort import EffortLevel, Rung, format_ladder
from agent.core.errors import AgentError, ConfigError, TaskError, UnverifiableError
from agent.core.events import EventSink, ignore
from agent.core.protocols import Model, Sandbox
from agent.engine.budget import Budget
from agent.engine.planner import allowed_rungs, classify, plan_ladder
from agent.engine.router import fallback_chain, parse_target
from agent.engine.runner import EnvironmentPreparer, RunContext, run_issue
from agent.engine.testing import detect_test_cmd, unusable_test_command
from agent.fake_provider import FakeProvider
from agent.ledger import Ledger
from agent.providers import build_model, is_simulated, resolve_model, simulated_class
from agent.providers.pricing import PriceQuote, catalog_window, quote
from agent.reporting.results import fix_result
from agent.simulate.demo import BANNER, DEMO_MODEL, demo_issue_path, demo_script, make_demo_repo
from tasks.issues import IssueText, read_issue
from tasks.models import Task, slugify

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
    if policy_of(config, asked) != "learned":
        return None
    history = Ledger(config.ledger_path)
    try:
        return learned_planner(config, history, env, seed=seed)
    finally:
        history.close()


def policy_of(config: AgentConfig, asked: str | None) -> str:
    """The planner policy a run uses: the flag's, else the configuration's."""
    policy = asked or config.planner.policy
    if policy not in ("rules", "learned"):
        raise ConfigError(f"unknown planner policy {policy!r}: use rules or learned")
    return policy


def run_context(
    config: AgentConfig,
    ledger: Ledger,
    run_id: str,
    env: Mapping[str, str],
    *,
    on_event: EventSink = ignore,
    stop: threading.Event | None = None,
    deliver_branch: bool = True,
    make_model: Callable[[str, Task | None], Model] | None = None,
) -> RunContext:
    """Everything `run_issue` needs for one run: the only place a RunContext is built."""
    environments = task_environments(config)
    return RunContext(
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
    setup: str | None = None
    policy: str | None = None
    fallback: str | None = None
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
            "environment.setup": options.setup,
            "planner.fallback": checked_fallback(options.fallback),
            "budget.max_cost_usd": None if options.max_cost is None else str(options.max_cost),
        },
    )


def checked_fallback(spec: str | None) -> str | None:
    """A `--fallback MODEL[@EFFORT]` flag, its form checked (ConfigError when it is not one)."""
    if spec is not None:
        parse_target(spec, EffortLevel.MEDIUM)
    return spec


def say_left_out(say: Console, left_out: list[str]) -> None:
    """One line naming the models the planner left out of its ladder, and why."""
    if left_out:
        say.print(f"[yellow]note:[/] the planner left out {', '.join(left_out)}", highlight=False)


class FixRepo(BaseModel):
    """The repository a fix runs on, checked once, and the configuration it brings (its agent.toml)."""

    model_config = ConfigDict(frozen=True)

    root: Path
    head: str
    dirty: bool
    config: AgentConfig


def prepare_fix(options: FixOptions) -> FixRepo:
    """Check the options' repository and read the configuration the fix runs with."""
    if options.sandbox not in (None, "docker", "local"):
        raise ConfigError(f"unknown sandbox {options.sandbox!r}: use docker or local")
    root, head, dirty = check_repo(options.repo.resolve())
    return FixRepo(root=root, head=head, dirty=dirty, config=fix_config(options, root))


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
    root, head, dirty, config = repo.root, repo.head, repo.dirty, repo.config
    if dirty:
        say.print("[yellow]warning:[/] uncommitted changes are not part of what the agent sees (it starts from HEAD)")
    test_cmd = options.test_cmd
    if test_cmd is None:
        test_cmd = detect_test_cmd(root)
        if test_cmd is None:
            raise ConfigError(f"cannot tell how to run the tests in {root}: pass --test-cmd")
        say.print(f"tests: [cyan]{test_cmd}[/] (detected; pass --test-cmd to change)")
    if (problem := unusable_test_command(test_cmd)) is not None:
        raise UnverifiableError(f"{problem}; no model was called")
    make_model = model_factory(config, env)
    effort = EffortLevel.parse(options.effort) if options.effort else None
    price_for, budget = price_lookup(config), Budget(config.budget.max_cost_usd)
    learned = learned_if_asked(config, options.policy, env, seed=issue.text)
    classification = classify(issue.text, issue.labels, config.planner, make_model, price_for, budget)
    chosen = plan_ladder(
        classification,
        config,
        options.ladder,
        options.model,
        effort,
        fit=rung_fit(config, env),
        learned=learned,
        max_api_usd=config.budget.max_cost_usd,
    )
    say_left_out(say, chosen.left_out)
    task = task_from_issue(issue, root, head, test_cmd, options.targets)
    for name in sorted({rung.model for rung in chosen.ladder}):
        make_model(name, task)  # unknown models, missing keys, oracle without a gold patch: fail before anything runs
    check_fallbacks(config, chosen.ladder, make_model)
    if config.sandbox.kind == "local":
        say.print("[bold red]LocalSandbox is NOT isolated: commands run on this machine as you[/]")
    ledger = Ledger(config.ledger_path)
    run_id = ledger.create_run(
        options.kind,
        {"issue": issue.source, "repo": str(root), "ladder": format_ladder(chosen.ladder)},
        config.review.hourly_rate_usd,
        config.budget.max_cost_usd,
    )
    context = run_context(config, ledger, run_id, env, on_event=on_event, stop=stop, make_model=make_model)
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


def run_demo(
    home: Path,
    console: Console,
    on_event: EventSink,
    sandbox: str | None = None,
    ledger: Path | None = None,
    stop: threading.Event | None = None,
) -> tuple[dict, Exception | None]:
    console.print(BANNER)
    repo = make_demo_repo(home)
    console.print(f"demo repository: {repo}")
    script, issue = demo_script(), read_issue(str(demo_issue_path()))
    with FakeProvider(script) as fake:
        env = {"ANTHROPIC_BASE_URL": fake.anthropic_base_url, "ANTHROPIC_API_KEY": "demo-not-a-real-key"}
        options = FixOptions(
            repo=repo,
            model=DEMO_MODEL,
            effort="medium",
            test_cmd="python -m pytest -q",
            sandbox=sandbox,
            ledger=ledger,
        )
        return run_fix(issue, options, env, console, on_event, stop)


def run_demo_grid(
    config: AgentConfig,
    env: Mapping[str, str],
    run_grid: Callable[[list[str], str, Mapping[str, str]], str],
    say: Console | None = None,
    tasks: int = 10,
) -> dict[str, Any]:
    """`agent demo --grid`: `tasks` built-in tasks (spread over the suite) at every rung of the simulated
    models, then the escalation policies compared offline on that grid, with review at $0/h and at the
    configured rate; printed to `say`, and returned. No API key: the fake provider serves the population
    in this process.

    `run_grid(task ids, grid spec, env)` runs the grid and returns its run id (the caller's `agent.bench`,
    which sits above this module); its `env` is `env` plus the sim's SIM_BASE_URL and SIM_API_KEY.
    The rules planner is graded with the shipped model order's sim stand-ins, sim-frontier then sim-pro
    (for claude-opus-4-7 then deepseek-v4-pro), from each task type's start effort."""
    from agent.fake_provider.sim import sim_env, start_sim
    from agent.reporting.render import Col, print_table
    from agent.reporting.report import build_report
    from tasks.loaders import load_tasks

    grid = "sim-flash,sim-pro,sim-frontier@low,medium,high,xhigh,max"
    policies = {
        "always-max": "sim-frontier@max",
        "cheapest": "sim-flash@low",
        "rules": "planner",
        "climb": "sim-frontier@medium,sim-frontier@high,sim-frontier@xhigh,sim-frontier@max",
        "cascade": "sim-flash@high,sim-pro@high,sim-frontier@max",
        "learned": "learned",
    }
    suite = load_tasks("builtin", config.home)
    chosen = [suite[index * len(suite) // tasks] for index in range(min(tasks, len(suite)))]
    if say is not None:
        say.print(
            f"Simulated models sim-flash, sim-pro and sim-frontier (no API key) on {len(chosen)} built-in tasks,"
            f" each task at every effort: {len(chosen) * 15} attempts, then the policies compared on them.",
            highlight=False,
        )
    with start_sim(chosen) as fake:
        run_id = run_grid([task.instance_id for task in chosen], grid, {**env, **sim_env(fake)})
    starts = {
        name: entry.model_copy(update={"models": None, "ladder": None})
        for name, entry in config.planner.task_types.items()
    }
    rules = config.planner.model_copy(update={"model_order": ["sim-frontier", "sim-pro"], "task_types": starts})
    graded = config.model_copy(update={"planner": rules})
    rates = sorted({Decimal(0), config.review.hourly_rate_usd})
    ledger = Ledger(config.ledger_path)
    try:
        specs = [f"{name}={spec}" for name, spec in policies.items()]
        rows = {
            rate: {
                row["group"]: row
                for row in build_report(ledger, [run_id], "rung", specs, graded, hourly_rate=rate)["policies"]
            }
            for rate in rates
        }
    finally:
        ledger.close()
    shown = [
        {
            "policy": name,
            "ladder": spec,
            **{
                f"at_{float(rate):g}_per_hour": {
                    key: rows[rate][name][key]
                    for key in ("solved", "tasks", "solve_rate", "cost_per_solved_usd", "folds")
                }
                for rate in rates
            },
        }
        for name, spec in policies.items()
    ]
    data = {"run_id": run_id, "grid": grid, "tasks": [task.instance_id for task in chosen], "policies": shown}
    if say is None:
        return data

    def usd(value: float | None) -> str:
        return "-" if value is None else f"${value:.2f}" if value >= 1 else f"${value:.3f}"

    columns = [Col("policy")]
    columns += [Col(f"{head} ${float(rate):g}/h", right=True) for rate in rates for head in ("solved", "$/solved")]
    cells = []
    for name in policies:
        cells.append([name])
        for rate in rates:
            cells[-1] += [f"{rows[rate][name]['solved']}/{len(chosen)}", usd(rows[rate][name]["cost_per_solved_usd"])]
    print_table(say, f"{len(chosen)} built-in tasks x 15 sim rungs: policies compared offline", columns, cells)
    about = {
        "planner": "each task type's start effort up to max on sim-frontier, then on sim-pro (the shipped order)",
        "learned": "per task type, the ladder with the lowest expected $ per solved, fitted on the other tasks",
    }
    ladders = [[name, about.get(spec) or spec.replace(",", " → ")] for name, spec in policies.items()]
    print_table(say, "", [Col("policy"), Col("ladder", wrap=True)], ladders)
    learned, top = rows[Decimal(0)]["learned"], rows[Decimal(0)]["always-max"]
    say.print(
        f"At $0/h the learned planner pays {usd(learned['cost_per_solved_usd'])} per solved issue (always-max"
        f" {usd(top['cost_per_solved_usd'])}) and solves {learned['solved']}/{len(chosen)} (always-max"
        f" {top['solved']}/{len(chosen)}); - is nothing solved. The learned ladders, fold by fold:"
        f" agent report {run_id} --policy learned",
        highlight=False,
        markup=False,
    )
    return data
