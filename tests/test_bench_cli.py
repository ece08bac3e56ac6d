"""`agent bench` end to end: in-process (a process of its own where it is killed), real Docker sandboxes, a real
ledger, SWE-bench-style judging."""

from __future__ import annotations

import json
import os
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest

from agent.ledger import Ledger
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent, start_agent_process

pytestmark = pytest.mark.docker


def bench(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    done = run_agent(tmp_path, "bench", *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ledger_of(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "agent-home" / "ledger.sqlite")


@pytest.mark.parametrize(
    ("model", "resolved", "attempts"),
    [("oracle", ["ops__add", "ops__mul"], 2), ("null", [], 8)],  # null climbs medium..max: 4 rungs a task
)
def test_oracle_resolves_every_task_and_null_none(tmp_path, model, resolved, attempts):
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    result = bench(tmp_path, str(suite), "--model", model)
    unresolved = [task for task in ["ops__add", "ops__mul"] if task not in resolved]
    assert {key: result[key] for key in ("instances", "resolved", "resolved_ids", "unresolved_ids", "error_ids")} == {
        "instances": 2,
        "resolved": len(resolved),
        "resolved_ids": resolved,
        "unresolved_ids": unresolved,
        "error_ids": [],
    }
    # Review time is billed only for a change to review: null's 8 empty attempts bill none (they billed 80 min).
    billed = len(resolved)
    assert (result["api_cost_usd"], result["review_minutes"], result["review_cost_usd"]) == (
        0.0,
        billed * 10.0,
        pytest.approx(billed * 10 * 100 / 60, abs=1e-6),
    )
    assert (result["attempts"], result["review_billed_attempts"], result["review_not_billed"]) == (
        attempts,
        billed,
        {} if billed else {"no change": attempts},
    )
    assert (result["review_minutes_estimated"], result["review_minutes_measured"]) == (billed * 10.0, 0.0)
    assert result["total_cost_usd"] == pytest.approx(billed * 10 * 100 / 60, abs=1e-6)
    assert result["cost_per_solved_usd"] == (None if not resolved else pytest.approx(billed * 10 * 100 / 60 / 2))
    by_model = json.loads(run_agent(tmp_path, "report", result["run_id"], "--by", "model", "--json").stdout)
    [row] = by_model["groups"]
    assert (row["group"], row["attempts"], row["review_billed_attempts"], row["review_minutes_estimated"]) == (
        model,
        attempts,
        billed,
        billed * 10.0,
    )
    assert row["review_not_billed"] == ({} if billed else {"no change": attempts})
    predictions = [json.loads(line) for line in Path(result["predictions_path"]).read_text().splitlines()]
    assert [p["instance_id"] for p in predictions] == ["ops__add", "ops__mul"]
    if model == "oracle":
        assert [p["model_name_or_path"] for p in predictions] == ["oracle@medium", "oracle@medium"]
        assert "+    return a + b" in predictions[0]["model_patch"]
    else:
        assert [p["model_patch"] for p in predictions] == ["", ""]
    report = json.loads((Path(result["predictions_path"]).parent / "report.json").read_text())
    assert report["resolved_ids"] == resolved and report["unresolved_ids"] == unresolved
    instance = report["instances"]["ops__add"]["report"]
    assert instance["FAIL_TO_PASS"] == (
        {"success": ["tests/test_add.py::test_add"], "failure": []}
        if model == "oracle"
        else {"success": [], "failure": ["tests/test_add.py::test_add"]}
    )
    assert instance["PASS_TO_PASS"] == {"success": ["tests/test_base.py::test_ok"], "failure": []}
    ledger = ledger_of(tmp_path)
    issues = ledger.issues(result["run_id"])
    assert [(i.key, i.decided_by, i.task_type) for i in issues] == [
        ("ops__add", "task", "bug_fix"),
        ("ops__mul", "task", "bug_fix"),
    ]
    assert ledger.events(result["run_id"], kinds=("baseline",)) == []  # the evaluator replaces the baseline
    assert not any(path.name.startswith("agent/") for path in (tmp_path / "suite/ops/.git/refs/heads").iterdir())


def test_two_workers_run_tasks_at_the_same_time(tmp_path):
    suite = make_suite(tmp_path / "suite")
    result = bench(tmp_path, str(suite), "--model", "oracle", "--workers", "2", "--ids", "ops__add,ops__mul,ops__neg")
    assert (result["instances"], sorted(result["resolved_ids"])) == (3, ["ops__add", "ops__mul", "ops__neg"])
    issues = ledger_of(tmp_path).issues(result["run_id"])
    spans = sorted((issue.started_at, issue.finished_at) for issue in issues)
    assert spans[1][0] < spans[0][1]  # the second task started before the first one finished


SLOW = {"rules": [{"turns": [{"text": "Thinking it over.", "delay_s": 1.5}]}]}


def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path):
    suite = make_suite(tmp_path / "suite")
    script = tmp_path / "slow.json"
    script.write_text(json.dumps(SLOW))
    ladder = f"scripted:{script}@medium"
    runner = start_agent_process(tmp_path, "bench", str(suite), "--ladder", ladder, "--run-id", "killed", "--json")
    ledger_path = tmp_path / "agent-home" / "ledger.sqlite"
    predictions_path = tmp_path / "agent-home/runs/killed/predictions.jsonl"

    def predicted() -> list[str]:
        lines = predictions_path.read_text().splitlines() if predictions_path.exists() else []
        return [json.loads(line)["instance_id"] for line in lines]

    # Kill once two tasks are finished in the ledger and the outputs were rewritten after them
    # (the rewrite follows the ledger's commit), while the third task is running.
    deadline = time.time() + 120
    while time.time() < deadline:
        if ledger_path.exists():
            issues = Ledger(ledger_path).issues("killed") if Ledger(ledger_path).run("killed") else []
            if sum(issue.status == "unsolved" for issue in issues) >= 2 and len(predicted()) >= 2:
                break
        time.sleep(0.1)
    runner.send_signal(signal.SIGKILL)
    runner.communicate()
    ledger = Ledger(ledger_path)
    before = [(issue.key, issue.status) for issue in ledger.issues("killed")]
    assert before[:2] == [("ops__add", "unsolved"), ("ops__mul", "unsolved")]
    assert predicted()[:2] == ["ops__add", "ops__mul"]

    result = bench(tmp_path, "--resume", "killed")
    keys = ["ops__add", "ops__mul", "ops__neg", "ops__half"]
    assert (result["instances"], result["unresolved_ids"], result["error_ids"]) == (4, keys, [])
    after = [(issue.key, issue.status) for issue in ledger.issues("killed")]
    interrupted = [key for key, status in after if status == "interrupted"]
    assert [item for item in after if item[1] != "interrupted"] == [(key, "unsolved") for key in keys]
    assert len(after) == 4 + len(interrupted) and len(interrupted) <= 1
    assert before[2:] == [(key, "interrupted") for key in interrupted]  # its runner is gone: never read as running
    assert predicted() == keys
    finished = [a for a in ledger.attempts("killed") if a.state == "finished"]
    assert sorted(ledger.issue(a.issue_id).key for a in finished) == sorted(keys)
    assert ledger.run("killed").status == "finished"


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_cap_is_never_exceeded_and_unaffordable_tasks_are_skipped(tmp_path, make_fake, fake_env, workers):
    # Each task spends $0.04333725 (15 turns at low effort); its first call could cost up to $0.2119.
    # With $0.26 one worker runs two tasks ($0.2167 is left before the second) and skips two.
    suite = make_suite(tmp_path / "suite")
    view = {"name": "str_replace_based_edit_tool", "input": {"command": "view", "path": "ops/calc.py"}}
    lines = {"name": "bash", "input": {"command": "wc -l ops/calc.py"}}  # not the same call 3 times in a row: no loop
    fake = make_fake(
        {
            "rules": [
                {
                    "turns": [{"text": "Looking.", "tool_calls": [view]}, {"text": "Counting.", "tool_calls": [lines]}]
                    * 15
                }
            ]
        }
    )
    cap = "0.26"
    result = bench(
        tmp_path,
        *(str(suite), "--ladder", "claude-opus-4-7@low", "--max-cost", cap, "--workers", str(workers)),
        env=fake_env(fake),
    )
    ledger = ledger_of(tmp_path)
    calls = [call for attempt in ledger.attempts(result["run_id"]) for call in ledger.calls(attempt.id)]
    spent = sum((call.cost_usd for call in calls), Decimal(0))
    assert spent <= Decimal(cap)
    assert Decimal(str(result["api_cost_usd"])) == spent.quantize(Decimal("0.000001"))
    statuses = {issue.key: issue.status for issue in ledger.issues(result["run_id"])}
    skipped = [key for key, status in statuses.items() if status == "skipped"]
    assert result["skipped_ids"] == skipped and result["resolved"] == 0
    if workers == 1:
        assert list(statuses.items()) == [
            ("ops__add", "unsolved"),
            ("ops__mul", "unsolved"),
            ("ops__neg", "skipped"),
            ("ops__half", "skipped"),
        ]
        assert spent == Decimal("0.0866745")
        reason = ledger.issues(result["run_id"])[2].error
        assert reason == "the batch has $0.1733 left; the first call could cost $0.2119"
    else:  # in flight calls' worst cases are reserved: the second worker may be refused or cut short
        assert set(statuses.values()) <= {"unsolved", "paused", "skipped"}  # paused: `agent resume` goes on


def test_resume_reruns_tasks_that_failed_for_the_provider_but_not_the_models_failures(tmp_path, make_fake, fake_env):
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    fake = make_fake({"rules": [{"turns": [{"text": "Done."}]}], "faults": [{"status": 401, "count": 1}]})
    ladder = ("--ladder", "claude-opus-4-7@low")
    first = bench(tmp_path, str(suite), *ladder, "--run-id", "flaky", env=fake_env(fake))
    assert (first["error_ids"], first["unresolved_ids"]) == (["ops__add"], ["ops__mul"])
    ledger = ledger_of(tmp_path)
    assert [(i.key, i.status, i.error_kind) for i in ledger.issues("flaky")] == [
        ("ops__add", "error", "provider"),
        ("ops__mul", "unsolved", None),
    ]

    second = bench(tmp_path, "--resume", "flaky", env=fake_env(fake))
    assert (second["instances"], second["error_ids"], second["unresolved_ids"]) == (2, [], ["ops__mul", "ops__add"])
    assert [(i.key, i.status) for i in ledger.issues("flaky")] == [
        ("ops__add", "superseded"),
        ("ops__mul", "unsolved"),
        ("ops__add", "unsolved"),
    ]


def test_resume_of_a_live_run_is_refused(tmp_path):
    ledger = ledger_of(tmp_path)
    from agent.core.config import ReviewConfig

    ledger.create_run("bench", {"options": {"suite": "x"}}, ReviewConfig().hourly_rate_usd, run_id="live")
    with ledger.transaction() as db:
        db.execute("UPDATE runs SET owner = ? WHERE id = 'live'", (f"{os.uname().nodename}:1",))
    done = run_agent(tmp_path, "bench", "--resume", "live", "--json")
    assert done.returncode == 2
    assert "run live is still running" in done.stderr
