"""`fit`: the latent-difficulty model's posterior from observed attempts (climbs and grids alike).

Model (a one-parameter IRT / Rasch model with a structured ability and hierarchical pooling):
    task i of type t:  d_i ~ Normal(mu_t, spread^2)
    attempt at rung r = model m @ effort e:
                       passes with probability sigmoid(skill_m + gain_e + delta_{t,m} - d_i),
                       attempts independent given d_i (repeats at one rung included)
    gain_e             monotone in e: medium is 0, each step up (down) adds (takes) its size step_k >= 0
Priors:
    skill_m            Normal(the prior's skill, skill_sd^2): a model's logit on an average task at medium
    step_k             Normal(the published sweep's step, gain_sd^2) (`estimates.PUBLISHED_GAINS`), >= 0
    mu_t               Normal(0, type_sd^2): a type's mean difficulty shrinks towards the global mean
    delta_{t,m}        Normal(0, type_model_sd^2): a model's skill on one type shrinks towards its skill
    log spread         Normal(log spread, spread_sd^2)

Fifteen rungs (3 models x 5 efforts) are 3 skills and 4 steps, not 15 free abilities: a rung the
data saw little of borrows from its model's other efforts and from the effort curve of the others,
and a lucky rung cannot jump above its model's curve. The prior is fixed, observations enter only
the likelihood (no prior moved by the data it is then combined with).

Why this removes the climb bias: a task's likelihood is the product over ITS attempts, integrated over
its difficulty, so a rung tried only after others failed is credited for the harder tasks it saw.
A climb's stopping rule depends only on outcomes already in the data, so it is ignorable.

The MAP is found with L-BFGS on the exact gradient (quadrature over d on 41 points), warm-started from
an earlier fit of the same rungs and types when given; the posterior is its Laplace approximation
(full covariance: skills, steps, type means, deviations and the spread together), projected onto the
monotone curves (a draw's negative step is 0; the steps are linear, so the posterior's ridges, e.g.
a skill traded against two steps when the data has no medium, stay Gaussian), and `draws`
samples of it are what the planner integrates over (`Estimates`). Costs: `attempt_costs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.core.effort import EffortLevel
from agent.learning.attempt_costs import attempt_costs
from agent.learning.estimates import Z_GRID, Z_WEIGHTS, Estimates, Prior, RungEstimate, Vector, effort_of, model_of
from agent.learning.observations import Observation
from agent.learning.optimise import laplace_draws, lbfgs

LEVELS = list(EffortLevel)
STEPS = (
    (EffortLevel.LOW, -1, ()),
    (EffortLevel.HIGH, 1, ()),
    (EffortLevel.XHIGH, 1, (1,)),
    (EffortLevel.MAX, 1, (1, 2)),
)
"""The four steps of the effort curve: step 0 goes down from medium to low, steps 1-3 up to high,
xhigh, max; a level's gain is the sum of the steps between it and medium."""


@dataclass(frozen=True)
class FitSettings:
    spread: float = 1.5  # prior median of the sd of task difficulty, in logits
    spread_sd: float = 0.5  # sd of log(spread)'s prior
    type_sd: float = 1.0  # how far a task type's mean difficulty may move from the global mean (0)
    type_model_sd: float = 0.5  # how far a model's skill on one type may move from its skill
    cost_pooling: float = 3.0  # pseudo-attempts of the pooled cost in a type's cost
    prior_cost_strength: float = 1.0  # pseudo-attempts of the prior's price in the pooled cost
    iterations: int = 500
    draws: int = 64  # posterior draws the planner integrates over (1: the MAP as a plug-in)
    seed: int = 0  # of the draws


Ints = npt.NDArray[np.int_]


@dataclass
class _Data:
    """Tasks compressed into distinct patterns (type, attempts per rung) x multiplicity, stored sparsely:
    one cell per pattern and rung tried, cells sorted by pattern; and the map from parameters to abilities."""

    rungs: list[str]
    types: list[str]
    models: list[str]
    type_of: Ints  # (N,) type index of each pattern
    weight: Vector  # (N,) how many tasks share the pattern
    starts: Ints  # (N,) index of each pattern's first cell
    cell_pattern: Ints  # (M,)
    cell_rung: Ints  # (M,)
    passes: Vector  # (M,)
    fails: Vector  # (M,)
    model_of: Vector  # (R, models) one-hot: the model of each rung
    steps_of: Vector  # (R, 4) signed: which steps a rung's gain sums
    prior_mean: Vector  # (P,) prior means of skills, steps, type means, deviations, log spread
    prior_sd: Vector  # (P,)

    @property
    def cell_type(self) -> Ints:
        return self.type_of[self.cell_pattern]

    @property
    def key(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(self.rungs), tuple(self.types)


def fit(
    observations: list[Observation],
    prior: Prior,
    task_types: list[str],
    settings: FitSettings | None = None,
    *,
    start: Estimates | None = None,
) -> Estimates:
    """Fit the model to `observations` (see the module docstring); every rung of the prior or the data
    and every type of `task_types` or the data gets an estimate. `start`: an earlier fit to warm-start from."""
    settings = settings or FitSettings()
    data = _compress(observations, prior, task_types, settings)
    x0 = data.prior_mean.copy()
    if start is not None and isinstance(start.fit_state, tuple) and start.fit_state[0] == data.key:
        x0 = np.array(start.fit_state[1], dtype=float)
    x = lbfgs(lambda x: _objective(x, data), x0, settings.iterations)
    samples = x[None, :] if settings.draws <= 1 else _monotone_draws(x, data, settings)
    return _estimates(observations, prior, data, settings, samples, (data.key, x))


def _monotone_draws(x: Vector, data: _Data, settings: FitSettings) -> Vector:
    """`settings.draws` Laplace draws projected onto the monotone curves: a negative effort step is 0
    (the antithetic pairs of every other parameter are kept, so their draws' mean stays the MAP)."""
    M = len(data.models)
    samples = laplace_draws(lambda x: _objective(x, data), x, settings.draws, settings.seed)
    samples[:, M : M + 4] = np.maximum(samples[:, M : M + 4], 0.0)
    return samples


def _estimates(
    observations: list[Observation], prior: Prior, data: _Data, settings: FitSettings, samples: Vector, state: tuple
) -> Estimates:
    """The fitted `Estimates`: abilities per draw (types fitted, and pooled for a type never seen)."""
    costs = attempt_costs(
        observations,
        prior,
        data.rungs,
        data.types,
        cost_pooling=settings.cost_pooling,
        prior_cost_strength=settings.prior_cost_strength,
    )
    unpacked = [_unpack(sample, data) for sample in samples]
    abilities = np.stack([ability for ability, _, _ in unpacked])  # (S, T, R)
    base = np.stack([_base(sample, data) for sample in samples])  # (S, R): skill + gain, no type deviation
    pooled = {rung: RungEstimate(base[:, r], *costs[("", rung)]) for r, rung in enumerate(data.rungs)}
    by_type = {
        task_type: {
            rung: RungEstimate(abilities[:, t, r], *costs[(task_type, rung)]) for r, rung in enumerate(data.rungs)
        }
        for t, task_type in enumerate(data.types)
    }
    difficulty = {task_type: np.array([mu[t] for _, mu, _ in unpacked]) for t, task_type in enumerate(data.types)}
    spread = np.array([spread for _, _, spread in unpacked])
    return Estimates(pooled, by_type, difficulty, spread, fit_state=state)


def _compress(observations: list[Observation], prior: Prior, task_types: list[str], settings: FitSettings) -> _Data:
    rungs = sorted(set(prior.rungs) | {o.rung for o in observations})
    types = sorted(set(task_types) | {o.task_type for o in observations})
    models = sorted({model_of(rung) for rung in rungs})
    rung_index, type_index = {rung: r for r, rung in enumerate(rungs)}, {t: i for i, t in enumerate(types)}
    tasks: dict[tuple[str, str], dict[int, list[int]]] = {}
    for o in observations:
        counts = tasks.setdefault((o.task_type, o.task), {}).setdefault(rung_index[o.rung], [0, 0])
        counts[0 if o.passed else 1] += 1
    patterns: dict[tuple[int, tuple[tuple[int, int, int], ...]], int] = {}
    for (task_type, _), tried in tasks.items():
        key = (type_index[task_type], tuple(sorted((r, p, f) for r, (p, f) in tried.items())))
        patterns[key] = patterns.get(key, 0) + 1
    keys = sorted(patterns)
    cells = [(n, *cell) for n, (_, row) in enumerate(keys) for cell in row]
    M, T = len(models), len(types)
    prior_mean = np.concatenate(
        [[prior.skill(model) for model in models], _step_means(prior), np.zeros(T + T * M), [math.log(settings.spread)]]
    )
    prior_sd = np.concatenate(
        [
            np.full(M, prior.skill_sd),
            np.full(4, prior.gain_sd),
            np.full(T, settings.type_sd),
            np.full(T * M, settings.type_model_sd),
            [settings.spread_sd],
        ]
    )
    return _Data(
        rungs=rungs,
        types=types,
        models=models,
        type_of=np.array([key[0] for key in keys], dtype=int),
        weight=np.array([patterns[key] for key in keys], dtype=float),
        starts=np.cumsum([0] + [len(key[1]) for key in keys[:-1]], dtype=int) if keys else np.zeros(0, dtype=int),
        cell_pattern=np.array([cell[0] for cell in cells], dtype=int),
        cell_rung=np.array([cell[1] for cell in cells], dtype=int),
        passes=np.array([cell[2] for cell in cells], dtype=float),
        fails=np.array([cell[3] for cell in cells], dtype=float),
        model_of=np.array([[model_of(rung) == model for model in models] for rung in rungs], dtype=float).reshape(
            len(rungs), M
        ),
        steps_of=np.array([_steps(effort_of(rung)) for rung in rungs], dtype=float).reshape(len(rungs), 4),
        prior_mean=prior_mean,
        prior_sd=prior_sd,
    )


def _step_means(prior: Prior) -> list[float]:
    """The sizes of the prior's four effort steps (see STEPS)."""
    gains = prior.gains
    sizes = [
        gains[EffortLevel.MEDIUM] - gains[EffortLevel.LOW],
        gains[EffortLevel.HIGH] - gains[EffortLevel.MEDIUM],
        gains[EffortLevel.XHIGH] - gains[EffortLevel.HIGH],
        gains[EffortLevel.MAX] - gains[EffortLevel.XHIGH],
    ]
    return [max(size, 0.0) for size in sizes]


def _steps(effort: EffortLevel | None) -> list[float]:
    """The signed steps whose sizes sum to the effort's gain (a rung without a known effort: medium's 0)."""
    row = [0.0] * 4
    for step, (level, sign, below) in enumerate(STEPS):
        if effort == level:
            row[step] = sign
            for other in below:
                row[other] = sign
    return row


def _base(x: Vector, data: _Data) -> Vector:
    """(R,) skill + gain of each rung."""
    M = len(data.models)
    return data.model_of @ x[:M] + data.steps_of @ x[M : M + 4]


def _unpack(x: Vector, data: _Data) -> tuple[Vector, Vector, float]:
    """(abilities (T, R), type means (T,), spread) of the parameter vector x."""
    M, T = len(data.models), len(data.types)
    mu = x[M + 4 : M + 4 + T]
    delta = x[M + 4 + T : M + 4 + T + T * M].reshape(T, M)
    return _base(x, data)[None, :] + delta @ data.model_of.T, mu, float(math.exp(x[-1]))


def _objective(x: Vector, data: _Data) -> tuple[float, Vector]:
    """The negative log posterior and its gradient."""
    M, T, R = len(data.models), len(data.types), len(data.rungs)
    ability, mu, spread = _unpack(x, data)
    value, g_ability, g_mu, g_log_spread = 0.0, np.zeros((T, R)), np.zeros(T), 0.0
    if len(data.weight):
        value, g_ability, g_mu, g_log_spread = _likelihood(ability, mu, spread, data)
    grad = np.zeros_like(x)
    per_rung = g_ability.sum(0)
    grad[:M] = per_rung @ data.model_of
    grad[M : M + 4] = per_rung @ data.steps_of
    grad[M + 4 : M + 4 + T] = g_mu
    grad[M + 4 + T : M + 4 + T + T * M] = (g_ability @ data.model_of).ravel()
    grad[-1] = g_log_spread
    offset = (x - data.prior_mean) / data.prior_sd
    value -= 0.5 * float((offset**2).sum())
    grad -= offset / data.prior_sd
    return -value, -grad


def _likelihood(ability: Vector, mu: Vector, spread: float, data: _Data) -> tuple[float, Vector, Vector, float]:
    """The log likelihood and its gradient in the abilities (T, R), type means (T,) and log spread.
    The logistic terms depend only on the cell's type and rung: computed once per (type, rung), gathered."""
    T, R = len(data.types), len(data.rungs)
    u = (ability - mu[:, None]).ravel()[:, None] - spread * Z_GRID[None, :]  # (T*R, G)
    small = np.exp(-np.abs(u))
    log_pass = np.minimum(u, 0) - np.log1p(small)  # log sigmoid(u); log(1 - sigmoid(u)) = log_pass - u
    p_all = np.where(u >= 0, 1.0, small) / (1.0 + small)
    cell = data.cell_type * R + data.cell_rung
    cell_loglik = (data.passes + data.fails)[:, None] * log_pass[cell] - data.fails[:, None] * u[cell]
    loglik = np.add.reduceat(cell_loglik, data.starts, axis=0) + np.log(Z_WEIGHTS)[None, :]
    top = loglik.max(1, keepdims=True)
    marginal = top[:, 0] + np.log(np.exp(loglik - top).sum(1))
    post, p = np.exp(loglik - marginal[:, None]), p_all[cell]
    residual = data.passes[:, None] - (data.passes + data.fails)[:, None] * p  # d loglik / d eta, (M, G)
    g_cell = (post[data.cell_pattern] * residual).sum(1) * data.weight[data.cell_pattern]  # (M,)
    g_ability: Vector = np.bincount(cell, g_cell, T * R).astype(np.float64).reshape(T, R)
    g_mu: Vector = -np.bincount(data.cell_type, g_cell, T).astype(np.float64)
    g_points = -post * np.add.reduceat(residual, data.starts, axis=0) * data.weight[:, None]  # (N, G)
    g_log_spread = float((g_points * Z_GRID[None, :]).sum()) * spread
    return float((data.weight * marginal).sum()), g_ability, g_mu, g_log_spread
