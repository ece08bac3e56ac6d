"""Honest small costs, end to end: `agent fix` in-process in a local sandbox, the real SDKs over HTTP
to the fake provider, a real ledger. Review time is billed only for a change to review; the classifier's
calls are in the issue's API cost and in its budget."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from agent.ledger import Ledger
from tests.bench_helpers import make_suite
from tests.billing_helpers import HAIKU, SOLVE, fix, haiku_usd
from tests.cli_helpers import run_agent


def review_of(result: dict) -> list[tuple]:
    return [
        (a["turns"], a["review_billed"], a["review_reason"], a["review_minutes"], a["changed_lines"])
        for a in result["attempts"]
    ]


def test_an_unreachable_provider_bills_no_review_time(tmp_path, free_port):
    env = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{free_port}"}
    result, _ = fix(tmp_path, "--ladder", "claude-opus-4-7@high", env=env)
    assert (result["status"], review_of(result)) == ("error", [(0, False, "no diff recorded", 0.0, None)])
    assert (result["review_minutes"], result["review_billed_attempts"], result["review_not_billed"]) == (
        0.0,
        0,
        {"no diff recorded": 1},
    )
    assert (result["api_cost_usd"], result["review_cost_usd"], result["total_cost_usd"]) == (0.0, 0.0, 0.0)


def test_a_cap_too_small_for_any_call_asks_no_model_not_even_the_classifier_and_bills_nothing(
    tmp_path, make_fake, fake_env
):
    fake = make_fake({"rules": [SOLVE]})
    result, _ = fix(
        tmp_path, "--ladder", "claude-opus-4-7@high", "--max-cost", "0.00001", env=fake_env(fake), classifier=True
    )
    assert fake.requests == []
    assert (result["status"], result["decided_by"], result["classifier"]) == ("paused", "rules", None)
    assert f"classifier {HAIKU} not asked: $0.0000 left" in result["task_type_reason"]
    assert [a["outcome"] for a in result["attempts"]] == ["paused"]
    assert review_of(result) == [(0, False, "no diff recorded", 0.0, None)]  # paused: nothing to review yet
    assert (result["review_minutes"], result["total_cost_usd"]) == (0.0, 0.0)


@pytest.mark.parametrize(("answer", "decided_by"), [("bug_fix", "model"), ("Hard to say, sorry.", "rules")])
def test_the_classifiers_call_is_in_the_ledger_and_in_the_issues_api_cost(
    tmp_path, make_fake, fake_env, answer, decided_by
):
    fake = make_fake({"rules": [{"model": "claude-haiku-*", "turns": [{"text": answer}]}, SOLVE]})
    result, ledger = fix(tmp_path, "--ladder", "claude-opus-4-7@high", env=fake_env(fake), classifier=True)
    assert (result["status"], result["decided_by"]) == ("solved", decided_by)
    [asked] = [request for request in fake.requests if request.body["model"] == HAIKU]
    classifier_usd = haiku_usd(asked.usage)
    [issue] = ledger.issues(result["run_id"])
    [call] = ledger.issue_calls(issue.id)
    assert (call.purpose, call.attempt_id, call.model, call.cost_usd) == ("classify", None, HAIKU, classifier_usd)
    assert (call.usage.input_tokens, call.usage.output_tokens) == (
        asked.usage["input_tokens"],
        asked.usage["output_tokens"],
    )
    assert result["classifier"] == {
        "models": [HAIKU],
        "calls": 1,
        "errors": 0,
        "input_tokens": asked.usage["input_tokens"],
        "cache_read_tokens": 0,
        "output_tokens": asked.usage["output_tokens"],
        "api_cost_usd": float(classifier_usd),
    }
    attempts_usd = sum(
        (c.cost_usd for a in ledger.attempts(result["run_id"]) for c in ledger.calls(a.id) if c.cost_usd is not None),
        Decimal(0),
    )
    assert ledger.spent(result["run_id"]) == attempts_usd + classifier_usd
    assert result["api_cost_usd"] == float(round(attempts_usd + classifier_usd, 6))
    assert result["total_cost_usd"] == float(round(attempts_usd + classifier_usd + Decimal(10) * 100 / 60, 6))
    events = [event.data for event in ledger.events(result["run_id"], kinds=("classifier_call",))]
    assert [(e["model"], e["cost_usd"]) for e in events] == [(HAIKU, str(classifier_usd))]
    assert review_of(result) == [(3, True, "estimated", 10.0, 2)]


@pytest.mark.parametrize(("args", "jobs"), [(["--model", "null"], 2), (["--grid", "null@medium,high"], 4)])
def test_bench_classifies_like_fix_once_a_task_and_bills_its_calls(tmp_path, make_fake, fake_env, args, jobs):
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    tasks = [json.loads(line) for line in suite.read_text().splitlines()]
    suite.write_text("".join(json.dumps({k: v for k, v in t.items() if k != "task_type"}) + "\n" for t in tasks))
    (tmp_path / "user.toml").write_text(f'[planner]\nclassifier_model = "{HAIKU}"\n')
    fake = make_fake({"rules": [{"model": "claude-haiku-*", "turns": [{"text": "complex_bug"}]}]})
    env = {**fake_env(fake), "AGENT_CONFIG": str(tmp_path / "user.toml")}
    done = run_agent(tmp_path, "bench", str(suite), *args, "--sandbox", "local", "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    asked = [request for request in fake.requests if request.body["model"] == HAIKU]
    assert len(asked) == 2  # one call a task, however many of its jobs ran
    classifier_usd = sum((haiku_usd(request.usage) for request in asked), Decimal(0))
    assert (result["classifier_calls"], result["classifier_cost_usd"]) == (2, float(classifier_usd))
    assert result["api_cost_usd"] == float(classifier_usd)  # null's attempts cost nothing
    assert (result["review_minutes"], result["review_billed_attempts"], result["total_cost_usd"]) == (
        0.0,
        0,
        float(classifier_usd),
    )
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    issues = ledger.issues(result["run_id"])
    assert len(issues) == jobs
    assert {(issue.key, issue.task_type, issue.decided_by) for issue in issues} == {
        ("ops__add", "complex_bug", "model"),
        ("ops__mul", "complex_bug", "model"),
    }
    calls = [call for issue in issues for call in ledger.issue_calls(issue.id)]
    assert sorted(call.cost_usd for call in calls) == sorted(haiku_usd(request.usage) for request in asked)
    assert ledger.spent(result["run_id"]) == classifier_usd


def test_a_resumed_bench_reuses_the_recorded_task_type_instead_of_asking_again(tmp_path, make_fake, fake_env):
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    tasks = [json.loads(line) for line in suite.read_text().splitlines()]
    suite.write_text("".join(json.dumps({k: v for k, v in t.items() if k != "task_type"}) + "\n" for t in tasks))
    (tmp_path / "user.toml").write_text(f'[planner]\nclassifier_model = "{HAIKU}"\n')
    fake = make_fake({"rules": [{"model": "claude-haiku-*", "turns": [{"text": "complex_bug"}]}]})
    env = {**fake_env(fake), "AGENT_CONFIG": str(tmp_path / "user.toml")}
    args = ["bench", str(suite), "--ladder", "null@high", "--sandbox", "local", "--json"]
    assert run_agent(tmp_path, *args, "--run-id", "b1", env=env).returncode == 0
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    first = ledger.issues("b1")
    ledger.finish_issue(first[0].id, "error", error_kind="infra", error="the sandbox died")  # to run again
    ledger.finish_run("b1", "interrupted")
    done = run_agent(tmp_path, "bench", "--resume", "b1", "--sandbox", "local", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert len([r for r in fake.requests if r.body["model"] == HAIKU]) == 2  # none more on resume
    again = ledger.issues("b1")[-1]
    assert (again.key, again.status, again.task_type, again.decided_by) == (
        "ops__add",
        "unsolved",
        "complex_bug",
        "model",
    )
    assert ledger.issue_calls(again.id) == []
    result = json.loads(done.stdout)
    assert result["classifier_calls"] == 2  # the superseded row's call still counts, once


def test_a_ray_workers_rows_keep_the_classifiers_calls_under_their_issue(tmp_path):
    from agent.bench.executors import import_facts
    from agent.core.messages import Usage
    from agent.ledger import CallRecord
    from agent.ledger.facts import AttemptClosed, AttemptOpened, CallSent, IssueOpened
    from agent.ledger.writer import FactLog, LedgerWriter

    worker = Ledger(tmp_path / "worker.sqlite")
    worker.create_run("bench", {}, Decimal(100), run_id="r")
    log = FactLog(LedgerWriter(worker))
    fields = {"key": "k", "title": "t", "task_type": "bug_fix", "task_type_reason": "m", "decided_by": "model"}
    fields |= {"repo": "/r", "base_commit": "abc", "test_cmd": "pytest", "ladder": "null@high"}
    issue = log.write(IssueOpened(run_id="r", fields=fields))
    assert issue is not None
    call = CallRecord(turn=1, model=HAIKU, effort_sent="low", usage=Usage(input_tokens=90, output_tokens=3),
                      cost_usd=Decimal("0.000105"), price_source="t", duration_s=0.1)  # fmt: skip
    log.write(CallSent(record=call, issue_id=issue, purpose="classify"))
    started = {"rung_index": 0, "model": "null", "provider": "validation", "effort_asked": "high"}
    attempt = log.write(
        AttemptOpened(issue_id=issue, run_id="r", fields={**started, "effort_sent": "high", "max_turns": 5})
    )
    assert attempt is not None
    log.write(CallSent(record=call.model_copy(update={"model": "null", "cost_usd": None}), attempt_id=attempt))
    log.write(AttemptClosed(attempt_id=attempt, outcome="finished", passed=False, fields={"patch": ""}))
    worker.close()
    head = Ledger(tmp_path / "head.sqlite")
    head.create_run("bench", {}, Decimal(100), run_id="r")
    head.add_issue(  # an issue of the head's own first: the worker's ids must be mapped
        "r", key="other", title="t", task_type="bug_fix", task_type_reason="r", decided_by="rules", repo="/r",
        base_commit="abc", test_cmd="pytest", ladder="null@high",
    )  # fmt: skip
    import_facts(head, log.facts, tmp_path)
    imported = head.issues("r")[-1]
    [classified] = head.issue_calls(imported.id)
    [made] = head.calls(head.attempts("r", imported.id)[0].id)
    assert (classified.purpose, classified.attempt_id, classified.cost_usd) == ("classify", None, Decimal("0.000105"))
    assert (made.purpose, made.issue_id) == ("attempt", imported.id)
    assert head.spent("r", imported.id) == Decimal("0.000105")
    assert head.attempts("r", imported.id)[0].changed_lines == 0
