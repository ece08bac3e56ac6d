"""Containers never outlive their runner: signals, SIGKILL + reaping, prune."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import docker
import pytest
from sandbox_helpers import ensure_image, make_repo, needs_docker, subprocess_env

from agent.core.config import SandboxConfig
from sandboxes import lifecycle
from sandboxes.docker_sandbox import DockerSandbox
from tests.cli_helpers import run_agent

RUNNER = """
import sys, time
from pathlib import Path
from agent.core.config import SandboxConfig
from sandboxes.docker_sandbox import DockerSandbox
box = DockerSandbox(SandboxConfig(), Path(sys.argv[1]), sys.argv[2], sys.argv[3])
print(box.container.id, flush=True)
time.sleep(120)
"""


def start_runner(tmp_path: Path, run_id: str) -> tuple[subprocess.Popen[str], str]:
    repo, sha = make_repo(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(repo), sha, run_id],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    assert proc.stdout is not None
    container_id = proc.stdout.readline().strip()
    assert container_id, "the runner did not create a sandbox"
    return proc, container_id


def exists(client: docker.DockerClient, container_id: str) -> bool:
    try:
        client.containers.get(container_id)
    except docker.errors.NotFound:
        return False
    return True


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    ensure_image(SandboxConfig().image)
    return docker.from_env()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@needs_docker
def test_signal_to_the_runner_removes_its_container(
    tmp_path: Path, client: docker.DockerClient, signum: signal.Signals
) -> None:
    proc, container_id = start_runner(tmp_path, f"test-{signum.name.lower()}")
    assert exists(client, container_id)
    proc.send_signal(signum)
    proc.wait(timeout=90)  # its cleanup stops and removes the container: slow on a loaded engine
    assert proc.returncode != 0
    assert not exists(client, container_id)


def killed_runner(tmp_path: Path, run_id: str) -> tuple[subprocess.Popen[str], str]:
    """A runner SIGKILLed with its sandbox still there: an orphan."""
    tmp_path.mkdir()
    proc, container_id = start_runner(tmp_path, run_id)
    proc.kill()
    proc.wait(timeout=30)
    return proc, container_id


# Every agent process reaps orphans once, at its first sandbox: one started by a test running beside
# these may remove the orphan first. Then it is gone but not in our list, and the case runs again.
TRIES = 3


@needs_docker
def test_sigkilled_runner_leaves_an_orphan_that_reap_removes(tmp_path: Path, client: docker.DockerClient) -> None:
    for attempt in range(TRIES):
        _proc, container_id = killed_runner(tmp_path / str(attempt), "test-sigkill")
        removed = lifecycle.reap_orphans(client, run="test-sigkill")
        assert not exists(client, container_id)
        if container_id[:12] in [item.id for item in removed]:
            return
    pytest.fail(f"another process reaped the orphan first {TRIES} times")


@needs_docker
def test_prune_command_names_what_it_removed(tmp_path: Path, client: docker.DockerClient) -> None:
    for attempt in range(TRIES):
        proc, container_id = killed_runner(tmp_path / str(attempt), "test-prune-cli")
        name = client.containers.get(container_id).name
        done = run_agent(tmp_path, "sandbox", "prune", "--run", "test-prune-cli")
        assert done.returncode == 0, done.stderr
        assert not exists(client, container_id)
        owner = f"{socket.gethostname()}:{proc.pid}"
        line = f"removed {container_id[:12]} {name} (run test-prune-cli, owner {owner}: owner process gone)"
        if line in done.stdout.splitlines():
            return
    pytest.fail(f"another process reaped the orphan first {TRIES} times")


@needs_docker
def test_prune_all_removes_live_sandboxes_too(tmp_path: Path, client: docker.DockerClient) -> None:
    repo, sha = make_repo(tmp_path)
    with DockerSandbox(SandboxConfig(), repo, sha, "test-prune-all") as box:
        assert box.container.short_id not in [item.id for item in lifecycle.prune(client=client)]
        with DockerSandbox(SandboxConfig(), repo, sha, "test-prune-all-other") as other:
            # scoped to its run, so the live sandboxes of tests running beside this one are left alone
            removed = lifecycle.prune(all=True, client=client, run="test-prune-all")
            assert [(item.id, item.run, item.reason) for item in removed] == [
                (box.container.short_id, "test-prune-all", "prune --all")
            ]
            assert exists(client, other.container.id)
    assert not exists(client, box.container.id)


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    ("labels", "gone"),
    [
        ({"agent.owner": f"{socket.gethostname()}:{os.getpid()}"}, False),
        ({"agent.owner": f"some-other-host:{os.getpid()}"}, False),
        ({"agent.owner": "garbage"}, False),
        ({}, False),
        ({"agent.owner": f"{socket.gethostname()}:{dead_pid()}"}, True),
        ({"agent.owner": f"{socket.gethostname()}:{os.getpid()}", "agent.owner_start": "1"}, True),
    ],
    ids=["live-owner", "other-host", "malformed", "no-label", "dead-owner", "reused-pid"],
)
def test_owner_is_gone_only_for_dead_owners_on_this_host(labels: dict[str, str], gone: bool) -> None:
    assert lifecycle.owner_is_gone(labels) is gone


def test_owner_labels_name_the_run_and_this_process() -> None:
    labels = lifecycle.owner_labels("run-1")
    assert labels["agent.run"] == "run-1"
    assert labels["agent.owner"] == f"{socket.gethostname()}:{os.getpid()}"
    assert labels["agent.owner_start"] == lifecycle.process_start(os.getpid())


def test_close_all_runs_every_registered_closer_once() -> None:
    calls: list[str] = []
    lifecycle.register(1001, lambda: calls.append("a"))
    lifecycle.register(1002, lambda: calls.append("b"))
    lifecycle.unregister(1002)
    lifecycle.close_all()
    lifecycle.close_all()
    assert calls == ["a"]
