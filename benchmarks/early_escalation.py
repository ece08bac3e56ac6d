"""What escalation inside an attempt is worth: API $ saved on attempts that end failing, solves lost.

Setup: the built-in suite (30 tasks), split by position into a training half (even positions) and a
held-out half (odd positions), the shipped simulated population (`agent.simulate.sim_paths`: passing
attempts tend to edit early and see their tests pass, failing ones tend to wander or fail their tests,
with noise), and the rules planner climbing sim-frontier then sim-pro (the shipped model_order with
each model replaced by its sim stand-in), every run through `agent bench builtin --sandbox local`.

1. Training: the training half, climbed with escalate_within = false, `--draws` times (the sim's draws
   numbered 0, 10, 20, ... higher each time, so every batch is new attempts), fills a ledger with finished
   attempts and their progress.
2. Held out: the held-out half, climbed with escalate_within off and on, each in its own copy of the
   training ledger (the "on" ledger also learns from its own finished attempts as it goes), once per
   evaluation draw (`--evals`, draws numbered 1000, 1010, ...). Off and on see the same draws: an attempt
   abandoned by "on" is the same attempt "off" ran to its end, and the rungs after it draw the same.

Measured per evaluation draw and summed: API $ of the "off" attempts that ended failing, and the API $ of
the "on" attempts at the same places (ran the same, or abandoned); the solve rate off and on; the total
API $ off and on; how many attempts were abandoned and how many of those would have passed.
Targets: >= 20% of API $ saved on attempts that end failing, solve rate at most 1 point lower.

Writes benchmarks/results/early_escalation.txt.
Usage: python benchmarks/early_escalation.py [--draws 3] [--evals 3] [--workers 2] [--after-turns 3]
       [--unsolved-cost USD] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.effort import EffortLevel
from agent.fake_provider.server import Api, FakeProvider
from agent.fake_provider.sim import (
    SIM_API_KEY,
    SimResponder,
    earlier_attempts,
    first_user_text,
    max_tokens_of,
    system_text,
)
from agent.ledger import Ledger
from agent.simulate.population import load_population
from agent.simulate.script import ScriptedTurn
from agent.simulate.sim_turns import sim_turn
from tasks.loaders import load_tasks
from tasks.models import Task

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = """[planner]
model_order = ["sim-frontier", "sim-pro"]
escalate_within = {on}
escalate_after_turns = {after}
escalate_min_attempts = 30
{unsolved}"""


class Draws(SimResponder):
    """The sim with every attempt numbered `offset` higher than the system prompt says: new draws."""

    def __init__(self, tasks: list[Task], offset: int) -> None:
        super().__init__(load_population(), tasks)
        self.offset = offset

    def turn(self, api: Api, body: dict[str, Any], effort: str | None, index: int) -> ScriptedTurn:
        task = self.match_task(first_user_text(body))
        attempt = earlier_attempts(system_text(api, body)) + self.offset
        level = EffortLevel.parse(effort or "")
        return sim_turn(self.population, task, str(body["model"]), level, attempt, index, max_tokens_of(body))


def bench(home: Path, config: Path, tasks: list[Task], ids: list[Task], offset: int, run_id: str, workers: int):
    kept = {key: value for key, value in os.environ.items() if not key.startswith(("AGENT_", "SIM_"))}
    env = {**kept, "AGENT_HOME": str(home), "AGENT_CONFIG": str(config), "COLUMNS": "200"}
    with FakeProvider(responder=Draws(tasks, offset)) as fake:
        env |= {"SIM_BASE_URL": fake.anthropic_base_url, "SIM_API_KEY": SIM_API_KEY}
        args = ["--ids", ",".join(task.instance_id for task in ids), "--workers", str(workers), "--sandbox", "local"]
        done = subprocess.run(
            [sys.executable, "-m", "agent", "bench", "builtin", *args, "--run-id", run_id, "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"bench {run_id} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    if result["error_ids"]:
        raise SystemExit(f"bench {run_id}: errors {result['error_ids']}")


@dataclass
class Attempted:
    passed: bool
    outcome: str
    api_usd: Decimal


@dataclass
class Measured:
    """One held-out run: per (task, rung index) its attempt, and which tasks it solved."""

    attempts: dict[tuple[str, int], Attempted] = field(default_factory=dict)
    solved: set[str] = field(default_factory=set)
    issues: int = 0


def measure(home: Path, run_id: str) -> Measured:
    ledger = Ledger(home / "ledger.sqlite")
    issues = {issue.id: issue for issue in ledger.issues(run_id)}
    measured = Measured(issues=len(issues))
    measured.solved = {issue.key for issue in issues.values() if issue.status == "solved"}
    for attempt in ledger.attempts(run_id):
        spend = [call.spend_usd for call in ledger.calls(attempt.id)]
        usd = sum((value for value in spend if value is not None), Decimal(0))
        key = (issues[attempt.issue_id].key, attempt.rung_index)
        measured.attempts[key] = Attempted(bool(attempt.tests_passed), attempt.outcome or "", usd)
    ledger.close()
    return measured


@dataclass
class Totals:
    failing_off: Decimal = Decimal(0)
    failing_on: Decimal = Decimal(0)
    total_off: Decimal = Decimal(0)
    total_on: Decimal = Decimal(0)
    solved_off: int = 0
    solved_on: int = 0
    issues: int = 0
    abandoned: int = 0
    abandoned_would_pass: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, label: str, off: Measured, on: Measured) -> None:
        failing = [key for key, attempt in off.attempts.items() if not attempt.passed]
        failing_off = sum((off.attempts[key].api_usd for key in failing), Decimal(0))
        failing_on = sum((on.attempts[key].api_usd for key in failing if key in on.attempts), Decimal(0))
        abandoned = [key for key, attempt in on.attempts.items() if attempt.outcome == "abandoned"]
        would_pass = [key for key in abandoned if key in off.attempts and off.attempts[key].passed]
        total_off = sum((attempt.api_usd for attempt in off.attempts.values()), Decimal(0))
        total_on = sum((attempt.api_usd for attempt in on.attempts.values()), Decimal(0))
        self.failing_off += failing_off
        self.failing_on += failing_on
        self.total_off += total_off
        self.total_on += total_on
        self.solved_off += len(off.solved)
        self.solved_on += len(on.solved)
        self.issues += off.issues
        self.abandoned += len(abandoned)
        self.abandoned_would_pass += len(would_pass)
        self.lines.append(
            f"{label}: failing attempts ${failing_off:.3f} off -> ${failing_on:.3f} on "
            f"({_share(failing_off, failing_on)} saved); solved {len(off.solved)}/{off.issues} off, "
            f"{len(on.solved)}/{on.issues} on; total API ${total_off:.3f} off, ${total_on:.3f} on; "
            f"abandoned {len(abandoned)} ({len(would_pass)} would have passed)"
        )


def _share(before: Decimal, after: Decimal) -> str:
    return f"{(1 - after / before) * 100:.1f}%" if before else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=3, help="training batches (new draws each)")
    parser.add_argument("--evals", type=int, default=3, help="held-out evaluations (new draws each)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--after-turns", type=int, default=5, help="K: turns before progress is judged")
    parser.add_argument("--unsolved-cost", type=float, default=None, help="[planner] unsolved_cost (default: shipped)")
    parser.add_argument("--home", type=Path, default=None, help="keep the ledgers here (default: a temporary dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = (args.home or Path(scratch)).resolve()
        root.mkdir(parents=True, exist_ok=True)
        unsolved = "" if args.unsolved_cost is None else f"unsolved_cost = {args.unsolved_cost}\n"
        configs = {}
        for name, on in (("off", "false"), ("on", "true")):
            configs[name] = root / f"{name}.toml"
            configs[name].write_text(CONFIG.format(on=on, after=args.after_turns, unsolved=unsolved))
        tasks = load_tasks("builtin", root / "train")
        train, held_out = tasks[0::2], tasks[1::2]
        started = time.perf_counter()
        for draw in range(args.draws):
            bench(root / "train", configs["off"], tasks, train, 10 * draw, f"train-{draw}", args.workers)
        trained = time.perf_counter() - started
        for name in ("off", "on"):
            shutil.rmtree(root / name, ignore_errors=True)
            shutil.copytree(root / "train", root / name)
        totals = Totals()
        for draw in range(args.evals):
            offset = 1000 + 10 * draw
            for name in ("off", "on"):
                bench(root / name, configs[name], tasks, held_out, offset, f"{name}-{draw}", args.workers)
            totals.add(f"eval draw {draw}", measure(root / "off", f"off-{draw}"), measure(root / "on", f"on-{draw}"))
        report(args, totals, len(train), len(held_out), trained, time.perf_counter() - started)


def report(args: argparse.Namespace, totals: Totals, train: int, held_out: int, trained: float, wall: float) -> None:
    saved = _share(totals.failing_off, totals.failing_on)
    points = (totals.solved_off - totals.solved_on) / totals.issues * 100 if totals.issues else 0.0
    saved_ok = totals.failing_off and (1 - totals.failing_on / totals.failing_off) >= Decimal("0.2")
    unsolved = "shipped default" if args.unsolved_cost is None else f"${args.unsolved_cost:g}"
    lines = [
        f"early_escalation: {train} training tasks x {args.draws} draws (escalate off), then {held_out} held-out "
        f"tasks x {args.evals} draws off vs on; K = {args.after_turns} turns, V = {unsolved}; rules planner "
        f"(sim-frontier, sim-pro); --workers {args.workers} --sandbox local; {wall:.0f} s ({trained:.0f} s training)",
        *totals.lines,
        f"all draws: API $ on attempts that end failing ${totals.failing_off:.3f} off -> ${totals.failing_on:.3f} "
        f"on: {saved} saved [{'PASS' if saved_ok else 'MISS'} >= 20%]",
        f"solve rate {totals.solved_off}/{totals.issues} off, {totals.solved_on}/{totals.issues} on: "
        f"{points:+.1f} points lost [{'PASS' if points <= 1 else 'MISS'} <= 1]",
        f"total API $ {totals.total_off:.3f} off, {totals.total_on:.3f} on ({_share(totals.total_off, totals.total_on)}"
        f" saved); abandoned {totals.abandoned} attempts, {totals.abandoned_would_pass} of which would have passed",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "early_escalation.txt").write_text(text)


if __name__ == "__main__":
    main()
