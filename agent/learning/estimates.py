"""The fitted model the learned planner reads: per task type and rung, how able the rung is and what
an attempt costs, and the spread of task difficulty that ties a ladder's attempts together.

A task of type t has a difficulty d ~ Normal(mu_t, spread^2); rung r passes it with probability
sigmoid(ability_{t,r} - d), attempts being independent given d. Every probability a ladder needs is
an integral over d, done on a fixed grid of `GRID_POINTS` points (the quadrature): after some
attempts failed, the task's difficulty is the prior times each failure's likelihood, renormalised.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from agent.core.errors import ConfigError

Vector = npt.NDArray[np.float64]

GRID_POINTS = 41
Z_GRID: Vector = np.linspace(-5.0, 5.0, GRID_POINTS)
"""Standard-normal quadrature points: a difficulty is mu + spread * z."""
Z_WEIGHTS: Vector = np.exp(-0.5 * Z_GRID**2) / np.exp(-0.5 * Z_GRID**2).sum()

DEFAULT_RATE = 0.5
"""The pass rate assumed for a rung the prior does not name."""


def sigmoid(x: Vector) -> Vector:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(frozen=True)
class Prior:
    """The rules planner's view, as weak as `strength` attempts: each rung's expected pass rate on an
    average task (of no particular type), and optionally what an attempt costs before any is measured."""

    rung_rates: dict[str, float]
    strength: float = 2.0
    api_usd: dict[str, float] = field(default_factory=dict)  # rung -> expected API $ per attempt
    review_minutes: float = 10.0  # the configured review estimate per attempt (`[review] minutes_per_attempt`)

    def rate(self, rung: str) -> float:
        return min(max(self.rung_rates.get(rung, DEFAULT_RATE), 1e-3), 1 - 1e-3)


@dataclass(frozen=True)
class RungEstimate:
    ability: float  # logit of the pass probability for a task of difficulty 0
    ability_sd: float  # approximate posterior sd of `ability` (for Thompson sampling); 0 = known
    api_usd: float | None  # expected API $ per attempt; None = unpriced (no priced attempt, no prior price)
    review_minutes: float  # expected billed review minutes per attempt
    attempts: int  # observed attempts behind the estimate


def ability_for_rate(rate: float, spread: float) -> float:
    """The ability whose pass rate, averaged over difficulties Normal(0, spread^2), is `rate` (bisection)."""
    low, high = -40.0, 40.0
    for _ in range(80):
        middle = (low + high) / 2
        if float((Z_WEIGHTS * sigmoid(middle - spread * Z_GRID)).sum()) < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


class Estimates:
    """The fitted model: `by_type[t][r]` for the task types fitted, `pooled[r]` for a type never seen
    (difficulty mean 0, the centre the types' means shrink towards), `difficulty[t]` the mean
    difficulty mu_t of type t, and `spread` the sd of a task's difficulty around it."""

    def __init__(
        self,
        pooled: dict[str, RungEstimate],
        by_type: dict[str, dict[str, RungEstimate]],
        difficulty: dict[str, float],
        spread: float,
    ) -> None:
        self.pooled = pooled
        self.by_type = by_type
        self.difficulty = difficulty
        self.spread = spread

    @classmethod
    def from_rates(
        cls,
        rates: Mapping[str, float],
        api_usd: Mapping[str, float | None],
        review_minutes: float | Mapping[str, float],
        *,
        task_type: str = "any",
        spread: float = 0.0,
        attempts: int = 0,
    ) -> Estimates:
        """A hand-made world: each rung's pass rate on an average task of `task_type` and its costs.
        With spread 0 every attempt is independent of the others (the same rung twice: two coin flips)."""
        minutes = review_minutes if isinstance(review_minutes, Mapping) else dict.fromkeys(rates, review_minutes)
        rungs = {
            rung: RungEstimate(ability_for_rate(rate, spread), 0.0, api_usd.get(rung), minutes[rung], attempts)
            for rung, rate in rates.items()
        }
        return cls(rungs, {task_type: dict(rungs)}, {task_type: 0.0}, spread)

    @property
    def rungs(self) -> list[str]:
        return sorted(self.pooled)

    def knows(self, rung: str) -> bool:
        return rung in self.pooled

    def estimate(self, task_type: str, rung: str) -> RungEstimate:
        if task_type in self.by_type and rung in self.by_type[task_type]:
            return self.by_type[task_type][rung]
        if rung not in self.pooled:
            raise ConfigError(f"no estimate for rung {rung!r}: give the prior a pass rate for it (Prior.rung_rates)")
        return self.pooled[rung]

    def grid(self, task_type: str) -> tuple[Vector, Vector]:
        """Difficulty points and their prior weights for a task of `task_type`."""
        mean = self.difficulty.get(task_type, 0.0)
        if self.spread <= 0:
            return np.array([mean]), np.array([1.0])
        return mean + self.spread * Z_GRID, Z_WEIGHTS

    def pass_curve(self, task_type: str, rung: str) -> Vector:
        """P(pass | d) at each difficulty point of `grid(task_type)`."""
        points, _ = self.grid(task_type)
        return sigmoid(self.estimate(task_type, rung).ability - points)

    def p_pass(self, task_type: str, rung: str, failed_before: Sequence[str] = ()) -> float:
        """P(rung passes | the rungs `failed_before` failed on this task), integrating over its difficulty."""
        _, weights = self.grid(task_type)
        posterior = weights.copy()
        for earlier in failed_before:
            posterior = posterior * (1.0 - self.pass_curve(task_type, earlier))
        total = float(posterior.sum())
        if total <= 0:
            return 0.0
        return float((posterior * self.pass_curve(task_type, rung)).sum()) / total

    def cost(self, task_type: str, rung: str) -> tuple[float | None, float]:
        """(expected API $, expected billed review minutes) of one attempt; API $ None = unpriced."""
        estimate = self.estimate(task_type, rung)
        return estimate.api_usd, estimate.review_minutes

    def attempts(self, task_type: str, rung: str) -> int:
        """Observed attempts of `task_type` at `rung` (0 for a type or rung never seen)."""
        estimate = self.by_type.get(task_type, {}).get(rung)
        return estimate.attempts if estimate is not None else 0

    def pooled_attempts(self, rung: str) -> int:
        """Observed attempts at `rung` over all task types."""
        estimate = self.pooled.get(rung)
        return estimate.attempts if estimate is not None else 0

    def sample(self, rng: random.Random) -> Estimates:
        """One draw of the abilities from their approximate posterior (independent normals), costs and
        difficulties kept: what Thompson sampling decides on."""

        def draw(estimate: RungEstimate) -> RungEstimate:
            return replace(estimate, ability=estimate.ability + estimate.ability_sd * rng.gauss(0.0, 1.0))

        pooled = {rung: draw(estimate) for rung, estimate in sorted(self.pooled.items())}
        by_type = {
            task_type: {rung: draw(estimate) for rung, estimate in sorted(rungs.items())}
            for task_type, rungs in sorted(self.by_type.items())
        }
        return Estimates(pooled, by_type, dict(self.difficulty), self.spread)
