"""Escalation inside an attempt: the progress estimator (thin data says nothing; informative data tells a
wanderer from a passer), the decision rule, and an attempt abandoned and escalated end to end: the sim
population over the fake provider's real HTTP API, `agent bench` in-process, the real SQLite ledger."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from agent.core.config import ReviewConfig
from agent.core.effort import EffortLevel
from agent.fake_provider.sim import sim_env, start_sim
from agent.learning.escalation import EscalationRule
from agent.learning.progress import ProgressSettings, fit_progress
from agent.ledger import Ledger
from agent.reporting.costs import review_charge
from agent.simulate.population import attempt_passes, load_population
from agent.simulate.sim_paths import attempt_path
from tasks.builtin import TASKS_FILE
from tasks.loaders import read_task_file
from tests.cli_helpers import run_agent
from tests.escalation_helpers import history, passer, wanderer, write_history

RUNG, NEXT = "sim-frontier@high", "sim-frontier@max"
WANDERING_TASK = "textkit__slug-max-length"  # its sim-frontier@high attempt 0 wanders for 16 turns


def rule_for(count: int, unsolved_usd: float = 10.0) -> EscalationRule | None:
    model = fit_progress(history(count) + history(8, rung=NEXT), ProgressSettings(min_attempts=30))
    if model is None:
        return None
    return EscalationRule(model, RUNG, "bug_fix", 50, (NEXT,), unsolved_usd, after_turns=3)


def test_thin_data_gives_no_estimate_so_nothing_is_abandoned():
    assert fit_progress(history(21), ProgressSettings(min_attempts=30)) is None
    assert rule_for(21) is None  # 21 + 8 finished attempts: one short of 30


def test_abandoned_or_stopped_attempts_are_not_examples():
    censored = [attempt.model_copy(update={"outcome": "abandoned"}) for attempt in history(40)]
    assert fit_progress(censored, ProgressSettings(min_attempts=30)) is None


@pytest.mark.parametrize(
    ("progress", "abandon"),
    [
        (wanderer()[3], True),  # turn 4: no edit, no test run
        (wanderer()[6], True),  # turn 7: no edit, the tests failed
        (passer()[3], False),  # turn 4: edited, the tests passed
        (wanderer()[1], False),  # turn 2: before K = 3 turns, no choice is made
    ],
)
def test_informative_data_abandons_wanderers_and_keeps_passers(progress, abandon):
    rule = rule_for(200)
    assert rule is not None
    choice = rule.decide(progress)
    assert (choice is not None and choice.abandon) is abandon
    if progress.turn >= 3:
        assert choice is not None and (choice.p_pass < 0.1) is abandon


def test_the_rule_weighs_a_pass_here_against_the_remaining_cost():
    rule = rule_for(200)
    assert rule is not None
    late = wanderer()[3]
    choice = rule.decide(late)
    assert choice is not None
    rate = rule.model.rate(NEXT)  # what the next rung passes: 4 of 8, with 4 pseudo-attempts at the pooled 1/2
    assert rate == pytest.approx(0.5)
    assert rule.at_stake_usd() == pytest.approx(0.95 + (1 - rate) * 10.0)  # its attempts: $0.5 and $1.4
    # remaining: 100 passers spend 0.1 after turn 4, 100 wanderers 1.0
    assert choice.remaining_usd == pytest.approx(0.55)
    assert choice.abandon is (choice.p_pass * choice.at_stake_usd < choice.remaining_usd)
    costly = rule_for(200, unsolved_usd=10_000.0)  # an unsolved issue this dear: never give up a chance
    assert costly is not None and costly.decide(late) is not None and not costly.decide(late).abandon
    assert rule.decide(late.model_copy(update={"spent_usd": None})) is None  # unpriced: no choice
    last = EscalationRule(rule.model, RUNG, "bug_fix", 50, (), 10.0, after_turns=3)
    assert last.decide(late) is None  # no rung after this one


def test_review_billed_each_attempt_counts_on_both_sides():
    rule = rule_for(200)
    assert rule is not None
    late = wanderer()[3]
    plain = rule.decide(late)
    reviewed = dataclasses.replace(rule, review_usd=16.0).decide(late)  # 10 min at $96/h
    assert plain is not None and reviewed is not None
    # continuing pays this attempt's review too; a pass here saves the next rung's review as well
    assert reviewed.remaining_usd == pytest.approx(plain.remaining_usd + 16.0)
    assert reviewed.at_stake_usd == pytest.approx(plain.at_stake_usd + 16.0)  # the next rung is reached for sure


def test_an_attempt_is_abandoned_and_the_next_rung_climbed_end_to_end(tmp_path):
    population = load_population()
    task = next(task for task in read_task_file(TASKS_FILE) if task.instance_id == WANDERING_TASK)
    assert attempt_path(population, task, "sim-frontier", EffortLevel.HIGH, 0).kind == "wander"
    assert attempt_passes(population, task, "sim-frontier", EffortLevel.MAX, 1)
    ledger_path = tmp_path / "agent-home" / "ledger.sqlite"
    ledger_path.parent.mkdir(parents=True)
    write_history(ledger_path, history(200) + history(8, rung=NEXT))
    config = tmp_path / "agent.toml"
    config.write_text(
        "[planner]\nescalate_within = true\nescalate_after_turns = 3\nescalate_min_attempts = 30\n"
        "unsolved_cost = 10.0\n"
    )
    with start_sim([task]) as fake:
        env = {"AGENT_CONFIG": str(config), **sim_env(fake)}
        args = ("--ids", WANDERING_TASK, "--ladder", f"{RUNG},{NEXT}", "--sandbox", "local", "--run-id", "e")
        done = run_agent(tmp_path, "bench", "builtin", *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["resolved_ids"] == [WANDERING_TASK]
    ledger = Ledger(ledger_path)
    first, second = ledger.attempts("e")
    assert [(a.model, a.effort_asked, a.outcome, a.tests_passed, a.turns) for a in (first, second)] == [
        ("sim-frontier", "high", "abandoned", False, 3),
        ("sim-frontier", "max", "finished", True, second.turns),
    ]
    [abandonment] = ledger.abandonments(first.id)
    assert (abandonment.turn, abandonment.from_rung, abandonment.to_rung) == (3, RUNG, NEXT)
    assert abandonment.p_pass * abandonment.at_stake_usd < abandonment.remaining_usd
    assert [(p.turn, p.edits, p.test_runs) for p in ledger.progress(first.id)] == [(1, 0, 0), (2, 0, 0), (3, 0, 0)]
    assert [p.last_test_passed for p in ledger.progress(second.id)][-1] in (True, None)
    charge = review_charge(first, ledger.reviews(first.id), ReviewConfig())
    assert (first.patch, charge.billed, charge.minutes) == (None, False, 0.0)  # nothing delivered to review
    events = {event.kind: event.data for event in ledger.events("e")}
    assert events["attempt_abandoned"]["text"].startswith(f"{RUNG} abandoned after turn 3 → {NEXT}: P(pass) ")
    assert events["escalation"] == {"rung_index": 1, "rung": NEXT, "after": "abandoned"}
    assert sum(call.spend_usd or Decimal(0) for call in ledger.calls(first.id)) > 0  # its calls are billed
