"""A fix that reaches its cap pauses (state `paused`, exit 75, its attempt's state saved) and `agent resume
RUN --max-cost NEW` goes on where it stopped: the same issue and attempt rows, the conversation taken up
at the turn that did not fit, then the ladder's next rung. The requests sent (but for the output limits
lowered to fit what was left before the pause) and the totals are those of an uninterrupted run with the
larger cap."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from agent.fake_provider import FakeProvider
from agent.ledger import Ledger
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent
from tests.fix_helpers import fix_args
from tests.repo_helpers import RIGHT_FIX, WRONG_FIX, edit_turn, git, plan_turn

LADDER = "claude-opus-4-7@medium,claude-opus-4-7@high"
LOOK = {"text": "Looking.", "tool_calls": [{"name": "bash", "input": {"command": "ls calc && git status --short"}}]}
TEST = {"text": "Testing.", "tool_calls": [{"name": "bash", "input": {"command": "python -m pytest -q || true"}}]}
SCRIPT = {
    "rules": [
        {"effort": "medium", "turns": [plan_turn(), LOOK, edit_turn(WRONG_FIX), TEST, {"text": "Done."}]},
        {"turns": [plan_turn(), LOOK, edit_turn(RIGHT_FIX), TEST, {"text": "Fixed."}]},
    ]
}
SMALL_TURNS = "[efforts.medium]\nmax_tokens = 600\n[efforts.high]\nmax_tokens = 600\n"
"""Small answers, so that a call's worst case is a small part of the run and the cap bites mid-attempt."""


def _fix(home: Path, repo: Path, issue: Path, fake: FakeProvider, env: dict[str, str], *extra: str) -> dict:
    done = run_agent(home, *fix_args(repo, issue, "--ladder", LADDER, "--sandbox", "local", *extra), env=env)
    assert done.code in (0, 75), done.stderr
    return {"code": done.code, **json.loads(done.stdout)}


def _bodies(fake: FakeProvider) -> list[str]:
    """The requests' bodies, with what differs between any two runs named alike: each local sandbox's
    folder, the thinking signatures (each fake server signs with its own secret), pytest's timings, and the
    output limit (lowered to fit what was left before a pause)."""
    texts = [re.sub(r" in \d+\.\d+s", " in Ts", json.dumps(request.body)) for request in fake.requests]
    texts = [re.sub(r'"max_tokens": \d+', '"max_tokens": N', text) for text in texts]
    texts = [re.sub(r"/[^\s\"']*agent-local-[^\s\"'/]*", "WORKDIR", text) for text in texts]
    return [re.sub(r'"signature": "[^"]*"', '"signature": ""', text) for text in texts]


def test_a_paused_fix_resumed_sends_what_an_uninterrupted_run_sends(tmp_path, repo, issue_file, make_fake, fake_env):
    (repo / "agent.toml").write_text(SMALL_TURNS)
    git(repo, "add", "agent.toml")
    git(repo, "commit", "-qm", "small answers")
    whole_fake = make_fake(SCRIPT)
    whole = _fix(tmp_path / "whole", repo, issue_file, whole_fake, fake_env(whole_fake), "--max-cost", "5")
    assert (whole["code"], whole["status"]) == (0, "solved")
    git(repo, "branch", "-D", whole["branch"])
    total = Decimal(str(whole["api_cost_usd"]))
    cap = total / 2

    home, paused_fake = tmp_path / "paused", make_fake(SCRIPT)
    env = fake_env(paused_fake)
    paused = _fix(home, repo, issue_file, paused_fake, env, "--max-cost", f"{cap:.6f}")
    assert (paused["code"], paused["status"]) == (75, "paused")
    assert f"agent resume {paused['run_id']} --max-cost" in paused["error"]
    assert Decimal(str(paused["api_cost_usd"])) <= cap
    assert git(repo, "branch", "--list", "agent/*") == ""  # nothing delivered while paused

    resumed_run = run_agent(home, "resume", paused["run_id"], "--max-cost", "5", "--json", env=env)
    assert resumed_run.code == 0, resumed_run.stderr
    resumed = json.loads(resumed_run.stdout)
    assert resumed["run_id"] == paused["run_id"] and resumed["status"] == "solved"
    sent, expected = _bodies(paused_fake), _bodies(whole_fake)
    assert sent == expected, _first_difference(sent, expected)  # the same requests, in the same order
    assert resumed["api_cost_usd"] == whole["api_cost_usd"]
    assert [(a["effort"], a["turns"], a["tests_passed"]) for a in resumed["attempts"]] == [
        (a["effort"], a["turns"], a["tests_passed"]) for a in whole["attempts"]
    ]
    ledger = Ledger(home / "agent-home" / "ledger.sqlite")
    assert len(ledger.issues(paused["run_id"])) == 1  # the same issue row went on
    assert ledger.run(paused["run_id"]).status == "finished"


def test_resume_refuses_a_run_that_is_not_paused(tmp_path, repo, issue_file, make_fake, fake_env):
    fake = make_fake(SCRIPT)
    done = _fix(tmp_path, repo, issue_file, fake, fake_env(fake))
    again = run_agent(tmp_path, "resume", done["run_id"], "--max-cost", "5", env=fake_env(fake))
    assert again.code == 2
    assert "is not paused (solved)" in again.stderr
    assert run_agent(tmp_path, "resume", "nosuch-run", env=fake_env(fake)).code == 2


def _first_difference(left: list[str], right: list[str]) -> str:
    for index, (one, two) in enumerate(zip(left, right, strict=False)):
        if one != two:
            at = next(i for i, (a, b) in enumerate(zip(one, two, strict=False)) if a != b)
            return f"request {index}: ...{one[at - 200 : at + 200]}... vs ...{two[at - 200 : at + 200]}..."
    return f"lengths {len(left)} and {len(right)}"


BATCH_TURNS = [
    {"text": "Looking.", "tool_calls": [{"name": "bash", "input": {"command": "cat ops/calc.py"}}]},
    {"text": "Counting.", "tool_calls": [{"name": "bash", "input": {"command": "wc -l ops/calc.py"}}]},
] * 4 + [{"text": "Done."}]


def _bench(home: Path, env: dict[str, str], *args: str) -> tuple[int, dict]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "agent.toml").write_text(SMALL_TURNS.replace("medium", "low", 1) + "[efforts.medium]\nmax_tokens = 600\n")
    done = run_agent(home, *args, "--json", env=env, cwd=home)
    assert done.code == 0, done.stderr
    return done.code, json.loads(done.stdout)  # a paused batch exits 0: its report says what paused


def _issue_rows(home: Path, run_id: str) -> list[tuple[str, str]]:
    return [(issue.key, issue.status) for issue in Ledger(home / "agent-home" / "ledger.sqlite").issues(run_id)]


@pytest.mark.docker
def test_a_paused_batch_resumed_ends_as_an_uninterrupted_one(tmp_path, make_fake, fake_env):
    suite = make_suite(tmp_path / "suite")
    args = ("bench", str(suite), "--ladder", "claude-opus-4-7@low,claude-opus-4-7@medium")
    whole_fake = make_fake({"rules": [{"turns": BATCH_TURNS}]})
    _, whole = _bench(tmp_path / "whole", fake_env(whole_fake), *args)
    assert whole["paused_ids"] == [] and len(whole["unresolved_ids"]) == 4

    home, fake = tmp_path / "paused", make_fake({"rules": [{"turns": BATCH_TURNS}]})
    cap = Decimal(str(whole["api_cost_usd"])) / 3
    _, paused = _bench(home, fake_env(fake), *args, "--max-cost", f"{cap:.6f}")
    assert paused["paused_ids"], (cap, _issue_rows(home, paused["run_id"]), whole["api_cost_usd"])
    assert Decimal(str(paused["api_cost_usd"])) <= cap
    run_id = paused["run_id"]
    assert Ledger(home / "agent-home" / "ledger.sqlite").run(run_id).status == "paused"

    _, resumed = _bench(home, fake_env(fake), "resume", run_id, "--max-cost", "50")
    assert resumed["run_id"] == run_id and resumed["paused_ids"] == []
    for field in ("api_cost_usd", "attempts", "resolved", "unresolved_ids", "error_ids"):
        assert resumed[field] == whole[field], field
    rows = _issue_rows(home, run_id)
    counted = [(key, status) for key, status in rows if status not in ("superseded",)]
    assert sorted(counted) == sorted(_issue_rows(tmp_path / "whole", whole["run_id"]))  # nothing lost or twice
    assert len(fake.requests) == len(whole_fake.requests)
