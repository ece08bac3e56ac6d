"""Estimates before spending, wired: the planner's model for the policy in use, the rules' API $ per
attempt from the run's prices, and the estimate of a chosen ladder (`agent.learning.ladder_estimate`).

`estimate_issue` is `agent fix --estimate`: the issue's type by the rules (no model is called, not
even the classifier), the ladder the run would climb, its estimate. `agent plan` estimates the ladder it
shows with `PlannerModel` too; a batch's jobs are estimated in `agent.bench.estimate`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from agent.core.config import AgentConfig
from agent.core.effort import EffortLevel, Rung
from agent.engine.loop import TOOLS_CHARS
from agent.engine.planner import LadderChoice, NoUsableModel, classify_by_rules, plan_ladder
from agent.engine.prompts import system_prompt, task_message
from agent.learning import Estimates
from agent.learning.ladder_estimate import (
    Economics,
    Estimate,
    attempt_api_usd,
    estimate_ladder,
    opening_tokens,
    prior_estimates,
)
from agent.providers.pricing import PriceQuote
from agent.wiring.factories import learned_if_asked, price_lookup, rung_fit
from agent.wiring.options import RunOptions

if TYPE_CHECKING:
    from agent.engine.learned import LearnedPlanner

RULES_BASIS = (
    "rules: API $ per attempt = the mean the ledger measured at the rung (at least {measured} priced attempts),"
    " else price x the effort's token budget (a quarter of its turns and output cap);"
    " P(solved) from the published prior with no data (skills unknown), hence the wide interval"
)
MIN_MEASURED = 3
"""Priced attempts at a rung the ledger must hold before the rules' estimate takes their mean API $."""


def measured_api_usd(config: AgentConfig) -> dict[str, tuple[float, int]]:
    """Per rung: the mean API $ of the ledger's priced, finished attempts and how many (rungs with at
    least MIN_MEASURED); empty when there is no ledger yet."""
    if not config.ledger_path.exists():
        return {}
    from agent.learning import observations_from_ledger
    from agent.ledger import Ledger

    ledger = Ledger(config.ledger_path)
    try:
        observations = observations_from_ledger(ledger, review_estimate_minutes=config.review.minutes_per_attempt)
    finally:
        ledger.close()
    spent: dict[str, list[float]] = {}
    for observation in observations:
        if observation.api_usd is not None:
            spent.setdefault(observation.rung, []).append(observation.api_usd)
    return {rung: (sum(usd) / len(usd), len(usd)) for rung, usd in spent.items() if len(usd) >= MIN_MEASURED}


def opening_chars(config: AgentConfig, title: str, body: str, test_cmd: str | None) -> int:
    """The characters of an attempt's opening prompt: system prompt, tool specs, the issue."""
    system = system_prompt(config.sandbox.workdir, test_cmd or "", [])
    return len(system) + TOOLS_CHARS + len(task_message(title, body))


def economics_of(config: AgentConfig) -> Economics:
    return Economics(hourly_rate_usd=float(config.review.hourly_rate_usd), review_bill=config.review.bill)


class PlannerModel:
    """The model a run's estimates read: the learned planner's posterior (policy learned), else the
    prior the learned planner starts from with the rules' API $ per attempt. One model per run, so a
    batch's estimates share their posterior draws (and sum draw by draw)."""

    def __init__(
        self,
        config: AgentConfig,
        learned: LearnedPlanner | None,
        rungs: Sequence[Rung],
        task_types: Sequence[str],
        price_for: Callable[[str], PriceQuote | None] | None = None,
    ) -> None:
        self.config, self.learned = config, learned
        self.price_for = price_for or price_lookup(config)
        names = [str(rung) for rung in rungs]
        known = learned is not None and learned.estimates is not None and all(map(learned.estimates.knows, names))
        self.posterior: Estimates | None = learned.estimates if known and learned is not None else None
        self.prior = None if self.posterior is not None else prior_estimates(names, self.review_minutes, task_types)
        self.measured = {} if self.posterior is not None else measured_api_usd(config)

    @property
    def review_minutes(self) -> float:
        return self.config.review.minutes_per_attempt

    def estimate(self, chosen: LadderChoice, chars: int, notes: Sequence[str] = ()) -> Estimate:
        """The estimate of `chosen` for an issue whose opening prompt has `chars` characters."""
        ladder, task_type = [str(rung) for rung in chosen.ladder], chosen.classification.task_type
        economics = economics_of(self.config)
        decided = (chosen.decision or {}).get("note")
        notes = [*notes, decided] if decided else list(notes)
        if self.posterior is not None and self.learned is not None:
            basis = f"learned: the posterior from {self.learned.measured} measured attempt(s) (10th-90th percentile)"
            return estimate_ladder(
                self.posterior, task_type, ladder, economics, policy="learned", basis=basis, notes=notes
            )
        assert self.prior is not None
        more = [] if self.learned is None else ["a rung the learned planner has no estimate for: the rules' estimate"]
        api = self.api_per_attempt(chosen.ladder, opening_tokens(chars))
        measured = [f"{rung} ({self.measured[rung][1]})" for rung in ladder if rung in self.measured]
        if measured:
            more.append(f"API $ measured at {', '.join(measured)}; the token budget rule elsewhere")
        return estimate_ladder(
            self.prior,
            task_type,
            ladder,
            economics,
            policy="rules",
            basis=RULES_BASIS.format(measured=MIN_MEASURED),
            api_usd=api,
            notes=[*notes, *more],
        )

    def api_per_attempt(self, ladder: Sequence[Rung], opening: int) -> dict[str, float | None]:
        """The rules' API $ of one attempt at each rung (None: unpriced): as measured, else the budget rule."""
        out: dict[str, float | None] = {}
        for rung in ladder:
            if str(rung) in self.measured and self.price_for(rung.model) is not None:
                out[str(rung)] = self.measured[str(rung)][0]
                continue
            usd = attempt_api_usd(self.price_for(rung.model), self.config.budget_for(rung.effort), opening)
            out[str(rung)] = None if usd is None else float(usd)
        return out


def estimate_issue(
    title: str, body: str, labels: list[str], options: RunOptions, config: AgentConfig, env: Mapping[str, str]
) -> Estimate:
    """`agent fix --estimate`: the issue typed by the rules (no model called), the ladder a run would
    climb (with every model, when some cannot run here: said in a note), and its estimate."""
    text = f"# {title}\n\n{body}".strip() if title else body.strip()
    classification = classify_by_rules(text, labels)
    notes = [f"task type {classification.task_type} by the rules ({classification.reason})"]
    if config.planner.classifier_model:
        notes.append(
            f"the classifier model {config.planner.classifier_model} is not asked for an estimate:"
            " a run asks it, and may climb another task type's ladder"
        )
    learned = learned_if_asked(config, options.policy, env, seed=text)
    effort = EffortLevel.parse(options.effort) if options.effort else None
    fit, cap = rung_fit(config, env), config.budget.max_cost_usd
    try:
        chosen = plan_ladder(
            classification, config, options.ladder, options.model, effort, fit=fit, learned=learned, max_api_usd=cap
        )
    except NoUsableModel as exc:
        chosen = plan_ladder(
            classification, config, options.ladder, options.model, effort, fit=fit, require_usable=False
        )
        notes.append(str(exc))
    model = PlannerModel(config, learned, chosen.ladder, [classification.task_type])
    return model.estimate(chosen, opening_chars(config, title, body, None), notes)
