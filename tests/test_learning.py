"""The learned planner's estimator and ladder optimiser: hand-computed worlds, a simulated population
with known abilities and difficulties (climbs against grids), shrinkage, exploration, speed, and the
observations read back from a real ledger file."""

from __future__ import annotations

import itertools
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
    return [(c.ladder, round(c.expected_total_usd, 4), round(c.p_solved, 4)) for c in decision.candidates]


def by_hand(
    rates: dict[str, float],
    api: dict[str, float],
    minutes: float,
    ladder: list[str],
    rate: float,
    v: float,
    delivered: bool = False,
) -> float:
    """The expected total of a ladder of independent attempts, written out: what the search must agree with."""
    total, reach = 0.0, 1.0
    for rung in ladder:
        passed = reach * rates[rung]
        total += reach * api[rung] + (passed if delivered else reach) * minutes * rate / 60
        reach -= passed
    return total + v * reach  # fmt: skip


# Two-rung world, each rung at most once, review 10 min an attempt, an unsolved issue priced at V;
# the candidates are the three multisets ({C, D}, {D}, {C}), each in its cheapest order.
# $0/h, V $100:   [C] 1 + .8 x 100 = 81;  [C, D] 1 + .8 x 10 + .08 x 100 = 17;  [D] 10 + 10 = 20;
#                 [D, C] 10 + .1 x 1 + 8 = 18.1
# $100/h, V $100: an attempt's review is $16.6667: [D, C] 26.6667 + .1 x 17.6667 + 8 = 36.4333;
#                 [D] 36.6667; [C, D] 17.6667 + .8 x 26.6667 + 8 = 47; [C] 17.6667 + 80 = 97.6667
# $0/h, V $0:     giving up costs nothing: one cheap try, [C] 1; [C, D] 9; [D] 10; [D, C] 10.1
# $100/h, V $100, review of the delivered patch only: [C, D] 1 + .2 x 16.6667 + .8 x (10 + .9 x 16.6667)
#                 + 8 = 32.3333; [D, C] 10 + 15 + .1 x (1 + 3.3333) + 8 = 33.4333; [D] 35; [C] 84.3333
@pytest.mark.parametrize(
    ("rate", "v", "bill", "expected", "worse_order"),
    [
        (0, 100, "each_attempt",
         [([CHEAP, DEAR], 17.0, 0.92), ([DEAR], 20.0, 0.9), ([CHEAP], 81.0, 0.2)], [DEAR, CHEAP]),
        (100, 100, "each_attempt",
         [([DEAR, CHEAP], 36.4333, 0.92), ([DEAR], 36.6667, 0.9), ([CHEAP], 97.6667, 0.2)], [CHEAP, DEAR]),
        (0, 0, "each_attempt",
         [([CHEAP], 1.0, 0.2), ([CHEAP, DEAR], 9.0, 0.92), ([DEAR], 10.0, 0.9)], [DEAR, CHEAP]),
        (100, 100, "delivered",
         [([CHEAP, DEAR], 32.3333, 0.92), ([DEAR], 35.0, 0.9), ([CHEAP], 84.3333, 0.2)], [DEAR, CHEAP]),
    ],
)  # fmt: skip
def test_the_choice_in_a_two_rung_world_is_the_one_computed_by_hand(rate, v, bill, expected, worse_order):
    decision = choose_ladder(
        two_rung_world(0.2, 10.0), "any", [CHEAP, DEAR], hourly_rate=rate, unsolved_usd=v, review_bill=bill,
        max_repeats=1,
    )  # fmt: skip
    assert table(decision) == expected
    assert (decision.ladder, decision.policy, decision.explored) == (expected[0][0], "greedy", False)
    rates, api = {CHEAP: 0.2, DEAR: 0.9}, {CHEAP: 1.0, DEAR: 10.0}
    for ladder, total, _ in expected:
        assert by_hand(rates, api, 10.0, ladder, rate, v, bill == "delivered") == pytest.approx(total, abs=1e-4)
    # the candidates are the best multisets, each in its cheapest order: the other order of {C, D} costs more
    best_of_both = next(total for ladder, total, _ in expected if len(ladder) == 2)
    assert by_hand(rates, api, 10.0, worse_order, rate, v, bill == "delivered") > best_of_both


def test_the_search_finds_the_best_of_every_ladder_with_repeats():
    # Cheap passes 0.5 for $1, dear 0.9 for $10, no review, V $20: every ladder of up to 4 rungs with a
    # rung at most 3 times, judged by hand; the search's best three are the three lowest of distinct multisets.
    rates, api = {CHEAP: 0.5, DEAR: 0.9}, {CHEAP: 1.0, DEAR: 10.0}
    every = [list(ladder) for length in range(1, 5) for ladder in itertools.product([CHEAP, DEAR], repeat=length)
             if max(ladder.count(CHEAP), ladder.count(DEAR)) <= 3]  # fmt: skip
    ranked, seen = [], set()
    for ladder in sorted(every, key=lambda ladder: (round(by_hand(rates, api, 0, ladder, 0, 20), 9), len(ladder))):
        if tuple(sorted(ladder)) not in seen:
            seen.add(tuple(sorted(ladder)))
            ranked.append(ladder)
    decision = choose_ladder(
        two_rung_world(0.5, 0.0), "any", [CHEAP, DEAR], hourly_rate=0, unsolved_usd=20, top=3, max_length=4
    )
    assert [c.ladder for c in decision.candidates] == ranked[:3]
    assert decision.ladder == [CHEAP, CHEAP, CHEAP, DEAR]  # 1 + .5 + .25 + .125 x 10 + 20 x .0125 = 3.25
    assert decision.candidates[0].expected_total_usd == pytest.approx(3.25)
    assert decision.notes == ["V $20: stops after 4 rung(s) with P(unsolved) 0.013 (the longest ladder searched)"]


def test_the_ladder_stops_where_one_more_attempt_is_worth_less_than_it_costs():
    # V $5: after a failed cheap try (P(unsolved) .5), a second saves .5 x .5 x 5 = $1.25 for $.5: worth it;
    # a third saves .125 x 5 = $.625 for $.25: worth it; a fourth .3125 for .125 ... the dear rung never pays.
    decision = choose_ladder(two_rung_world(0.5, 0.0), "any", [CHEAP, DEAR], hourly_rate=0, unsolved_usd=5)
    assert decision.ladder == [CHEAP, CHEAP, CHEAP]
    assert decision.notes[0].startswith("V $5: stops after 3 rung(s) with P(unsolved) 0.125; one more attempt at ")
    # CHEAP is at its 3 repeats; DEAR would save .125 x .9 x 5 for .125 x 10
    assert decision.notes[0].endswith(f"{DEAR} would add $-0.6875 (expected V saved less its cost)")


def test_the_api_budget_keeps_the_dear_rung_out():
    # Worst case API $ of a ladder = its rungs' $ summed: $5 admits only cheap attempts.
    world = two_rung_world(0.5, 0.0)
    decision = choose_ladder(world, "any", [CHEAP, DEAR], hourly_rate=0, unsolved_usd=100, max_api_usd=5)
    assert table(decision)[0] == ([CHEAP, CHEAP, CHEAP], 14.25, 0.875)  # 1.75 + .125 x 100
    assert all(DEAR not in c.ladder for c in decision.candidates)


def test_expected_outcome_evaluates_any_ladder():
    outcome = expected_outcome(two_rung_world(0.2, 10.0), "any", [CHEAP, DEAR], hourly_rate=100, unsolved_usd=50)
    assert (outcome.ladder, outcome.p_solved, outcome.api_usd, outcome.review_minutes) == (
        [CHEAP, DEAR],
        pytest.approx(0.92),
        pytest.approx(9.0),  # 1 + 0.8 x 10
        pytest.approx(18.0),  # 10 + 0.8 x 10
    )
    assert outcome.usd_per_solved == pytest.approx(39 / 0.92)
    assert outcome.expected_total_usd == pytest.approx(39 + 0.08 * 50)
    assert [(r["rung"], round(r["p_reach"], 6), round(r["p_pass_given_failed"], 6)) for r in outcome.per_rung] == [
        (CHEAP, 1.0, 0.2),
        (DEAR, 0.8, 0.9),
    ]
    assert outcome.per_rung[0]["thin"] == f"0 attempts of any at {CHEAP}: the prior decides"


PRIOR = Prior(rungs=["a@low", "b@high", "c@max"], api_usd={"a@low": 0.1, "b@high": 0.5, "c@max": 3.0})


def test_with_no_data_the_fit_is_the_prior():
    estimates = fit([], PRIOR, ["bug_fix", "feature"])
    for task_type in ("bug_fix", "feature", "never_seen"):
        rates = {rung: estimates.p_pass(task_type, rung) for rung in PRIOR.rungs}
        # every skill a coin flip on an average task at medium: the published effort curve orders the rungs
        assert rates["a@low"] < 0.5 < rates["b@high"] < rates["c@max"] < 0.7
        assert estimates.cost(task_type, "c@max") == (pytest.approx(3.0), pytest.approx(10.0))
    decision = choose_ladder(estimates, "bug_fix", ["a@low", "b@high", "c@max"], hourly_rate=100, unsolved_usd=200)
    first = decision.candidates[0].per_rung[0]
    assert (first["attempts"], first["thin"][-17:]) == (0, "the prior decides")


# A simulated population: task difficulty d ~ Normal(0, 1.5^2), P(pass) = sigmoid(theta - d); three
# models, so the fit's effort curve does not tie the rungs together (each model's skill is free).
THETA = {"a@low": -1.0, "b@high": 0.5, "c@max": 2.0}
API = {"a@low": 0.2, "b@high": 0.4, "c@max": 3.0}
LADDER = list(THETA)
TRUTH = Estimates({r: RungEstimate.known(t, API[r], 10.0) for r, t in THETA.items()}, {}, {}, 1.5)
V = 50.0


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
    flat = Prior(rungs=LADDER)
    from_grid, from_climb = fit(grid, flat, ["bug_fix"]), fit(climb, flat, ["bug_fix"])
    truth = {rung: TRUTH.p_pass("x", rung) for rung in LADDER}  # 0.329, 0.588, 0.810
    # The naive pass rate of a climb's later rungs is biased low: they only see tasks the lower rungs failed.
    assert naive_rate(climb, "b@high") < truth["b@high"] - 0.05
    assert naive_rate(climb, "c@max") < truth["c@max"] - 0.1
    assert naive_rate(grid, "c@max") == pytest.approx(truth["c@max"], abs=0.04)  # a grid's is not
    for estimates in (from_grid, from_climb):
        for k, rung in enumerate(LADDER):
            # P(pass | no rung tried yet), and P(pass | the rungs below failed), each within noise of the truth
            # (the posterior predictive, pulled a little towards 1/2 by the uncertainty a climb leaves)
            assert estimates.p_pass("bug_fix", rung) == pytest.approx(truth[rung], abs=0.05)
            conditional = TRUTH.p_pass("x", rung, LADDER[:k])  # 0.329, 0.496, 0.660
            assert estimates.p_pass("bug_fix", rung, LADDER[:k]) == pytest.approx(conditional, abs=0.05)
        # a ladder the data never walked: skip s@high, or repeat it
        assert estimates.p_pass("bug_fix", "c@max", ["a@low"]) == pytest.approx(
            TRUTH.p_pass("x", "c@max", ["a@low"]), abs=0.04
        )
        assert estimates.p_pass("bug_fix", "b@high", ["b@high"]) == pytest.approx(
            TRUTH.p_pass("x", "b@high", ["b@high"]), abs=0.04
        )
    for rate in (0, 100):
        ladders = [
            choose_ladder(e, "bug_fix", LADDER, hourly_rate=rate, unsolved_usd=V).ladder
            for e in (from_grid, from_climb)
        ]
        best = choose_ladder(TRUTH, "x", LADDER, hourly_rate=rate, unsolved_usd=V).ladder
        # judged by the truth, each costs at most 5% more than the truth's own choice (near-ties)
        for ladder in ladders:
            true_cost = expected_outcome(TRUTH, "x", ladder, rate, V).expected_total_usd
            assert true_cost <= expected_outcome(TRUTH, "x", best, rate, V).expected_total_usd * 1.05


def test_effort_gains_stay_monotone_when_the_data_says_otherwise_by_luck():
    # 8 tasks where s@high happened to fail more than s@low: the fitted curve keeps high >= low
    lucky = [Observation(f"t{n}", "bug_fix", "s@low", 0, n < 5, 0.2, 10.0) for n in range(8)]
    lucky += [Observation(f"t{n}", "bug_fix", "s@high", 0, n < 3, 0.4, 10.0) for n in range(8)]
    estimates = fit(lucky, Prior(rungs=["s@low", "s@medium", "s@high"]), ["bug_fix"])
    low, medium, high = (estimates.by_type["bug_fix"][rung].ability for rung in ("s@low", "s@medium", "s@high"))
    assert (low <= medium + 1e-9).all() and (medium <= high + 1e-9).all()  # in every posterior draw
    assert estimates.p_pass("bug_fix", "s@low") <= estimates.p_pass("bug_fix", "s@high")


def test_a_warm_started_refit_lands_where_a_cold_one_does():
    grid, _ = simulate(seed=4, tasks=200)
    first = fit(grid[:300], Prior(rungs=LADDER), ["bug_fix"])
    warm = fit(grid, Prior(rungs=LADDER), ["bug_fix"], start=first)
    cold = fit(grid, Prior(rungs=LADDER), ["bug_fix"])
    for rung in LADDER:
        assert warm.p_pass("bug_fix", rung) == pytest.approx(cold.p_pass("bug_fix", rung), abs=0.005)


def test_predicted_p_solved_is_calibrated_on_a_population_the_prior_does_not_know():
    # 40 task types' worth of worlds: for each, 60 tasks measured once at every rung; the chosen ladder's
    # predicted P(solved) against the truth's P(solved) of that same ladder, averaged over the worlds.
    predicted, true = [], []
    for seed in range(12):
        rng = random.Random(seed)
        world = {rung: theta + rng.gauss(0, 0.8) for rung, theta in THETA.items()}
        world["b@high"] = max(world["b@high"], world["a@low"])
        truth = Estimates({r: RungEstimate.known(t, API[r], 10.0) for r, t in world.items()}, {}, {}, 1.5)
        observations = []
        for number in range(60):
            d = rng.gauss(0.0, 1.5)
            for rung, theta in world.items():
                passed = rng.random() < 1 / (1 + math.exp(d - theta))
                observations.append(Observation(f"t{number}", "bug_fix", rung, 0, passed, API[rung], 10.0))
        estimates = fit(observations, Prior(rungs=LADDER), ["bug_fix"])
        decision = choose_ladder(estimates, "bug_fix", LADDER, hourly_rate=100, unsolved_usd=V, max_repeats=1)
        predicted.append(decision.chosen.p_solved)
        true.append(expected_outcome(truth, "x", decision.ladder, 100, V).p_solved)
    assert sum(predicted) / len(predicted) == pytest.approx(sum(true) / len(true), abs=0.03)


def test_a_task_type_with_two_observations_is_pulled_towards_the_pooled_estimate():
    _, climb = simulate(seed=5, tasks=300)  # 300 bug_fix tasks
    few = [Observation(f"f{n}", "feature", "b@high", 0, False, 0.5, 10.0, "climb") for n in range(2)]
    estimates = fit(climb + few, PRIOR, ["bug_fix", "feature"])
    alone = fit(few, PRIOR, ["feature"])  # the same two attempts without the other type's data
    raw = 0.0  # the feature type's own pass rate at b@high: 0 of 2
    own = estimates.p_pass("feature", "b@high")
    pooled = estimates.p_pass("bug_fix", "b@high")  # where all the other data is
    assert raw < alone.p_pass("feature", "b@high") < pooled and raw < own < pooled
    assert pooled - own < own - raw  # nearer the pooled estimate than its own two attempts
    assert (estimates.attempts("feature", "b@high"), estimates.pooled_attempts("b@high")) == (2, 185)  # 183 of bug_fix
    decision = choose_ladder(estimates, "feature", LADDER, hourly_rate=100, unsolved_usd=V)
    thin = {r["rung"]: r["thin"] for c in decision.candidates for r in c.per_rung}
    assert thin["c@max"] == "0 attempts of feature at c@max (92 over all task types)"


def thin_world() -> Estimates:
    _, climb = simulate(seed=3, tasks=12)
    return fit(climb, Prior(rungs=LADDER), ["bug_fix"])


def test_exploration_stays_within_its_cost_cap_and_is_reproducible():
    estimates = thin_world()  # 12 tasks: the abilities are uncertain
    greedy = choose_ladder(estimates, "bug_fix", LADDER, hourly_rate=0, unsolved_usd=V)
    best = greedy.candidates[0].expected_total_usd
    for seed in range(20):
        decision = choose_ladder(
            estimates, "bug_fix", LADDER, hourly_rate=0, unsolved_usd=V, explore=True, rng=random.Random(seed)
        )
        again = choose_ladder(
            estimates, "bug_fix", LADDER, hourly_rate=0, unsolved_usd=V, explore=True, rng=random.Random(seed)
        )
        assert decision == again
        cost = expected_outcome(estimates, "bug_fix", decision.ladder, 0, V).expected_total_usd
        assert cost <= best * 1.10 + 1e-9
        assert (decision.policy, decision.explored) == ("thompson", decision.ladder != greedy.ladder)
        assert decision.notes[-1].startswith("thompson: ")
    assert json.loads(json.dumps(greedy.as_dict()))["ladder"] == greedy.ladder


def test_fifteen_rungs_are_searched_in_well_under_a_second():
    rungs = [f"m{n}@{effort}" for n in range(3) for effort in ("low", "medium", "high", "xhigh", "max")]
    prior = Prior(rungs=rungs, api_usd={rung: 0.2 * (n + 1) ** 1.5 for n, rung in enumerate(rungs)})
    started = time.perf_counter()
    estimates = fit([], prior, ["bug_fix"])
    fit_s = time.perf_counter() - started  # no data: the prior's draws
    started = time.perf_counter()
    decision = choose_ladder(estimates, "bug_fix", rungs, hourly_rate=100, unsolved_usd=V)
    greedy_s = time.perf_counter() - started
    started = time.perf_counter()
    choose_ladder(estimates, "bug_fix", rungs, hourly_rate=100, unsolved_usd=V, explore=True, rng=random.Random(1))
    explore_s = time.perf_counter() - started
    print(f"15 rungs: fit {fit_s:.3f}s, choose_ladder {greedy_s:.3f}s greedy, {explore_s:.3f}s with exploration")
    assert decision.ladder
    assert fit_s < 5 and greedy_s < 5 and explore_s < 5


def test_unpriced_and_unknown_rungs_are_left_out_with_a_note():
    world = Estimates.from_rates({CHEAP: 0.5, DEAR: 0.9}, {CHEAP: None, DEAR: 10.0}, 0.0)
    decision = choose_ladder(world, "any", [CHEAP, DEAR, "other@max"], hourly_rate=0, unsolved_usd=V, max_repeats=1)
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
