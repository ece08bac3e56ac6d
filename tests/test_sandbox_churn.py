"""Reaping and batches survive other processes creating and removing labelled containers at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from sandbox_helpers import ensure_image, needs_docker, subprocess_env

from agent.core.config import SandboxConfig
from agent.ledger import Ledger
from sandboxes import lifecycle
from sandboxes.engine import already_gone
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent

# Another process: create a container labelled as a sandbox (half with a dead owner, which
# reap_orphans goes for, half owned by this process) and remove it at once, in a tight loop, until
# the deadline; then print how many it created.
CHURN = """
import os, socket, subprocess, sys, time
import docker
dead = subprocess.Popen(["true"]); dead.wait()
api = docker.from_env().api
run, image, deadline = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[3])
created = 0
while time.time() < deadline:
    owner = f"{socket.gethostname()}:{dead.pid if created % 2 else os.getpid()}"
    try:
        cid = api.create_container(image, ["true"], labels={"agent.run": run, "agent.owner": owner})["Id"]
        created += 1
        api.remove_container(cid, force=True)
    except docker.errors.APIError:
        pass
print(created, flush=True)
"""


def start_churn(run: str, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHURN, run, SandboxConfig().image, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )


@pytest.fixture
def client() -> Iterator[docker.DockerClient]:
    ensure_image(SandboxConfig().image)
    client = docker.from_env()
    yield client
    for listed in client.api.containers(all=True, filters={"label": "agent.run=churn"}):
        try:
            client.api.remove_container(listed["Id"], force=True)
        except docker.errors.APIError as exc:  # the killed churn's last removal may still be under way
            assert already_gone(exc), exc
    client.close()


@needs_docker
def test_reap_orphans_never_raises_while_another_process_churns_containers(client: docker.DockerClient) -> None:
    churn = start_churn("churn", 20)
    time.sleep(1)  # the churn's interpreter and client are up
    calls, failures = 0, []
    while churn.poll() is None:
        calls += 1
        try:
            lifecycle.reap_orphans(client)
        except Exception as exc:  # what we count: any exception at all
            failures.append(f"{type(exc).__name__}: {exc}")
    created = int(churn.communicate()[0])
    print(f"reap_orphans calls={calls} exceptions={len(failures)} churned containers={created}")
    assert failures == []
    assert calls > 100 and created > 100  # both sides really ran in a loop


@needs_docker
def test_two_task_docker_bench_completes_while_containers_churn(tmp_path: Path, client: docker.DockerClient) -> None:
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    churn = start_churn("churn", 600)
    try:
        done = run_agent(
            tmp_path, "bench", str(suite), "--model", "oracle", "--sandbox", "docker", "--run-id", "churned", "--json"
        )
    finally:
        churn.kill()
        churn.communicate()
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "bench run churned: 2 job(s)",
        "1/2 ops__add: solved  (1 solved 0 failed API $0.0000)",
        "2/2 ops__mul: solved  (2 solved 0 failed API $0.0000)",
    ]
    result = json.loads(done.stdout)
    assert (result["resolved_ids"], result["error_ids"]) == (["ops__add", "ops__mul"], [])
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    assert [(issue.key, issue.status) for issue in ledger.issues("churned")] == [
        ("ops__add", "solved"),
        ("ops__mul", "solved"),
    ]
    assert [attempt.state for attempt in ledger.attempts("churned")] == ["finished", "finished"]
    run = ledger.run("churned")
    assert run is not None and run.status == "finished"
