"""One provider key is enough: the planner's ladder keeps only the models whose key is set and says
which it left out; with no key at all it refuses in one line. `agent` runs in-process against
the fake provider.
"""

from __future__ import annotations

import json

import pytest

from agent.ledger import Ledger
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent
from tests.fix_helpers import ESCALATE, TEST_CMD
from tests.repo_helpers import ISSUE, make_repo

BUG = "the total is wrong, a bug"


@pytest.mark.parametrize(
    ("provider", "ladder", "left_out"),
    [
        (
            "anthropic",
            ["claude-opus-4-7@medium", "claude-opus-4-7@high", "claude-opus-4-7@xhigh", "claude-opus-4-7@max"],
            ["deepseek-v4-pro (DEEPSEEK_API_KEY is not set)"],
        ),
        (  # DeepSeek honours only high and max: no rung it cannot send is listed
            "deepseek",
            ["deepseek-v4-pro@high", "deepseek-v4-pro@max"],
            ["claude-opus-4-7 (ANTHROPIC_API_KEY is not set)"],
        ),
    ],
)
def test_plan_with_one_key_keeps_only_that_providers_rungs(tmp_path, make_fake, fake_env, provider, ladder, left_out):
    fake = make_fake(ESCALATE)
    done = run_agent(tmp_path, "plan", "--text", BUG, "--json", env=fake_env(fake, provider))
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert (plan["task_type"], plan["ladder_source"]) == ("bug_fix", "planner")
    assert (plan["ladder"], plan["left_out"]) == (ladder, left_out)
    assert fake.requests == []


def test_fix_without_any_key_exits_2_in_one_line(tmp_path):
    repo = make_repo(tmp_path / "calc")
    args = ["fix", "--text", BUG, "--repo", str(repo), "--test-cmd", TEST_CMD, "--sandbox", "local", "--json"]
    done = run_agent(tmp_path, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "no model of the planner's ladder can run here" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "agent-home" / "ledger.sqlite").exists()


def test_plan_without_any_key_shows_the_ladder_with_a_note(tmp_path):
    done = run_agent(tmp_path, "plan", "--text", BUG, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ladder"] == [
        "claude-opus-4-7@medium",
        "claude-opus-4-7@high",
        "claude-opus-4-7@xhigh",
        "claude-opus-4-7@max",
        "deepseek-v4-pro@high",
        "deepseek-v4-pro@max",
    ]
    assert data["note"] == (
        "no model of the planner's ladder can run here: claude-opus-4-7 (ANTHROPIC_API_KEY is not set); "
        "deepseek-v4-pro (DEEPSEEK_API_KEY is not set): set one of those keys, or try `agent demo` (no key needed)"
    )


def test_plain_plan_notes_the_model_it_left_out(tmp_path, make_fake, fake_env):
    done = run_agent(tmp_path, "plan", "--text", BUG, env=fake_env(make_fake(ESCALATE)))
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        "note: the planner left out deepseek-v4-pro (DEEPSEEK_API_KEY is not set)"
    ]
    assert "claude-opus-4-7@max" in done.stdout and "deepseek" not in done.stdout


def test_fix_with_defaults_and_only_the_anthropic_key_solves_on_claude(tmp_path, make_fake, fake_env):
    fake = make_fake(ESCALATE)
    repo = make_repo(tmp_path / "calc")
    issue = tmp_path / "issue.md"
    issue.write_text(ISSUE)
    args = ["fix", str(issue), "--repo", str(repo), "--test-cmd", TEST_CMD, "--sandbox", "local", "--json"]
    done = run_agent(tmp_path, *args, env=fake_env(fake))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["solved"]) == ("solved", True)
    assert [(a["model"], a["effort"], a["tests_passed"]) for a in result["attempts"]] == [
        ("claude-opus-4-7", "medium", False),
        ("claude-opus-4-7", "high", True),
    ]
    assert {request.body["model"] for request in fake.requests} == {"claude-opus-4-7"}


def test_bench_with_only_the_anthropic_key_plans_no_deepseek_rung(tmp_path, make_fake, fake_env):
    suite = make_suite(tmp_path / "suite", ["add"])
    fake = make_fake({"rules": [{"turns": [{"text": "Done."}]}]})
    done = run_agent(tmp_path, "bench", str(suite), "--sandbox", "local", "--json", env=fake_env(fake))
    assert done.returncode in (0, 1), (done.stdout, done.stderr)
    result = json.loads(done.stdout)
    [issue] = Ledger(tmp_path / "agent-home" / "ledger.sqlite").issues(result["run_id"])
    assert issue.key == "ops__add"
    assert issue.ladder == "claude-opus-4-7@medium,claude-opus-4-7@high,claude-opus-4-7@xhigh,claude-opus-4-7@max"
    assert {request.body["model"] for request in fake.requests} == {"claude-opus-4-7"}
