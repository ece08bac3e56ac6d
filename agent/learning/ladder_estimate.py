"""Estimates before spending: what a ladder is expected to cost and to solve, from the planner's model.

The same arithmetic serves both policies; only the model it reads differs:

- **rules**: an attempt's API $ is its price x the effort's token budget (`attempt_usage`, below);
  its chance to pass comes from the prior the learned planner starts from (`agent.learning.Prior`:
  the published effort curve, every model's skill unknown), fitted on no data, so the odds are a
  coin flip at medium with a wide interval. The rules state no odds of their own.
- **learned**: the posterior the learned planner decides on (`LearnedPlanner.estimates`): pass
  chances, API $ and review minutes per attempt as the ledger measured them.

For a ladder r_1..r_n the expected API $ is sum_k P(r_1..r_{k-1} failed) x api_k (an attempt runs only
when the ones before it failed), the review minutes likewise (`[review] bill = "delivered"`: only the
passing attempt's), P(solved) = 1 - P(all failed); each is computed per posterior draw (the task's
difficulty integrated out), and the interval is the 10th-90th percentile over the draws: what the
model does not know about the rungs, not the spread of one run's spend (see
benchmarks/estimate_accuracy.py for that). A batch's totals sum the draws task by task (draw s of
every task is one posterior sample), never the percentiles.

`total_usd` is API $ + review $ (minutes x `[review] hourly_rate_usd` / 60), without V: what the run
is expected to spend, the amount `--approve-above` compares. An unpriced model makes the API $ and
the total None ("unpriced", never $0); `known_usd` is what the priced part is expected to cost.

The token rule (`attempt_usage`): an attempt takes a quarter of the effort's turns (`max_turns`) and
each reply a quarter of its output cap (`max_tokens`, thinking included): the shares the learned prior
assumes. Turn k (0-based) sends the opening prompt (system prompt, tool specs, the issue) plus the k
replies so far as they are sent back (`TOOL_CALL_TOKENS` each: text and tool call; thinking is not
resent) plus k tool results of `TOOL_RESULT_TOKENS`, the results capped at the effort's
`context_tokens` (older ones are masked). With a cache price, each turn reads the previous turn's prompt from the cache
and writes the rest (at the cache-write price when there is one, else the input price); without one,
every prompt token is input. The tokens are priced by `agent.providers.pricing.cost`, as calls are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agent.core.config import EffortBudget
from agent.core.messages import Usage
from agent.learning.estimates import Estimates, Prior, model_of
from agent.learning.fitting import fit
from agent.learning.ladders import ReviewBill
from agent.providers.pricing import PriceQuote, cost

TURN_SHARE = 0.25
"""Share of the effort's `max_turns` an attempt is expected to take (the learned prior's share)."""
OUTPUT_SHARE = 0.25
"""Share of the effort's `max_tokens` a reply is expected to spend (the learned prior's share)."""
TOOL_CALL_TOKENS = 200
"""Tokens of a reply sent back in later turns: its text and tool call (its thinking is not sent back)."""
TOOL_RESULT_TOKENS = 800
"""Tokens of tool output a turn adds to the conversation."""
CHARS_PER_TOKEN = 4
"""A typical token of English and code, for the opening prompt's size."""
PERCENTILES = (10.0, 90.0)
"""The interval: the 10th and 90th percentiles over the posterior draws (an 80% interval)."""


def attempt_usage(budget: EffortBudget, opening_tokens: int, cached: bool) -> Usage:
    """The tokens one attempt at this effort is expected to use (the module's token rule)."""
    turns = max(1, round(budget.max_turns * TURN_SHARE))
    reply = round(budget.max_tokens * OUTPUT_SHARE)
    grown = [k * TOOL_CALL_TOKENS + min(k * TOOL_RESULT_TOKENS, budget.context_tokens) for k in range(turns)]
    prompts = [opening_tokens + tokens for tokens in grown]
    total = sum(prompts)
    read = sum(prompts[:-1]) if cached else 0
    return Usage(
        input_tokens=total,
        cache_read_tokens=read,
        cache_write_tokens=total - read if cached else 0,
        output_tokens=turns * reply,
    )


def attempt_api_usd(price: PriceQuote | None, budget: EffortBudget, opening_tokens: int) -> Decimal | None:
    """Expected API $ of one attempt: its expected tokens at `price`; None when unpriced."""
    if price is None:
        return None
    cached = price.cache_read is not None
    usage = attempt_usage(budget, opening_tokens, cached)
    if price.cache_write is None:  # the fresh part of the prompt costs plain input
        usage = usage.model_copy(update={"cache_write_tokens": 0})
    return cost(usage, price)


def opening_tokens(chars: int) -> int:
    """The opening prompt's tokens from its characters (system prompt, tool specs, the issue)."""
    return chars // CHARS_PER_TOKEN


def prior_estimates(rungs: Sequence[str], review_minutes: float, task_types: Sequence[str]) -> Estimates:
    """The rules' odds: the learned planner's prior fitted on no data (its API $ come from `attempt_api_usd`)."""
    prior = Prior(rungs=list(dict.fromkeys(rungs)), review_minutes=review_minutes)
    return fit([], prior, sorted(set(task_types)))


class Interval(BaseModel):
    """An expected value and its interval over the posterior draws (`PERCENTILES`)."""

    model_config = ConfigDict(frozen=True)

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, draws: Sequence[float]) -> Interval:
        values = np.asarray(draws, dtype=float)
        low, high = np.percentile(values, PERCENTILES)
        return cls(mean=float(values.mean()), low=float(low), high=float(high))


class Draws(BaseModel):
    """Per posterior draw: expected API $ (priced rungs), review minutes and P(solved); what sums add up."""

    model_config = ConfigDict(frozen=True)

    api_usd: list[float]
    review_minutes: list[float]
    p_solved: list[float]

    def __add__(self, other: Draws) -> Draws:
        size = min(len(self.api_usd), len(other.api_usd))

        def add(mine: list[float], theirs: list[float]) -> list[float]:
            return [a + b for a, b in zip(mine[:size], theirs[:size], strict=True)]

        return Draws(
            api_usd=add(self.api_usd, other.api_usd),
            review_minutes=add(self.review_minutes, other.review_minutes),
            p_solved=add(self.p_solved, other.p_solved),
        )


class Economics(BaseModel):
    """How review time is priced: `[review] hourly_rate_usd` and `bill`."""

    model_config = ConfigDict(frozen=True)

    hourly_rate_usd: float
    review_bill: ReviewBill = "each_attempt"


class Estimate(BaseModel):
    """What a ladder (or, summed, a batch) is expected to cost and solve, before anything runs."""

    model_config = ConfigDict(frozen=True)

    policy: str = Field(description="Whose model the numbers come from: rules (the prior) or learned (the posterior).")
    basis: str = Field(description="How the numbers were made, in words.")
    task_type: str = ""
    ladder: list[str] = Field(default_factory=list)
    issues: int = Field(1, description="Issues estimated (a batch: its tasks).")
    api_usd: Interval | None = Field(description="Expected API $; None: a model is unpriced.")
    review_minutes: Interval
    review_usd: Interval
    total_usd: Interval | None = Field(description="API $ + review $ (no V); None: a model is unpriced.")
    known_usd: Interval = Field(description="API $ of the priced models + review $.")
    p_solved: Interval = Field(description="P(solved) for one issue; for a batch the expected issues solved.")
    unpriced: list[str] = Field(default_factory=list, description="Models without a price.")
    notes: list[str] = Field(default_factory=list)
    draws: Draws = Field(exclude=True)

    @classmethod
    def from_draws(cls, draws: Draws, economics: Economics, unpriced: list[str], **fields: object) -> Estimate:
        per_minute = economics.hourly_rate_usd / 60
        review_usd = [minutes * per_minute for minutes in draws.review_minutes]
        known = [api + review for api, review in zip(draws.api_usd, review_usd, strict=True)]
        return cls(
            api_usd=None if unpriced else Interval.of(draws.api_usd),
            review_minutes=Interval.of(draws.review_minutes),
            review_usd=Interval.of(review_usd),
            total_usd=None if unpriced else Interval.of(known),
            known_usd=Interval.of(known),
            p_solved=Interval.of(draws.p_solved),
            unpriced=unpriced,
            draws=draws,
            **fields,
        )


def ladder_draws(
    estimates: Estimates,
    task_type: str,
    ladder: Sequence[str],
    delivered: bool,
    api_usd: Mapping[str, float | None] | None = None,
) -> Draws:
    """Per posterior draw: the ladder's expected API $ (unpriced rungs $0), review minutes, P(solved);
    each attempt's API $ from `api_usd` when given (the rules'), else from `estimates` (the posterior's)."""
    points, weights = estimates.grid(task_type)
    draws = estimates.draws
    alive = weights.reshape(draws, points.size // draws) * draws  # per draw: P(all failed so far, d)
    api, minutes = np.zeros(draws), np.zeros(draws)
    for rung in ladder:
        after = alive * (1.0 - estimates.pass_curve(task_type, rung).reshape(alive.shape))
        reach, left = alive.sum(axis=1), after.sum(axis=1)
        usd, review = estimates.cost(task_type, rung)
        usd = usd if api_usd is None else api_usd.get(rung)
        api += reach * (usd or 0.0)
        minutes += (reach - left if delivered else reach) * review
        alive = after
    return Draws(api_usd=api.tolist(), review_minutes=minutes.tolist(), p_solved=(1.0 - alive.sum(axis=1)).tolist())


def estimate_ladder(
    estimates: Estimates,
    task_type: str,
    ladder: Sequence[str],
    economics: Economics,
    *,
    policy: str,
    basis: str,
    api_usd: Mapping[str, float | None] | None = None,
    notes: Sequence[str] = (),
) -> Estimate:
    """The estimate of one issue of `task_type` climbing `ladder` under `estimates` (see the module
    docstring); each attempt's API $ from `api_usd` when given, else the posterior's."""
    draws = ladder_draws(estimates, task_type, ladder, economics.review_bill == "delivered", api_usd)
    priced = {rung: estimates.cost(task_type, rung)[0] for rung in ladder} if api_usd is None else api_usd
    unpriced = [model_of(rung) for rung in ladder if priced.get(rung) is None]
    return Estimate.from_draws(
        draws,
        economics,
        list(dict.fromkeys(unpriced)),
        policy=policy,
        basis=basis,
        task_type=task_type,
        ladder=list(ladder),
        notes=list(notes),
    )


def sum_estimates(estimates: Sequence[Estimate], economics: Economics) -> Estimate:
    """A batch's estimate: the issues' draws summed draw by draw (P(solved) becomes issues solved)."""
    if not estimates:
        raise ValueError("no estimates to sum")
    total = estimates[0].draws
    for estimate in estimates[1:]:
        total = total + estimate.draws
    unpriced = list(dict.fromkeys(name for estimate in estimates for name in estimate.unpriced))
    policies = sorted({estimate.policy for estimate in estimates})
    notes = list(dict.fromkeys(note for estimate in estimates for note in estimate.notes))
    return Estimate.from_draws(
        total,
        economics,
        unpriced,
        policy=",".join(policies),
        basis=estimates[0].basis,
        issues=sum(estimate.issues for estimate in estimates),
        notes=notes,
    )


def above_threshold(estimate: Estimate, threshold: Decimal, allow_unpriced: bool) -> bool:
    """Whether a run must be approved: its expected total (API $ + review $) exceeds `threshold`; an
    unpriced estimate is above any threshold unless `allow_unpriced` (then its priced part is compared)."""
    if estimate.total_usd is None and not allow_unpriced:
        return True
    expected = estimate.total_usd or estimate.known_usd
    return Decimal(str(expected.mean)) > threshold
