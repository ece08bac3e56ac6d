"""The learned planner end to end: `agent plan` and `agent bench` in-process, the simulated population
served by the fake provider over HTTP, the real SQLite ledger, a small sim grid as the measurements."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.effort import EffortLevel
from agent.fake_provider import FakeProvider
from agent.fake_provider.sim import sim_env, start_sim
from agent.ledger import Ledger
from agent.simulate.population import attempt_passes, load_population
from tasks.builtin import TASKS_FILE
from tasks.records import read_task_file
from tests.cli_helpers import run_agent

MODELS = ["sim-flash", "sim-frontier"]
ALLOWED = {f"{model}@{level.value}" for model in MODELS for level in EffortLevel}
GRID_IDS = ["inicfg__bool-off", "shopcart__remove-last-unit", "textkit__truncate-width", "tinyq__refill-cap"]
GRID = "sim-flash,sim-frontier@low,max"  # 4 bug_fix tasks x 4 rungs = 16 measured attempts
MIN_ATTEMPTS = 12
ISSUE = "# total() returns the wrong sum\n\nCalling total([1, 2]) returns 4 instead of 3."
RULES_LADDER = [f"{model}@{level}" for model in MODELS for level in ("medium", "high", "xhigh", "max")]
SUITE = {task.instance_id: task for task in read_task_file(TASKS_FILE)}


def write_config(folder: Path, **planner: Any) -> Path:
    """An AGENT_CONFIG whose planner climbs the two sim models; `planner` adds settings."""
    lines = ["[planner]", f"model_order = {json.dumps(MODELS)}", f"min_attempts = {MIN_ATTEMPTS}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in planner.items()]
    path = folder / f"agent-{len(list(folder.glob('agent-*.toml')))}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def plan(home: Path, config: Path, fake: FakeProvider, text: str = ISSUE) -> dict[str, Any]:
    env = {"AGENT_CONFIG": str(config), **sim_env(fake)}  # SIM_API_KEY: the sim models can run here
    done = run_agent(home, "plan", "--policy", "learned", "--json", "--text", text, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def bench(home: Path, config: Path, fake: FakeProvider, *args: str, ledger: Path | None = None) -> dict[str, Any]:
    where = ["--ledger", str(ledger)] if ledger else []
    env = {"AGENT_CONFIG": str(config), **sim_env(fake)}
    done = run_agent(home, *where, "bench", "builtin", *args, "--sandbox", "local", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sim() -> Iterator[FakeProvider]:
    """The population served for the whole built-in suite (the sim knows tasks by their issue text)."""
    with start_sim(list(SUITE.values())) as fake:
        yield fake


@pytest.fixture(scope="module")
def measured(sim: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A home whose ledger holds one sim grid over GRID_IDS."""
    home = tmp_path_factory.mktemp("learned")
    config = write_config(home)
    result = bench(home, config, sim, "--ids", ",".join(GRID_IDS), "--grid", GRID, "--workers", "4", "--run-id", "g")
    assert (result["instances"], result["error_ids"]) == (16, [])
    return {"home": home, "config": config, "ledger": home / "agent-home" / "ledger.sqlite"}


def copy_ledger(source: Path, target: Path) -> Path:
    """A copy of the grid's ledger (SQLite's backup), so a test's runs leave the shared one as it was."""
    with sqlite3.connect(source) as old, sqlite3.connect(target) as new:
        old.backup(new)
    return target


def test_an_empty_ledger_keeps_the_rules_ladder_and_says_the_data_is_thin(sim, tmp_path):
    data = plan(tmp_path, write_config(tmp_path), sim)
    assert (data["task_type"], data["ladder"], data["ladder_source"]) == ("bug_fix", RULES_LADDER, "planner")
    decision = data["decision"]
    assert (decision["chosen_by"], decision["policy"], decision["measured_attempts"]) == ("rules", "rules", 0)
    assert decision["note"] == (
        f"thin data: 0 measured attempt(s) at the allowed rungs, fewer than [planner] min_attempts = {MIN_ATTEMPTS}:"
        " the rules' ladder is kept"
    )


def test_plan_shows_the_price_of_an_unsolved_issue_it_plans_with(sim, tmp_path):
    data = plan(tmp_path, write_config(tmp_path), sim)
    assert (data["unsolved_usd"], data["hourly_rate_usd"], data["review_bill"]) == (200.0, 100.0, "each_attempt")
    assert data["unsolved_source"] == "the default; set [planner] unsolved_cost or unsolved_hours"
    data = plan(tmp_path, write_config(tmp_path, unsolved_hours=1.5), sim)  # 1.5 h x $100/h
    assert (data["unsolved_usd"], data["unsolved_source"]) == (
        150.0,
        "[planner] unsolved_hours = 1.5 x the hourly rate",
    )
    data = plan(tmp_path, write_config(tmp_path, unsolved_hours=1.5, unsolved_cost=80), sim)  # the $ amount wins
    assert (data["unsolved_usd"], data["unsolved_source"]) == (80.0, "[planner] unsolved_cost")


@pytest.mark.slow
def test_after_a_grid_the_ladder_is_learned_from_the_allowed_rungs(sim, measured):
    data = plan(measured["home"], measured["config"], sim)
    decision = data["decision"]
    assert (decision["chosen_by"], data["ladder_source"], decision["measured_attempts"]) == ("learned", "learned", 16)
    assert decision["policy"] in ("learned (greedy)", "learned (thompson)") and decision["note"] == ""
    assert data["ladder"] == decision["ladder"] and set(data["ladder"]) <= ALLOWED and data["ladder"]
    assert decision["candidates"]
    for candidate in decision["candidates"]:
        assert 0 < candidate["p_solved"] <= 1 and candidate["api_usd"] > 0 and candidate["usd_per_solved"] > 0
        assert [step["rung"] for step in candidate["per_rung"]] == candidate["ladder"]
        assert set(candidate["ladder"]) <= ALLOWED
        for step in candidate["per_rung"]:  # each grid rung measured once per task; the others never
            assert step["attempts"] == (4 if step["rung"].endswith(("@low", "@max")) else 0), step


@pytest.mark.slow
def test_bench_with_the_learned_policy_records_each_issues_decision_and_refits_as_results_arrive(
    sim, measured, tmp_path
):
    ledger_path = copy_ledger(measured["ledger"], tmp_path / "ledger.sqlite")
    ids = ["tinyq__registry-decorator", "textkit__top-words-ties"]
    args = ("--ids", ",".join(ids), "--policy", "learned", "--workers", "1")
    result = bench(measured["home"], measured["config"], sim, *args, ledger=ledger_path)
    assert result["instances"] == 2 and result["error_ids"] == []
    ledger = Ledger(ledger_path)
    issues = ledger.issues(result["run_id"])
    assert sorted(issue.key for issue in issues) == sorted(ids)
    assert {issue.policy for issue in issues} == {"learned"}
    events = ledger.events(result["run_id"], kinds=("decision",))
    decisions = {event.issue_id: event.data for event in events}
    assert len(events) == 2 and set(decisions) == {issue.id for issue in issues}  # one per issue, under it
    first, second = sorted(issues, key=lambda issue: issue.id)
    first_attempts = [a for a in ledger.attempts(result["run_id"]) if a.issue_id == first.id and a.state == "finished"]
    # the second issue's ladder is chosen by the planner refitted with the first issue's attempts
    assert decisions[first.id]["measured_attempts"] == 16
    assert decisions[second.id]["measured_attempts"] == 16 + len(first_attempts) > 16
    for issue in issues:
        decision = decisions[issue.id]
        assert decision["chosen_by"] == "learned"
        assert issue.ladder == ",".join(decision["ladder"]) and set(decision["ladder"]) <= ALLOWED
        assert decision["candidates"] and all(candidate["per_rung"] for candidate in decision["candidates"])
    ledger.close()


@pytest.mark.slow
def test_a_repeated_rung_runs_again_and_draws_anew(sim, tmp_path):
    task_id = "inicfg__inline-comments"
    task, population = SUITE[task_id], load_population()
    draws = [attempt_passes(population, task, "sim-flash", EffortLevel.LOW, attempt) for attempt in (0, 1)]
    assert draws == [False, True]  # the first sim-flash@low fails; the second try passes
    ladder = "sim-flash@low*2,sim-frontier@max"
    result = bench(tmp_path, write_config(tmp_path), sim, "--ids", task_id, "--ladder", ladder)
    assert result["resolved_ids"] == [task_id]
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    [issue] = ledger.issues(result["run_id"])
    attempts = ledger.attempts(result["run_id"], issue.id)
    assert issue.ladder == "sim-flash@low,sim-flash@low,sim-frontier@max"
    assert [(a.rung_index, a.model, a.effort_asked, a.tests_passed) for a in attempts] == [
        (0, "sim-flash", "low", False),
        (1, "sim-flash", "low", True),
    ]
    ledger.close()


@pytest.mark.slow
def test_without_exploration_the_learned_ladder_is_the_greedy_one_every_time(sim, measured):
    config = write_config(measured["home"], explore=False)
    other = "# mean() is wrong for one value\n\nmean([5]) returns 0 instead of 5."
    plans = [plan(measured["home"], config, sim, text) for text in (ISSUE, ISSUE, other)]
    assert [data["task_type"] for data in plans] == ["bug_fix"] * 3
    decisions = [data["decision"] for data in plans]
    assert [(d["policy"], d["explored"], d["chosen_by"]) for d in decisions] == [
        ("learned (greedy)", False, "learned")
    ] * 3
    assert plans[0]["ladder"] == plans[1]["ladder"] == plans[2]["ladder"] == decisions[0]["candidates"][0]["ladder"]
