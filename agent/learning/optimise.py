"""The numerical parts of the fit: the MAP by L-BFGS, and the Laplace approximation around it
(the Hessian by central differences of the exact gradient, its inverse as the posterior covariance)
with reproducible draws from it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agent.learning.estimates import Vector

Objective = Callable[[Vector], tuple[float, Vector]]
"""x -> (negative log posterior, its gradient)."""


def laplace_draws(fun: Objective, x: Vector, draws: int, seed: int, step: float = 1e-4) -> Vector:
    """`draws` samples (draws x P) of Normal(x, H^-1), H the Hessian of `fun` at its minimum `x`, in
    antithetic pairs (x + e, x - e), which halves the Monte Carlo noise of symmetric integrals;
    directions the data and priors leave flat get a variance of at most 100 (an sd of 10 logits)."""
    size = x.size
    hessian = np.zeros((size, size))
    for i in range(size):
        shift = np.zeros(size)
        shift[i] = step
        hessian[:, i] = (fun(x + shift)[1] - fun(x - shift)[1]) / (2 * step)
    values, vectors = np.linalg.eigh((hessian + hessian.T) / 2)
    scale = vectors / np.sqrt(np.maximum(values, 1e-2))[None, :]
    half = np.random.default_rng(seed).standard_normal(((draws + 1) // 2, size))
    normal = np.concatenate([half, -half])[:draws]  # antithetic pairs: the draws' mean is x
    out: Vector = x[None, :] + normal @ scale.T
    return out


def lbfgs(fun: Callable[[Vector], tuple[float, Vector]], x: Vector, iterations: int, memory: int = 10) -> Vector:
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
