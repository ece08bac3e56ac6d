"""The learned policy: the planner's ladder chosen from what the ledger measured (`agent.learning`).

`LearnedPlanner` is fitted from every finished attempt in the ledger when a run starts, and refitted
(warm-started) as a batch's results arrive (`observe`), under a fixed prior: a published effort
curve, every model's skill unknown, API $ from the price and the effort's token budget. It chooses,
per task type, the ladder over the rungs the user's configuration allows (every planner model at
each effort its provider honours) with the lowest posterior expected total cost: API $ + review
minutes x the hourly rate (billed as `[review] bill` says) + V x P(unsolved), V being
`[planner] unsolved_cost` (or unsolved_hours x the rate). While the data is thin (fewer
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
from agent.core.effort import Rung
from agent.learning import Decision, Estimates, Observation, Prior, choose_ladder, fit

PROMPT_TOKENS_PER_TURN = 8000
"""A typical prompt per turn (system, issue, tools and the conversation so far), for the prior's $."""

PriceOf = Callable[[str], "tuple[Decimal, Decimal] | None"]
"""Model name -> (input, output) USD per 1M tokens, or None when unpriced."""


def prior_for(config: AgentConfig, allowed: list[Rung], price_of: PriceOf) -> Prior:
    """The prior before any measurement: the published effort curve (`agent.learning.PUBLISHED_GAINS`),
    every model's skill unknown (a coin flip on an average task at medium, sd 1.5 logits), API $ from
    the price x a quarter of the effort's turn and token budget. Fixed: the data enters the likelihood only."""
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
    return Prior(
        rungs=[str(rung) for rung in allowed], api_usd=api_usd, review_minutes=config.review.minutes_per_attempt
    )


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
        self.prior = prior_for(config, allowed, price_of)
        self.observations: list[Observation] = []
        self.estimates: Estimates | None = None
        self.rng = random.Random(seed)
        self.observe(observations)

    def observe(self, observations: list[Observation]) -> None:
        """Refit with `observations` added (a batch's results as they arrive), warm-started from the last fit."""
        self.observations = [*self.observations, *observations]
        names = {str(rung) for rung in self.allowed}
        self.measured = sum(1 for observation in self.observations if observation.rung in names)
        types = sorted(
            {observation.task_type for observation in self.observations} | set(self.config.planner.task_types)
        )
        self.estimates = fit(self.observations, self.prior, types, start=self.estimates)

    @property
    def thin(self) -> bool:
        return self.measured < self.config.planner.min_attempts

    def decide(self, task_type: str, rules_ladder: list[Rung], max_api_usd: Decimal | None) -> tuple[list[Rung], dict]:
        """The ladder for one issue of `task_type` and the decision as the ledger records it."""
        planner, review = self.config.planner, self.config.review
        assert self.estimates is not None  # fitted in __init__
        decision = choose_ladder(
            self.estimates,
            task_type,
            [str(rung) for rung in self.allowed],
            hourly_rate=float(review.hourly_rate_usd),
            unsolved_usd=float(planner.unsolved_usd(review.hourly_rate_usd)),
            review_bill=review.bill,
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
