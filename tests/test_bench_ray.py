"""`agent bench --executor ray` on a local Ray: rows come back to the head's ledger, nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.ledger import Ledger
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
