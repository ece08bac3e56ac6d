"""The five sections of `agent stats` (and of `agent report`), computed from the ledger: how the fallback
router did over runs, and how often providers held them. How they are shown is `agent.reporting.stats`'s.

1. Fallback rate: finished attempts that fell back at least once / finished attempts, per task type
   (the issue's), per primary model (the attempt's rung model, whatever served its calls later) and
   per both. Advice needs a (task type, model) cell of at least MIN_ATTEMPTS finished attempts: a rate
   above `router.advise_above` says the model is the wrong primary for the type; one below
   `router.advise_below` says the type could route more to that cheap model, said only of a model
   that can fall back (its own `fallback` or the planner's in the configuration, or a fallback
   recorded from it): a model with nowhere to fall back to always shows 0 %, which says nothing.
2. API $ per model per day: every call (the attempts', their fallback hops', the classifier's) by the
   model that served it, each settled call at its cost and each unsettled one at the worst case
   reserved for it (`costs.calls_cost`); unpriced calls are counted apart, never as $0. Failed calls billed
   at what the provider may have counted (the input it reported, or the worst case) are uncertain, counted
   apart too (`uncertain_calls`, their $ included). The day is the UTC day the call was sent.
3. Validation failures by reason per model: the attempts' replies (`ok` calls) by the model that
   served them, and how many were invalid, by reason.
4. Latency per model, as p50/p90/p99 with the sample size n (inclusive quantiles): the model's call
   time (every settled call it served, the classifier's too; failed ones until they gave up), and
   the end-to-end turn latency of attempts it was the primary of, invalid replies, failed requests
   and fallback hops included, with the turns that took a fallback hop apart.
5. Rate limits and quotas per provider (`provider_holds`, `agent.engine.calling.quota`): the holds,
   the seconds the run's use of the provider was held, the refusals (429s, quota errors), and the
   holds that paused it instead: out of quota, or rate limited past `[router] rate_limit_max_wait_s`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent.core.config import AgentConfig
from agent.ledger import CallRow, Fallback, Ledger
from agent.ledger.holds import ProviderHoldRow
from agent.reporting.costs import calls_cost

MIN_ATTEMPTS = 5
"""Finished attempts a (task type, model) cell needs before an advice line is given about it."""
REASONS = ("unknown_tool", "bad_json", "schema", "empty", "loop")
"""The validation reasons, in the order their columns are shown (others found follow, sorted)."""


class AttemptFacts(BaseModel):
    """One attempt as the stats read it."""

    task_type: str
    model: str  # the primary: the attempt's rung model
    finished: bool
    fallbacks: list[Fallback]
    calls: list[CallRow]


class StatsFacts(BaseModel):
    """Everything the stats are computed from, read from the ledger once."""

    runs: list[str]
    attempts: list[AttemptFacts]
    issue_calls: list[tuple[str, CallRow]]  # calls made outside attempts (the classifier's), with their day
    holds: list[ProviderHoldRow] = []  # the runs' provider holds (rate limits, quotas)

    def calls(self) -> list[tuple[str, CallRow]]:
        """Every call with its day: the attempts' and the issues'."""
        made = [(utc_day(call.created_at), call) for attempt in self.attempts for call in attempt.calls]
        return made + self.issue_calls


def utc_day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()


def read_facts(ledger: Ledger, run_ids: list[str]) -> StatsFacts:
    attempts: list[AttemptFacts] = []
    issue_calls: list[tuple[str, CallRow]] = []
    holds: list[ProviderHoldRow] = []
    for run_id in run_ids:
        holds += ledger.holds(run_id)
        issue_calls += [(utc_day(call.created_at), call) for call in ledger.run_calls(run_id)]  # no issue claimed
        issues = {issue.id: issue for issue in ledger.issues(run_id)}
        for attempt in ledger.attempts(run_id):
            attempts.append(
                AttemptFacts(
                    task_type=issues[attempt.issue_id].task_type,
                    model=attempt.model,
                    finished=attempt.state == "finished",
                    fallbacks=ledger.fallbacks(attempt.id),
                    calls=ledger.calls(attempt.id),
                )
            )
        for issue in issues.values():
            issue_calls += [(utc_day(call.created_at), call) for call in ledger.issue_calls(issue.id)]
    return StatsFacts(runs=run_ids, attempts=attempts, issue_calls=issue_calls, holds=holds)


# 1. fallback rate ------------------------------------------------------------------------------
def _rate(attempts: list[AttemptFacts]) -> dict[str, Any]:
    fell = [attempt for attempt in attempts if attempt.fallbacks]
    reasons = Counter(fallback.reason for attempt in attempts for fallback in attempt.fallbacks)
    return {
        "attempts": len(attempts),
        "with_fallback": len(fell),
        "fallback_rate": round(len(fell) / len(attempts), 4),
        "fallbacks": sum(len(attempt.fallbacks) for attempt in attempts),
        "reasons": dict(sorted(reasons.items())),
    }


def _rates(attempts: list[AttemptFacts], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, ...], list[AttemptFacts]] = {}
    for attempt in attempts:
        groups.setdefault(tuple(getattr(attempt, key) for key in keys), []).append(attempt)
    return [{**dict(zip(keys, group, strict=True)), **_rate(groups[group])} for group in sorted(groups)]


def can_fall_back(config: AgentConfig, attempts: Iterable[AttemptFacts]) -> Callable[[str], bool]:
    """Whether a model has somewhere to fall back to: by the configuration, or as the data shows."""
    recorded = {fallback.from_model for attempt in attempts for fallback in attempt.fallbacks}
    planner = config.planner.fallback
    target = planner.split("@")[0] if planner else None

    def check(model: str) -> bool:
        configured = config.models.get(model)
        own = configured is not None and configured.fallback is not None
        return model in recorded or own or (target is not None and model != target)

    return check


def advice(pairs: list[dict[str, Any]], config: AgentConfig, routed: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The advice lines of the (task type, model) cells with enough finished attempts."""
    above, below = config.router.advise_above, config.router.advise_below
    lines = []
    for row in pairs:
        if row["attempts"] < MIN_ATTEMPTS:
            continue
        rate, model, task_type = row["fallback_rate"], row["model"], row["task_type"]
        measured = f"{row['with_fallback']} of {row['attempts']} finished attempts fell back ({rate:.0%}"
        if rate > above:
            text = f"{model} is the wrong primary for {task_type}: {measured}, above {above:.0%})"
            lines.append({"task_type": task_type, "model": model, "band": "above", "rate": rate, "text": text})
        elif rate < below and routed(model):
            text = f"{task_type} could route more to the cheap model {model}: {measured}, below {below:.0%})"
            lines.append({"task_type": task_type, "model": model, "band": "below", "rate": rate, "text": text})
    return lines


def fallback_section(facts: StatsFacts, config: AgentConfig) -> dict[str, Any]:
    finished = [attempt for attempt in facts.attempts if attempt.finished]
    pairs = _rates(finished, ("task_type", "model"))
    return {
        "by_task_type": _rates(finished, ("task_type",)),
        "by_model": _rates(finished, ("model",)),
        "by_task_type_model": pairs,
        "advice": advice(pairs, config, can_fall_back(config, finished)),
        "thin_cells": sum(1 for row in pairs if row["attempts"] < MIN_ATTEMPTS),
    }


# 2. spend per model per day --------------------------------------------------------------------
def _usd(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 6))


def _spend(calls: list[CallRow]) -> dict[str, Any]:
    cost = calls_cost(calls)
    uncertain = [call for call in calls if call.cost_uncertain]
    return {
        "calls": cost.calls,
        "api_cost_usd": _usd(cost.api_cost_usd),  # None: every call unpriced
        "unpriced_calls": cost.unpriced_calls,
        "unsettled_calls": cost.unsettled_calls,
        "unsettled_cost_usd": _usd(cost.unsettled_cost_usd),
        "uncertain_calls": len(uncertain),
        "uncertain_cost_usd": _usd(sum((call.cost_usd or Decimal(0) for call in uncertain), Decimal(0))),
    }


def spend_section(facts: StatsFacts) -> dict[str, Any]:
    """API $ per (day, model), and the totals per day, per model and of everything."""
    groups: dict[str, dict[Any, list[CallRow]]] = {"by_day": {}, "days": {}, "by_model": {}}
    for day, call in facts.calls():
        for section, key in (("by_day", (day, call.model)), ("days", day), ("by_model", call.model)):
            groups[section].setdefault(key, []).append(call)
    return {
        "by_day": [
            {"day": day, "model": model, **_spend(calls)} for (day, model), calls in sorted(groups["by_day"].items())
        ],
        "days": [{"day": day, **_spend(calls)} for day, calls in sorted(groups["days"].items())],
        "by_model": [{"model": model, **_spend(calls)} for model, calls in sorted(groups["by_model"].items())],
        "total": _spend([call for _, call in facts.calls()]),
    }


# 3. validation failures ------------------------------------------------------------------------
def reason_order(found: Iterable[str]) -> list[str]:
    return [*REASONS, *sorted(set(found) - set(REASONS))]


def validation_section(facts: StatsFacts) -> list[dict[str, Any]]:
    replies: dict[str, list[CallRow]] = {}
    for attempt in facts.attempts:
        for call in attempt.calls:
            if call.status == "ok":
                replies.setdefault(call.model, []).append(call)
    rows = []
    for model in sorted(replies):
        reasons = Counter(call.validation for call in replies[model] if call.validation)
        invalid = sum(reasons.values())
        rows.append(
            {
                "model": model,
                "replies": len(replies[model]),
                "invalid": invalid,
                "invalid_rate": round(invalid / len(replies[model]), 4),
                "by_reason": {reason: reasons[reason] for reason in reason_order(reasons) if reasons[reason]},
            }
        )
    return rows


# 4. latency ------------------------------------------------------------------------------------
def percentiles(values: list[float]) -> dict[str, Any]:
    """p50, p90 and p99 (inclusive quantiles, seconds to 3 places) and n; None for no values."""
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"n": len(values), "p50": round(cuts[49], 3), "p90": round(cuts[89], 3), "p99": round(cuts[98], 3)}


def latency_section(facts: StatsFacts) -> list[dict[str, Any]]:
    call_s: dict[str, list[float]] = {}
    for _, call in facts.calls():
        if call.status in ("ok", "failed"):
            call_s.setdefault(call.model, []).append(call.duration_s)
    turn_s: dict[str, list[float]] = {}
    hop_s: dict[str, list[float]] = {}
    for attempt in facts.attempts:
        hops = {fallback.turn for fallback in attempt.fallbacks}
        for call in attempt.calls:
            if call.turn_s is not None:
                turn_s.setdefault(attempt.model, []).append(call.turn_s)
                if call.turn in hops:
                    hop_s.setdefault(attempt.model, []).append(call.turn_s)
    return [
        {
            "model": model,
            "call_s": percentiles(call_s.get(model, [])),
            "turn_s": percentiles(turn_s.get(model, [])),
            "hop_turn_s": percentiles(hop_s.get(model, [])),
        }
        for model in sorted({*call_s, *turn_s})
    ]


# 5. rate limits and quotas -------------------------------------------------------------------
def holds_section(facts: StatsFacts) -> list[dict[str, Any]]:
    """Per provider: holds, seconds held, refusals, and the holds that paused the run's use of it."""
    by_provider: dict[str, list[ProviderHoldRow]] = {}
    for hold in facts.holds:
        by_provider.setdefault(hold.provider, []).append(hold)
    return [
        {
            "provider": provider,
            "holds": len(holds),
            "waited_s": round(sum(hold.waited_s for hold in holds), 3),
            "refusals": sum(hold.refusals for hold in holds),
            "quota_stops": sum(1 for hold in holds if hold.reason == "quota"),
            "rate_limit_pauses": sum(1 for hold in holds if hold.reason == "rate_limit" and hold.outcome == "paused"),
        }
        for provider, holds in sorted(by_provider.items())
    ]


def build_stats(facts: StatsFacts, config: AgentConfig, chosen: str = "") -> dict[str, Any]:
    """The five sections as one JSON-able object (`agent stats --json`, and `stats` in `agent report`)."""
    return {
        "runs": facts.runs,
        "chosen": chosen or f"runs {', '.join(facts.runs)}",
        "advise_above": config.router.advise_above,
        "advise_below": config.router.advise_below,
        "min_attempts": MIN_ATTEMPTS,
        "fallback_rate": fallback_section(facts, config),
        "spend": spend_section(facts),
        "validation_failures": validation_section(facts),
        "latency": latency_section(facts),
        "rate_limits": holds_section(facts),
    }
