"""`agent models`, `agent plan`, `agent demo` and `agent review` as a user runs them."""

from __future__ import annotations

import json

import pytest

from agent.ledger import Ledger
from tests.cli_helpers import run_agent


def test_models_json_lists_prices_and_efforts(tmp_path):
    done = run_agent(tmp_path, "models", "--json")
    assert done.returncode == 0, done.stderr
    models = {entry["model"]: entry for entry in json.loads(done.stdout)}
    opus = models["claude-opus-4-7"]
    assert (opus["provider"], opus["input_per_mtok"], opus["output_per_mtok"], opus["cache_read_per_mtok"]) == (
        "anthropic",
        "5",
        "25",
        "0.5",
    )
    assert opus["efforts"] == ["low", "medium", "high", "xhigh", "max"]
    assert models["deepseek-v4-pro"]["efforts"] == ["high", "max"]


def test_unpriced_configured_model_shows_as_unpriced(tmp_path):
    (tmp_path / "user.toml").write_text('[models."house-model"]\nprovider = "openai"\n')
    done = run_agent(tmp_path, "models", env={"AGENT_CONFIG": str(tmp_path / "user.toml")})
    assert done.returncode == 0
    assert "house-model" in done.stdout and "unpriced" in done.stdout


def test_plan_prints_type_reason_and_ladder(tmp_path):
    done = run_agent(tmp_path, "plan", "--text", "Intermittent deadlock in the worker pool", "--json")
    data = json.loads(done.stdout)
    estimate = data.pop("estimate")  # its numbers: tests/test_estimates.py
    assert (estimate["policy"], estimate["ladder"]) == ("rules", ["claude-opus-4-7@max", "deepseek-v4-pro@max"])
    assert data == {
        "task_type": "complex_bug",
        "reason": "matched 'deadlock', 'intermittent'",
        "decided_by": "rules",
        "ladder": ["claude-opus-4-7@max", "deepseek-v4-pro@max"],
        "ladder_source": "planner",
        "left_out": [],
        "note": (
            "no model of the planner's ladder can run here: claude-opus-4-7 (ANTHROPIC_API_KEY is not set); "
            "deepseek-v4-pro (DEEPSEEK_API_KEY is not set): set one of those keys, or try `agent demo` (no key needed)"
        ),
        "decision": None,  # the rules chose: no learned decision
        "hourly_rate_usd": 100.0,  # what the plan is priced at: review, and V for an issue left unsolved
        "review_bill": "each_attempt",
        "unsolved_usd": 200.0,
        "unsolved_source": "the default; set [planner] unsolved_cost or unsolved_hours",
    }


@pytest.mark.docker
def test_demo_escalates_and_solves_then_review_records_minutes(tmp_path):
    done = run_agent(tmp_path, "demo", "--json")
    assert done.returncode == 0, done.stderr
    assert "SIMULATED" in done.stderr
    result = json.loads(done.stdout)
    assert [(a["effort"], a["tests_passed"]) for a in result["attempts"]] == [("medium", False), ("high", True)]
    assert result["branch"] == "agent/median-gives-the-wrong-answer-for-lists"
    assert result["review_minutes"] == 20.0

    reviewed = run_agent(tmp_path, "review", result["run_id"], "--reviewer", "ana", stdin="accept\n")
    assert reviewed.returncode == 0, reviewed.stderr
    assert "recorded accept" in reviewed.stdout
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    passed = [attempt for attempt in ledger.attempts(result["run_id"]) if attempt.tests_passed]
    reviews = ledger.reviews(passed[0].id)
    assert [(review.verdict, review.reviewer) for review in reviews] == [("accept", "ana")]
    assert 0 <= reviews[0].minutes < 1
    again = run_agent(tmp_path, "review", result["run_id"])
    assert "nothing to review" in again.stdout


def test_review_of_unknown_run_is_a_clear_error(tmp_path):
    done = run_agent(tmp_path, "review", "no-such-run")
    assert done.returncode == 2
    assert done.stderr.startswith("error: no run no-such-run in ")
