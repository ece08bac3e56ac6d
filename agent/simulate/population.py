"""The simulated model population `sim-*`: who passes which task, how often, and at what token cost.

Each model has a skill, each effort level a gain and a cost share, each task a difficulty: the
value of its `difficulty` field (easy/medium/hard) plus an offset drawn from N(0, noise) seeded by
(population seed, instance id). An attempt passes with probability

    p = σ(scale · (skill + gain − difficulty))

and whether one attempt does is a deterministic draw, uniform(seed, task, model, effort, attempt
number) < p: a rerun gives the same outcomes, and a rung tried twice on one issue (attempt numbers
0 and 1) can give two. `attempt_shape` says how many turns an attempt takes and how many output
tokens each turn reports, from the task type's row of the token table and the effort's cost share.

The shipped population (`population.toml`, package data) is calibrated on the built-in suite; its
comments say where each number comes from. Prices are not here: they are `[models."sim-..."] price`
overrides in the configuration (`agent/core/defaults.toml`), where the runner reads every price.
The fake provider serves the population over the real APIs (`agent.fake_provider.sim`), and
`agent.simulate.sim_turns` says what each turn of an attempt does.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from statistics import NormalDist

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError
from tasks.models import Task

MIN_TURNS = 3
"""Plan and read, edit, finish: the fewest turns an attempt takes."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SimModel(_Frozen):
    skill: float = Field(description="Ability in logit units; compare with task difficulty.")
    about: str = Field("", description="What the model stands for.")


class EffortSetting(_Frozen):
    gain: float = Field(description="Added to the skill at this effort.")
    cost: float = Field(gt=0, le=1, description="Share of the max-effort output tokens an attempt spends.")


class TaskCost(_Frozen):
    turns: int = Field(ge=MIN_TURNS, description="Turns of an attempt at max effort.")
    output_tokens: int = Field(gt=0, description="Output tokens per turn at max effort.")


class Difficulty(_Frozen):
    levels: dict[str, float] = Field(description="A task's `difficulty` value -> its base difficulty.")
    noise: float = Field(ge=0, description="Standard deviation of the seeded per-task offset.")
    default: str = Field("medium", description="The level of a task without a known `difficulty`.")


class Population(_Frozen):
    """A population file, validated."""

    seed: int
    scale: float = Field(gt=0, description="Slope of the logistic.")
    difficulty: Difficulty
    efforts: dict[EffortLevel, EffortSetting]
    models: dict[str, SimModel]
    task_types: dict[str, TaskCost]
    default_task_type: str = Field(description="The row of a task without a known `task_type`.")
    reasoning_share: float = Field(ge=0, le=1, description="Part of each turn's output tokens that is thinking.")

    @model_validator(mode="after")
    def _complete(self) -> Population:
        missing = [level.value for level in EffortLevel if level not in self.efforts]
        if missing:
            raise ValueError(f"efforts: add {', '.join(missing)} (every level needs a gain and a cost)")
        if self.default_task_type not in self.task_types:
            raise ValueError(f"default_task_type {self.default_task_type!r} is not in task_types")
        if self.difficulty.default not in self.difficulty.levels:
            raise ValueError(f"difficulty.default {self.difficulty.default!r} is not in difficulty.levels")
        return self


class AttemptShape(_Frozen):
    """How long one attempt is and what each of its turns reports."""

    turns: int
    output_tokens: int = Field(description="Per turn, thinking included.")
    reasoning_tokens: int = Field(description="Per turn, the thinking part of output_tokens.")


def default_population_path() -> Path:
    return Path(str(resources.files("agent.simulate").joinpath("population.toml")))


def load_population(path: Path | None = None) -> Population:
    """The population in `path` (TOML, or JSON by suffix); the shipped one when None."""
    path = path or default_population_path()
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read population {path}: {exc.strerror}; pass an existing file") from None
    try:
        return Population.model_validate(json.loads(text) if path.suffix == ".json" else tomllib.loads(text))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"malformed population {path}: {str(exc).splitlines()[0]}; fix the file") from None


def uniform(*parts: object) -> float:
    """A number in (0, 1) that depends only on `parts`: the first 8 bytes of their SHA-256."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


def sim_model(population: Population, name: str) -> SimModel:
    found = population.models.get(name)
    if found is None:
        known = ", ".join(sorted(population.models))
        raise ConfigError(f"unknown sim model {name!r}: the population has {known}")
    return found


def task_difficulty(population: Population, task: Task) -> float:
    """The task's level plus its seeded offset (the same for every model and effort)."""
    levels = population.difficulty.levels
    base = levels.get((task.difficulty or "").strip().lower(), levels[population.difficulty.default])
    offset = NormalDist().inv_cdf(uniform(population.seed, "difficulty", task.instance_id))
    return base + population.difficulty.noise * offset


def pass_probability(population: Population, task: Task, model: str, effort: EffortLevel) -> float:
    """σ(scale · (skill + gain − difficulty))."""
    logit = sim_model(population, model).skill + population.efforts[effort].gain - task_difficulty(population, task)
    return 1.0 / (1.0 + math.exp(-population.scale * logit))


def attempt_passes(population: Population, task: Task, model: str, effort: EffortLevel, attempt_index: int) -> bool:
    """Whether the attempt numbered `attempt_index` (0 = the issue's first) of this rung passes."""
    draw = uniform(population.seed, "attempt", task.instance_id, model, effort.value, attempt_index)
    return draw < pass_probability(population, task, model, effort)


def expected_pass_rate(population: Population, tasks: Sequence[Task], model: str, effort: EffortLevel) -> float:
    """The mean pass probability of one rung over `tasks`: what a large rerun would solve."""
    return sum(pass_probability(population, task, model, effort) for task in tasks) / len(tasks)


def attempt_shape(population: Population, task: Task, effort: EffortLevel) -> AttemptShape:
    """Turns and tokens per turn: an attempt spends the effort's cost share of the max-effort output
    tokens (turns × tokens per turn of the task type's row), with turns growing as its square root."""
    row = population.task_types.get(task.task_type or "", population.task_types[population.default_task_type])
    share = population.efforts[effort].cost
    turns = max(MIN_TURNS, round(row.turns * math.sqrt(share)))
    per_turn = max(1, round(row.turns * row.output_tokens * share / turns))
    return AttemptShape(
        turns=turns, output_tokens=per_turn, reasoning_tokens=round(per_turn * population.reasoning_share)
    )
