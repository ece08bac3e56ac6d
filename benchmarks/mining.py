"""Mining throughput on a real history: candidate commits validated per minute by `agent tasks mine`'s
code (Docker sandboxes, 3 runs a side), and how fast the git-only scan finds candidates.

Usage: python benchmarks/mining.py [REPO] [--limit N] [--range RANGE] [--timeout S]
(default: this project, its newest 20 candidates, the configured timeout per test run)
Write the result with: python benchmarks/mining.py > benchmarks/results/mining.txt
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

from agent.bench.mining import MiningProgress, MiningResult, mine
from agent.bench.mining_setup import settings_for
from agent.core.config import load_config
from agent.engine.planner import classify_by_rules
from agent.wiring import sandbox_factory
from tasks.history import Candidate, candidates, open_repo, problem_statement, range_commits


def scan(repo: Path, shas: list[str], limit: int) -> tuple[list[Candidate], int, float]:
    """The first `limit` candidates, how many commits it took to find them, and the seconds it took."""
    started = time.perf_counter()
    found: list[Candidate] = []
    for candidate in candidates(repo, shas):
        found.append(candidate)
        if len(found) == limit:
            break
    walked = shas.index(found[-1].sha) + 1 if found else len(shas)
    return found, walked, time.perf_counter() - started


def validate(repo: Path, found: list[Candidate], home: str, timeout: float | None) -> tuple[MiningResult, list[float]]:
    """Mine `found` in Docker sandboxes; the result and the seconds each candidate took."""
    config = load_config(project_dir=repo, env={"AGENT_HOME": home, "AGENT_CONFIG": os.devnull})
    settings = settings_for(open_repo(repo), config, None)
    if timeout is not None:
        settings = settings.model_copy(update={"timeout_s": timeout})
    print(f"test runs: {settings.runs} a side, at most {settings.timeout_s:g} s each ({settings.test_cmd})")
    marks: list[float] = []

    def progress(state: MiningProgress) -> None:
        if state.outcome:
            print(f"  [{state.scanned}/{len(found)}] {state.current} -> {state.outcome}", file=sys.stderr, flush=True)
        else:
            marks.append(time.perf_counter())

    result = mine(
        found,
        settings,
        sandbox_factory(config, "bench-mining"),
        describe=lambda candidate: problem_statement(candidate, None),
        classify=lambda task, labels: classify_by_rules(task.problem_statement, labels).task_type,
        on_progress=progress,
    )
    return result, [later - earlier for earlier, later in pairwise(marks)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", nargs="?", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--range", dest="rev_range", default="HEAD")
    parser.add_argument("--timeout", type=float, default=None, help="Seconds per test run (default: configured).")
    args = parser.parse_args()
    info = open_repo(args.repo)
    shas = range_commits(info.path, args.rev_range)
    found, walked, scan_s = scan(info.path, shas, args.limit)
    print(f"repository {info.name}: {len(shas)} commits in {args.rev_range}")
    rate = walked / scan_s if scan_s else 0.0
    print(f"git scan: {len(found)} candidates in the newest {walked} commits, {scan_s:.2f} s ({rate:.0f} commits/s)")
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        result, each = validate(info.path, found, home, args.timeout)
        wall = time.perf_counter() - started
    per_minute = len(found) / wall * 60 if wall else 0.0
    print(f"validated {len(found)} candidates in {wall:.1f} s: {per_minute:.2f} candidates/min (builds included)")
    if each:
        ordered = sorted(each)
        print(
            f"per candidate: median {ordered[len(ordered) // 2]:.2f} s, min {ordered[0]:.2f} s, max {ordered[-1]:.2f} s"
        )
    reasons = Counter(f"{skip.reason}/{skip.cause}" for skip in result.skips)
    skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items())) or "none"
    print(f"kept {len(result.tasks)}, skipped {len(result.skips)} ({skipped})")
    for task in result.tasks:
        print(
            f"  kept {task.instance_id}: {len(task.FAIL_TO_PASS)} FAIL_TO_PASS, {len(task.PASS_TO_PASS)} PASS_TO_PASS"
        )
    for skip in result.skips:
        print(f"  {skip.commit[:10]} {skip.reason}: {skip.detail[:150]}")


if __name__ == "__main__":
    main()
