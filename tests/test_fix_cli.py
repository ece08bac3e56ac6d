"""`agent fix` end to end, in-process: the real SDKs over HTTP to the fake provider, real Docker and git."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.ledger import Ledger
from tests.cli_helpers import run_agent
from tests.fix_helpers import ESCALATE, TEST_CMD, fix_args
from tests.repo_helpers import WRONG_FIX, edit_turn, fingerprint, git, plan_turn

NEVER = {"rules": [{"turns": [plan_turn(), edit_turn(WRONG_FIX), {"text": "Done."}]}]}


@pytest.mark.docker
def test_fails_at_medium_then_passes_at_high(tmp_path, repo, issue_file, make_fake, fake_env):
    before, head = fingerprint(repo), git(repo, "rev-parse", "HEAD")
    fake = make_fake(ESCALATE)
    done = run_agent(
        tmp_path, *fix_args(repo, issue_file, "--model", "claude-opus-4-7", "--effort", "medium"), env=fake_env(fake)
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["solved"], result["task_type"]) == ("solved", True, "bug_fix")
    assert [(a["effort"], a["tests_passed"], a["turns"]) for a in result["attempts"]] == [
        ("medium", False, 3),
        ("high", True, 3),
    ]
    assert result["branch"] == "agent/add-returns-the-wrong-sum"
    assert "return a + b" in git(repo, "show", f"{result['branch']}:calc/ops.py")
    assert git(repo, "rev-parse", f"{result['branch']}~1") == head
    assert fingerprint(repo) == before and git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""
    patch = Path(result["patch_path"]).read_text()
    assert "-    return a - b\n+    return a + b\n" in patch
    # Token columns are the sums of what the fake reported, Anthropic-style input = all prompt tokens.
    usages = [request.usage for request in fake.requests if request.usage]
    assert sum(a["input_tokens"] for a in result["attempts"]) == sum(
        u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"] for u in usages
    )
    assert sum(a["output_tokens"] for a in result["attempts"]) == sum(u["output_tokens"] for u in usages)
    assert result["review_minutes"] == 20.0
    assert result["total_cost_usd"] == pytest.approx(result["api_cost_usd"] + 20 * 100 / 60, abs=1e-6)
    trajectories = sorted(Path(result["patch_path"]).parent.glob("attempt-*.json"))
    assert [json.loads(t.read_text())["rung"] for t in trajectories] == [
        "claude-opus-4-7@medium",
        "claude-opus-4-7@high",
    ]


@pytest.mark.docker
def test_solved_at_first_rung_with_thinking_blocks_echoed(tmp_path, repo, issue_file, make_fake, fake_env):
    fake = make_fake(ESCALATE)
    done = run_agent(tmp_path, *fix_args(repo, issue_file, "--ladder", "claude-opus-4-7@high"), env=fake_env(fake))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [a["effort"] for a in result["attempts"]] == ["high"]
    second_turn = next(request.body["messages"] for request in fake.requests if len(request.body["messages"]) == 3)
    second_turn_assistant = second_turn[1]["content"]
    assert second_turn_assistant[0]["type"] == "thinking"
    assert second_turn_assistant[0]["signature"] == fake.sign("add() subtracts.")
    assert all(request.body["output_config"] == {"effort": "high"} for request in fake.requests)
    assert all(request.body["thinking"] == {"type": "adaptive"} for request in fake.requests)


@pytest.mark.docker
def test_ladder_exhausted_exits_1_and_leaves_no_branch(tmp_path, repo, issue_file, make_fake, fake_env):
    fake = make_fake(NEVER)
    done = run_agent(
        tmp_path,
        *fix_args(repo, issue_file, "--ladder", "claude-opus-4-7@low,claude-opus-4-7@medium"),
        env=fake_env(fake),
    )
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["branch"], result["patch_path"]) == ("unsolved", None, None)
    assert [a["tests_passed"] for a in result["attempts"]] == [False, False]
    assert git(repo, "branch", "--list", "agent/*") == ""


@pytest.mark.docker
def test_budget_cap_is_never_exceeded(tmp_path, repo, issue_file, make_fake, fake_env):
    long_plan = plan_turn("Plan: " + "look closely at every line. " * 40)
    edits = [
        edit_turn({"old_str": "a", "new_str": "a"}),
        {"text": "Again.", "tool_calls": [{"name": "bash", "input": {"command": "git diff"}}]},
    ]
    looping = {"rules": [{"turns": [long_plan] + edits * 20}]}  # busy but never the same call 3 times in a row
    fake = make_fake(looping)
    cap = "0.05"
    done = run_agent(
        tmp_path,
        *fix_args(repo, issue_file, "--ladder", "claude-opus-4-7@max,claude-opus-4-7@high", "--max-cost", cap),
        env=fake_env(fake),
    )
    assert done.returncode == 75, done.stderr  # paused: `agent resume RUN --max-cost MORE` goes on
    result = json.loads(done.stdout)
    assert result["status"] == "paused"
    assert len(result["attempts"]) == 1 and result["attempts"][0]["turns"] >= 2
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    calls = [call for attempt in ledger.attempts(result["run_id"]) for call in ledger.calls(attempt.id)]
    spent = sum(call.cost_usd for call in calls)
    assert spent <= Decimal(cap)
    assert Decimal(str(result["api_cost_usd"])) == spent.quantize(Decimal("0.000001"))
    [paused] = [event.data for event in ledger.events(result["run_id"], kinds=("issue_paused",))]
    assert paused["rungs_left"] == ["claude-opus-4-7@high"]  # not skipped: they run when the issue resumes
    assert ledger.events(result["run_id"], kinds=("rung_skipped",)) == []


@pytest.mark.docker
def test_overloaded_529s_are_retried_and_still_solved(tmp_path, repo, issue_file, make_fake, fake_env):
    script = {**ESCALATE, "faults": [{"status": 529, "count": 2, "retry_after": 0}]}
    fake = make_fake(script)
    done = run_agent(tmp_path, *fix_args(repo, issue_file, "--ladder", "claude-opus-4-7@high"), env=fake_env(fake))
    assert done.returncode == 0, done.stderr
    assert [request.status for request in fake.requests][:3] == [529, 529, 200]


@pytest.mark.docker
def test_openai_compatible_path_sends_reasoning_effort(tmp_path, repo, issue_file, make_fake, fake_env):
    fake = make_fake(ESCALATE)
    done = run_agent(
        tmp_path, *fix_args(repo, issue_file, "--model", "gpt-5", "--effort", "medium"), env=fake_env(fake, "openai")
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [(a["model"], a["effort"], a["tests_passed"]) for a in result["attempts"]] == [
        ("gpt-5", "medium", False),
        ("gpt-5", "high", True),
    ]
    efforts = [request.body["reasoning_effort"] for request in fake.requests]
    assert efforts == ["medium"] * 3 + ["high"] * 3


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_repo", "does not exist: pass --repo PATH to a git repository"),
        ("not_git", "is not a git repository"),
        ("empty_issue", "is empty: describe the bug or feature to fix"),
        ("bad_github_url", "is not a GitHub issue URL"),
        ("unknown_model", "unknown model mystery-9"),
        ("bad_effort", "unknown effort level 'loud'"),
        ("bad_ladder", "bad rung 'claude-opus-4-7'"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(tmp_path, repo, issue_file, free_port, case, message):
    args = fix_args(repo, issue_file, "--ladder", "claude-opus-4-7@high")
    env = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{free_port}"}
    if case == "missing_repo":
        args = fix_args(tmp_path / "nope", issue_file)
    elif case == "not_git":
        (tmp_path / "plain").mkdir()
        args = fix_args(tmp_path / "plain", issue_file)
    elif case == "empty_issue":
        (tmp_path / "empty.md").write_text("  \n")
        args = fix_args(repo, tmp_path / "empty.md")
    elif case == "bad_github_url":
        args = ["fix", "https://github.com/o/r/pull/3", "--repo", str(repo), "--test-cmd", TEST_CMD]
    elif case == "unknown_model":
        args = fix_args(repo, issue_file, "--model", "mystery-9")
    elif case == "bad_effort":
        args = fix_args(repo, issue_file, "--model", "claude-opus-4-7", "--effort", "loud")
    elif case == "bad_ladder":
        args = fix_args(repo, issue_file, "--ladder", "claude-opus-4-7")
    before = fingerprint(repo)
    done = run_agent(tmp_path, *args, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert fingerprint(repo) == before
