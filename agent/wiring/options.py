"""What a run was asked to do, shared by `agent fix` and `agent bench`, and the configuration it runs with.

`RunOptions` holds the flags both commands take: how the ladder is chosen and where the commands
run. `FixOptions` (`agent.wiring.fix`) and `BenchOptions` (`agent.bench.jobs`) extend it with
their own; each names its `--max-cost` for what it caps (one issue, or the whole batch).
`load_run_config` reads the configuration once, with the options' flags as its top layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agent.core.config import AgentConfig, load_config
from agent.core.effort import EffortLevel
from agent.engine.calling.router import parse_target
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
