"""A bench runner killed mid-attempt: its run and attempts read as interrupted everywhere, and a resume closes them."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from agent.core.config import ReviewConfig
from agent.core.owners import owner_is_gone, owner_tag
from agent.ledger import Ledger
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent, start_agent_process
from tui.reads import read_batch, recent_runs

STUCK = {"rules": [{"turns": [{"text": "Thinking it over.", "delay_s": 300}]}]}
QUICK = {"rules": [{"turns": [{"text": "Nothing to change."}]}]}


def raw(ledger_path: Path, sql: str) -> list[tuple]:
    """What the ledger file holds, read without the Ledger class (no read-time interpretation)."""
    with closing(sqlite3.connect(ledger_path)) as db:
        return list(db.execute(sql))


def running_attempts(ledger_path: Path) -> int:
    """Attempts the file holds as running (0 while the runner has not created its tables yet)."""
    try:
        return int(raw(ledger_path, "SELECT count(*) FROM attempts WHERE state = 'running'")[0][0])
    except sqlite3.OperationalError:
        return 0


def dead_owner() -> str:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return owner_tag(proc.pid)


@pytest.mark.parametrize(
    ("owner", "gone"),
    [(owner_tag(), False), (f"some-other-host:{os.getpid()}", False), ("garbage", False), (dead_owner(), True)],
    ids=["this-process", "other-host", "malformed", "dead-pid"],
)
def test_owner_is_gone_only_for_a_dead_process_on_this_host(owner: str, gone: bool) -> None:
    assert owner_is_gone(owner) is gone


@pytest.mark.docker
def test_sigkilled_bench_reads_interrupted_and_resume_closes_its_attempt(tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    script = tmp_path / "model.json"
    script.write_text(json.dumps(STUCK))
    ladder = f"scripted:{script}@medium"
    args = ["bench", str(suite), "--ladder", ladder, "--sandbox", "docker"]
    runner = start_agent_process(tmp_path, *args, "--run-id", "killed", "--json")
    ledger_path = tmp_path / "agent-home" / "ledger.sqlite"

    # Kill it while its first attempt waits for the model's first turn.
    deadline = time.time() + 120
    while time.time() < deadline:
        if ledger_path.exists() and running_attempts(ledger_path) == 1:
            break
        time.sleep(0.1)
    runner.send_signal(signal.SIGKILL)
    runner.communicate()

    # The file still says running (nothing was written after the kill: no migration, no repair)...
    assert raw(ledger_path, "SELECT status FROM runs") == [("running",)]
    assert raw(ledger_path, "SELECT key, status FROM issues") == [("ops__add", "running")]
    assert raw(ledger_path, "SELECT state FROM attempts") == [("running",)]
    # ...and every reader sees an interrupted run: the ledger,
    ledger = Ledger(ledger_path)
    run = ledger.run("killed")
    assert run is not None and run.status == "interrupted"
    assert [(issue.key, issue.status) for issue in ledger.issues("killed")] == [("ops__add", "interrupted")]
    assert [attempt.state for attempt in ledger.attempts("killed")] == ["interrupted"]
    # the TUI's run list and batch view,
    [choice] = recent_runs(ledger)
    assert (choice.run.id, choice.run.status) == ("killed", "interrupted")
    snapshot = read_batch(ledger, "killed", ReviewConfig(), 0, time.time())
    assert snapshot is not None
    assert (snapshot.run.status, snapshot.progress.eta_s) == ("interrupted", None)
    assert [(row.issue.status, row.attempts) for row in snapshot.rows] == [("interrupted", 0)]
    assert (snapshot.summary.attempts, snapshot.summary.interrupted_attempts) == (0, 1)
    # and `agent report`: no phantom attempt, the interrupted one shown apart.
    report = json.loads(run_agent(tmp_path, "report", "killed", "--json").stdout)
    [group] = report["groups"]
    assert (group["tasks"], group["solved"], group["attempts"], group["interrupted_attempts"]) == (0, 0, 0, 1)
    text = run_agent(tmp_path, "report", "killed").stdout
    note = f"{group['group']}: 1 interrupted attempt(s) not counted (their runner died; their calls are in API $)"
    assert note in text.splitlines()

    # Resume (a quick model now): the dead runner's attempt is closed as interrupted in the ledger.
    script.write_text(json.dumps(QUICK))
    resumed = run_agent(tmp_path, "bench", "--resume", "killed", "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert (result["instances"], result["unresolved_ids"], result["error_ids"]) == (2, ["ops__add", "ops__mul"], [])
    assert raw(ledger_path, "SELECT status FROM runs") == [("finished",)]
    assert raw(ledger_path, "SELECT key, status FROM issues ORDER BY id") == [
        ("ops__add", "interrupted"),
        ("ops__add", "unsolved"),
        ("ops__mul", "unsolved"),
    ]
    assert raw(ledger_path, "SELECT state FROM attempts ORDER BY id") == [
        ("interrupted",),
        ("finished",),
        ("finished",),
    ]
    report = json.loads(run_agent(tmp_path, "report", "killed", "--json").stdout)
    [group] = report["groups"]
    assert (group["tasks"], group["solved"], group["attempts"], group["interrupted_attempts"]) == (2, 0, 2, 1)
    [choice] = recent_runs(ledger)
    assert choice.run.status == "finished"
