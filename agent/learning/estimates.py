"""The fitted model the learned planner reads: per task type and rung, how able the rung is and what
an attempt costs, and the spread of task difficulty that ties a ladder's attempts together, each as
draws from its posterior.

A task of type t has a difficulty d ~ Normal(mu_t, spread^2); rung r passes it with probability
sigmoid(ability_{t,r} - d), attempts being independent given d. Every probability a ladder needs is
an integral over d and over the parameters' posterior: the parameters are `S` draws (one draw is a
plug-in estimate), d sits on a fixed grid of standard-normal points per draw, and the quadrature is
the flattened S x G points with weights w_g / S. After some attempts failed, the task's difficulty
AND the parameters are the prior times each failure's likelihood, renormalised over those points:
failures on a task teach about the task and about the rungs at once, as the posterior predictive does.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError

Vector = npt.NDArray[np.float64]


def normal_grid(points: int) -> tuple[Vector, Vector]:
    """`points` standard-normal quadrature points on [-5, 5] and their normalised weights."""
    z = np.linspace(-5.0, 5.0, points)
    weights = np.exp(-0.5 * z**2)
    return z, weights / weights.sum()


Z_GRID, Z_WEIGHTS = normal_grid(41)
"""The plug-in quadrature (one draw): a difficulty is mu + spread * z."""
DRAW_GRID, DRAW_WEIGHTS = np.polynomial.hermite_e.hermegauss(12)
DRAW_WEIGHTS = DRAW_WEIGHTS / DRAW_WEIGHTS.sum()
"""The quadrature per posterior draw (many draws: fewer points each): 12-point Gauss-Hermite, exact
for polynomials of degree 23 against the normal density."""

PUBLISHED_GAINS: dict[EffortLevel, float] = {
    EffortLevel.LOW: -0.26,
    EffortLevel.MEDIUM: 0.0,
    EffortLevel.HIGH: 0.26,
    EffortLevel.XHIGH: 0.36,
    EffortLevel.MAX: 0.46,
}
"""The prior's effort gains in logits, relative to medium, from a published effort sweep: Claude Opus
4.5 on SWE-bench Verified scores 77.2% at medium effort (it matches Sonnet 4.5's best) and 4.3 points
more at its highest (81.5%): logit 1.484 - 1.220 = 0.26 from medium to high. Low is taken one such
step below medium; xhigh and max, which that sweep does not have, add 0.1 each (the curve flattens).
Only the shape of the effort curve comes from here; every model's skill starts unknown."""


def sigmoid(x: Vector) -> Vector:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def effort_of(rung: str) -> EffortLevel | None:
    """The effort level of "model@effort", None when the part after the last @ is not one."""
    _, _, effort = rung.rpartition("@")
    try:
        return EffortLevel(effort)
    except ValueError:
        return None


def model_of(rung: str) -> str:
    return rung.rpartition("@")[0] or rung


@dataclass(frozen=True)
class Prior:
    """The planner's view before any measurement: the effort curve of a published sweep (gains in
    logits relative to medium, each step's size known to within `gain_sd` logits), each
    model's skill (logit of its pass rate on an average task at medium) around `skills` (default 0:
    a coin flip) within `skill_sd`, and optionally what an attempt costs."""

    rungs: Sequence[str] = ()  # the rungs to estimate (besides those observed)
    gains: Mapping[EffortLevel, float] = field(default_factory=lambda: dict(PUBLISHED_GAINS))
    skills: Mapping[str, float] = field(default_factory=dict)
    skill_sd: float = 1.5
    gain_sd: float = 0.3
    api_usd: dict[str, float] = field(default_factory=dict)  # rung -> expected API $ per attempt
    review_minutes: float = 10.0  # the configured review estimate per attempt (`[review] minutes_per_attempt`)

    def skill(self, model: str) -> float:
        return self.skills.get(model, 0.0)


@dataclass(frozen=True)
class RungEstimate:
    ability: Vector  # (S,) draws of the logit of the pass probability for a task of difficulty 0
    api_usd: float | None  # expected API $ per attempt; None = unpriced (no priced attempt, no prior price)
    review_minutes: float  # expected review minutes of one attempt with a change
    attempts: int  # observed attempts behind the estimate

    @classmethod
    def known(cls, ability: float, api_usd: float | None, review_minutes: float, attempts: int = 0) -> RungEstimate:
        """An estimate without uncertainty (one draw)."""
        return cls(np.array([float(ability)]), api_usd, review_minutes, attempts)


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
    """The fitted model: `by_type[t][r]` for the task types fitted, `pooled[r]` for a type never seen,
    `difficulty[t]` the draws of the mean difficulty mu_t of type t, `spread` the draws of the sd of
    a task's difficulty around it (all draws aligned: draw s of every parameter is one posterior sample)."""

    def __init__(
        self,
        pooled: dict[str, RungEstimate],
        by_type: dict[str, dict[str, RungEstimate]],
        difficulty: Mapping[str, Vector | float],
        spread: Vector | float,
        *,
        fit_state: object = None,
    ) -> None:
        self.pooled = pooled
        self.by_type = by_type
        self.spread = np.atleast_1d(np.asarray(spread, dtype=float))
        self.difficulty = {t: np.atleast_1d(np.asarray(mu, dtype=float)) for t, mu in difficulty.items()}
        self.draws = self.spread.size
        self.fit_state = fit_state  # what `fit` warm-starts from (opaque here)

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
            rung: RungEstimate.known(ability_for_rate(rate, spread), api_usd.get(rung), minutes[rung], attempts)
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
            raise ConfigError(f"no estimate for rung {rung!r}: give the prior a skill for its model (Prior.skills)")
        return self.pooled[rung]

    def grid(self, task_type: str) -> tuple[Vector, Vector]:
        """Difficulty points (S x G, flattened) and their prior weights for a task of `task_type`."""
        mean = self.difficulty.get(task_type, np.zeros(self.draws))
        z, weights = (Z_GRID, Z_WEIGHTS) if self.draws == 1 else (DRAW_GRID, DRAW_WEIGHTS)
        if float(self.spread.max()) <= 0:
            return mean.copy(), np.full(self.draws, 1.0 / self.draws)
        points = mean[:, None] + self.spread[:, None] * z[None, :]
        return points.ravel(), np.tile(weights / self.draws, self.draws)

    def pass_curve(self, task_type: str, rung: str) -> Vector:
        """P(pass | d, draw) at each point of `grid(task_type)`."""
        points, _ = self.grid(task_type)
        ability = self.estimate(task_type, rung).ability
        per_draw = points.size // self.draws
        return sigmoid(np.repeat(np.broadcast_to(ability, (self.draws,)), per_draw) - points)

    def p_pass(self, task_type: str, rung: str, failed_before: Sequence[str] = ()) -> float:
        """P(rung passes | the rungs `failed_before` failed on this task), integrating over its difficulty
        and the parameters' posterior."""
        _, weights = self.grid(task_type)
        posterior = weights.copy()
        for earlier in failed_before:
            posterior = posterior * (1.0 - self.pass_curve(task_type, earlier))
        total = float(posterior.sum())
        if total <= 0:
            return 0.0
        return float((posterior * self.pass_curve(task_type, rung)).sum()) / total

    def cost(self, task_type: str, rung: str) -> tuple[float | None, float]:
        """(expected API $, expected review minutes of an attempt with a change); API $ None = unpriced."""
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
        """One posterior draw (every parameter from the same sample): what Thompson sampling decides on."""
        index = rng.randrange(self.draws)

        def pick(estimate: RungEstimate) -> RungEstimate:
            ability = np.broadcast_to(estimate.ability, (self.draws,))[index : index + 1].copy()
            return RungEstimate(ability, estimate.api_usd, estimate.review_minutes, estimate.attempts)

        pooled = {rung: pick(estimate) for rung, estimate in sorted(self.pooled.items())}
        by_type = {t: {rung: pick(e) for rung, e in sorted(rungs.items())} for t, rungs in sorted(self.by_type.items())}
        difficulty = {t: mu[index : index + 1] for t, mu in self.difficulty.items()}
        return Estimates(pooled, by_type, difficulty, self.spread[index : index + 1])
