"""`agent bench --executor ray --ray-address` on a real Ray cluster started apart from the driver.

The cluster runs in an environment of its own: no provider key, another ANTHROPIC_BASE_URL (a
decoy fake provider), a private TMPDIR. The driver's settings must reach the tasks anyway, its
key must not land in the ledger or the run files, and a killed worker must not end the batch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from agent.core.owners import process_start
from agent.ledger import Ledger
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent, start_agent_process

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

KEY = "sk-ant-driver-only-7c1f0e93d2"
FIX = "cat > ops/calc.py <<'EOF'\ndef add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\nEOF"


def solve(delay_s: float = 0.0) -> dict:
    """One turn that fixes both tasks' functions (after `delay_s`), then Done."""
    fix = {"text": "Fixing.", "tool_calls": [{"name": "bash", "input": {"command": FIX}}], "delay_s": delay_s}
    return {"rules": [{"turns": [fix, {"text": "Done."}]}]}


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Cluster:
    address: str
    process: subprocess.Popen[bytes]
    tmpdir: Path

    def homes(self) -> list[str]:
        return sorted(path.name for path in self.tmpdir.glob("agent-ray-*"))

    def processes(self, title: bytes = b"") -> set[int]:
        """PIDs of this cluster's processes (the head's session) whose command line starts with `title`."""
        found = set()
        for entry in Path("/proc").iterdir():
            try:
                ours = entry.name.isdigit() and os.getsid(int(entry.name)) == self.process.pid
                if ours and (entry / "cmdline").read_bytes().startswith(title):
                    found.add(int(entry.name))
            except OSError:
                continue
        return found

    def job_workers(self) -> set[int]:
        """The workers running a `ray_job` task (Ray titles them ray::ray_job)."""
        return self.processes(b"ray::ray_job")


@pytest.fixture
def make_cluster() -> Iterator:
    """Start a one-node Ray head in its own session and environment; its processes are killed after."""
    started: list[Cluster] = []

    def make(env: dict[str, str]) -> Cluster:
        gcs, client, dashboard, agent = free_ports(4)
        tmpdir = Path(tempfile.mkdtemp(prefix="rc-"))  # short: Ray's socket paths live under it
        command = [
            str(Path(sys.executable).parent / "ray"),
            "start",
            "--head",
            "--block",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(gcs),
            "--num-cpus",
            "2",
            "--disable-usage-stats",
            "--include-dashboard=false",
            "--ray-client-server-port",
            str(client),
            "--dashboard-port",
            str(dashboard),
            "--dashboard-agent-listen-port",
            str(agent),
        ]
        full_env = {"PATH": os.environ["PATH"], "HOME": str(tmpdir), "TMPDIR": str(tmpdir), **env}
        process = subprocess.Popen(
            command, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        cluster = Cluster(f"127.0.0.1:{gcs}", process, tmpdir)
        started.append(cluster)
        deadline = time.monotonic() + 60
        while not list(tmpdir.glob("ray/session_*/logs/raylet.out")):
            assert process.poll() is None and time.monotonic() < deadline, "the Ray head did not start"
            time.sleep(0.5)
        return cluster

    yield make
    for cluster in started:
        for pid in cluster.processes():  # the head, its raylet and workers: every process of its session
            with contextlib.suppress(ProcessLookupError):  # it may have ended since it was listed
                os.kill(pid, signal.SIGKILL)
        cluster.process.wait()
        shutil.rmtree(cluster.tmpdir, ignore_errors=True)


def driver_env(fake, cluster: Cluster) -> dict[str, str]:
    """The driver's env: the key and the fake's base URL; TMPDIR shared with the cluster (one machine)."""
    return {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": fake.anthropic_base_url, "TMPDIR": str(cluster.tmpdir)}


def bench_args(suite: Path, cluster: Cluster, *extra: str) -> list[str]:
    return [
        "bench",
        str(suite),
        "--executor",
        "ray",
        "--ray-address",
        cluster.address,
        "--model",
        "claude-opus-4-7",
        "--workers",
        "2",
        "--sandbox",
        "local",
        "--json",
        *extra,
    ]


def test_tasks_use_the_drivers_key_and_base_url_not_the_clusters(tmp_path, make_fake, make_cluster):
    fake, decoy = make_fake(solve()), make_fake(solve())
    cluster = make_cluster({"ANTHROPIC_BASE_URL": decoy.anthropic_base_url})
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    done = run_agent(tmp_path, *bench_args(suite, cluster), env=driver_env(fake, cluster))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    resolved = sorted(result["resolved_ids"])
    assert (result["instances"], resolved, result["error_ids"]) == (2, ["ops__add", "ops__mul"], [])
    assert (len(fake.requests), len(decoy.requests)) == (4, 0)  # two turns a task, all to the driver's endpoint
    assert {request.headers["authorization"] for request in fake.requests} == {f"Bearer {KEY}"}
    home = tmp_path / "agent-home"
    written = [path for path in home.rglob("*") if path.is_file()]
    assert home / "ledger.sqlite" in written and (home / "runs" / result["run_id"] / "report.json") in written
    assert [path for path in written if KEY.encode() in path.read_bytes()] == []
    assert KEY not in done.stdout + done.stderr
    logs = [path for path in cluster.tmpdir.glob("ray/session_*/logs/*") if path.is_file()]
    assert len(logs) > 10 and [path.name for path in logs if KEY.encode() in path.read_bytes()] == []
    assert cluster.homes() == []


def test_a_driver_without_the_models_key_is_refused_before_any_task_runs(tmp_path, make_fake):
    suite = make_suite(tmp_path / "suite", ["add"])
    args = ["bench", str(suite), "--executor", "ray", "--ray-address", "127.0.0.1:1", "--model", "claude-opus-4-7"]
    done = run_agent(tmp_path, *args, "--sandbox", "local", "--json")
    message = (
        "ANTHROPIC_API_KEY is not set: export it (or point ANTHROPIC_BASE_URL at a compatible endpoint "
        "and set a key for it)"
    )
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"status": "error", "error_kind": "config", "error": message, "exit_code": 2}
    assert done.stderr.strip().splitlines()[-1] == f"error: {message}"


def first_turns(fake) -> int:
    """Requests that opened a conversation (one message: the task)."""
    return sum(len(request.body["messages"]) == 1 for request in fake.requests)


def kill_worker(cluster: Cluster, spared: set[int], fake, opened: int, deadline: float) -> int:
    """SIGKILL the cluster's ray_job worker not in `spared` once `opened` conversations were opened."""
    while True:
        assert time.monotonic() < deadline, f"no worker to kill: {len(fake.requests)} requests"
        running = cluster.job_workers() - spared
        if running and first_turns(fake) >= opened:
            victim = min(running)
            os.kill(victim, signal.SIGKILL)
            return victim
        time.sleep(0.1)


def test_a_killed_worker_is_retried_then_recorded_as_infra_error_and_resume_runs_it(tmp_path, make_fake, make_cluster):
    fake = make_fake(solve(delay_s=8.0))  # each task's first turn takes 8 s: time to kill its worker
    cluster = make_cluster({})
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    runner = start_agent_process(
        tmp_path, *bench_args(suite, cluster, "--run-id", "lost"), env=driver_env(fake, cluster)
    )
    deadline = time.monotonic() + 120
    first = kill_worker(cluster, set(), fake, 2, deadline)  # both tasks wait on their first turn
    other = cluster.job_workers() - {first}
    second = kill_worker(cluster, other | {first}, fake, 3, deadline)  # Ray's retry of the killed job, mid-turn
    out, err = runner.communicate(timeout=120)
    assert runner.returncode == 0, err
    result = json.loads(out)
    [lost] = result["error_ids"]
    [solved] = result["resolved_ids"]
    assert (result["instances"], sorted([lost, solved])) == (2, ["ops__add", "ops__mul"])
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    rows = {issue.key: (issue.status, issue.error_kind, issue.error) for issue in ledger.issues("lost")}
    assert rows == {
        solved: ("solved", None, None),
        lost: (
            "error",
            "infra",
            "the Ray worker running it was lost 2 times (WorkerCrashedError): resume the run to run it again",
        ),
    }
    assert (first != second, first_turns(fake), len(fake.requests)) == (True, 3, 4)  # + the survivor's 2nd turn
    assert cluster.homes() == []  # the killed workers' homes (their sandbox copies inside) were reaped

    resume = ["--resume", "lost", "--executor", "ray", "--ray-address", cluster.address, "--sandbox", "local"]
    again = run_agent(tmp_path, "bench", *resume, "--json", env=driver_env(fake, cluster))
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert (sorted(resumed["resolved_ids"]), resumed["error_ids"]) == (["ops__add", "ops__mul"], [])
    statuses = sorted((issue.key, issue.status) for issue in ledger.issues("lost"))
    assert statuses == sorted([(lost, "superseded"), (lost, "solved"), (solved, "solved")])
    assert len(fake.requests) == 6  # the resumed task's two turns
    assert cluster.homes() == []


@pytest.mark.docker
def test_sandbox_prune_removes_the_homes_of_gone_workers_only(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    temp = tmp_path / "tmp"
    stale = temp / f"agent-ray-{dead_pid}-1-abc"
    reused = temp / f"agent-ray-{os.getpid()}-1-def"  # this pid now names a process started at another time
    live = temp / f"agent-ray-{os.getpid()}-{process_start(os.getpid())}-ghi"
    other = temp / "agent-ray-notes"
    for path in (stale / "tmp", reused, live, other):
        path.mkdir(parents=True)
    done = run_agent(tmp_path, "sandbox", "prune", env={"TMPDIR": str(temp)})
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in temp.iterdir()) == [live.name, "agent-ray-notes"]
    assert done.stdout.splitlines()[:2] == sorted(
        f"removed {path} (Ray worker's home, its process is gone)" for path in (stale, reused)
    )


def join_node(cluster: Cluster, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A second Ray node on this machine, joined to `cluster`, in a session of its own (to be killed whole)."""
    dashboard_agent, node_manager, object_manager, metrics, runtime_env = free_ports(5)
    command = [str(Path(sys.executable).parent / "ray"), "start", "--block", "--address", cluster.address]
    command += ["--node-ip-address", "127.0.0.1", "--num-cpus", "2", "--disable-usage-stats"]
    command += ["--dashboard-agent-listen-port", str(dashboard_agent), "--node-manager-port", str(node_manager)]
    command += ["--object-manager-port", str(object_manager), "--metrics-export-port", str(metrics)]
    command += ["--runtime-env-agent-port", str(runtime_env)]
    full_env = {"PATH": os.environ["PATH"], "HOME": str(cluster.tmpdir), "TMPDIR": str(cluster.tmpdir), **env}
    quiet = subprocess.DEVNULL
    return subprocess.Popen(command, env=full_env, stdout=quiet, stderr=quiet, start_new_session=True)


def session_of(process: subprocess.Popen[bytes]) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == process.pid:
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def test_a_node_killed_mid_batch_loses_and_duplicates_nothing(tmp_path, make_fake, make_cluster):
    names = ["add", "mul", "neg", "half", "sub", "square"]
    fake = make_fake({"rules": [{"turns": [{"text": "Looking.", "delay_s": 3.0}, {"text": "Done."}]}]})
    cluster = make_cluster({})
    node = join_node(cluster, {})
    try:
        deadline = time.monotonic() + 60
        while len(cluster.processes(b"ray::")) + len(session_of(node)) < 3:  # the second raylet is up
            assert time.monotonic() < deadline and node.poll() is None, "the second node did not start"
            time.sleep(0.5)
        suite = make_suite(tmp_path / "suite", names)
        args = bench_args(suite, cluster, "--run-id", "nodes").copy()
        args[args.index("--workers") + 1] = "4"
        runner = start_agent_process(tmp_path, *args, env=driver_env(fake, cluster))
        while first_turns(fake) < 4 and time.monotonic() < deadline + 60:  # jobs in flight on both nodes
            time.sleep(0.1)
        killed = session_of(node)
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        out, err = runner.communicate(timeout=240)
    finally:
        for pid in session_of(node):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        node.wait()
    assert runner.returncode == 0, err
    assert len(killed) >= 2  # the node's raylet and its workers
    result = json.loads(out)
    rows = Ledger(tmp_path / "agent-home" / "ledger.sqlite").issues("nodes")
    counted = [issue for issue in rows if issue.status != "superseded"]
    assert sorted(issue.key for issue in counted) == sorted(f"ops__{name}" for name in names)  # once each
    assert result["instances"] == len(names) and result["error_ids"] == []  # none lost: Ray ran them again
    assert {issue.status for issue in counted} == {"unsolved"}
    # every request the provider received is billed: the calls of the killed node's tries too (they
    # never sent their rows back), in flight there, so at their worst case
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    calls = [call for attempt in ledger.attempts("nodes") for call in ledger.calls(attempt.id)]
    calls += [call for issue in rows for call in ledger.issue_calls(issue.id)]
    lost = [call for call in calls if call.purpose == "lost"]
    assert len(lost) >= 2 and {call.status for call in lost} == {"unsettled"}, lost
    assert all(call.reserved_usd and call.cost_usd == call.reserved_usd for call in lost)
    assert len(calls) >= len(fake.requests)
    assert ledger.spent("nodes") == sum((call.spend_usd or 0 for call in calls), Decimal(0))
    groups = json.loads(run_agent(tmp_path, "report", "nodes", "--json").stdout)["groups"]
    assert sum(group["lost_worker_calls"] for group in groups) == len(lost)
    assert sum(group["lost_worker_cost_usd"] for group in groups) == pytest.approx(
        float(sum((call.reserved_usd or 0 for call in lost), Decimal(0))), abs=1e-5
    )
