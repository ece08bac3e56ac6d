"""Every model request has a ledger row, written before it is sent and settled when it ends.

`agent fix` and `agent bench` in-process (a process of its own where it is killed) in local sandboxes,
the real Anthropic SDK over HTTP to the fake provider, a real SQLite ledger: a failed call is one
`failed` row ($0, its error kind, the SDK's retries); a call in flight when the runner is SIGKILLed
counts at its worst case on resume, so what the provider served stays within the batch cap.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from decimal import Decimal

import pytest

from agent.core.config import load_config
from agent.core.messages import Usage
from agent.fake_provider import FakeProvider
from agent.ledger import CallRecord, Ledger
from agent.ledger.migrations import MIGRATIONS
from agent.providers.pricing import cost
from agent.wiring import price_lookup
from tests.bench_helpers import make_suite
from tests.billing_helpers import HAIKU, SOLVE, fix
from tests.cli_helpers import run_agent, start_agent_process

OPUS = "claude-opus-4-7"
SDK_RETRIES = 4  # providers.*.max_retries by default
EVERY_REQUEST = 1000


def failed_call(kind: str, retries: int) -> dict:
    """The settled row of a call that gave up, as `agent fix --json` shows it (duration left out)."""
    return {
        "turn": 1,
        "status": "failed",
        "error_kind": kind,
        "retries": retries,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "cost_reason": f"$0: the call failed ({kind}) and no usage came back",
    }


def without(row: dict, *keys: str) -> dict:
    return {key: value for key, value in row.items() if key not in keys}


@pytest.mark.parametrize(
    ("fault", "kind", "retries"),
    [
        ({"status": 500, "count": EVERY_REQUEST, "retry_after": 0.01}, "status", SDK_RETRIES),
        ({"status": 401, "count": EVERY_REQUEST}, "auth", 0),  # never retried
        (None, "unreachable", SDK_RETRIES),  # nothing listens on the port
    ],
)
def test_a_call_that_fails_after_the_sdks_retries_is_one_failed_row_at_no_cost(
    tmp_path, make_fake, fake_env, free_port, fault, kind, retries
):
    if fault is None:
        env, fake = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{free_port}"}, None
    else:
        fake = make_fake({"rules": [SOLVE], "faults": [fault]})
        env = fake_env(fake)
    result, ledger = fix(tmp_path, "--ladder", f"{OPUS}@high", env=env)
    assert result["status"] == "error"
    if fake is not None:
        assert [request.status for request in fake.requests] == [fault["status"]] * (retries + 1)
    [attempt] = result["attempts"]
    [request] = attempt["requests"]
    reserved = request["reserved_usd"]
    assert reserved is not None and reserved > 0  # the worst case reserved before it was sent
    assert without(request, "duration_s", "reserved_usd", "error") == failed_call(kind, retries)
    assert (attempt["api_cost_usd"], attempt["failed_calls"], attempt["failed_by_kind"]) == (0.0, 1, {kind: 1})
    assert (result["api_cost_usd"], result["failed_calls"], result["unsettled_calls"]) == (0.0, 1, 0)
    [row] = ledger.calls(ledger.attempts(result["run_id"])[0].id)
    assert (row.status, row.error_kind, row.retries, row.cost_usd, row.usage) == (
        "failed",
        kind,
        retries,
        Decimal(0),
        Usage(),
    )
    assert row.error == request["error"] and row.max_tokens == 32000  # high effort's max_tokens
    # Reserved before sending: the prompt at the cache-write rate plus 32000 output tokens at $25/M.
    assert row.reserved_usd is not None and round(row.reserved_usd, 6) == Decimal(str(reserved))
    assert Decimal("0.8") < row.reserved_usd < Decimal("0.81")
    assert ledger.spent(result["run_id"]) == Decimal(0)
    report = run_agent(tmp_path, "report", result["run_id"], "--by", "model", "--json")
    assert report.returncode == 0, report.stderr
    [group] = json.loads(report.stdout)["groups"]
    assert (group["group"], group["calls"], group["failed_calls"], group["failed_by_kind"]) == (OPUS, 1, 1, {kind: 1})
    assert (group["api_cost_usd"], group["unsettled_calls"], group["unsettled_cost_usd"]) == (0.0, 0, 0.0)
    text = run_agent(tmp_path, "report", result["run_id"], "--by", "model").stdout
    assert f"{OPUS}: 1 failed call(s) at $0 (1 {kind})" in text


def test_the_classifiers_failed_call_has_its_row_too(tmp_path, make_fake, fake_env):
    fault = {"model": "claude-haiku-*", "status": 500, "count": EVERY_REQUEST, "retry_after": 0.01}
    fake = make_fake({"rules": [SOLVE], "faults": [fault]})
    result, ledger = fix(tmp_path, "--ladder", f"{OPUS}@high", env=fake_env(fake), classifier=True)
    assert (result["status"], result["decided_by"]) == ("solved", "rules")
    asked = [request.status for request in fake.requests if request.body["model"] == HAIKU]
    assert asked == [500] * (SDK_RETRIES + 1)
    [issue] = ledger.issues(result["run_id"])
    [row] = ledger.issue_calls(issue.id)
    assert (row.purpose, row.status, row.error_kind, row.retries, row.cost_usd, row.usage) == (
        "classify",
        "failed",
        "status",
        SDK_RETRIES,
        Decimal(0),
        Usage(),
    )
    [request] = result["classifier_requests"]
    assert without(request, "duration_s", "reserved_usd", "error") == failed_call("status", SDK_RETRIES)
    assert (result["classifier"]["calls"], result["classifier"]["errors"], result["failed_calls"]) == (1, 1, 1)


def view_turn(output_tokens: int | None = None, delay_s: float = 0.0, lines: int = -1) -> dict:
    view = {"name": "str_replace_based_edit_tool", "input": {"command": "view", "path": "ops/calc.py"}}
    if lines > 0:
        view["input"]["view_range"] = [1, lines]
    return {"text": "Looking.", "tool_calls": [view], "output_tokens": output_tokens, "delay_s": delay_s}


def script(delay_s: float) -> dict:
    """Cheap turns, but the third one answers slowly (`delay_s`) with 8000 output tokens (about $0.20).
    Every other turn views fewer lines: the same call three times in a row would be a loop."""
    turns = [view_turn(), view_turn(lines=2), view_turn(8000, delay_s)] + [
        view_turn(lines=2 if number % 2 else -1) for number in range(12)
    ]
    return {"rules": [{"model": "claude-opus-*", "turns": turns}]}


def served_usd(fakes: list[FakeProvider]) -> Decimal:
    """What the fake providers served: every answered request's usage at Opus's price."""
    price = price_lookup(load_config(env={"AGENT_CONFIG": os.devnull}))(OPUS)
    total = Decimal(0)
    for fake in fakes:
        for request in fake.requests:
            if request.usage:
                used = request.usage
                read, write = used["cache_read_input_tokens"] or 0, used["cache_creation_input_tokens"] or 0
                usage = Usage(
                    input_tokens=used["input_tokens"] + read + write,
                    cache_read_tokens=read,
                    cache_write_tokens=write,
                    output_tokens=used["output_tokens"],
                )
                total += cost(usage, price) or Decimal(0)
    return total


CAP = "0.60"


def test_a_call_in_flight_when_the_runner_is_killed_counts_at_its_worst_case_and_the_cap_holds(
    tmp_path, make_fake, fake_env
):
    suite = make_suite(tmp_path / "suite")
    slow = make_fake(script(delay_s=60))
    bench = ["bench", str(suite), "--ladder", f"{OPUS}@low", "--max-cost", CAP, "--sandbox", "local"]
    runner = start_agent_process(tmp_path, *bench, "--run-id", "killed", "--json", env=fake_env(slow))
    ledger_path = tmp_path / "agent-home" / "ledger.sqlite"
    deadline = time.time() + 120
    in_flight = []
    while time.time() < deadline and not in_flight:
        if ledger_path.exists() and len(slow.requests) >= 3:  # the fake has served the slow call (and sleeps)
            ledger = Ledger(ledger_path)
            calls = [c for a in ledger.attempts("killed") for c in ledger.calls(a.id)] if ledger.run("killed") else []
            in_flight = [call for call in calls if call.status == "pending"]
        time.sleep(0.1)
    runner.send_signal(signal.SIGKILL)
    runner.communicate()
    assert [(call.turn, call.status) for call in in_flight] == [(3, "pending")]
    ledger = Ledger(ledger_path)
    [pending] = [c for a in ledger.attempts("killed") for c in ledger.calls(a.id) if not c.settled]
    served_before = served_usd([slow])
    worst = pending.reserved_usd
    assert worst is not None
    settled = sum((c.cost_usd or Decimal(0) for a in ledger.attempts("killed") for c in ledger.calls(a.id)), Decimal(0))
    assert ledger.spent("killed") == settled + worst >= served_before  # the in-flight call at its worst case

    fast = make_fake(script(delay_s=0))
    done = run_agent(tmp_path, "bench", "--resume", "killed", "--sandbox", "local", "--json", env=fake_env(fast))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    served = served_usd([slow, fast])
    spent = ledger.spent("killed")
    assert served <= Decimal(CAP) and spent <= Decimal(CAP)
    assert spent >= served
    [unsettled] = [c for a in ledger.attempts("killed") for c in ledger.calls(a.id) if not c.settled]
    assert (unsettled.id, unsettled.turn, unsettled.status, unsettled.reserved_usd) == (
        pending.id,
        3,
        "unsettled",
        worst,
    )
    assert (result["unsettled_calls"], result["unsettled_cost_usd"]) == (1, float(round(worst, 6)))
    assert Decimal(str(result["api_cost_usd"])) == spent.quantize(Decimal("0.000001"))
    report = run_agent(tmp_path, "report", "killed", "--by", "model", "--json")
    groups = {group["group"]: group for group in json.loads(report.stdout)["groups"]}
    group = groups[OPUS]  # skipped tasks have no attempt: their group is "(no attempt)"
    assert (group["unsettled_calls"], group["unsettled_cost_usd"], group["failed_calls"]) == (
        1,
        float(round(worst, 6)),
        0,
    )
    text = run_agent(tmp_path, "report", "killed", "--by", "model").stdout
    shown = float(round(worst, 6))  # the report's JSON number, printed to 4 places
    assert f"{OPUS}: 1 unsettled call(s) counted at their worst case, ${shown:.4f} (in flight when" in text
    print(f"cap ${CAP}: provider served ${served:.6f}, ledger spend ${spent:.6f} (unsettled worst case ${worst:.6f})")


def _attempt_of_a_new_run(ledger: Ledger) -> tuple[str, int]:
    run_id = ledger.create_run("bench", {}, Decimal(100))
    issue_id = ledger.add_issue(
        run_id,
        key="k",
        title="t",
        task_type="bug_fix",
        task_type_reason="r",
        decided_by="rules",
        repo="/r",
        base_commit="abc",
        test_cmd="pytest",
        ladder="m@low",
    )
    attempt = ledger.start_attempt(
        issue_id, run_id, rung_index=0, model="m", provider="p", effort_asked="low", effort_sent="low", max_turns=5
    )
    return run_id, attempt


def test_a_pending_call_counts_at_its_worst_case_until_settled_and_a_dead_runners_become_unsettled(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id, attempt = _attempt_of_a_new_run(ledger)
    answered = CallRecord.pending(
        1, model="m", effort_sent="low", max_tokens=100, reserved_usd=Decimal("0.30"), price=None
    )
    lost = answered.model_copy(update={"turn": 2, "reserved_usd": Decimal("0.25")})
    first, second = ledger.record_call(attempt, answered), ledger.record_call(attempt, lost)
    assert ledger.spent(run_id) == Decimal("0.55")  # both in flight: their worst cases
    reply = answered.model_copy(
        update={"status": "ok", "usage": Usage(input_tokens=10, output_tokens=5), "cost_usd": Decimal("0.01")}
    )
    ledger.settle_call(first, reply.model_copy(update={"cost_reason": None}))
    assert ledger.spent(run_id) == Decimal("0.26")
    assert ledger.mark_unsettled(run_id) == 1
    rows = ledger.calls(attempt)
    assert [(row.id, row.status, row.cost_usd, row.reserved_usd, row.spend_usd) for row in rows] == [
        (first, "ok", Decimal("0.01"), Decimal("0.30"), Decimal("0.01")),
        (second, "unsettled", None, Decimal("0.25"), Decimal("0.25")),
    ]
    assert rows[1].cost_reason == "worst case: in flight when its runner died"
    assert ledger.spent(run_id) == Decimal("0.26")


def test_a_ledger_from_before_settlement_reads_its_calls_as_answered_and_its_errors_as_failed(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    for name, step in MIGRATIONS[:3]:
        step(db)
        db.execute("INSERT INTO _migrations VALUES (?, 0)", (name,))
    db.execute("INSERT INTO runs VALUES ('r', 'fix', 'finished', 0, 1, 'h:1', '{}', '100', NULL)")
    db.execute(
        "INSERT INTO issues (id, run_id, key, title, task_type, task_type_reason, decided_by, repo, base_commit,"
        " test_cmd, ladder, status, started_at) VALUES (7, 'r', 'k', 't', 'bug_fix', 'r', 'rules', '/r', 'abc',"
        " 'pytest', 'm@low', 'unsolved', 0)"
    )
    for error, spent in ((None, "0.25"), ("classifier failed", "0")):
        db.execute(
            "INSERT INTO calls (issue_id, purpose, turn, model, input_tokens, cache_read_tokens, cache_write_tokens,"
            " output_tokens, cost_usd, duration_s, error, created_at) VALUES (7, 'classify', 1, 'm', 1, 0, 0, 1, ?,"
            " 0.5, ?, 0)",
            (spent, error),
        )
    db.close()
    ledger = Ledger(path)
    assert ledger.applied_migrations == [name for name, _ in MIGRATIONS[3:]]  # m004_call_settlement and after
    assert [(c.status, c.error_kind, c.reserved_usd, c.cost_usd) for c in ledger.issue_calls(7)] == [
        ("ok", None, None, Decimal("0.25")),
        ("failed", None, None, Decimal(0)),
    ]
    assert ledger.spent("r") == Decimal("0.25")
