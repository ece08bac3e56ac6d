"""What a run was asked to do, shared by `agent fix` and `agent bench`, and the configuration it runs with.

`RunOptions` holds the flags both commands take: how the ladder is chosen and where the commands
run. `FixOptions` (`agent.wiring.fix`) and `BenchOptions` (`agent.bench.jobs`) extend it with
their own; each names its `--max-cost` for what it caps (one issue, or the whole batch).
`load_run_config` reads the configuration once, with the options' flags as its top layer.
`check_priced`: a capped run refuses a model without a price (its calls could not count against
the cap) unless `--allow-unpriced`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agent.core.config import AgentConfig, load_config
from agent.core.effort import EffortLevel, Rung
from agent.core.errors import ConfigError
from agent.engine.calling.router import fallback_chain, parse_target
from agent.engine.planner import Classification, LadderChoice, LadderChooser, RungFit, plan_ladder


class RunOptions(BaseModel):
    """The flags `agent fix` and `agent bench` share."""

    model_config = ConfigDict(frozen=True)

    ladder: str | None = Field(None, description="Exact rungs MODEL@EFFORT,... (--ladder) instead of the planner's.")
    model: str | None = Field(None, description="Climb effort on this model (--model) instead of the planner's.")
    effort: str | None = Field(None, description="Starting effort with --model.")
    policy: str | None = Field(
        None, description="Who chooses the ladder: `rules` (the task type's ladder) or `learned` (the ledger's)."
    )
    fallback: str | None = Field(None, description="MODEL[@EFFORT] every rung falls back to ([planner] fallback).")
    sandbox: str | None = Field(None, description="Where commands run: docker or local ([sandbox] kind).")
    image: str | None = Field(None, description="Sandbox image used as it is ([sandbox] image).")
    setup: str | None = Field(None, description="Setup command for repositories that do not name their own.")
    ledger: Path | None = Field(None, description="The ledger file (the global --ledger).")
    allow_unpriced: bool = Field(
        False, description="Run a capped run with unpriced models (--allow-unpriced); their calls do not count."
    )

    def choose_ladder(
        self,
        classification: Classification,
        config: AgentConfig,
        *,
        fit: RungFit | None,
        learned: LadderChooser | None,
        max_api_usd: Decimal | None = None,
    ) -> LadderChoice:
        """The ladder these flags give the classified issue (`--ladder`, `--model`/`--effort`, or the planner's)."""
        effort = EffortLevel.parse(self.effort) if self.effort else None
        return plan_ladder(
            classification, config, self.ladder, self.model, effort, fit=fit, learned=learned, max_api_usd=max_api_usd
        )

    def config_overrides(self) -> dict[str, str | None]:
        """The configuration keys these flags set (None: the flag was not given)."""
        return {
            "ledger": None if self.ledger is None else str(self.ledger),
            "sandbox.kind": self.sandbox,
            "sandbox.image": self.image,
            "environment.setup": self.setup,
        }


def load_run_config(options: RunOptions, project_dir: Path | None, env: Mapping[str, str] | None = None) -> AgentConfig:
    """The configuration a run uses, read once: every layer (`project_dir`'s agent.toml, the AGENT_*
    variables of `env`, default the process's), then the options' flags on top."""
    return load_config(
        project_dir=project_dir, overrides=options.config_overrides(), env=None if env is None else dict(env)
    )


def checked_fallback(spec: str | None) -> str | None:
    """A `--fallback MODEL[@EFFORT]` flag, its form checked (ConfigError when it is not one)."""
    if spec is not None:
        parse_target(spec, EffortLevel.MEDIUM)
    return spec


def called_models(config: AgentConfig, ladder: Iterable[Rung]) -> list[str]:
    """Every model a run of `ladder` may call: its rungs, their fallbacks, the summary and classifier models."""
    rungs = list(ladder)
    names = [rung.model for rung in rungs] + [target.model for rung in rungs for target in fallback_chain(config, rung)]
    if config.context.summary_model:
        names.append(parse_target(config.context.summary_model, EffortLevel.MEDIUM).model)
    if config.planner.classifier_model:
        names.append(config.planner.classifier_model)
    return list(dict.fromkeys(names))


def check_priced(models: Iterable[str], config: AgentConfig, cap: Decimal | None, allow: bool) -> list[str]:
    """The models among `models` without a price, when a cap is set (none matter without one). A capped
    run refuses them (exit 2), as their calls could not count against the cap, unless `allow`."""
    if cap is None:
        return []
    from agent.wiring.factories import price_lookup  # the room above: it builds runs from these options

    price_for, unpriced = price_lookup(config), []
    for name in dict.fromkeys(models):
        try:
            if price_for(name) is None:
                unpriced.append(name)
        except ConfigError:
            continue  # a model that cannot run here: the model checks say so
    if unpriced and not allow:
        names, first = ", ".join(unpriced), unpriced[0]
        raise ConfigError(
            f"{names} {'has' if len(unpriced) == 1 else 'have'} no price, so the ${cap} cost cap cannot count "
            f'{"its" if len(unpriced) == 1 else "their"} calls: set [models."{first}"] price or pass --allow-unpriced'
        )
    return unpriced


def unpriced_note(unpriced: list[str]) -> str | None:
    """What a capped run allowed to call unpriced models says once (None: it calls none)."""
    if not unpriced:
        return None
    return f"calls to {', '.join(unpriced)} are unpriced: they do not count against the cost cap (--allow-unpriced)"
