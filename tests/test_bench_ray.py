"""`agent bench --executor ray` on a local Ray: rows come back to the head's ledger, nothing is lost, and
the workers' provider gates share a quota error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.fake_provider.sim import sim_env, start_sim
from agent.ledger import Ledger
from agent.simulate.script import Fault
from tasks.loaders import load_tasks
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent_process

ray = pytest.importorskip("ray")


@pytest.mark.docker
def test_ray_executor_resolves_with_oracle_and_writes_the_head_ledger(tmp_path):
    suite = make_suite(tmp_path / "suite", ["add", "mul", "neg"])
    args = ["bench", str(suite), "--model", "oracle", "--executor", "ray", "--workers", "2", "--json"]
    # A process of its own: a local Ray session leaves state in its driver's process after ray.shutdown(), and
    # a later connection from that process to another cluster (test_bench_ray_cluster, in-process) loses its actors.
    done = run_agent_process(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["instances"], sorted(result["resolved_ids"])) == (3, ["ops__add", "ops__mul", "ops__neg"])
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    issues = ledger.issues(result["run_id"])
    assert sorted((issue.key, issue.status) for issue in issues) == [
        ("ops__add", "solved"),
        ("ops__mul", "solved"),
        ("ops__neg", "solved"),
    ]
    run_dir = tmp_path / "agent-home" / "runs" / result["run_id"]
    for issue in issues:
        assert Path(issue.patch_path).parent.parent == run_dir and "+    return" in Path(issue.patch_path).read_text()
        attempts = ledger.attempts(result["run_id"], issue.id)
        assert [(a.model, a.state, a.tests_passed) for a in attempts] == [("oracle", "finished", True)]
        kinds = [event.kind for event in ledger.events(result["run_id"]) if event.issue_id == issue.id]
        assert kinds[0] == "issue_started" and kinds[-1] == "issue_finished"
    lines = (run_dir / "predictions.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["instance_id"] for line in lines) == ["ops__add", "ops__mul", "ops__neg"]


def test_a_quota_one_ray_worker_found_pauses_the_other_workers_jobs_without_a_request(tmp_path):
    """Each Ray job has gates of its own; they share holds through the batch keeper, so the jobs that
    start after the first quota error pause without sending (on their own gates, all four would send)."""
    ids = ["inicfg__bool-off", "inicfg__parser-indent", "textkit__case-syntax", "tinyq__registry-decorator"]
    config = tmp_path / "agent.toml"
    config.write_text("[providers.sim]\nmax_retries = 0\n")
    tasks = [task for task in load_tasks("builtin", tmp_path / "agent-home") if task.instance_id in ids]
    args = ["bench", "builtin", "--ids", ",".join(ids), "--ladder", "sim-flash@low", "--workers", "2"]
    args += ["--sandbox", "local", "--executor", "ray", "--json"]
    with start_sim(tasks, faults=[Fault(quota=True, for_s=600)]) as fake:
        done = run_agent_process(tmp_path, *args, env={"AGENT_CONFIG": str(config), **sim_env(fake)})
        statuses = [request.status for request in fake.requests]
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert 1 <= len(statuses) <= 2 and set(statuses) == {400}  # the two first jobs may both send at once
    assert result["error_ids"] == [] and result["resolved_ids"] == []
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    assert [issue.status for issue in ledger.issues(result["run_id"])] == ["paused"] * 4
