"""The learned planner's estimator and ladder optimiser: hand-computed worlds, a simulated population
with known abilities and difficulties (climbs against grids), shrinkage, exploration, speed, and the
observations read back from a real ledger file."""

from __future__ import annotations

import json
import math
import random
import time
from decimal import Decimal
from pathlib import Path

import pytest

from agent.core.messages import Usage
from agent.learning import (
    Estimates,
    Observation,
    Prior,
    RungEstimate,
    choose_ladder,
    expected_outcome,
    fit,
    observations_from_ledger,
)
from agent.ledger import CallRecord, Ledger

CHEAP, DEAR = "flash@low", "pro@high"


def two_rung_world(cheap_rate: float, review_minutes: float) -> Estimates:
    """Attempts independent (no difficulty spread): cheap passes `cheap_rate` for $1, dear 0.9 for $10."""
    return Estimates.from_rates({CHEAP: cheap_rate, DEAR: 0.9}, {CHEAP: 1.0, DEAR: 10.0}, review_minutes)


def table(decision):
    return [(c.ladder, round(c.usd_per_solved, 4), round(c.p_solved, 4)) for c in decision.candidates]


# Two-rung world, each rung at most once, review 10 min an attempt.
# Rate $0/h (API only):            E[$]                    P(solved)          $/solved
#   [C]      1                                             0.2                5
#   [C, D]   1 + 0.8 x 10 = 9                              1 - 0.8 x 0.1 = .92 9.7826
#   [D, C]   10 + 0.1 x 1 = 10.1                           0.92              10.9783
#   [D]      10                                            0.9               11.1111
# Rate $100/h: an attempt's review is 10/60 x 100 = $16.6667, so C costs 17.6667 and D 26.6667:
#   [D]      26.6667                                       0.9               29.6296
#   [D, C]   26.6667 + 0.1 x 17.6667 = 28.4333             0.92              30.9058
#   [C, D]   17.6667 + 0.8 x 26.6667 = 39                  0.92              42.3913
#   [C]      17.6667                                       0.2               88.3333
# With the default solve gap 0.05 the floor is 0.92 - 0.05 = 0.87, which rules out [C] at $0/h:
# the cheap-first cascade [C, D] wins instead.
@pytest.mark.parametrize(
    ("rate", "gap", "expected"),
    [
        (
            0,
            1.0,
            [
                ([CHEAP], 5.0, 0.2),
                ([CHEAP, DEAR], 9.7826, 0.92),
                ([DEAR, CHEAP], 10.9783, 0.92),
                ([DEAR], 11.1111, 0.9),
            ],
        ),
        (0, 0.05, [([CHEAP, DEAR], 9.7826, 0.92), ([DEAR, CHEAP], 10.9783, 0.92), ([DEAR], 11.1111, 0.9)]),
        (
            100,
            1.0,
            [
                ([DEAR], 29.6296, 0.9),
                ([DEAR, CHEAP], 30.9058, 0.92),
                ([CHEAP, DEAR], 42.3913, 0.92),
                ([CHEAP], 88.3333, 0.2),
            ],
        ),
        (100, 0.05, [([DEAR], 29.6296, 0.9), ([DEAR, CHEAP], 30.9058, 0.92), ([CHEAP, DEAR], 42.3913, 0.92)]),
    ],
)
def test_the_choice_in_a_two_rung_world_is_the_one_computed_by_hand(rate, gap, expected):
    decision = choose_ladder(
        two_rung_world(0.2, 10.0), "any", [CHEAP, DEAR], hourly_rate=rate, max_repeats=1, max_solve_gap=gap
    )
    assert table(decision) == expected
    assert (decision.ladder, decision.policy, decision.explored) == (expected[0][0], "greedy", False)


# Cheap rung passes 0.5 for $1, dear 0.9 for $10, no review ($0/h); up to 4 rungs, a rung up to 3 times.
# The best reachable P(solved) is three dear attempts and a cheap one, 1 - 0.1^3 x 0.5 = 0.9995, so the
# floor is 0.9495.
#   [C, C, C, D]  1 + .5 + .25 + .125 x 10 = 3.0      1 - .125 x .1 = .9875     3.0380
#   [C, C, D, C]  1 + .5 + .25 x 10 + .025 = 4.025    1 - .25 x .1 x .5 = .9875 4.0759
#   [C, C, D]     1 + .5 + .25 x 10 = 4.0             1 - .25 x .1 = .975       4.1026
#   [C, C, C]     1.75                                .875 < floor: ruled out
#   [D]           10                                  .9 < floor; [D, D] 11 / .99 = 11.1111
# Three cheap attempts and then the dear one: the repeated cheap rung is cheaper per solved.
def test_a_repeated_cheap_rung_is_chosen_when_it_is_cheaper_per_solved():
    decision = choose_ladder(two_rung_world(0.5, 0.0), "any", [CHEAP, DEAR], hourly_rate=0, top=3)
    assert table(decision) == [
        ([CHEAP, CHEAP, CHEAP, DEAR], 3.038, 0.9875),
        ([CHEAP, CHEAP, DEAR, CHEAP], 4.0759, 0.9875),
        ([CHEAP, CHEAP, DEAR], 4.1026, 0.975),
    ]
    assert decision.notes == ["P(solved) floor 0.9495: the best reachable 0.9995 less the gap 0.05"]


def test_the_api_budget_keeps_the_dear_rung_out():
    # Worst case API $ of a ladder = its rungs' $ summed: $5 admits only cheap attempts. [C], [C, C] and
    # [C, C, C] all cost $2 per solved (1/.5, 1.5/.75, 1.75/.875): the tie goes to the most solved.
    world = two_rung_world(0.5, 0.0)
    decision = choose_ladder(world, "any", [CHEAP, DEAR], hourly_rate=0, max_api_usd=5, max_solve_gap=1.0)
    assert table(decision) == [([CHEAP, CHEAP, CHEAP], 2.0, 0.875), ([CHEAP, CHEAP], 2.0, 0.75), ([CHEAP], 2.0, 0.5)]


def test_expected_outcome_evaluates_any_ladder():
    outcome = expected_outcome(two_rung_world(0.2, 10.0), "any", [CHEAP, DEAR], hourly_rate=100)
    assert (outcome.ladder, outcome.p_solved, outcome.api_usd, outcome.review_minutes) == (
        [CHEAP, DEAR],
        pytest.approx(0.92),
        pytest.approx(9.0),  # 1 + 0.8 x 10
        pytest.approx(18.0),  # 10 + 0.8 x 10
    )
    assert outcome.usd_per_solved == pytest.approx(39 / 0.92)
    assert [(r["rung"], round(r["p_reach"], 6), round(r["p_pass_given_failed"], 6)) for r in outcome.per_rung] == [
        (CHEAP, 1.0, 0.2),
        (DEAR, 0.8, 0.9),
    ]
    assert outcome.per_rung[0]["thin"] == f"0 attempts of any at {CHEAP}: the prior decides"


PRIOR = Prior({"s@low": 0.3, "s@high": 0.55, "p@max": 0.8}, api_usd={"s@low": 0.1, "s@high": 0.5, "p@max": 3.0})


def test_with_no_data_the_fit_is_the_prior():
    estimates = fit([], PRIOR, ["bug_fix", "feature"])
    for task_type in ("bug_fix", "feature", "never_seen"):
        assert {rung: round(estimates.p_pass(task_type, rung), 6) for rung in PRIOR.rung_rates} == PRIOR.rung_rates
        assert estimates.cost(task_type, "p@max") == (pytest.approx(3.0), pytest.approx(10.0))
    decision = choose_ladder(estimates, "bug_fix", ["s@low", "s@high", "p@max"], hourly_rate=100)
    assert decision.ladder and decision.ladder[0] == "p@max"  # review time dominates: start where it passes most
    first = decision.candidates[0].per_rung[0]
    assert (first["attempts"], first["thin"]) == (0, "0 attempts of bug_fix at p@max: the prior decides")


# A simulated population: task difficulty d ~ Normal(0, 1.5^2), P(pass) = sigmoid(theta - d).
THETA = {"s@low": -1.0, "s@high": 0.5, "p@max": 2.0}
API = {"s@low": 0.2, "s@high": 0.4, "p@max": 3.0}
LADDER = list(THETA)
TRUTH = Estimates({r: RungEstimate(t, 0.0, API[r], 10.0, 0) for r, t in THETA.items()}, {}, {}, 1.5)


def simulate(seed: int, tasks: int, task_type: str = "bug_fix") -> tuple[list[Observation], list[Observation]]:
    """The same tasks measured twice: (grid: every task at every rung, climb: low to high, stop at the first pass)."""
    rng = random.Random(seed)
    grid, climb = [], []
    for number in range(tasks):
        d = rng.gauss(0.0, 1.5)
        for rung, theta in THETA.items():
            passed = rng.random() < 1 / (1 + math.exp(d - theta))
            grid.append(Observation(f"t{number}", task_type, rung, 0, passed, API[rung], 10.0, "grid"))
        for order, (rung, theta) in enumerate(THETA.items()):
            passed = rng.random() < 1 / (1 + math.exp(d - theta))
            climb.append(Observation(f"t{number}", task_type, rung, order, passed, API[rung], 10.0, "climb"))
            if passed:
                break
    return grid, climb


def naive_rate(observations: list[Observation], rung: str) -> float:
    mine = [o.passed for o in observations if o.rung == rung]
    return sum(mine) / len(mine)


def test_climbs_and_grids_of_the_same_tasks_give_the_same_estimates_and_ladders():
    grid, climb = simulate(seed=2, tasks=600)
    flat = Prior(dict.fromkeys(THETA, 0.5))
    from_grid, from_climb = fit(grid, flat, ["bug_fix"]), fit(climb, flat, ["bug_fix"])
    truth = {rung: TRUTH.p_pass("x", rung) for rung in LADDER}  # 0.329, 0.588, 0.810
    # The naive pass rate of a climb's later rungs is biased low: they only see tasks the lower rungs failed.
    assert naive_rate(climb, "s@high") < truth["s@high"] - 0.05
    assert naive_rate(climb, "p@max") < truth["p@max"] - 0.1
    assert naive_rate(grid, "p@max") == pytest.approx(truth["p@max"], abs=0.04)  # a grid's is not
    for estimates in (from_grid, from_climb):
        for k, rung in enumerate(LADDER):
            # P(pass | no rung tried yet), and P(pass | the rungs below failed), each within noise of the truth
            assert estimates.p_pass("bug_fix", rung) == pytest.approx(truth[rung], abs=0.04)
            conditional = TRUTH.p_pass("x", rung, LADDER[:k])  # 0.329, 0.496, 0.660
            assert estimates.p_pass("bug_fix", rung, LADDER[:k]) == pytest.approx(conditional, abs=0.04)
        # a ladder the data never walked: skip s@high, or repeat it
        assert estimates.p_pass("bug_fix", "p@max", ["s@low"]) == pytest.approx(
            TRUTH.p_pass("x", "p@max", ["s@low"]), abs=0.04
        )
        assert estimates.p_pass("bug_fix", "s@high", ["s@high"]) == pytest.approx(
            TRUTH.p_pass("x", "s@high", ["s@high"]), abs=0.04
        )
    for rate in (0, 100):
        ladders = [choose_ladder(e, "bug_fix", LADDER, hourly_rate=rate).ladder for e in (from_grid, from_climb)]
        assert ladders[0] == ladders[1]  # climbs and a grid of the same tasks: the same choice
        best = choose_ladder(TRUTH, "x", LADDER, hourly_rate=rate).ladder
        # ... and, judged by the truth, it costs at most 5% more per solved than the truth's own choice
        # (the fitted floor differs a little from the true one, so near-ties may fall either way)
        true_cost = expected_outcome(TRUTH, "x", ladders[0], rate).usd_per_solved
        assert true_cost <= expected_outcome(TRUTH, "x", best, rate).usd_per_solved * 1.05


def test_a_task_type_with_two_observations_is_pulled_towards_the_pooled_estimate():
    _, climb = simulate(seed=5, tasks=300)  # 300 bug_fix tasks
    few = [Observation(f"f{n}", "feature", "s@high", 0, False, 0.5, 10.0, "climb") for n in range(2)]
    estimates = fit(climb + few, PRIOR, ["bug_fix", "feature"])
    alone = fit(few, PRIOR, ["feature"])  # the same two attempts without the other type's data
    raw = 0.0  # the feature type's own pass rate at s@high: 0 of 2
    own = estimates.p_pass("feature", "s@high")
    pooled = estimates.p_pass("bug_fix", "s@high")  # where all the other data is
    assert raw < alone.p_pass("feature", "s@high") < own < pooled
    assert pooled - own < own - raw  # nearer the pooled estimate than its own two attempts
    assert (estimates.attempts("feature", "s@high"), estimates.pooled_attempts("s@high")) == (2, 185)  # 183 of bug_fix
    decision = choose_ladder(estimates, "feature", LADDER, hourly_rate=100)
    thin = {r["rung"]: r["thin"] for c in decision.candidates for r in c.per_rung}
    assert thin["p@max"] == "0 attempts of feature at p@max (92 over all task types)"


def thin_world() -> Estimates:
    _, climb = simulate(seed=3, tasks=12)
    return fit(climb, Prior(dict.fromkeys(THETA, 0.5)), ["bug_fix"])


def test_exploration_stays_within_its_cost_cap_and_is_reproducible():
    estimates = thin_world()  # 12 tasks: the abilities are uncertain
    greedy = choose_ladder(estimates, "bug_fix", LADDER, hourly_rate=0)
    best = greedy.candidates[0].usd_per_solved
    explored = 0
    for seed in range(20):
        decision = choose_ladder(estimates, "bug_fix", LADDER, hourly_rate=0, explore=True, rng=random.Random(seed))
        again = choose_ladder(estimates, "bug_fix", LADDER, hourly_rate=0, explore=True, rng=random.Random(seed))
        assert decision == again
        cost = expected_outcome(estimates, "bug_fix", decision.ladder, hourly_rate=0).usd_per_solved
        assert cost <= best * 1.10 + 1e-9
        assert (decision.policy, decision.explored) == ("thompson", decision.ladder != greedy.ladder)
        assert decision.notes[-1].startswith("thompson: ")
        assert decision.ladder in [candidate.ladder for candidate in decision.candidates]
        explored += decision.explored
        capped = choose_ladder(
            estimates, "bug_fix", LADDER, hourly_rate=0, explore=True, rng=random.Random(seed), explore_cap=0.0
        )
        assert expected_outcome(estimates, "bug_fix", capped.ladder, 0).usd_per_solved == pytest.approx(best)
    assert 0 < explored < 20  # the cap leaves room to explore, and the greedy choice is still drawn often
    assert choose_ladder(estimates, "bug_fix", LADDER, hourly_rate=0) == greedy
    assert (greedy.policy, greedy.explored) == ("greedy", False)
    assert json.loads(json.dumps(greedy.as_dict()))["ladder"] == greedy.ladder


def test_fifteen_rungs_are_searched_in_well_under_a_second():
    rates = {f"m{n}@high": 0.1 + 0.05 * n for n in range(15)}
    prior = Prior(rates, api_usd={rung: 0.2 * (n + 1) ** 1.5 for n, rung in enumerate(rates)})
    estimates = fit([], prior, ["bug_fix"])
    started = time.perf_counter()
    decision = choose_ladder(estimates, "bug_fix", list(rates), hourly_rate=100)
    greedy_s = time.perf_counter() - started
    started = time.perf_counter()
    choose_ladder(estimates, "bug_fix", list(rates), hourly_rate=100, explore=True, rng=random.Random(1))
    explore_s = time.perf_counter() - started
    print(f"choose_ladder over 15 rungs: {greedy_s:.3f}s greedy, {explore_s:.3f}s with exploration")
    assert decision.ladder
    assert greedy_s < 5 and explore_s < 5


def test_unpriced_and_unknown_rungs_are_left_out_with_a_note():
    world = Estimates.from_rates({CHEAP: 0.5, DEAR: 0.9}, {CHEAP: None, DEAR: 10.0}, 0.0)
    decision = choose_ladder(world, "any", [CHEAP, DEAR, "other@max"], hourly_rate=0, max_repeats=1)
    assert decision.ladder == [DEAR]
    assert decision.notes[:2] == [
        "other@max: no estimate (not in the prior or the data); left out",
        f"{CHEAP}: API $ unknown (unpriced); left out",
    ]


def add_issue(ledger: Ledger, run_id: str, key: str, status: str, attempts: list[tuple[str, str, bool, str | None]]):
    """An issue of `status` with attempts (rung, outcome, passed, patch), each making one $0.25 call."""
    issue = ledger.add_issue(
        run_id, key=key, title=key, task_type="bug_fix", task_type_reason="test", decided_by="task",
        repo="r", base_commit="c", test_cmd="pytest", ladder=",".join(a[0] for a in attempts), policy="planner",
    )  # fmt: skip
    ids = []
    for index, (rung, outcome, passed, patch) in enumerate(attempts):
        model, effort = rung.split("@")
        attempt = ledger.start_attempt(
            issue, run_id, rung_index=index, model=model, provider="p", effort_asked=effort, effort_sent=effort,
            max_turns=10,
        )  # fmt: skip
        call = CallRecord(turn=1, model=model, effort_sent=effort, usage=Usage(input_tokens=10, output_tokens=5),
                          cost_usd=Decimal("0.25"), price_source="test", duration_s=0.1)  # fmt: skip
        ledger.record_call(attempt, call)
        ledger.finish_attempt(attempt, outcome, passed, patch=patch)
        ids.append(attempt)
    ledger.finish_issue(issue, status)
    return ids


def test_observations_are_the_finished_attempts_of_measured_issues(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = ledger.create_run("bench", {}, Decimal(100), run_id="run-1")
    climbed = add_issue(
        ledger, run_id, "t1", "solved",
        [("m@low", "finished", False, ""), ("m@high", "finished", False, "diff"), ("m@max", "finished", True, "diff")],
    )  # fmt: skip
    ledger.record_review(climbed[2], 4.5, "accept", "ana")
    add_issue(ledger, run_id, "t2", "error", [("m@low", "finished", False, "diff")])  # not a measurement
    cut_short = [("m@low", "finished", False, "d"), ("m@high", "budget_exhausted", False, "d")]
    add_issue(ledger, run_id, "t3", "budget_exhausted", cut_short)
    observations = observations_from_ledger(ledger, review_estimate_minutes=7.0)
    assert observations == [
        Observation("t1", "bug_fix", "m@low", 0, False, 0.25, 0.0, "run-1"),  # empty diff: nothing to review
        Observation("t1", "bug_fix", "m@high", 1, False, 0.25, 7.0, "run-1"),  # the estimate
        Observation("t1", "bug_fix", "m@max", 2, True, 0.25, 4.5, "run-1"),  # the measured review
        Observation("t3", "bug_fix", "m@low", 0, False, 0.25, 7.0, "run-1"),  # cut short by the budget: left out
    ]
    assert observations_from_ledger(ledger, ["run-1"], review_minutes_for=lambda attempt: 1.0)[0].review_minutes == 1.0
    assert observations_from_ledger(ledger, []) == []
