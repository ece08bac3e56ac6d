"""A batch against the simulated population through the fake provider while it answers every request
429 for a while (a quota storm): the run's provider gate holds the provider and resumes it, so no task
fails and the same tasks are solved as without the storm; the holds are in `agent stats`. A quota
error pauses the batch's issues instead of failing them. In-process CLI, real SDK, local sandboxes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.fake_provider.sim import sim_env, start_sim
from agent.ledger import Ledger
from agent.simulate.script import Fault
from tasks.loaders import load_tasks
from tests.cli_helpers import run_agent

IDS = ["inicfg__bool-off", "inicfg__parser-indent", "textkit__case-syntax", "tinyq__registry-decorator"]
LADDER = "sim-flash@low,sim-pro@medium"
NO_SDK_RETRIES = "[providers.sim]\nmax_retries = 0\n"
"""The SDK gives up on the first 429: the gate is what waits."""


def bench(home: Path, faults: list[Fault]) -> tuple[dict[str, Any], list[int]]:
    """`agent bench` of IDS on 2 workers against the sim population with `faults`: its JSON result and
    the statuses the fake answered."""
    config = home / "agent.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(NO_SDK_RETRIES)
    tasks = [task for task in load_tasks("builtin", home / "agent-home") if task.instance_id in IDS]
    args = ["--ids", ",".join(IDS), "--ladder", LADDER, "--workers", "2", "--sandbox", "local", "--json"]
    with start_sim(tasks, faults=faults) as fake:
        done = run_agent(home, "bench", "builtin", *args, env={"AGENT_CONFIG": str(config), **sim_env(fake)})
        answered = [request.status for request in fake.requests]
    assert done.code == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result, answered


@pytest.mark.slow
def test_a_quota_storm_holds_and_resumes_the_batch_with_no_failed_task(tmp_path):
    calm, calm_statuses = bench(tmp_path / "calm", [])
    stormy, stormy_statuses = bench(tmp_path / "storm", [Fault(status=429, retry_after=5, for_s=8)])
    refusals = stormy_statuses.count(429)
    assert calm_statuses.count(429) == 0 and refusals >= 2  # the first 429, and the probe 5 s later
    assert (stormy["instances"], stormy["error_ids"]) == (4, [])
    assert sorted(stormy["resolved_ids"]) == sorted(calm["resolved_ids"]) and calm["resolved_ids"]
    assert stormy["failed_calls"] == refusals  # each 429 an unbilled call row, none a failed task
    ledger = Ledger(tmp_path / "storm" / "agent-home" / "ledger.sqlite")
    assert {issue.status for issue in ledger.issues(stormy["run_id"])} <= {"solved", "unsolved"}
    [hold] = ledger.holds(stormy["run_id"])
    assert (hold.provider, hold.reason, hold.refusals, hold.outcome) == ("sim", "rate_limit", refusals, "released")
    assert 8 <= hold.waited_s < 16
    stats = run_agent(tmp_path / "storm", "stats", stormy["run_id"], "--json")
    [row] = json.loads(stats.stdout)["rate_limits"]
    assert row == {
        "provider": "sim",
        "holds": 1,
        "waited_s": hold.waited_s,
        "refusals": refusals,
        "quota_stops": 0,
        "rate_limit_pauses": 0,
    }
    shown = run_agent(tmp_path / "storm", "stats", stormy["run_id"]).stdout
    assert "rate limits and quotas (providers held)" in shown
    assert f"│ sim      │     1 │ {hold.waited_s:>14.1f} │ {refusals:>8} │" in shown


@pytest.mark.slow
def test_a_quota_error_pauses_the_batchs_issues_instead_of_failing_them(tmp_path):
    result, statuses = bench(tmp_path, [Fault(quota=True, for_s=600)])
    assert statuses == [400]  # one request: out of credit; no other caller sends to it again
    assert result["error_ids"] == [] and result["resolved_ids"] == []
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    assert [issue.status for issue in ledger.issues(result["run_id"])] == ["paused"] * 4
    [hold] = ledger.holds(result["run_id"])
    assert (hold.provider, hold.reason, hold.refusals, hold.outcome) == ("sim", "quota", 1, "paused")
