"""The learned policy: the planner's ladder chosen from what the ledger measured (`agent.learning`).

`LearnedPlanner` is fitted once per run from every finished attempt in the ledger, with the rules
planner's view as a weak prior: each rung's pass rate on an average task by its effort level (the
published frontier-model rates the rules' effort choices rest on) and its API $ from the price
and the effort's token budget. It chooses, per task type, the ladder over the rungs the user's
configuration allows (every planner model at each effort its provider honours) with the lowest
expected total cost per solved issue at the configured hourly rate. While the data is thin (fewer
than `[planner] min_attempts` attempts at the allowed rungs) it keeps the rules' ladder and says
so; either way the decision, with its candidates, is recorded under the issue.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from agent.core.config import AgentConfig
from agent.core.effort import EffortLevel, Rung
from agent.learning import Decision, Estimates, Observation, Prior, choose_ladder, fit

PRIOR_RATES = {
    EffortLevel.LOW: 0.45,
    EffortLevel.MEDIUM: 0.55,
    EffortLevel.HIGH: 0.65,
    EffortLevel.XHIGH: 0.69,
    EffortLevel.MAX: 0.72,
}
"""A frontier model's published solve rates by effort (medium ~55%, high ~65%, max ~72%; low and
xhigh continue the curve): the rules' view of every rung before anything is measured."""

PROMPT_TOKENS_PER_TURN = 8000
"""A typical prompt per turn (system, issue, tools and the conversation so far), for the prior's $."""

PriceOf = Callable[[str], "tuple[Decimal, Decimal] | None"]
"""Model name -> (input, output) USD per 1M tokens, or None when unpriced."""


def prior_rates(allowed: list[Rung], observations: list[Observation]) -> dict[str, float]:
    """Each rung's prior pass rate: the effort's published rate, moved by what the same model showed
    at its measured rungs (its skill: the mean logit gap between its measured and published rates),
    so an unmeasured effort of a weak model is not taken for a frontier model's."""
    measured: dict[str, list[bool]] = {}
    for observation in observations:
        measured.setdefault(observation.rung, []).append(observation.passed)
    rates = {}
    for rung in allowed:
        gaps = []
        for other in allowed:
            outcomes = measured.get(str(other), [])
            if other.model == rung.model and outcomes:
                rate = (sum(outcomes) + 0.5) / (len(outcomes) + 1)  # a half-pass of smoothing
                gaps.append(_logit(rate) - _logit(PRIOR_RATES[other.effort]))
        shift = sum(gaps) / len(gaps) if gaps else 0.0
        rates[str(rung)] = _expit(_logit(PRIOR_RATES[rung.effort]) + shift)
    return rates


def _logit(rate: float) -> float:
    return math.log(rate / (1 - rate))


def _expit(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def prior_for(
    config: AgentConfig, allowed: list[Rung], price_of: PriceOf, observations: list[Observation] | None = None
) -> Prior:
    """The rules' view as a weak prior: rates by effort (shifted by each model's measured skill), API $
    from the price x a quarter of the effort's turn and token budget."""
    rates = prior_rates(allowed, observations or [])
    api_usd: dict[str, float] = {}
    for rung in allowed:
        price = price_of(rung.model)
        if price is None:
            continue
        budget = config.budget_for(rung.effort)
        turns = Decimal(budget.max_turns) / 4
        tokens_out = Decimal(budget.max_tokens) / 4
        usd = turns * (PROMPT_TOKENS_PER_TURN * price[0] + tokens_out * price[1]) / Decimal(1_000_000)
        api_usd[str(rung)] = float(usd)
    return Prior(rung_rates=rates, strength=2.0, api_usd=api_usd, review_minutes=config.review.minutes_per_attempt)


class LearnedPlanner:
    """Chooses ladders from the ledger's measurements (fitted once, when built)."""

    def __init__(
        self,
        config: AgentConfig,
        observations: list[Observation],
        allowed: list[Rung],
        price_of: PriceOf,
        *,
        seed: str = "",
    ) -> None:
        self.config, self.allowed = config, allowed
        self.observations = observations
        names = [str(rung) for rung in allowed]
        self.measured = sum(1 for observation in observations if observation.rung in names)
        types = sorted({observation.task_type for observation in observations} | set(config.planner.task_types))
        self.estimates: Estimates = fit(observations, prior_for(config, allowed, price_of, observations), types)
        self.rng = random.Random(seed)

    @property
    def thin(self) -> bool:
        return self.measured < self.config.planner.min_attempts

    def decide(self, task_type: str, rules_ladder: list[Rung], max_api_usd: Decimal | None) -> tuple[list[Rung], dict]:
        """The ladder for one issue of `task_type` and the decision as the ledger records it."""
        planner = self.config.planner
        decision = choose_ladder(
            self.estimates,
            task_type,
            [str(rung) for rung in self.allowed],
            hourly_rate=float(self.config.review.hourly_rate_usd),
            max_api_usd=None if max_api_usd is None else float(max_api_usd),
            explore=planner.explore and not self.thin,
            rng=self.rng,
            explore_cap=planner.explore_cap,
        )
        data = decision_data(decision, self.measured)
        if self.thin or not decision.ladder:
            why = (
                f"thin data: {self.measured} measured attempt(s) at the allowed rungs, fewer than "
                f"[planner] min_attempts = {planner.min_attempts}"
                if self.thin
                else "no learned ladder fits"
            )
            data.update(
                policy="rules",
                chosen_by="rules",
                note=f"{why}: the rules' ladder is kept",
                learned_ladder=decision.ladder,
                ladder=[str(rung) for rung in rules_ladder],
            )
            return rules_ladder, data
        by_name = {str(rung): rung for rung in self.allowed}
        return [by_name[name] for name in decision.ladder], data


def decision_data(decision: Decision, measured: int) -> dict[str, Any]:
    """The decision as recorded (ledger event `decision`) and shown (`agent plan`, `agent fix`)."""
    data = _finite(decision.as_dict())
    data["chosen_by"] = "learned"
    data["policy"] = f"learned ({decision.policy})"
    data["measured_attempts"] = measured
    data["note"] = ""
    return data


def _finite(value: Any) -> Any:
    """JSON has no infinity: a cost per solved of a ladder that never solves is None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
