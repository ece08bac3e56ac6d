"""Batch efficiency of `agent bench`: the same suite with --model oracle at --workers 1 and 2.

  wall ratio  = wall(workers=1) / wall(workers=2)
  efficiency  = (sum of per-task times / workers) / wall time  (1.0 = no time lost to the batch)
Per-task time is the issue row's started_at..finished_at in the ledger (sandboxes, the oracle's
turn and the SWE-bench evaluation); wall time is the `agent bench` subprocess from start to end.
Suite: `builtin` when it loads, else 10 generated tasks (tests/bench_helpers.make_suite).
Usage: python benchmarks/batch_efficiency.py [--workers 1,2]
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

from agent.ledger import Ledger
from tests.bench_helpers import BROKEN, make_suite


def suite_spec(root: Path) -> str:
    try:
        from tasks.loaders import load_tasks

        if load_tasks("builtin", root / "home"):
            return "builtin"
    except Exception:  # the built-in suite is not there yet: generate one
        pass
    return str(make_suite(root / "suite", list(BROKEN)))


def run(spec: str, workers: int, home: Path) -> tuple[float, float, int, int]:
    env = {**os.environ, "AGENT_HOME": str(home), "AGENT_CONFIG": os.devnull}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "agent", "bench", spec, "--model", "oracle", "--workers", str(workers), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    result = json.loads(done.stdout)
    issues = Ledger(home / "ledger.sqlite").issues(result["run_id"])
    busy = sum((issue.finished_at or 0) - issue.started_at for issue in issues)
    return wall, busy, result["instances"], result["resolved"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        spec = suite_spec(root)
        print(f"suite: {'builtin' if spec == 'builtin' else 'generated'}; model oracle; cpus {os.cpu_count()}")
        walls = {}
        for workers in [int(part) for part in args.workers.split(",")]:
            wall, busy, instances, resolved = run(spec, workers, root / f"home-{workers}")
            walls[workers] = wall
            print(
                f"workers {workers}: {instances} tasks, {resolved} resolved, wall {wall:.2f} s, "
                f"sum of task times {busy:.2f} s, efficiency {busy / workers / wall:.1%}"
            )
        if 1 in walls and len(walls) > 1:
            top = max(walls)
            print(f"wall ratio workers 1 / workers {top}: {walls[1] / walls[top]:.2f}x")


if __name__ == "__main__":
    main()
