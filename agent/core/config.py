"""Layered configuration: shipped defaults < user file < project agent.toml < AGENT_* env < flags.

Read once at the CLI, validated into frozen pydantic models, and passed down. No work at import.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError

APP_NAME = "agent"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EffortBudget(Frozen):
    max_turns: int = Field(gt=0, description="Turns one attempt may take at this effort.")
    max_tokens: int = Field(gt=0, description="Output tokens per model call at this effort.")
    context_tokens: int = Field(
        32000, gt=0, description="Tokens of the latest tool results sent in full; older ones are masked."
    )


class Price(Frozen):
    """A user price override in USD per 1M tokens."""

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None


class ProviderConfig(Frozen):
    kind: Literal["anthropic", "openai"] = Field(description="Wire format: Anthropic Messages or OpenAI Chat.")
    api_key_env: str | None = Field(None, description="Env var holding the API key (None: no key needed).")
    base_url_env: str | None = Field(None, description="Env var that overrides the base URL.")
    base_url: str | None = Field(None, description="Base URL when the env var is unset (None: SDK default).")
    price_provider: str | None = Field(None, description="genai-prices provider id for this endpoint.")
    efforts: list[EffortLevel] = Field(default_factory=lambda: list(EffortLevel))
    effort_map: dict[EffortLevel, str] = Field(default_factory=dict, description="Level -> wire value.")
    max_retries: int = Field(4, description="Retries the SDK makes on 408/409/429/5xx/529.")
    timeout_s: float = Field(600.0, description="Per-request timeout.")


class ModelConfig(Frozen):
    provider: str | None = None
    efforts: list[EffortLevel] | None = None
    effort_map: dict[EffortLevel, str] | None = None
    price: Price | None = None
    fallback: str | None = Field(None, description="MODEL[@EFFORT] to route to when this model's replies fail.")
    context_window: int | None = Field(None, gt=0, description="Prompt tokens the model accepts (default: catalog).")


class TaskTypeLadder(Frozen):
    start: EffortLevel = EffortLevel.MEDIUM
    models: list[str] | None = Field(None, description="Models to climb (default: planner.model_order).")
    ladder: str | None = Field(None, description="Exact ladder spec; wins over start/models.")


DEFAULT_UNSOLVED_USD = Decimal("200")
"""V when the user names none: about two hours of a developer at $100/h, the time an issue left
unsolved takes someone to fix by hand. It does not move with the review rate, so pricing review at
$0/h (API $ only) still values a solved issue."""


class PlannerConfig(Frozen):
    model_order: list[str]
    classifier_model: str | None = None
    task_types: dict[str, TaskTypeLadder]
    policy: Literal["rules", "learned"] = Field("rules", description="Who chooses the ladder.")
    explore: bool = Field(True, description="Learned: Thompson-sample within explore_cap of the best ladder.")
    explore_cap: float = Field(0.10, ge=0, description="Learned: most extra expected $ per solved exploring may cost.")
    min_attempts: int = Field(20, ge=0, description="Learned: rules until this many measured attempts.")
    fallback: str | None = Field(None, description="MODEL[@EFFORT] any rung falls back to (after its model's own).")
    escalate_within: bool = Field(
        True, description="Abandon an attempt for the next rung when its progress says continuing is worth less."
    )
    escalate_after_turns: int = Field(5, ge=1, description="Turns of an attempt before its progress is judged.")
    escalate_min_attempts: int = Field(
        30, ge=1, description="Finished attempts with progress in the ledger before any attempt is abandoned."
    )
    unsolved_cost: Decimal | None = Field(
        None, ge=0, description="USD the user would pay for an issue left unsolved (V); wins over unsolved_hours."
    )
    unsolved_hours: float | None = Field(
        None, ge=0, description="V as developer hours x [review] hourly_rate_usd (used when unsolved_cost is unset)."
    )

    @property
    def unsolved_from(self) -> Literal["unsolved_cost", "unsolved_hours", "default"]:
        """Which setting V comes from: `unsolved_cost` wins over `unsolved_hours`; neither: the default."""
        if self.unsolved_cost is not None:
            return "unsolved_cost"
        return "unsolved_hours" if self.unsolved_hours is not None else "default"

    def unsolved_usd(self, hourly_rate_usd: Decimal) -> Decimal:
        """V, the price of an issue left unsolved: `unsolved_cost`, else `unsolved_hours` x the hourly
        rate, else `DEFAULT_UNSOLVED_USD`."""
        if self.unsolved_cost is not None:
            return self.unsolved_cost
        if self.unsolved_hours is not None:
            return Decimal(str(self.unsolved_hours)) * hourly_rate_usd
        return DEFAULT_UNSOLVED_USD


class ContextConfig(Frozen):
    """How a long attempt's prompt stays bounded (engine.condensers)."""

    mask_to: float = Field(
        0.25, gt=0, lt=1, description="Share of the effort's context_tokens left in full after the boundary moves."
    )
    summarise_at: float = Field(
        0.8, gt=0, le=1, description="Share of the model's context window at which the oldest turns are summarised."
    )
    summary_model: str | None = Field(
        None, description="MODEL[@EFFORT] that writes summaries (default: the attempt's)."
    )


class RouterConfig(Frozen):
    """How model replies are validated and when an attempt falls back to another rung (engine.router)."""

    fallback_after: int = Field(2, ge=1, description="Invalid replies of one model in an attempt before falling back.")
    loop_repeats: int = Field(3, ge=2, description="The same tool call this many times in a row is a loop.")
    advise_above: float = Field(0.30, ge=0, le=1, description="Fallback rate above which a model is the wrong primary.")
    advise_below: float = Field(
        0.05, ge=0, le=1, description="Fallback rate below which more could go to the cheap model."
    )
    rate_limit_max_wait_s: float = Field(
        1800.0,
        ge=0,
        description="The longest a run waits out a provider's rate limits (429s) before it pauses instead.",
    )


class SandboxConfig(Frozen):
    kind: Literal["docker", "local"] = "docker"
    image: str = "agent-sandbox:latest"
    workdir: str = "/testbed"
    workdir_tmpfs: bool = Field(
        True, description="Work directory on a tmpfs (counted in mem_limit): copies 8x faster than on disk."
    )
    user: str = "agent"
    uid: int = Field(1000, description="Numeric id of `user` in the image (owner of the tmpfs work directory).")
    network: str = "none"
    mem_limit: str = "2g"
    cpus: float = 1.0
    pids_limit: int = 512
    command_timeout_s: int = 180
    output_head_bytes: int = 10000
    output_tail_bytes: int = 10000


class EnvironmentConfig(Frozen):
    """How each repository's declared dependencies are provisioned into an image (see sandboxes.environment)."""

    detect: bool = Field(True, description="Read the repository's dependency files to decide what to install.")
    setup: str | None = Field(None, description="Run this in the build instead of the detected install.")
    network: bool = Field(False, description="Let the build download (attempt containers never get a network).")
    find_links: list[str] = Field(default_factory=list, description="Extra wheel directories or URLs for pip.")
    index_url: str | None = Field(None, description="The package index the host resolves from (pip's default).")
    extras: list[str] | None = Field(None, description="Extras to install (default: the test/dev ones present).")


class ReviewConfig(Frozen):
    minutes_per_attempt: float = 10.0
    minutes_per_100_lines: float = 0.0
    hourly_rate_usd: Decimal = Decimal("100")
    bill: Literal["each_attempt", "delivered"] = Field(
        "each_attempt",
        description="Whose review is billed: every attempt that changed the code, or only the patch delivered.",
    )


class IssueConfig(Frozen):
    max_kb: int = Field(200, gt=0, description="Largest issue text accepted, in KB.")


class BudgetConfig(Frozen):
    max_cost_usd: Decimal | None = Field(None, gt=0, description="Per-issue API cap in USD (None: no cap).")


class AgentConfig(Frozen):
    home: Path
    ledger: Path | None = None
    budget: BudgetConfig = BudgetConfig()
    issue: IssueConfig = IssueConfig()
    review: ReviewConfig = ReviewConfig()
    efforts: dict[EffortLevel, EffortBudget]
    providers: dict[str, ProviderConfig]
    routing: dict[str, str]
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    planner: PlannerConfig
    router: RouterConfig = RouterConfig()
    context: ContextConfig = ContextConfig()
    sandbox: SandboxConfig = SandboxConfig()
    environment: EnvironmentConfig = EnvironmentConfig()
    sources: list[str] = Field(default_factory=list, description="Files and env vars that were read.")

    @property
    def ledger_path(self) -> Path:
        return self.ledger or self.home / "ledger.sqlite"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    def budget_for(self, effort: EffortLevel) -> EffortBudget:
        return self.efforts[effort]


# AGENT_* env vars and the config keys they set.
ENV_KEYS: dict[str, tuple[str, ...]] = {
    "AGENT_HOME": ("home",),
    "AGENT_LEDGER": ("ledger",),
    "AGENT_MAX_COST": ("budget", "max_cost_usd"),
    "AGENT_HOURLY_RATE": ("review", "hourly_rate_usd"),
    "AGENT_REVIEW_MINUTES": ("review", "minutes_per_attempt"),
    "AGENT_SANDBOX": ("sandbox", "kind"),
    "AGENT_SANDBOX_IMAGE": ("sandbox", "image"),
}


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    nested: Any = value
    for key in reversed(path):
        nested = {key: nested}
    return deep_merge(data, nested)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or move it away") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None


def user_config_path(env: dict[str, str]) -> Path:
    """AGENT_CONFIG (which must exist; /dev/null reads as empty), else the platform's config file."""
    explicit = env.get("AGENT_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise ConfigError(f"AGENT_CONFIG names {path}, which does not exist: create it, or unset AGENT_CONFIG")
        if path.is_dir():
            raise ConfigError(f"AGENT_CONFIG names {path}, a directory: point it at a TOML file")
        return path
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def load_config(
    project_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> AgentConfig:
    """Build the effective configuration from every layer, lowest first."""
    env = dict(os.environ) if env is None else env
    data = tomllib.loads(resources.files("agent.core").joinpath("defaults.toml").read_text())
    data["home"] = str(platformdirs.user_data_path(APP_NAME))
    sources = ["defaults"]
    layers = [user_config_path(env)]
    if project_dir is not None:
        layers.append(project_dir / "agent.toml")
    for path in layers:
        if path.is_file() or path == Path(os.devnull):
            data = deep_merge(data, _read_toml(path))
            sources.append(str(path))
    for var, path_keys in ENV_KEYS.items():
        if env.get(var):
            data = set_path(data, path_keys, env[var])
            sources.append(var)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            data = set_path(data, tuple(dotted.split(".")), value)
    data["sources"] = sources
    try:
        config = AgentConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"bad configuration at {where}: {first['msg']} (read from {', '.join(sources)})") from None
    if config.home.exists() and not config.home.is_dir():
        raise ConfigError(f"the agent's home {config.home} is a file, not a directory: point AGENT_HOME at a directory")
    return config
