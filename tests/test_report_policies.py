"""`agent report`: per-group tables and offline policy evaluation, on a grid ledger written row by row."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.bench.jobs import parse_grid
from agent.core.errors import ConfigError
from agent.core.messages import Usage
from agent.ledger import Ledger
from agent.reporting.costs import run_costs
from agent.reporting.policies import evaluate_policies, parse_policy
from tests.cli_helpers import run_agent
from tests.grid_helpers import write_grid as write_grid_run

# task -> rung -> (solved, API $). Review: 10 estimated minutes an attempt at $60/h = $10 an attempt.
GRID = {
    "t1": {"m@medium": (True, "1"), "m@high": (True, "2"), "m@max": (True, "4")},
    "t2": {"m@medium": (False, "1"), "m@high": (False, "2"), "m@max": (True, "4")},
}
TYPES = {"t1": "bug_fix", "t2": "feature"}


def write_grid(path: Path) -> str:
    return write_grid_run(path, GRID, TYPES, usage=Usage(input_tokens=1000, cache_read_tokens=100, output_tokens=10))


@pytest.fixture
def config(make_config):
    return make_config(planner__model_order=["m"])


def test_policies_walk_the_grid_and_add_up_real_costs(tmp_path, config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path)
    specs = ["always-max=m@max", "climb=m@medium,m@high,m@max", "planner"]
    results = {r.policy: r for r in evaluate_policies(ledger, [run_id], specs, config)}
    table = {
        name: (r.summary.issues, r.summary.solved, r.summary.attempts, r.summary.api_cost_usd, r.summary.total_cost_usd)
        for name, r in results.items()
    }
    assert table == {
        "always-max": (2, 2, 2, Decimal(8), Decimal(28)),
        "climb": (2, 2, 4, Decimal(8), Decimal(48)),
        "planner": (2, 1, 2, Decimal(3), Decimal(23)),  # feature starts at high; xhigh was not in the grid
    }
    assert (results["climb"].summary.cost_per_solved_usd, results["always-max"].summary.cost_per_solved_usd) == (
        Decimal(24),
        Decimal(14),
    )
    assert results["climb"].paths == {"t1": ["m@medium"], "t2": ["m@medium", "m@high", "m@max"]}
    assert results["planner"].paths == {"t1": ["m@medium"], "t2": ["m@high"]}
    assert (results["planner"].missing, results["climb"].missing) == (1, 0)


def test_report_json_groups_by_rung_with_exact_numbers(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "no-user-config.toml").write_text('[planner]\nmodel_order = ["m"]\n')
    run_id = write_grid(home / "agent-home" / "ledger.sqlite")
    config = {"AGENT_CONFIG": str(home / "no-user-config.toml")}
    args = ["report", run_id, "--by", "rung", "--policy", "m@max", "--policy", "planner", "--json"]
    done = run_agent(home, *args, env=config)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = {row["group"]: row for row in data["groups"]}
    assert rows["m@max"] == {
        "group": "m@max",
        "tasks": 2,
        "solved": 2,
        "solve_rate": 1.0,
        "attempts": 2,
        "interrupted_attempts": 0,
        "input_tokens": 2000,
        "cached_tokens": 200,
        "output_tokens": 20,
        "api_cost_usd": 8.0,
        "unpriced_calls": 0,
        "calls": 2,
        "failed_calls": 0,
        "failed_by_kind": {},
        "failed_cost_usd": 0.0,
        "unsettled_calls": 0,
        "unsettled_cost_usd": 0.0,
        "classifier_calls": 0,
        "classifier_cost_usd": 0.0,
        "lost_worker_calls": 0,
        "lost_worker_cost_usd": 0.0,
        "review_hours_measured": 0.0,
        "review_hours_estimated": pytest.approx(20 / 60, abs=1e-4),
        "review_minutes_measured": 0.0,
        "review_minutes_estimated": 20.0,
        "review_billed_attempts": 2,
        "review_not_billed": {},
        "hourly_rate_usd": 60.0,
        "total_cost_usd": 28.0,
        "cost_per_solved_usd": 14.0,
        "total_usd_all_billed": 28.0,
        "fallbacks": 0,
        "attempts_with_fallback": 0,
        "validation_failures": {},
    }
    assert (rows["m@medium"]["solved"], rows["m@medium"]["cost_per_solved_usd"]) == (1, 22.0)
    assert [(row["group"], row["solved"], row["total_cost_usd"]) for row in data["by_task_type"]] == [
        ("bug_fix", 3, 37.0),  # each grid cell is an issue row
        ("feature", 1, 37.0),
    ]
    assert [(p["group"], p["solved"], p["total_cost_usd"], p["missing"]) for p in data["policies"]] == [
        ("m@max", 2, 28.0, 0),
        ("planner", 1, 23.0, 1),
    ]
    # the priciest rung is m@max, $4 + $10 of review an attempt: planner's unsolved task is billed that too
    assert data["unsolved_billed_at"] == {"rung": "m@max", "attempt_usd": 14.0}
    assert [p["total_usd_all_billed"] for p in data["policies"]] == [28.0, 37.0]
    html = tmp_path / "report.html"
    done = run_agent(home, "report", run_id, "--policy", "m@max", "--html", str(html))
    assert done.returncode == 0, done.stderr
    page = html.read_text()
    assert page.count("src='data:image/png;base64,") == 3  # the two plots and the API $ per day
    assert "<h2>Policies (offline, from the grid)</h2>" in page


def test_by_task_type_counts_issues_once_and_all_attempts_cost(tmp_path, make_config):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = write_grid(ledger.path)
    _, summary = run_costs(ledger, run_id, make_config().review)
    assert (summary.issues, summary.solved, summary.api_cost_usd) == (6, 4, Decimal(14))


@pytest.mark.parametrize(
    ("spec", "rungs"),
    [
        ("a,b@medium,max", ["a@medium", "a@max", "b@medium", "b@max"]),
        ("claude-opus-4-7@high", ["claude-opus-4-7@high"]),
    ],
)
def test_grid_spec_is_every_model_at_every_effort(spec, rungs):
    assert [str(rung) for rung in parse_grid([spec])] == rungs


@pytest.mark.parametrize("spec", ["a,b", "@high", "a@loud"])
def test_bad_grid_spec_says_how_to_write_it(spec):
    with pytest.raises(ConfigError):
        parse_grid([spec])


def test_policy_spec_names_and_planner():
    assert parse_policy("fast=m@low,m@max").name == "fast"
    assert parse_policy("m@low").name == "m@low"
    assert parse_policy("planner").ladder is None
