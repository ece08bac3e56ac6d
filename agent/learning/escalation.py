"""Escalation inside an attempt: when to abandon an attempt and climb to the ladder's next rung.

After turn k >= K (`[planner] escalate_after_turns`) of an attempt with a next rung, compare the two
ways on (API $ and the price V of an issue left unsolved, `[planner] unsolved_cost`):

- continue: pay the attempt's expected remaining cost C (its API $, and under `[review] bill =
  "each_attempt"` the review of the change it will leave; an abandoned attempt leaves none to review);
  with probability p = P(pass | progress)
  (`agent.learning.progress`) it passes and the climb ends; otherwise the rest of the ladder is
  climbed exactly as if it had been abandoned now;
- switch now: climb the rest of the ladder at once.

Both share the (1 - p) branch, so continuing is worth it exactly when what a pass here saves, p x R,
exceeds C, where R is the rest of the ladder's expected cost with V:

    R = sum_i cost_i x prod_{j<i} (1 - P_j)  +  V x prod_i (1 - P_i)      (i over the rungs after this one)

with P_i the rungs' measured pass rates and cost_i their mean API $ per attempt (plus an attempt's
review $ under "each_attempt"; under "delivered" the one review of the delivered patch is paid
whichever rung passes, so it is left out of both sides). Abandon when p x R < C.
(Comparing "p x V - C" with "P_next x V - cost_next" instead would abandon any attempt less likely to
pass than the next rung, losing the solves this attempt would have added before the climb.)

The rest is taken as independent of this attempt, which understates how often it fails when this one
would have passed (the issue is harder than average then), so R is a little low; the probit-averaged p
of a thin posterior leans towards one half, which keeps the rule cautious. No estimate (thin data), an
unpriced attempt or no next rung: never abandon.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.learning.progress import ProgressModel
from agent.ledger.events import TurnProgress


@dataclass(frozen=True)
class Choice:
    """Whether to abandon after a turn, and the numbers behind it."""

    abandon: bool
    p_pass: float
    remaining_usd: float
    at_stake_usd: float

    def reason(self, progress: TurnProgress) -> str:
        tests = "no test run"
        if progress.test_runs:
            last = "passed" if progress.last_test_passed else "failed"
            tests = f"{progress.test_runs} test run(s), the last {last}"
        return (
            f"P(pass) {self.p_pass:.1%} after {progress.turn} turn(s) ({progress.edits} edit(s), {tests}): "
            f"a pass here would save {self.p_pass:.1%} x ${self.at_stake_usd:,.2f} = "
            f"${self.p_pass * self.at_stake_usd:,.2f}, {'less' if self.abandon else 'more'} than the "
            f"${self.remaining_usd:,.2f} the rest of this attempt is expected to cost"
        )


@dataclass(frozen=True)
class EscalationRule:
    """The rule for one attempt: its rung, what comes after it, and the fitted estimator."""

    model: ProgressModel
    rung: str
    task_type: str
    max_turns: int
    rest: tuple[str, ...]
    """The ladder's rungs after this attempt's, in order."""
    unsolved_usd: float
    after_turns: int
    review_usd: float = 0.0
    """Review $ of one attempt that leaves a change (minutes x hourly rate), billed under "each_attempt";
    0 under "delivered"."""

    def at_stake_usd(self) -> float:
        """R: the rest of the ladder's expected API $ (and review $) plus V x P(every rung of it fails)."""
        total, reach = 0.0, 1.0
        for rung in self.rest:
            costs = self.model.costs.get(rung, [])
            api = sum(cost.end_usd for cost in costs) / len(costs) if costs else 0.0
            total += reach * (api + self.review_usd)
            reach *= 1 - self.model.rate(rung)
        return total + reach * self.unsolved_usd

    def decide(self, progress: TurnProgress) -> Choice | None:
        """The choice after `progress.turn`; None when the rule does not apply (before K, unpriced, no rest)."""
        if not self.rest or progress.turn < self.after_turns or progress.spent_usd is None:
            return None
        p = self.model.p_pass(self.rung, self.task_type, self.max_turns, progress)
        remaining = self.model.remaining_usd(self.rung, progress.turn, float(progress.spent_usd)) + self.review_usd
        at_stake = self.at_stake_usd()
        return Choice(abandon=p * at_stake < remaining, p_pass=p, remaining_usd=remaining, at_stake_usd=at_stake)
