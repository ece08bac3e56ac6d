"""`agent report`: the total with V (the price of an issue left unsolved), `--unsolved-cost`, review
billed under `[review] bill = "delivered"`, and the learned policy's calibration: its predicted
P(solved) against what the walks solved, per fold and binned, in JSON, text and HTML.

Grid ledgers are written row by row with the Ledger API (tests.grid_helpers); the end-to-end test
benches a real grid against the simulated population through the fake provider and reports on it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.learning import Estimates, Observation, Prior, RungEstimate
from agent.learning.estimates import ability_for_rate
from agent.ledger import Ledger
from agent.reporting.calibration import calibration, reliability_cells, wilson
from agent.reporting.costs import NOT_DELIVERED, run_costs
from agent.reporting.html import calibration_plot
from agent.reporting.policies import evaluate_policies
from agent.reporting.report import build_report
from tests.cli_helpers import run_agent
from tests.grid_helpers import Grid, write_grid
from tests.report_helpers import write_climb

# a@low: t1 $1 solved, t2 $2 unsolved; b@high: t1 $6 and t2 $4, both solved. Review: $10 an attempt at $60/h.
TINY: Grid = {"t1": {"a@low": (True, "1"), "b@high": (True, "6")}, "t2": {"a@low": (False, "2"), "b@high": (True, "4")}}


@pytest.fixture
def config(make_config):
    return make_config(planner__model_order=["b"])


def rows_of(data: dict[str, Any], part: str = "groups") -> dict[str, dict[str, Any]]:
    return {row["group"]: row for row in data[part]}


def with_v(data: dict[str, Any], section: str, group: str) -> tuple[Any, ...]:
    """(V, total $, total with V, that per issue) of a row: its total from the row, the rest from `with_v`."""
    total = rows_of(data, section)[group]["total_cost_usd"]
    fields = data["with_v"][section][group]
    return (fields["unsolved_value_usd"], total, fields["total_with_v_usd"], fields["total_with_v_per_issue_usd"])


def test_every_row_adds_the_default_v_per_unsolved_task_and_keeps_per_solved(tmp_path, config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, TINY, {})
    data = build_report(ledger, [run_id], "rung", ["climb=a@low,b@high", "b@high"], config)
    groups = rows_of(data)
    assert data["unsolved_value"] == {"usd": 200.0, "source": "the default"}
    # a@low: $3 API + 2 reviews ($20) = $23, one task unsolved: + $200; per issue / 2
    assert with_v(data, "groups", "a@low") == (200.0, 23.0, 223.0, 111.5)
    assert with_v(data, "groups", "b@high") == (200.0, 30.0, 30.0, 15.0)  # nothing unsolved: V adds nothing
    assert (groups["a@low"]["cost_per_solved_usd"], groups["b@high"]["cost_per_solved_usd"]) == (23.0, 15.0)
    # climb: t1 at a@low ($1 + $10), t2 at a@low ($2 + $10) then b@high ($4 + $10): $37 for 2 of 2
    assert with_v(data, "policies", "climb") == (200.0, 37.0, 37.0, 18.5)
    # by task type, a grid's issues are its task x rung rows: 4, of which t2 at a@low is unsolved
    assert with_v(data, "by_task_type", "bug_fix") == (200.0, 53.0, 253.0, 63.25)


def test_unsolved_cost_overrides_v_in_json_and_text(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, TINY, {})
    base = ["--ledger", str(ledger.path), "report", run_id, "--policy", "a@low", "--unsolved-cost", "50"]
    done = run_agent(tmp_path, *base, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["unsolved_value"] == {"usd": 50.0, "source": "--unsolved-cost"}
    assert with_v(data, "groups", "a@low") == with_v(data, "policies", "a@low") == (50.0, 23.0, 73.0, 36.5)
    text = run_agent(tmp_path, *base, "--html", str(tmp_path / "report.html")).stdout
    assert "total w/ V $" in text and "73.0000" in text  # per issue: in --json and the HTML only
    page = (tmp_path / "report.html").read_text()
    assert "<th>total w/ V $</th><th>w/ V $ / issue</th>" in page and "<td>73.0000</td><td>36.5000</td>" in page
    assert "V = $50 from --unsolved-cost" in " ".join(text.split())
    refused = run_agent(tmp_path, *base[:-1], "-1")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    ("rate_flag", "v_usd", "top"),
    [([], 120.0, None), (["--hourly-rate", "30"], 60.0, 60.0)],  # 2 h x the run's $60/h, or x the what-if rate
    ids=["recorded-rate", "what-if-rate"],
)
def test_unsolved_hours_price_v_at_the_rate_that_prices_review(tmp_path, rate_flag, v_usd, top):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, TINY, {})
    settings = tmp_path / "agent.toml"
    settings.write_text("[planner]\nunsolved_hours = 2\n")
    args = ["--ledger", str(ledger.path), "report", run_id, *rate_flag, "--json"]
    data = json.loads(run_agent(tmp_path, *args, env={"AGENT_CONFIG": str(settings)}).stdout)
    assert data["unsolved_value"]["usd"] == top
    assert data["unsolved_value"]["source"] == "[planner] unsolved_hours (2 h x the review rate)"
    v, total, with_v_usd, _ = with_v(data, "groups", "a@low")
    assert (v, with_v_usd) == (v_usd, pytest.approx(total + v_usd))


# The delivered rule: review is billed only for the patch a developer receives.


def test_delivered_bills_review_only_for_the_passing_attempt_of_a_solved_issue(tmp_path, make_config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, TINY, {})
    for bill, a_low, climb, not_billed in (
        ("each_attempt", 23.0, 37.0, {}),
        ("delivered", 13.0, 27.0, {NOT_DELIVERED: 1}),  # t2's failed a@low attempt is reviewed by nobody
    ):
        config = make_config(planner__model_order=["b"], review__bill=bill)
        data = build_report(ledger, [run_id], "rung", ["climb=a@low,b@high"], config)
        groups = rows_of(data)
        assert data["review_bill"] == bill
        assert (groups["a@low"]["total_cost_usd"], rows_of(data, "policies")["climb"]["total_cost_usd"]) == (
            a_low,
            climb,
        )
        assert groups["a@low"]["review_not_billed"] == not_billed
        assert groups["b@high"]["total_cost_usd"] == 30.0  # both solved: every attempt is delivered
    text = run_agent(
        tmp_path, "--ledger", str(ledger.path), "report", run_id, env={"AGENT_CONFIG": str(delivered_toml(tmp_path))}
    ).stdout
    assert (
        'review billed only for the delivered patch, a solved issue\'s passing attempt ([review] bill = "delivered")'
        in (" ".join(text.split()))
    )


def delivered_toml(tmp_path) -> Any:
    path = tmp_path / "delivered.toml"
    path.write_text('[review]\nbill = "delivered"\n')
    return path


def test_a_climb_under_delivered_bills_one_review_and_an_unsolved_one_none(tmp_path, make_config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    solved = write_climb(ledger, "solved", [(False, 40), (False, 0), (True, 120)])
    unsolved = write_climb(ledger, "unsolved", [(False, 40), (False, 80)])
    review = make_config(review__bill="delivered", review__minutes_per_100_lines=10.0).review
    costs, summary = run_costs(ledger, solved, review)
    # the passing attempt's estimate: 10 min + 10 min per 100 changed lines (120 lines: 12 min)
    assert [(cost.review_billed, cost.review_reason, cost.review_minutes) for cost in costs] == [
        (False, NOT_DELIVERED, 0.0),
        (False, NOT_DELIVERED, 0.0),
        (True, "estimated", 22.0),
    ]
    assert (summary.review_minutes, summary.review_not_billed) == (22.0, {NOT_DELIVERED: 2})
    [first, *_] = ledger.attempts(unsolved)
    ledger.record_review(first.id, 30.0, "reject", "me")  # a measured review of an undelivered patch
    costs, summary = run_costs(ledger, unsolved, review)
    assert [cost.review_billed for cost in costs] == [False, False]
    assert (summary.review_minutes, summary.total_cost_usd) == (0.0, summary.api_cost_usd)
    each = make_config(review__minutes_per_100_lines=10.0).review  # today's rule: every changed attempt
    _, summary = run_costs(ledger, unsolved, each)
    assert summary.review_minutes == 30.0 + (10.0 + 8.0)  # measured, then the estimate for 80 lines
    _, summary = run_costs(ledger, solved, each)
    assert (summary.review_minutes, summary.review_not_billed) == ((10.0 + 4.0) + (10.0 + 12.0), {"no change": 1})


# Calibration: a fitter that knows the world, so every forecast is known by hand. One rung, big@max:
# it passes a bug fix 90% of the time and a feature 60%, so each fold's only ladder is [big@max].

KNOWN_RATES = {"bug_fix": 0.9, "feature": 0.6}


def known_world(observations: list[Observation], prior: Prior, task_types: list[str]) -> Estimates:
    """The same hand-made estimates for every fold, whatever it was fitted on."""

    def rung(rate: float) -> dict[str, RungEstimate]:
        return {"big@max": RungEstimate.known(ability_for_rate(rate, 0.0), 1.0, 10.0, attempts=50)}

    by_type = {task_type: rung(rate) for task_type, rate in KNOWN_RATES.items()}
    return Estimates(rung(0.75), by_type, dict.fromkeys(KNOWN_RATES, 0.0), 0.0)


# t0-t5 bug fixes (t5 unsolved), t6-t9 features (t8, t9 unsolved).
CALIBRATION_GRID: Grid = {f"t{i}": {"big@max": (i not in (5, 8, 9), "1")} for i in range(10)}
CALIBRATION_TYPES = {f"t{i}": "bug_fix" if i < 6 else "feature" for i in range(10)}


def test_the_reliability_table_matches_a_hand_computation(tmp_path, config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, CALIBRATION_GRID, CALIBRATION_TYPES)
    [result] = evaluate_policies(ledger, [run_id], ["learned"], config, folds=3, fitter=known_world)
    assert result.folds is not None and [fold.held_out for fold in result.folds] == [
        ["t0", "t3", "t6", "t9"],
        ["t1", "t4", "t7"],
        ["t2", "t5", "t8"],
    ]
    assert all(fold.ladders == {"bug_fix": ["big@max"], "feature": ["big@max"]} for fold in result.folds)
    data = calibration(result).model_dump()
    table = [(row["label"], row["tasks"], row["mean_predicted"], row["realised"]) for row in data["folds"]]
    assert table == [
        ("fold 1", 4, pytest.approx((0.9 + 0.9 + 0.6 + 0.6) / 4), 0.75),  # t0, t3, t6 solved; t9 not
        ("fold 2", 3, pytest.approx((0.9 + 0.9 + 0.6) / 3), 1.0),
        ("fold 3", 3, pytest.approx((0.9 + 0.9 + 0.6) / 3), pytest.approx(1 / 3)),  # t2 only
    ]
    overall = data["overall"]
    assert (overall["tasks"], overall["mean_predicted"], overall["realised"]) == (10, pytest.approx(0.78), 0.7)
    bins = {row["label"]: row for row in data["bins"]}
    assert list(bins) == ["[0, 0.5)", "[0.5, 0.7)", "[0.7, 0.8)", "[0.8, 0.9)", "[0.9, 0.95)", "[0.95, 1]"]
    assert [bins[label]["tasks"] for label in bins] == [0, 4, 0, 0, 6, 0]
    features, bug_fixes = bins["[0.5, 0.7)"], bins["[0.9, 0.95)"]
    assert (features["mean_predicted"], features["realised"]) == (pytest.approx(0.6), 0.5)
    assert (bug_fixes["mean_predicted"], bug_fixes["realised"]) == (pytest.approx(0.9), pytest.approx(5 / 6))
    # Wilson 95% intervals: 2 of 4 -> 0.1500-0.8500, 5 of 6 -> 0.4365-0.9699, 1 of 3 -> 0.0615-0.7923
    assert (features["realised_low"], features["realised_high"]) == (pytest.approx(0.15004, abs=1e-5),
                                                                     pytest.approx(0.84996, abs=1e-5))  # fmt: skip
    assert (bug_fixes["realised_low"], bug_fixes["realised_high"]) == (pytest.approx(0.43650, abs=1e-5),
                                                                       pytest.approx(0.96995, abs=1e-5))  # fmt: skip
    assert (data["folds"][2]["realised_low"], data["folds"][2]["realised_high"]) == (
        pytest.approx(0.06149, abs=1e-5),
        pytest.approx(0.79234, abs=1e-5),
    )
    assert (bins["[0, 0.5)"]["mean_predicted"], bins["[0, 0.5)"]["realised_low"]) == (None, None)
    assert reliability_cells(features) == ["[0.5, 0.7)", "4", "60.0%", "50.0%", "15%-85%", "-10.0"]
    assert reliability_cells(bins["[0.8, 0.9)"]) == ["[0.8, 0.9)", "0", "-", "-", "-", "-"]
    assert (data["unpredicted"], [task["task"] for task in data["tasks"] if not task["solved"]]) == (
        [],
        ["t9", "t5", "t8"],
    )


@pytest.mark.parametrize(
    ("trials", "successes", "interval"),
    [(4, 3, (0.30064, 0.95441)), (3, 3, (0.43850, 1.0)), (10, 7, (0.39678, 0.89221)), (1, 0, (0.0, 0.79345))],
)
def test_wilson_interval(trials, successes, interval):
    low, high = wilson(successes, trials) or (None, None)
    assert (low, high) == (pytest.approx(interval[0], abs=1e-5), pytest.approx(interval[1], abs=1e-5))
    assert wilson(0, 0) is None


def test_the_reliability_diagram_draws_the_diagonal_the_bins_and_the_folds(tmp_path, config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, CALIBRATION_GRID, CALIBRATION_TYPES)
    [result] = evaluate_policies(ledger, [run_id], ["learned"], config, folds=3, fitter=known_world)
    plot = calibration_plot("learned", calibration(result).model_dump())
    assert plot.figure is not None
    [axes] = plot.figure.axes
    assert (axes.get_xlim(), axes.get_ylim()) == ((0.0, 1.0), (0.0, 1.0))
    diagonal, bins = axes.lines[0], axes.lines[1]
    assert (list(diagonal.get_xdata()), list(diagonal.get_ydata())) == ([0, 1], [0, 1])
    assert [round(x, 4) for x in bins.get_xdata()] == [0.6, 0.9]
    assert [round(y, 4) for y in bins.get_ydata()] == [0.5, 0.8333]
    labels = sorted(text.get_text() for text in axes.texts)
    assert labels == ["fold 1", "fold 2", "fold 3", "n=4", "n=6"]
    assert plot.notes == ["bins with no task, not drawn: [0, 0.5), [0.7, 0.8), [0.8, 0.9), [0.95, 1]"]


# End to end on a grid the real fit learns from: JSON, text and HTML say the same numbers.

MIXED: Grid = {f"t{i}": {"cheap@low": (i < 3, "0.01"), "big@max": (i != 6, "1")} for i in range(7)}
MIXED_TYPES = {f"t{i}": "feature" if i % 2 else "bug_fix" for i in range(7)}


def test_report_learned_shows_its_calibration_in_json_text_and_html(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path, MIXED, MIXED_TYPES)
    html = tmp_path / "report.html"
    args = ["--ledger", str(ledger.path), "report", run_id, "--policy", "learned", "--folds", "3"]
    done = run_agent(tmp_path, *args, "--json", "--html", str(html))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    [row] = data["policies"]
    calibrated = data["calibration"]["learned"]
    fold_of = {key: fold for fold in row["folds"] for key in fold["held_out"]}
    for task in calibrated["tasks"]:
        fold = fold_of[task["task"]]
        assert task["predicted"] == fold["predicted"][MIXED_TYPES[task["task"]]]
        assert task["ladder"] == fold["ladders"][MIXED_TYPES[task["task"]]]
        path = row["paths"][task["task"]]
        assert task["solved"] == (bool(path) and MIXED[task["task"]][path[-1]][0])
    assert len(calibrated["tasks"]) + len(calibrated["unpredicted"]) == 7
    tasks = calibrated["tasks"]
    overall = calibrated["overall"]
    assert overall["tasks"] == len(tasks) and overall["realised"] == pytest.approx(
        sum(task["solved"] for task in tasks) / len(tasks)
    )
    assert overall["mean_predicted"] == pytest.approx(sum(task["predicted"] for task in tasks) / len(tasks))
    assert sum(fold["tasks"] for fold in calibrated["folds"]) == sum(b["tasks"] for b in calibrated["bins"]) == 7
    assert [fold["tasks"] for fold in calibrated["folds"]] == [3, 2, 2]
    text = run_agent(tmp_path, *args).stdout
    flat = " ".join(text.split())
    assert "calibration of learned: P(solved) per fold (predicted vs realised)" in flat
    assert "calibration of learned: by predicted P(solved), all folds" in flat
    for reliability in [*calibrated["folds"], overall, *calibrated["bins"]]:
        assert " ".join(reliability_cells(reliability)) in " ".join(flat.replace("│", " ").split())
    page = html.read_text()
    assert "<h2>Calibration of learned: predicted vs realised P(solved)</h2><img" in page
    assert "<h2>calibration of learned: by predicted P(solved), all folds</h2><table>" in page


# End to end: a real grid benched against the simulated population through the fake provider.

SIM_IDS = ["inicfg__bool-off", "inicfg__parser-indent", "textkit__case-syntax", "tinyq__registry-decorator"]


@pytest.mark.slow
def test_a_sim_grids_report_scores_the_learned_forecasts_and_bills_only_delivered_patches(tmp_path):
    from agent.fake_provider.sim import sim_env, start_sim
    from tasks.loaders import load_tasks

    tasks = [task for task in load_tasks("builtin", tmp_path / "agent-home") if task.instance_id in SIM_IDS]
    args = ["--grid", "sim-flash,sim-frontier@low,high", "--workers", "2", "--sandbox", "local", "--run-id", "g"]
    with start_sim(tasks) as fake:
        done = run_agent(tmp_path, "bench", "builtin", "--ids", ",".join(SIM_IDS), *args, "--json", env=sim_env(fake))
    assert done.returncode == 0, done.stderr
    solved = set(json.loads(done.stdout)["resolved_ids"])  # "task@rung"
    html = tmp_path / "report.html"
    report = ["report", "g", "--policy", "learned", "--folds", "2"]
    data = json.loads(run_agent(tmp_path, *report, "--json", "--html", str(html)).stdout)
    [row] = data["policies"]
    calibrated = data["calibration"]["learned"]
    assert len(calibrated["tasks"]) + len(calibrated["unpredicted"]) == 4
    for task in calibrated["tasks"]:
        path = row["paths"][task["task"]]
        assert task["solved"] == (bool(path) and f"{task['task']}@{path[-1]}" in solved)
        assert 0 < task["predicted"] <= 1
    assert [fold["tasks"] for fold in calibrated["folds"]] == [
        len([task for task in calibrated["tasks"] if task["fold"] == fold]) for fold in (0, 1)
    ]
    assert "<h2>Calibration of learned: predicted vs realised P(solved)</h2>" in html.read_text()
    assert "calibration of learned: P(solved) per fold" in " ".join(run_agent(tmp_path, *report).stdout.split())
    delivered = tmp_path / "delivered.toml"
    delivered.write_text('[review]\nbill = "delivered"\n')
    billed = json.loads(run_agent(tmp_path, "report", "g", "--json", env={"AGENT_CONFIG": str(delivered)}).stdout)
    assert billed["review_bill"] == "delivered"
    for group in billed["groups"]:  # one issue per task at each rung: only its solved ones deliver a patch
        assert group["review_billed_attempts"] == group["solved"]
        assert group["review_not_billed"] == (
            {"not delivered": group["tasks"] - group["solved"]} if group["tasks"] > group["solved"] else {}
        )
