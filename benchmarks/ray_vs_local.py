"""`agent bench` on local threads vs on Ray (a local one-node cluster), same suite, same workers.

The oracle model over 10 generated tasks (tests/bench_helpers.make_suite), `--sandbox local` by
default (no Docker needed), 2 workers. Both runs call `run_bench` in this process; the Ray run
connects to a cluster this script starts first (`ray start --head`, its start time reported
apart) with `--ray-address`. Where Ray's time goes, from the ledger and the progress callbacks:

  to start  = a job's issue row started_at - when it was handed to the executor (the first
              `workers` jobs: the batch start; later ones: the head's report of a slot freed, so
              0 when a thread picked it up before that report), i.e. the
              connection, the Ray task's scheduling, the worker process, imports, its private ledger
  job       = the issue row's started_at..finished_at (run_issue: sandboxes, oracle, evaluation)
  to import = when the head reported the job done - its finished_at, i.e. returning the rows and
              files, copying them into the head's ledger, rewriting predictions/report
Usage: python benchmarks/ray_vs_local.py [--tasks 10 (at most 10)] [--workers 2] [--sandbox local]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.bench.jobs import BenchOptions
from agent.bench.run import run_bench
from agent.ledger import Ledger
from agent.wiring.options import load_run_config
from tests.bench_helpers import BROKEN, make_suite


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cluster(tmpdir: Path, cpus: int) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--node-ip-address"]
    command += ["127.0.0.1", "--port", str(port), "--num-cpus", str(cpus), "--disable-usage-stats"]
    command += ["--include-dashboard=false", "--ray-client-server-port", str(free_port())]
    command += ["--dashboard-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port())]
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    while not list(tmpdir.glob("ray/session_*/logs/raylet.out")):
        if process.poll() is not None:
            raise SystemExit("ray start failed")
        time.sleep(0.1)
    return process, f"127.0.0.1:{port}", time.perf_counter() - started


def stop_cluster(process: subprocess.Popen[bytes]) -> None:
    """Kill the head's session: its raylet, GCS and workers, by pid."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == process.pid:
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            continue
    process.wait()


def run(suite: Path, home: Path, workers: int, sandbox: str, address: str | None) -> dict[str, float]:
    env = {**os.environ, "AGENT_HOME": str(home), "AGENT_CONFIG": os.devnull}
    options = BenchOptions(
        suite=str(suite),
        model="oracle",
        workers=workers,
        executor="ray" if address else "local",
        ray_address=address,
        sandbox=sandbox,
    )
    marks: dict[str, float] = {}
    done_at: dict[str, float] = {}

    def on_start(_total: int, _run_id: str) -> None:
        marks["start"] = time.time()

    def on_done(job, _issue, _spent) -> None:
        done_at[job.key] = time.time()

    started = time.perf_counter()
    result = run_bench(options, load_run_config(options, Path.cwd(), env), env, on_done, on_start)
    wall = time.perf_counter() - started
    issues = sorted(Ledger(home / "ledger.sqlite").issues(result["run_id"]), key=lambda issue: issue.started_at)
    freed = sorted(done_at.values())
    handed = [marks["start"] if n < workers else freed[n - workers] for n in range(len(issues))]
    waits = [max(0.0, issue.started_at - at) for issue, at in zip(issues, handed, strict=True)]
    return {
        "tasks": result["instances"],
        "resolved": result["resolved"],
        "wall": wall,
        "first_wave": sum(waits[:workers]) / workers,
        "later": sum(waits[workers:]) / max(1, len(waits) - workers),
        "job": sum((issue.finished_at or 0) - issue.started_at for issue in issues),
        "to_import": sum(done_at[issue.key] - (issue.finished_at or 0) for issue in issues),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sandbox", default="local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rvl-") as folder:
        root = Path(folder)
        names = list(BROKEN)[: args.tasks]  # the generator knows len(BROKEN) distinct tasks
        suite = make_suite(root / "suite", names)
        print(f"suite: {len(names)} generated tasks; model oracle; sandbox {args.sandbox}; cpus {os.cpu_count()}")
        rows = {"local threads": run(suite, root / "home-local", args.workers, args.sandbox, None)}
        (root / "t").mkdir()
        cluster, address, boot = start_cluster(root / "t", args.workers)
        try:
            rows["ray"] = run(suite, root / "home-ray", args.workers, args.sandbox, address)
        finally:
            stop_cluster(cluster)
        print(f"ray start --head (not in the Ray run's wall): {boot:.2f} s")
        for name, row in rows.items():
            n = row["tasks"]
            print(
                f"{name:13} workers {args.workers}: {n:.0f} tasks, {row['resolved']:.0f} resolved, "
                f"wall {row['wall']:.2f} s, {n / row['wall'] * 60:.1f} tasks/min; per task: "
                f"to start {row['first_wave']:.2f} s (first {args.workers}), {row['later']:.2f} s (the rest), "
                f"job {row['job'] / n:.2f} s, to import {row['to_import'] / n:.3f} s"
            )
        print(f"wall ratio ray / local: {rows['ray']['wall'] / rows['local threads']['wall']:.2f}x")


if __name__ == "__main__":
    main()
