"""What an attempt has done after each turn, recorded as it runs; and the attempt abandoned when
continuing is worth less than climbing to the next rung (`agent.learning.escalation`).

After every turn the watch counts edits (turns after which the sandbox's diff changed), the model's
test runs (a bash command that runs the task's test command or a known test runner) and whether the
last one passed (its exit code), the turns left of the effort's budget and the API $ spent so far (the
attempt's settled calls, tapped from its meter's facts). Each turn is a `ProgressNoted` fact (a row of
`attempt_progress`, what the estimator learns from). From turn K on, with a rule, the watch asks it;
an abandonment is an `AttemptAbandoned` fact (a row of `abandonments`) and an `attempt_abandoned`
event whose text says why, like a fallback, and it ends the attempt with the outcome `abandoned`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from agent.core.config import AgentConfig
from agent.core.errors import AttemptEnded
from agent.core.messages import ToolCall, ToolResult
from agent.engine.work_patch import may_change_files
from agent.learning.escalation import EscalationRule
from agent.learning.progress import ProgressModel, ProgressSettings, fit_progress
from agent.ledger import Ledger
from agent.ledger.events import Abandonment, TurnProgress
from agent.ledger.facts import AttemptAbandoned, CallSettled, Fact, ProgressNoted

TEST_RUNNERS = re.compile(
    r"\b(pytest|py\.test|unittest|tox|nox|go test|cargo test|npm (run )?test|yarn test|make (test|check)|jest|"
    r"mvn test|gradle test)\b"
)
"""A bash command matching this (or containing the task's test command) is a test run."""


class Abandoned(AttemptEnded, outcome="abandoned"):
    """The attempt's progress said continuing was worth less than climbing to the next rung."""


class SpendTap:
    """Records an attempt's facts through `record`, keeping each settled call's cost: the $ spent so far."""

    def __init__(self, record: Callable[[Fact], int | None]) -> None:
        self.record = record
        self.costs: dict[int, Decimal | None] = {}

    def __call__(self, fact: Fact) -> int | None:
        row_id = self.record(fact)
        if isinstance(fact, CallSettled) and fact.record.settled:
            self.costs[fact.call_id] = fact.record.cost_usd
        return row_id

    def spent(self) -> Decimal | None:
        """API $ of the settled calls (None when one of them is unpriced)."""
        if any(cost is None for cost in self.costs.values()):
            return None
        return sum((cost or Decimal(0) for cost in self.costs.values()), Decimal(0))


def is_test_run(call: ToolCall, test_cmd: str) -> bool:
    command = str(call.input.get("command", "")) if call.name == "bash" else ""
    return bool(command) and ((bool(test_cmd) and test_cmd in command) or TEST_RUNNERS.search(command) is not None)


@dataclass
class ProgressWatch:
    """One attempt's progress, turn by turn; `rule` (None: record only) may end the attempt."""

    attempt_id: int
    record: Callable[[Fact], int | None]
    emit: Callable[[str, dict], None]
    spend: SpendTap
    test_cmd: str
    max_turns: int
    diff: Callable[[], str] | None = None
    rule: EscalationRule | None = None
    progress: TurnProgress = field(default_factory=lambda: TurnProgress(turn=0))
    last_diff: str = field(default_factory=lambda: hashlib.sha256(b"").hexdigest())

    def after_turn(self, turn: int, calls: list[ToolCall], results: list[ToolResult], finished: bool = False) -> None:
        """Note the turn's progress; raise Abandoned when the rule says to climb (never on a finishing turn)."""
        now = self.progress.model_copy(update={"turn": turn, "turns_left": self.max_turns - turn})
        outputs = {result.tool_call_id: result for result in results}
        for call in calls:
            if is_test_run(call, self.test_cmd) and call.id in outputs:
                passed = not outputs[call.id].is_error
                now.test_runs += 1
                now.failed_test_runs += 0 if passed else 1
                now.last_test_passed = passed
        if self.diff is not None and any(may_change_files(call) for call in calls):
            digest = hashlib.sha256(self.diff().encode()).hexdigest()
            if digest != self.last_diff:
                now.edits, self.last_diff = now.edits + 1, digest
        now.spent_usd = self.spend.spent()
        self.progress = now
        self.record(ProgressNoted(attempt_id=self.attempt_id, progress=now))
        if finished or self.rule is None or now.turns_left <= 0:
            return
        choice = self.rule.decide(now)
        if choice is None or not choice.abandon:
            return
        reason = choice.reason(now)
        rule = self.rule
        abandonment = Abandonment(
            turn=turn,
            from_rung=rule.rung,
            to_rung=rule.rest[0],
            p_pass=choice.p_pass,
            remaining_usd=choice.remaining_usd,
            at_stake_usd=choice.at_stake_usd,
            reason=reason,
        )
        self.record(AttemptAbandoned(attempt_id=self.attempt_id, abandonment=abandonment))
        text = f"{rule.rung} abandoned after turn {turn} → {rule.rest[0]}: {reason}"
        self.emit("attempt_abandoned", {**abandonment.model_dump(), "text": text})
        raise Abandoned(text)


def progress_model(config: AgentConfig, ledger: Ledger, ladder_length: int) -> ProgressModel | None:
    """The estimator fitted on the ledger's finished attempts, when escalation inside an attempt is on and
    the ladder has a rung to climb to; None otherwise or while the data is thin."""
    planner = config.planner
    if not planner.escalate_within or ladder_length < 2:
        return None
    return fit_progress(ledger.finished_progress(), ProgressSettings(min_attempts=planner.escalate_min_attempts))


def escalation_rule(
    config: AgentConfig, model: ProgressModel | None, rungs: list[str], index: int, task_type: str, max_turns: int
) -> EscalationRule | None:
    """The rule for the attempt at `rungs[index]` (None: no estimate, or no rung after it)."""
    if model is None or index + 1 >= len(rungs):
        return None
    planner, review = config.planner, config.review
    per_attempt = float(review.hourly_rate_usd) * review.minutes_per_attempt / 60
    return EscalationRule(
        model=model,
        rung=rungs[index],
        task_type=task_type,
        max_turns=max_turns,
        rest=tuple(rungs[index + 1 :]),
        unsolved_usd=float(planner.unsolved_usd(config.review.hourly_rate_usd)),
        after_turns=planner.escalate_after_turns,
        review_usd=per_attempt if review.bill == "each_attempt" else 0.0,
    )
