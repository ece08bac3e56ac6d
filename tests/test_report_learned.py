"""`agent report --policy learned`: the learned planner cross-validated by task on grid runs, the
what-if `--hourly-rate`, repeated rungs and `total_usd_all_billed`.

Hand-made grid ledgers are written row by row with the Ledger API (as in test_report_policies);
the end-to-end test benches a real grid against the simulated population and reports on it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from agent.learning import Estimates, Observation, Prior, fit
from agent.ledger import Ledger
from agent.reporting.html import plots
from agent.reporting.policies import PolicyResult, evaluate_policies, folds_of, parse_policy
from agent.reporting.report import build_report
from tests.cli_helpers import run_agent
from tests.grid_helpers import Grid, write_grid


class RecordingFitter:
    """The real `fit`, recording the tasks whose observations each call was given."""

    def __init__(self) -> None:
        self.seen: list[set[str]] = []

    def __call__(self, observations: list[Observation], prior: Prior, task_types: list[str]) -> Estimates:
        self.seen.append({observation.task for observation in observations})
        return fit(observations, prior, task_types)


def learned(results: list[PolicyResult]) -> PolicyResult:
    [result] = [result for result in results if result.folds is not None]
    return result


# Seven tasks of two types: `cheap@low` solves the first three, `big@max` all but t6.
MIXED: Grid = {
    f"t{i}": {"cheap@low": (i < 3, "0.01"), "big@max": (i != 6, "1")} for i in range(7)
}  # fmt: skip
MIXED_TYPES = {f"t{i}": "feature" if i % 2 else "bug_fix" for i in range(7)}


@pytest.fixture
def config(make_config):
    return make_config(planner__model_order=["big"])


def test_folds_deal_the_sorted_task_keys_round_robin():
    assert folds_of(["t3", "t1", "t2", "t0", "t4"], 2) == [["t0", "t2", "t4"], ["t1", "t3"]]
    assert folds_of(["b", "a"], 5) == [["a"], ["b"]]  # never more folds than tasks


def test_each_fold_is_fitted_on_the_other_folds_tasks_only(tmp_path, config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, MIXED, MIXED_TYPES)
    fitter = RecordingFitter()
    result = learned(evaluate_policies(ledger, [run_id], ["learned"], config, folds=3, fitter=fitter))
    assert result.folds is not None
    held_out = [fold.held_out for fold in result.folds]
    assert held_out == [["t0", "t3", "t6"], ["t1", "t4"], ["t2", "t5"]]
    assert len(fitter.seen) == 3
    for seen, fold in zip(fitter.seen, result.folds, strict=True):
        assert seen.isdisjoint(fold.held_out)  # the fit never saw a task it is graded on
        assert seen == set(MIXED) - set(fold.held_out) and fold.training_tasks == len(seen)
    # each task walks its own fold's ladder for its type, up to the first rung that solved it
    for fold in result.folds:
        for key in fold.held_out:
            ladder = fold.ladders[MIXED_TYPES[key]]
            solved_at = next((n for n, rung in enumerate(ladder) if MIXED[key][rung][0]), len(ladder) - 1)
            assert result.paths[key] == ladder[: solved_at + 1]


def test_a_held_out_tasks_outcomes_never_change_its_own_folds_ladders(tmp_path, config):
    flipped = {**MIXED, "t3": {"cheap@low": (True, "0.01"), "big@max": (False, "1")}}
    choices = []
    for name, grid in (("same", MIXED), ("flipped", flipped)):
        ledger = Ledger(tmp_path / f"{name}.sqlite")
        run_id = write_grid(ledger.path, grid, MIXED_TYPES)
        choices.append(learned(evaluate_policies(ledger, [run_id], ["learned"], config, folds=3)).folds)
    before, after = choices
    assert before is not None and after is not None
    assert [fold.held_out for fold in before] == [fold.held_out for fold in after]
    assert before[0].ladders == after[0].ladders  # t3 is in fold 0: its flip reaches only the others' fits
    assert [fold.ladders for fold in before[1:]] != [fold.ladders for fold in after[1:]]  # and does reach them


def test_the_learned_row_has_every_policy_field_its_paths_and_its_ladders(tmp_path, config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, MIXED, MIXED_TYPES)
    data = build_report(ledger, [run_id], "rung", ["big@max", "learned", "planner"], config, folds=3)
    rows = {row["group"]: row for row in data["policies"]}
    assert list(rows) == ["big@max", "learned", "planner"]
    assert set(rows["learned"]) == set(rows["big@max"]) == set(rows["planner"])
    row = rows["learned"]
    assert (row["tasks"], row["missing"], row["repeats_reused"], sorted(row["paths"])) == (7, 0, 0, sorted(MIXED))
    assert [fold["held_out"] for fold in row["folds"]] == [["t0", "t3", "t6"], ["t1", "t4"], ["t2", "t5"]]
    assert [sorted(fold["ladders"]) for fold in row["folds"]] == [["bug_fix", "feature"]] * 3
    assert all(fold["max_repeats"] == 1 for fold in row["folds"])  # one grid run: no rung twice
    assert all(ladder for fold in row["folds"] for ladder in fold["ladders"].values())
    assert row["solved"] == sum(MIXED[key][path[-1]][0] for key, path in row["paths"].items())
    assert rows["big@max"]["folds"] is None


# Ten tasks: `cheap@low` costs $0.01 and solves 2 of them, `big@max` costs $1 and solves 9.
RATES: Grid = {f"t{i}": {"cheap@low": (i < 2, "0.01"), "big@max": (i != 9, "1")} for i in range(10)}


@pytest.mark.parametrize(
    ("rate", "ladder", "review_usd"),
    [
        (0, ("cheap@low", "big@max"), 0.0),  # review is free: try the cheap rung first
        # $16.67 of review an attempt: the strong rung first; when it fails (1 in 10), one cheap try is still
        # worth its cost against V = $200 for an issue left unsolved
        (100, ("big@max", "cheap@low"), 20 * 10 / 60 * 100),
    ],
    ids=["free-review", "100-per-hour"],
)
def test_the_hourly_rate_reprices_review_and_the_learned_choice(tmp_path, config, rate, ladder, review_usd):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, RATES, {})
    data = build_report(ledger, [run_id], "rung", ["learned"], config, hourly_rate=Decimal(rate))
    groups = {row["group"]: row for row in data["groups"]}
    assert data["hourly_rate_usd"] == rate and groups["cheap@low"]["hourly_rate_usd"] == rate
    assert groups["cheap@low"]["total_cost_usd"] == pytest.approx(0.1 + review_usd / 2)  # 10 attempts of 20
    assert groups["big@max"]["total_cost_usd"] == pytest.approx(10.0 + review_usd / 2)
    [row] = data["policies"]
    assert {tuple(chosen) for fold in row["folds"] for chosen in fold["ladders"].values()} == {ladder}
    assert len(row["folds"]) == 5  # the default


def test_without_the_flag_the_runs_recorded_rate_prices_review(tmp_path, config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, RATES, {}, rate=30)
    data = build_report(ledger, [run_id], "rung", [], config)
    groups = {row["group"]: row for row in data["groups"]}
    assert (data["hourly_rate_usd"], groups["big@max"]["hourly_rate_usd"]) == (None, 30.0)
    assert groups["big@max"]["total_cost_usd"] == pytest.approx(10.0 + 100 / 60 * 30)


@pytest.mark.parametrize("spec", ["twice=cheap@low*2,big@max", "twice=cheap@low,cheap@low,big@max"])
def test_a_repeated_rung_parses_and_reuses_the_grids_one_measurement(tmp_path, config, spec):
    assert [str(rung) for rung in parse_policy(spec).ladder or []] == ["cheap@low", "cheap@low", "big@max"]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    grid = {key: RATES[key] for key in ("t0", "t5", "t9")}
    run_id = write_grid(ledger.path, grid, {})
    [result] = evaluate_policies(ledger, [run_id], [spec], config)
    assert result.paths == {
        "t0": ["cheap@low"],
        "t5": ["cheap@low", "cheap@low", "big@max"],  # the repeat re-uses the failure: billed, never solving
        "t9": ["cheap@low", "cheap@low", "big@max"],
    }
    assert (result.repeats_reused, result.summary.solved, result.summary.attempts) == (2, 2, 7)
    assert result.summary.api_cost_usd == Decimal("2.05")


def test_a_repeated_rung_takes_the_next_grid_runs_measurement(tmp_path, config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    first = write_grid(ledger.path, {"t": {"cheap@low": (False, "0.01"), "big@max": (True, "1")}}, {}, "grid-1")
    second = write_grid(ledger.path, {"t": {"cheap@low": (True, "0.02"), "big@max": (True, "1")}}, {}, "grid-2")
    [result] = evaluate_policies(ledger, [first, second], ["cheap@low*2,big@max"], config)
    assert (result.paths, result.repeats_reused, result.summary.solved) == ({"t": ["cheap@low", "cheap@low"]}, 0, 1)
    assert result.summary.api_cost_usd == Decimal("0.03")
    fitter = RecordingFitter()
    [chosen] = evaluate_policies(ledger, [first, second], ["learned"], config, fitter=fitter)
    assert chosen.folds is not None and [fold.max_repeats for fold in chosen.folds] == [2]  # measured twice
    assert fitter.seen == [set()]  # one task: its only fold is fitted on nothing but the prior


# a@low: t1 $1 solved, t2 $2 unsolved; b@high: t1 $6 and t2 $4, both solved. Review: $10 an attempt at $60/h.
TINY: Grid = {"t1": {"a@low": (True, "1"), "b@high": (True, "6")}, "t2": {"a@low": (False, "2"), "b@high": (True, "4")}}


@pytest.mark.parametrize(
    ("rate", "priciest", "a_low_all_billed"),
    [
        (None, 15.0, 23.0 + 15.0),  # b@high: ($6 + $4) / 2 + $10 of review; a@low's total is $3 + $20
        (Decimal(0), 5.0, 3.0 + 5.0),
    ],
    ids=["recorded-rate", "free-review"],
)
def test_total_all_billed_adds_the_priciest_rungs_mean_attempt_per_unsolved_task(
    tmp_path, config, rate, priciest, a_low_all_billed
):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, TINY, {})
    data = build_report(ledger, [run_id], "rung", ["a@low", "b@high"], config, hourly_rate=rate)
    assert data["unsolved_billed_at"] == {"rung": "b@high", "attempt_usd": priciest}
    policies = {row["group"]: row for row in data["policies"]}
    groups = {row["group"]: row for row in data["groups"]}
    assert policies["a@low"]["total_usd_all_billed"] == groups["a@low"]["total_usd_all_billed"] == a_low_all_billed
    assert policies["b@high"]["total_usd_all_billed"] == policies["b@high"]["total_cost_usd"]  # nothing unsolved


# End to end: a real grid against the simulated population, then `agent report --policy learned --json`.

SIM_IDS = ["inicfg__bool-off", "inicfg__parser-indent", "textkit__case-syntax", "tinyq__registry-decorator"]
SIM_RUNGS = [f"{model}@{effort}" for model in ("sim-flash", "sim-frontier") for effort in ("low", "high")]


@pytest.fixture(scope="module")
def sim_grid(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from agent.fake_provider.sim import sim_env, start_sim
    from tasks.loaders import load_tasks

    home = tmp_path_factory.mktemp("sim-grid")
    tasks = [task for task in load_tasks("builtin", home / "agent-home") if task.instance_id in SIM_IDS]
    args = ["--grid", "sim-flash,sim-frontier@low,high", "--workers", "4", "--sandbox", "local", "--run-id", "g"]
    with start_sim(tasks) as fake:
        done = run_agent(home, "bench", "builtin", "--ids", ",".join(SIM_IDS), *args, "--json", env=sim_env(fake))
    assert done.returncode == 0, done.stderr
    bench = json.loads(done.stdout)
    assert (bench["instances"], bench["error_ids"]) == (16, [])
    return {"home": home, "solved": set(bench["resolved_ids"])}


@pytest.mark.slow
def test_report_learned_on_a_real_sim_grid(sim_grid, tmp_path, make_config):
    home, solved = sim_grid["home"], sim_grid["solved"]
    args = ["report", "g", "--policy", "learned", "--policy", "climb=sim-flash@low,sim-frontier@high", "--json"]
    done = run_agent(home, *args, "--folds", "2", "--html", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = {row["group"]: row for row in data["policies"]}
    assert set(rows["learned"]) == set(rows["climb"])
    row = rows["learned"]
    assert [fold["held_out"] for fold in row["folds"]] == [sorted(SIM_IDS)[0::2], sorted(SIM_IDS)[1::2]]
    assert [fold["training_tasks"] for fold in row["folds"]] == [2, 2]
    assert all(set(ladder) <= set(SIM_RUNGS) for fold in row["folds"] for ladder in fold["ladders"].values())
    ledger = Ledger(home / "agent-home" / "ledger.sqlite")
    task_type = {issue.key: issue.task_type for issue in ledger.issues("g")}
    ladder_of = {key: fold["ladders"][task_type[key]] for fold in row["folds"] for key in fold["held_out"]}
    walked_solved = 0
    for key, path in row["paths"].items():
        wins = [n for n, rung in enumerate(ladder_of[key]) if f"{key}@{rung}" in solved]
        assert path == ladder_of[key][: wins[0] + 1 if wins else None]  # up to the first rung that solved it
        walked_solved += bool(wins)
    assert (row["tasks"], row["solved"], row["missing"], row["repeats_reused"]) == (4, walked_solved, 0, 0)
    unsolved_usd = data["unsolved_billed_at"]["attempt_usd"]
    assert data["unsolved_billed_at"]["rung"] in SIM_RUNGS and unsolved_usd > 0
    for policy in rows.values():
        extra = (policy["tasks"] - policy["solved"]) * unsolved_usd
        assert policy["total_usd_all_billed"] == pytest.approx(policy["total_cost_usd"] + extra, abs=1e-5)
    # the same grid in process: no fold's fit saw a task it held out
    fitter = RecordingFitter()
    [result] = evaluate_policies(ledger, ["g"], ["learned"], make_config(), folds=2, fitter=fitter)
    assert result.folds is not None
    assert [seen & set(fold.held_out) for seen, fold in zip(fitter.seen, result.folds, strict=True)] == [set(), set()]
    assert [fold.ladders for fold in result.folds] == [fold["ladders"] for fold in row["folds"]]
    # a what-if rate re-prices every row; the HTML plot labels every policy that solved something
    free = json.loads(run_agent(home, *args, "--hourly-rate", "0").stdout)
    assert {group["group"]: group["total_cost_usd"] for group in free["groups"]} == {
        group["group"]: group["api_cost_usd"] for group in free["groups"]
    }
    solve_rate, _ = plots(data)
    assert solve_rate.figure is not None
    labels = " ".join(text.get_text() for text in solve_rate.figure.axes[0].texts) + " ".join(solve_rate.notes)
    assert "policy: learned" in labels and "policy: climb" in labels
