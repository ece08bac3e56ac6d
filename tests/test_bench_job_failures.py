"""`run_job` never lets an exception leave its issue row `running`: it becomes an infra error and the batch goes on."""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from agent.bench.batch_budget import BatchBudget
from agent.bench.jobs import Bench, BenchOptions, plan_jobs, run_job, select_tasks
from agent.core.config import load_config
from agent.ledger import Ledger
from agent.wiring import model_factory, run_setup
from tests.bench_helpers import make_suite


@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_non_agent_exception_closes_the_row_as_an_infra_error_and_the_next_job_runs(
    tmp_path: Path, sandbox: str
) -> None:
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AGENT_HOME": str(tmp_path / "agent-home"),
        "AGENT_CONFIG": os.devnull,
    }
    config = load_config(project_dir=tmp_path, overrides={"sandbox.kind": sandbox}, env=env)
    ledger = Ledger(config.ledger_path)
    options = BenchOptions(suite=str(suite), model="oracle")
    first, second = plan_jobs(select_tasks(options, config.home), options, config)
    run_id = ledger.create_run("bench", {}, config.review.hourly_rate_usd)
    ctx = run_setup(config, ledger, run_id, env, deliver_branch=False, make_model=model_factory(config, env))
    bench = Bench(
        ctx=ctx, batch=BatchBudget(None, Decimal(0)), grid=False, issue_cap=None, lock=threading.Lock(), options=options
    )
    # A repository path the OS refuses (ValueError from the os layer: not one of our errors), met
    # after run_issue added the issue row.
    broken = first.task.model_copy(update={"repo_path": f"{first.task.repo_path}\0gone"})
    first_id = run_job(bench, first.model_copy(update={"task": broken}))
    second_id = run_job(bench, second)
    assert (first_id, second_id) == (1, 2)
    rows = [(i.id, i.key, i.status, i.error_kind) for i in ledger.issues(run_id)]
    assert rows == [(1, "ops__add", "error", "infra"), (2, "ops__mul", "solved", None)]
    # The OS's ValueError as it is (docker: met preparing the environment), or the base check's
    # one line naming the path (local: the check before any model call meets it first).
    error = ledger.issues(run_id)[0].error or ""
    assert error == "ValueError: embedded null byte" or ("checking ops__add at its base failed" in error), error
