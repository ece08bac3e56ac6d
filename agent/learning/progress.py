"""P(this attempt passes | what it has done so far), learned from finished attempts in the ledger.

An attempt's progress after turn k (`agent.ledger.events.TurnProgress`: edits made, test runs and
whether the last one passed, turns left of its effort's budget) is turned into a few features:

    edited        an edit has been made (0/1)          edits      min(edits, 4) / 4
    passing       the last test run passed (0/1)        failing    the last test run failed (0/1)
    failed runs   log(1 + failed test runs)             late       k / t, at most 3
    late, unedited  late x (1 - edited)                 used       1 - turns left / max turns

where t is how many turns a passing attempt at the same rung takes (median; at the same rung and task
type when 3 or more are measured, else any rung's). The model is a Bayesian logistic regression:

    logit P(pass) = logit(the rung's pass rate) + b0 + w . features,   b0, w ~ Normal(0, prior_sd^2)

with the rung's measured pass rate (Beta-smoothed towards the pooled rate) as a fixed offset, so the
features say how this attempt's progress moves the odds from its rung's. Every turn of a finished
attempt is one row, weighted 1 / (its rows) so each attempt counts once. The MAP comes from Newton's
method; the prediction averages over the Laplace posterior (the probit approximation,
sigma(mu / sqrt(1 + pi s^2 / 8))), which draws an uncertain estimate towards one half.

While the data is thin (fewer than `min_attempts` finished attempts with progress) the model says
nothing (`fit_progress` returns None): unknown means do not abandon. Attempts that did not run to their
end (abandoned, stopped, an error, the budget) are left out: they show neither a pass nor a whole cost.

Pure: numpy only; the ledger rows come in as `AttemptProgress`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import median

import numpy as np
import numpy.typing as npt

from agent.ledger.events import AttemptProgress, TurnProgress

Vector = npt.NDArray[np.float64]

CENSORED = ("abandoned", "error", "stopped", "budget_exhausted", "paused")
"""Outcomes of attempts that did not run to their end: not examples."""
FEATURES = ("bias", "edited", "edits", "passing", "failing", "failed runs", "late", "late, unedited", "used")
RATE_STRENGTH = 4.0
"""Pseudo-attempts of the pooled pass rate added to each rung's own (its Beta prior)."""


@dataclass(frozen=True)
class ProgressSettings:
    min_attempts: int = 30
    """Fewer finished attempts with progress than this: no estimate (do not abandon)."""
    prior_sd: float = 3.0
    """Sd of the Normal prior on every weight: progress moves the odds little until data says otherwise."""


@dataclass
class ProgressModel:
    """The fitted estimator, with what the decision rule needs besides: each rung's pass rate and its cost
    from a turn on."""

    weights: Vector
    covariance: Vector
    rates: dict[str, float]
    pooled_rate: float
    typical: dict[tuple[str, str], float]
    """(rung, task type or "") -> turns of a passing attempt there."""
    attempts: int
    costs: dict[str, list[MeasuredCost]] = field(default_factory=dict)
    """rung -> what each of its priced measured attempts had spent after each turn."""

    def rate(self, rung: str) -> float:
        """The rung's measured pass rate (smoothed towards the pooled rate; the pooled rate when unmeasured)."""
        return self.rates.get(rung, self.pooled_rate)

    def p_pass(self, rung: str, task_type: str, max_turns: int, progress: TurnProgress) -> float:
        """P(the attempt passes | its progress after `progress.turn`), averaged over the posterior."""
        x = features(progress, max_turns, self.typical_turns(rung, task_type))
        mean = _logit(self.rate(rung)) + float(x @ self.weights)
        spread = float(x @ self.covariance @ x)
        return _expit(mean / math.sqrt(1 + math.pi * spread / 8))

    def typical_turns(self, rung: str, task_type: str) -> float:
        return _typical_of(self.typical, rung, task_type)

    def remaining_usd(self, rung: str, turn: int, spent: float) -> float:
        """Expected API $ of the attempt after `turn`: the mean of what the rung's measured attempts that
        reached that turn spent after it; with fewer than 3 of them, this attempt's $ per turn so far times
        the mean turns that measured attempts of any rung went on for after it."""
        same = [cost.end_usd - cost.spent[turn] for cost in self.costs.get(rung, []) if turn in cost.spent]
        if len(same) >= 3:
            return sum(same) / len(same)
        left = [cost.last_turn - turn for costs in self.costs.values() for cost in costs if turn in cost.spent]
        return (sum(left) / len(left) if left else 0.0) * spent / max(turn, 1)


@dataclass(frozen=True)
class MeasuredCost:
    """What one measured attempt had spent (API $) after each of its turns, and at its end."""

    spent: dict[int, float]
    end_usd: float
    last_turn: int


def features(progress: TurnProgress, max_turns: int, typical_turns: float) -> Vector:
    edited = 1.0 if progress.edits > 0 else 0.0
    late = min(progress.turn / max(typical_turns, 1.0), 3.0)
    return np.array(
        [
            1.0,
            edited,
            min(progress.edits, 4) / 4,
            1.0 if progress.last_test_passed is True else 0.0,
            1.0 if progress.last_test_passed is False else 0.0,
            math.log1p(progress.failed_test_runs),
            late,
            late * (1 - edited),
            1 - progress.turns_left / max(max_turns, 1),
        ]
    )


def examples(history: list[AttemptProgress]) -> list[AttemptProgress]:
    """The attempts that ran to their end and have progress rows."""
    return [attempt for attempt in history if attempt.outcome not in CENSORED and attempt.turns]


def fit_progress(history: list[AttemptProgress], settings: ProgressSettings | None = None) -> ProgressModel | None:
    """The estimator fitted on the finished attempts in `history`; None while they are fewer than
    `settings.min_attempts` (no estimate: do not abandon)."""
    settings = settings or ProgressSettings()
    done = examples(history)
    if len(done) < max(settings.min_attempts, 1):
        return None
    pooled = (sum(attempt.passed for attempt in done) + 1) / (len(done) + 2)
    rates = _rates(done, pooled)
    typical = _typical(done)
    rows, offsets, labels, weights = [], [], [], []
    for attempt in done:
        turns_of_passers = _typical_of(typical, attempt.rung, attempt.task_type)
        for progress in attempt.turns:
            rows.append(features(progress, attempt.max_turns, turns_of_passers))
            offsets.append(_logit(rates[attempt.rung]))
            labels.append(1.0 if attempt.passed else 0.0)
            weights.append(1 / len(attempt.turns))
    w, covariance = _map_fit(np.array(rows), np.array(offsets), np.array(labels), np.array(weights), settings.prior_sd)
    return ProgressModel(
        weights=w,
        covariance=covariance,
        rates=rates,
        pooled_rate=pooled,
        typical=typical,
        attempts=len(done),
        costs=_costs(done),
    )


def _rates(done: list[AttemptProgress], pooled: float) -> dict[str, float]:
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for attempt in done:
        outcomes[attempt.rung].append(attempt.passed)
    return {
        rung: (sum(passed) + RATE_STRENGTH * pooled) / (len(passed) + RATE_STRENGTH)
        for rung, passed in outcomes.items()
    }


def _typical(done: list[AttemptProgress]) -> dict[tuple[str, str], float]:
    """Median turns of passing attempts per (rung, task type), per (rung, ""), and overall ("", "");
    a group needs 3 passing attempts."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for attempt in done:
        if attempt.passed:
            length = attempt.turns[-1].turn
            for key in ((attempt.rung, attempt.task_type), (attempt.rung, ""), ("", "")):
                groups[key].append(length)
    return {key: float(median(lengths)) for key, lengths in groups.items() if len(lengths) >= 3}


def _typical_of(typical: dict[tuple[str, str], float], rung: str, task_type: str) -> float:
    """Turns of a passing attempt at the rung on the type, else at the rung, else anywhere, else 10."""
    for key in ((rung, task_type), (rung, ""), ("", "")):
        if key in typical:
            return typical[key]
    return 10.0


def _costs(done: list[AttemptProgress]) -> dict[str, list[MeasuredCost]]:
    costs: dict[str, list[MeasuredCost]] = defaultdict(list)
    for attempt in done:
        spent = {progress.turn: progress.spent_usd for progress in attempt.turns}
        if any(usd is None for usd in spent.values()):
            continue  # unpriced: says nothing about $
        last = attempt.turns[-1]
        measured = {turn: float(usd or 0) for turn, usd in spent.items()}
        costs[attempt.rung].append(MeasuredCost(spent=measured, end_usd=measured[last.turn], last_turn=last.turn))
    return dict(costs)


def _map_fit(
    x: Vector, offset: Vector, y: Vector, weight: Vector, prior_sd: float, steps: int = 50
) -> tuple[Vector, Vector]:
    """MAP weights of the weighted logistic regression with a Normal(0, prior_sd^2) prior (Newton's method),
    and their Laplace covariance (the inverse Hessian at the MAP)."""
    precision = np.eye(x.shape[1]) / prior_sd**2
    w = np.zeros(x.shape[1])
    hessian = precision
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(offset + x @ w)))
        gradient = x.T @ (weight * (y - p)) - precision @ w
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + precision
        step = np.linalg.solve(hessian, gradient)
        w = w + step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    p = 1 / (1 + np.exp(-(offset + x @ w)))
    hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + precision
    return w, np.asarray(np.linalg.inv(hessian), dtype=np.float64)


def _logit(rate: float) -> float:
    rate = min(max(rate, 1e-6), 1 - 1e-6)
    return math.log(rate / (1 - rate))


def _expit(value: float) -> float:
    return 1 / (1 + math.exp(-value))
