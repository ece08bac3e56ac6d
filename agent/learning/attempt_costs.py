"""What an attempt at a rung costs, per task type: shrunken means of the measured API $ and review minutes.

A type's mean API $ (priced attempts only) and review minutes per attempt at a rung are pulled towards
the pooled mean over all types by `cost_pooling` pseudo-attempts; the pooled mean is pulled towards
the prior's price by `prior_cost_strength` pseudo-attempts. Review minutes are those of an attempt with
a change to review (what `[review]` bills it); an attempt with nothing to review is measured as 0.
"""

from __future__ import annotations

from agent.learning.estimates import Prior
from agent.learning.observations import Observation

CostKey = tuple[str, str]
"""(task type, rung); the type "" is the pooled mean over all types."""


def attempt_costs(
    observations: list[Observation],
    prior: Prior,
    rungs: list[str],
    types: list[str],
    *,
    cost_pooling: float,
    prior_cost_strength: float,
) -> dict[CostKey, tuple[float | None, float, int]]:
    """(API $, review minutes, attempts) per (type, rung), and per ("", rung) pooled over types."""
    api: dict[CostKey, list[float]] = {}
    review: dict[CostKey, list[float]] = {}
    for o in observations:
        for key in ((o.task_type, o.rung), ("", o.rung)):
            review.setdefault(key, []).append(o.review_minutes)
            if o.api_usd is not None:
                api.setdefault(key, []).append(o.api_usd)
    k0, k = prior_cost_strength, cost_pooling
    out: dict[CostKey, tuple[float | None, float, int]] = {}
    for rung in rungs:
        pooled_api = _priced_mean(api.get(("", rung), []), prior.api_usd.get(rung), k0)
        pooled_review = _mean(review.get(("", rung), []), prior.review_minutes, k0)
        out[("", rung)] = (pooled_api, pooled_review, len(review.get(("", rung), [])))
        for task_type in types:
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
