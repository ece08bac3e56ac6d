"""A large batch on a 2-node Ray cluster on this machine, one node killed mid-batch, against local threads.

The suite is `generated:N` (N distinct small repositories, each with a real failing test), served by
the simulated population (`sim-*` over the fake provider's real HTTP APIs). Two `ray start` nodes
run here, each in a session of its own (the head with `--head`, the other joining it; one temporary
folder, as on one machine), each talking to the Docker engine itself; the driver (`run_bench` in this process)
picks each task's image and joins with `--ray-address`. When `--kill-after` jobs have finished,
every process of the second node (its raylet, its workers) is killed: its jobs in flight are lost
and Ray runs them again on the head's node. Checked at the end: every task has exactly one counted
issue row, none lost (no infra errors), none twice; the API $ the ledger holds, with the calls the
lost node's workers made (billed from the batch keeper's record of them).

Then the same suite on local threads (same workers, same sandbox) for the efficiency, and where a
Ray job's time goes: to start (handed to Ray -> its issue row began), the job itself, to import.

Usage: python benchmarks/ray_cluster.py [--tasks 300] [--workers 4] [--sandbox docker|local]
       [--kill-after 100] [--ladder sim-flash@medium,sim-pro@high] [--skip-local]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.bench.jobs import BenchOptions
from agent.bench.run import run_bench
from agent.fake_provider.sim import sim_env, start_sim
from agent.ledger import Ledger
from agent.wiring.options import load_run_config
from tasks.loaders import load_tasks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ray_node(tmpdir: Path, cpus: int, head_port: int, head: bool) -> subprocess.Popen[bytes]:
    """One `ray start --block` node in a session of its own (so it can be killed whole)."""
    command = [str(Path(sys.executable).parent / "ray"), "start", "--block", "--node-ip-address", "127.0.0.1"]
    command += ["--num-cpus", str(cpus), "--disable-usage-stats"]
    if head:
        command += ["--head", "--port", str(head_port), "--include-dashboard=false"]
        command += ["--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port())]
    else:
        command += ["--address", f"127.0.0.1:{head_port}", "--dashboard-agent-listen-port", str(free_port())]
    command += ["--node-manager-port", str(free_port()), "--object-manager-port", str(free_port())]
    command += ["--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port())]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmpdir), "TMPDIR": str(tmpdir)}  # the cluster's own, no keys
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def session_pids(process: subprocess.Popen[bytes]) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == process.pid:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def kill_node(process: subprocess.Popen[bytes]) -> int:
    pids = session_pids(process)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    process.wait()
    return len(pids)


def wait_nodes(address: str, count: int, deadline_s: float = 90) -> float:
    import ray

    started = time.perf_counter()
    ray.init(address=address, log_to_driver=False)
    try:
        while len([node for node in ray.nodes() if node["Alive"]]) < count:
            if time.perf_counter() - started > deadline_s:
                raise SystemExit(f"only {len(ray.nodes())} Ray node(s) came up")
            time.sleep(0.2)
    finally:
        ray.shutdown()
    return time.perf_counter() - started


def run(options: BenchOptions, home: Path, env: dict[str, str], on_job: Any = None) -> dict[str, Any]:
    env = {**env, "AGENT_HOME": str(home), "AGENT_CONFIG": os.devnull}
    handed: dict[str, float] = {}
    done_at: dict[str, float] = {}

    def on_start(_total: int, _run_id: str) -> None:
        handed["start"] = time.time()

    def on_done(job: Any, _issue: Any, _spent: Any) -> None:
        done_at[job.key] = time.time()
        if on_job is not None:
            on_job(len(done_at))

    started = time.perf_counter()
    result = run_bench(options, load_run_config(options, Path.cwd(), env), env, on_done, on_start)
    wall = time.perf_counter() - started
    ledger = Ledger(home / "ledger.sqlite")
    issues = ledger.issues(result["run_id"])
    counted = [issue for issue in issues if issue.status != "superseded"]
    per_key = Counter(issue.key for issue in counted)
    jobs = [(issue.finished_at or issue.started_at) - issue.started_at for issue in counted]
    imports = [done_at[issue.key] - (issue.finished_at or 0) for issue in counted if issue.key in done_at]
    return {
        "result": result,
        "wall": wall,
        "statuses": Counter(issue.status for issue in counted),
        "errors": Counter(issue.error_kind for issue in counted if issue.status == "error"),
        "twice": sorted(key for key, count in per_key.items() if count > 1),
        "keys": len(per_key),
        "job_median": median(jobs) if jobs else 0.0,
        "job_sum": sum(jobs),
        "import_median": median(imports) if imports else 0.0,
        "first_start": min(issue.started_at for issue in counted) - handed["start"],
    }


def report(name: str, row: dict[str, Any], tasks: int, workers: int) -> None:
    result = row["result"]
    print(
        f"{name}: {tasks} tasks, {row['keys']} with a row, resolved {result['resolved']}, "
        f"statuses {dict(row['statuses'])}, errors {dict(row['errors']) or 0}, twice {len(row['twice'])}; "
        f"wall {row['wall']:.1f} s = {tasks / row['wall'] * 60:.1f} tasks/min; API ${result['api_cost_usd']:.4f}, "
        f"of which {result['lost_worker_calls']} call(s) of lost workers ${result['lost_worker_cost_usd']:.4f}"
    )
    busy = row["job_sum"] / (row["wall"] * workers)
    print(
        f"  where the time goes: first job began {row['first_start']:.2f} s after the batch started; "
        f"job median {row['job_median']:.2f} s; import median {row['import_median'] * 1000:.0f} ms; "
        f"slots busy in jobs {busy:.0%} of wall x workers"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sandbox", default="docker")
    parser.add_argument("--kill-after", type=int, default=100, help="Kill the second node after this many jobs.")
    parser.add_argument("--ladder", default="sim-flash@medium,sim-pro@high")
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rcb-") as folder:
        root = Path(folder)
        began = time.perf_counter()
        tasks = load_tasks(f"generated:{args.tasks}", root / "home-ray")
        load_tasks(f"generated:{args.tasks}", root / "home-local")
        print(f"suite generated:{args.tasks}: {len(tasks)} tasks in {time.perf_counter() - began:.1f} s")
        with start_sim(tasks) as fake:
            env = {**os.environ, **sim_env(fake)}
            options = BenchOptions(
                suite=f"generated:{args.tasks}", ladder=args.ladder, workers=args.workers, sandbox=args.sandbox
            )
            port, shared = free_port(), root / "t"  # one machine: the nodes and the driver share a temp dir
            shared.mkdir()
            os.environ["TMPDIR"], tempfile.tempdir = str(shared), None
            head = ray_node(shared, args.workers // 2, port, head=True)
            while not list(shared.glob("ray/session_*/logs/raylet.out")):
                time.sleep(0.2)
            node = ray_node(shared, args.workers - args.workers // 2, port, head=False)
            nodes: dict[str, Any] = {}
            try:
                boot = wait_nodes(f"127.0.0.1:{port}", 2)
                print(f"2 Ray nodes up ({args.workers // 2} + {args.workers - args.workers // 2} CPUs) in {boot:.1f} s")

                def kill_at(finished: int) -> None:
                    if finished == args.kill_after and "killed" not in nodes:
                        nodes["killed"] = (time.perf_counter(), kill_node(node))
                        print(f"  killed the second node after {finished} jobs ({nodes['killed'][1]} processes)")

                ray_options = options.model_copy(update={"executor": "ray", "ray_address": f"127.0.0.1:{port}"})
                ray_row = run(ray_options, root / "home-ray", env, kill_at)
            finally:
                kill_node(node)
                kill_node(head)
            report(f"ray, 2 nodes, {args.workers} workers", ray_row, args.tasks, args.workers)
            if not args.skip_local:
                local_row = run(options, root / "home-local", env)
                report(f"local threads, {args.workers} workers", local_row, args.tasks, args.workers)
                ratio = local_row["wall"] / ray_row["wall"]
                print(f"efficiency (local wall / ray wall, same machine, same workers): {ratio:.2f}")


if __name__ == "__main__":
    main()
