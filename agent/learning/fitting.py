"""`fit`: the latent-difficulty model's MAP estimate from observed attempts (climbs and grids alike).

Model (a one-parameter IRT / Rasch model with hierarchical pooling):
    task i of type t:  d_i ~ Normal(mu_t, spread^2)
    attempt at rung r: passes with probability sigmoid(theta_r + delta_{t,r} - d_i),
                       attempts independent given d_i (repeats at one rung included)
Priors:
    theta_r          the rules' Beta(strength*rate_r, strength*(1-rate_r)) on the pass rate of rung r
                     averaged over an average task's difficulty (mu = 0): `strength` pseudo-attempts
    mu_t             Normal(0, type_sd^2): a type's mean difficulty shrinks towards the global mean
    delta_{t,r}      Normal(0, type_rung_sd^2): a type's ability at a rung shrinks towards the pooled theta_r
    log spread       Normal(log spread, spread_sd^2)

Why this removes the climb bias: a task's likelihood is the product over ITS attempts, integrated over
its difficulty, so a rung tried only after others failed is credited for the harder tasks it saw.
A climb's stopping rule depends only on outcomes already in the data, so it is ignorable: the same
likelihood serves climbs and grids, and the order of attempts does not enter it (only the counts).

Costs use simple shrinkage instead: a type's mean API $ (priced attempts only) and review minutes per
attempt at a rung, pulled towards the pooled mean over all types by `cost_pooling` pseudo-attempts;
the pooled mean is pulled towards the prior's price by `prior_cost_strength` pseudo-attempts.

The MAP is found with L-BFGS on the exact gradient (quadrature over d on 41 points). The posterior sd
of each ability (for Thompson sampling) is a diagonal Laplace approximation: the data's information
about theta_r + delta_{t,r} plus the pooled level's, as in a normal hierarchical model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.learning.estimates import (
    Z_GRID,
    Z_WEIGHTS,
    Estimates,
    Prior,
    RungEstimate,
    Vector,
    ability_for_rate,
    sigmoid,
)
from agent.learning.observations import Observation


@dataclass(frozen=True)
class FitSettings:
    spread: float = 1.5  # prior median of the sd of task difficulty, in logits
    spread_sd: float = 0.5  # sd of log(spread)'s prior
    type_sd: float = 1.0  # how far a task type's mean difficulty may move from the global mean (0)
    type_rung_sd: float = 0.5  # how far a type's ability at one rung may move from the pooled ability
    cost_pooling: float = 3.0  # pseudo-attempts of the pooled cost in a type's cost
    prior_cost_strength: float = 1.0  # pseudo-attempts of the prior's price in the pooled cost
    iterations: int = 500


Ints = npt.NDArray[np.int_]


@dataclass
class _Data:
    """Tasks compressed into distinct patterns (type, attempts per rung) x multiplicity, stored sparsely:
    one cell per pattern and rung tried, cells sorted by pattern."""

    rungs: list[str]
    types: list[str]
    type_of: Ints  # (N,) type index of each pattern
    weight: Vector  # (N,) how many tasks share the pattern
    starts: Ints  # (N,) index of each pattern's first cell
    cell_pattern: Ints  # (M,)
    cell_rung: Ints  # (M,)
    passes: Vector  # (M,)
    fails: Vector  # (M,)
    a: Vector  # (R,) prior pseudo-passes
    b: Vector  # (R,) prior pseudo-fails

    @property
    def cell_type(self) -> Ints:
        return self.type_of[self.cell_pattern]


def fit(
    observations: list[Observation], prior: Prior, task_types: list[str], settings: FitSettings | None = None
) -> Estimates:
    """Fit the model to `observations` (see the module docstring); every rung of the prior or the data
    and every type of `task_types` or the data gets an estimate."""
    settings = settings or FitSettings()
    data = _compress(observations, prior, task_types)
    R, T = len(data.rungs), len(data.types)
    x0 = np.concatenate(
        [
            [ability_for_rate(prior.rate(rung), settings.spread) for rung in data.rungs],
            np.zeros(T + T * R),
            [math.log(settings.spread)],
        ]
    )
    x = _lbfgs(lambda x: _objective(x, data, settings), x0, settings.iterations)
    theta, mu, delta, spread = _unpack(x, R, T)
    info = _information(x, data)  # (T, R)
    prior_info = np.array([prior.strength * r * (1 - r) for r in (prior.rate(rung) for rung in data.rungs)])
    pooled_var = 1.0 / (info.sum(0) + prior_info)
    type_var = 1.0 / (info + 1.0 / (settings.type_rung_sd**2 + pooled_var))
    costs = _costs(observations, prior, data, settings)
    pooled = {
        rung: RungEstimate(float(theta[r]), math.sqrt(pooled_var[r]), *costs[("", rung)])
        for r, rung in enumerate(data.rungs)
    }
    by_type = {
        task_type: {
            rung: RungEstimate(float(theta[r] + delta[t, r]), math.sqrt(type_var[t, r]), *costs[(task_type, rung)])
            for r, rung in enumerate(data.rungs)
        }
        for t, task_type in enumerate(data.types)
    }
    difficulty = {task_type: float(mu[t]) for t, task_type in enumerate(data.types)}
    return Estimates(pooled, by_type, difficulty, spread)


def _compress(observations: list[Observation], prior: Prior, task_types: list[str]) -> _Data:
    rungs = sorted(set(prior.rung_rates) | {o.rung for o in observations})
    types = sorted(set(task_types) | {o.task_type for o in observations})
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
    rates = np.array([prior.rate(rung) for rung in rungs])
    return _Data(
        rungs=rungs,
        types=types,
        type_of=np.array([key[0] for key in keys], dtype=int),
        weight=np.array([patterns[key] for key in keys], dtype=float),
        starts=np.cumsum([0] + [len(key[1]) for key in keys[:-1]], dtype=int) if keys else np.zeros(0, dtype=int),
        cell_pattern=np.array([cell[0] for cell in cells], dtype=int),
        cell_rung=np.array([cell[1] for cell in cells], dtype=int),
        passes=np.array([cell[2] for cell in cells], dtype=float),
        fails=np.array([cell[3] for cell in cells], dtype=float),
        a=prior.strength * rates,
        b=prior.strength * (1 - rates),
    )


def _unpack(x: Vector, R: int, T: int) -> tuple[Vector, Vector, Vector, float]:
    return x[:R], x[R : R + T], x[R + T : R + T + T * R].reshape(T, R), float(math.exp(x[-1]))


def _posterior(x: Vector, data: _Data) -> tuple[Vector, Vector, Vector]:
    """Per pattern, the log marginal likelihood (N,) and the posterior weights over the grid (N, G);
    per cell, sigmoid(eta - d) on the grid (M, G). The logistic terms depend only on the cell's type
    and rung, so they are computed once per (type, rung) and gathered."""
    R, T = len(data.rungs), len(data.types)
    theta, mu, delta, spread = _unpack(x, R, T)
    u = ((theta[None, :] + delta - mu[:, None]).ravel())[:, None] - spread * Z_GRID[None, :]  # (T*R, G)
    small = np.exp(-np.abs(u))
    log_pass = np.minimum(u, 0) - np.log1p(small)  # log sigmoid(u); log(1 - sigmoid(u)) = log_pass - u
    p = np.where(u >= 0, 1.0, small) / (1.0 + small)
    cell = data.cell_type * R + data.cell_rung
    cell_loglik = (data.passes + data.fails)[:, None] * log_pass[cell] - data.fails[:, None] * u[cell]
    loglik = np.add.reduceat(cell_loglik, data.starts, axis=0) + np.log(Z_WEIGHTS)[None, :]
    top = loglik.max(1, keepdims=True)
    marginal = top[:, 0] + np.log(np.exp(loglik - top).sum(1))
    return marginal, np.exp(loglik - marginal[:, None]), p[cell]


def _objective(x: Vector, data: _Data, settings: FitSettings) -> tuple[float, Vector]:
    """The negative log posterior and its gradient."""
    R, T = len(data.rungs), len(data.types)
    theta, mu, delta, spread = _unpack(x, R, T)
    grad = np.zeros_like(x)
    value = 0.0
    if len(data.weight):
        marginal, post, p = _posterior(x, data)
        residual = data.passes[:, None] - (data.passes + data.fails)[:, None] * p  # d loglik / d eta, (M, G)
        g_cell = (post[data.cell_pattern] * residual).sum(1) * data.weight[data.cell_pattern]  # (M,)
        value += float((data.weight * marginal).sum())
        grad[:R] += np.bincount(data.cell_rung, g_cell, R)
        grad[R : R + T] -= np.bincount(data.cell_type, g_cell, T)
        grad[R + T : R + T + T * R] += np.bincount(data.cell_type * R + data.cell_rung, g_cell, T * R)
        g_points = -post * np.add.reduceat(residual, data.starts, axis=0) * data.weight[:, None]  # (N, G)
        grad[-1] += float((g_points * Z_GRID[None, :]).sum()) * spread
    # the rules' prior on each rung's pass rate for an average task
    p0 = sigmoid(theta[:, None] - spread * Z_GRID[None, :])  # (R, G)
    mean = np.clip((Z_WEIGHTS * p0).sum(1), 1e-12, 1 - 1e-12)
    slope = data.a / mean - data.b / (1 - mean)
    value += float((data.a * np.log(mean) + data.b * np.log(1 - mean)).sum())
    grad[:R] += slope * (Z_WEIGHTS * p0 * (1 - p0)).sum(1)
    grad[-1] += float((slope * (Z_WEIGHTS * p0 * (1 - p0) * -Z_GRID).sum(1)).sum()) * spread
    # shrinkage
    value -= float((mu**2).sum()) / (2 * settings.type_sd**2) + float((delta**2).sum()) / (2 * settings.type_rung_sd**2)
    grad[R : R + T] -= mu / settings.type_sd**2
    grad[R + T : R + T + T * R] -= delta.ravel() / settings.type_rung_sd**2
    log_spread = x[-1] - math.log(settings.spread)
    value -= log_spread**2 / (2 * settings.spread_sd**2)
    grad[-1] -= log_spread / settings.spread_sd**2
    return -value, -grad


def _information(x: Vector, data: _Data) -> Vector:
    """Per type and rung, the data's (Fisher) information about the ability: sum of tries x p(1-p)."""
    R, T = len(data.rungs), len(data.types)
    if not len(data.weight):
        return np.zeros((T, R))
    _, post, p = _posterior(x, data)
    tries = (data.passes + data.fails)[:, None]
    per_cell = (post[data.cell_pattern] * tries * p * (1 - p)).sum(1) * data.weight[data.cell_pattern]
    info: Vector = np.bincount(data.cell_type * R + data.cell_rung, per_cell, T * R).astype(np.float64)
    return info.reshape(T, R)


def _costs(
    observations: list[Observation], prior: Prior, data: _Data, settings: FitSettings
) -> dict[tuple[str, str], tuple[float | None, float, int]]:
    """(API $, review minutes, attempts) per (type, rung), and per ("", rung) pooled over types."""
    api: dict[tuple[str, str], list[float]] = {}
    review: dict[tuple[str, str], list[float]] = {}
    for o in observations:
        for key in ((o.task_type, o.rung), ("", o.rung)):
            review.setdefault(key, []).append(o.review_minutes)
            if o.api_usd is not None:
                api.setdefault(key, []).append(o.api_usd)
    k0, k = settings.prior_cost_strength, settings.cost_pooling
    out: dict[tuple[str, str], tuple[float | None, float, int]] = {}
    for rung in data.rungs:
        pooled_api = _priced_mean(api.get(("", rung), []), prior.api_usd.get(rung), k0)
        pooled_review = _mean(review.get(("", rung), []), prior.review_minutes, k0)
        out[("", rung)] = (pooled_api, pooled_review, len(review.get(("", rung), [])))
        for task_type in data.types:
            key = (task_type, rung)
            type_api = _priced_mean(api.get(key, []), pooled_api, k)
            out[key] = (type_api, _mean(review.get(key, []), pooled_review, k), len(review.get(key, [])))
    return out


def _mean(values: list[float], towards: float, strength: float) -> float:
    """The mean of `values` with `strength` pseudo-values at `towards`."""
    return (sum(values) + strength * towards) / (len(values) + strength)


def _priced_mean(values: list[float], towards: float | None, strength: float) -> float | None:
    """`_mean`, or the plain mean when there is nothing to shrink towards; None when nothing is priced."""
    if towards is None:
        return sum(values) / len(values) if values else None
    return _mean(values, towards, strength)


def _lbfgs(fun: Callable[[Vector], tuple[float, Vector]], x: Vector, iterations: int, memory: int = 10) -> Vector:
    """Minimise `fun` (value, gradient) by L-BFGS with a backtracking (Armijo) line search."""
    value, grad = fun(x)
    steps: list[tuple[Vector, Vector, float]] = []
    for _ in range(iterations):
        if float(np.abs(grad).max()) < 1e-5:
            break
        direction = -grad
        alphas = []
        for s, y, rho in reversed(steps):
            alpha = rho * float(s @ direction)
            direction = direction - alpha * y
            alphas.append(alpha)
        if steps:
            s, y, _ = steps[-1]
            direction = direction * float(s @ y) / float(y @ y)
        for (s, y, rho), alpha in zip(steps, reversed(alphas), strict=True):
            direction = direction + s * (alpha - rho * float(y @ direction))
        slope = float(grad @ direction)
        if slope >= 0:
            direction, slope, steps = -grad, -float(grad @ grad), []
        step = 1.0
        while True:
            candidate = x + step * direction
            new_value, new_grad = fun(candidate)
            if new_value <= value + 1e-4 * step * slope:
                break
            step /= 2
            if step < 1e-6:
                return x  # no descent left that rounding can show: converged
        if value - new_value <= 1e-12 * max(1.0, abs(value)):
            return candidate
        s, y = candidate - x, new_grad - grad
        if float(s @ y) > 1e-12:
            steps = [*steps[-(memory - 1) :], (s, y, 1.0 / float(s @ y))]
        x, value, grad = candidate, new_value, new_grad
    return x
