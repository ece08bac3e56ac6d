"""A quota storm: `agent bench` of 10 built-in tasks with the sim models on 2 workers, once calm and once
while the fake provider answers every request 429 (retry-after 5 s) for 60 s from the first one.

The SDK gives up on the first 429 (`max_retries = 0`), so the run's provider gate is what waits: it
holds the provider until the retry-after, one request probes, the others wait. Printed per run: tasks,
solved, failed (error issues), 429s answered, holds with their seconds waited, and wall time.
Usage: python benchmarks/quota_storm.py [--storm-s 60] [--retry-after 5] [--tasks 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.fake_provider.sim import sim_env, start_sim
from agent.ledger import Ledger
from agent.simulate.script import Fault
from tasks.loaders import load_tasks

LADDER = "sim-flash@low,sim-pro@medium"


def run(home: Path, ids: list[str], workers: int, faults: list[Fault]) -> dict[str, object]:
    """One `agent bench` process against a sim server with `faults`: what it did."""
    config = home / "agent.toml"
    home.mkdir(parents=True, exist_ok=True)
    config.write_text("[providers.sim]\nmax_retries = 0\n")
    tasks = [task for task in load_tasks("builtin", home / "agent-home") if task.instance_id in ids]
    args = ["--ids", ",".join(ids), "--ladder", LADDER, "--workers", str(workers), "--sandbox", "local", "--json"]
    with start_sim(tasks, faults=faults) as fake:
        env = {**os.environ, "AGENT_HOME": str(home / "agent-home"), "AGENT_CONFIG": str(config), **sim_env(fake)}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "agent", "bench", "builtin", *args], env=env, capture_output=True, text=True
        )
        wall = time.perf_counter() - started
        refusals = sum(1 for request in fake.requests if request.status == 429)
    if done.returncode != 0:
        raise SystemExit(f"agent bench exited {done.returncode}: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    ledger = Ledger(home / "agent-home" / "ledger.sqlite")
    issues = ledger.issues(result["run_id"])
    holds = ledger.holds(result["run_id"])
    return {
        "tasks": len(issues),
        "solved": sum(1 for issue in issues if issue.status == "solved"),
        "failed": sum(1 for issue in issues if issue.status == "error"),
        "429s": refusals,
        "holds": len(holds),
        "waited_s": round(sum(hold.waited_s for hold in holds), 1),
        "wall_s": round(wall, 1),
        "resolved": sorted(result["resolved_ids"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--storm-s", type=float, default=60.0)
    parser.add_argument("--retry-after", type=float, default=5.0)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ids = [task.instance_id for task in load_tasks("builtin", root / "ids")][: args.tasks]
        storm = [Fault(status=429, retry_after=args.retry_after, for_s=args.storm_s)]
        calm = run(root / "calm", ids, args.workers, [])
        stormy = run(root / "storm", ids, args.workers, storm)
    print(f"{len(ids)} built-in tasks, ladder {LADDER}, {args.workers} workers, SDK max_retries 0")
    print(f"storm: every request answered 429 (retry-after {args.retry_after:g} s) for {args.storm_s:g} s")
    columns = (("tasks", 5), ("solved", 6), ("failed", 6), ("429s", 5), ("holds", 5), ("waited_s", 8), ("wall_s", 7))
    print("run   " + "".join(f" {name:>{width}}" for name, width in columns))
    for name, row in (("calm", calm), ("storm", stormy)):
        print(f"{name:<6}" + "".join(f" {row[key]!s:>{width}}" for key, width in columns))
    same = "the same tasks" if calm["resolved"] == stormy["resolved"] else "DIFFERENT tasks"
    added = float(str(stormy["wall_s"])) - float(str(calm["wall_s"]))
    print(f"solved {same} with and without the storm; wall time added by the storm: {added:.1f} s")


if __name__ == "__main__":
    main()
