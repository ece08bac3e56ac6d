"""Every call billed honestly: the real SDKs over HTTP to the fake provider, a real SQLite ledger.

A call the provider refused before generating (529, 500) is $0 and says so (`not_billed`); a stream
that failed after Anthropic's `message_start` is billed at the input the provider counted and the
output streamed (`known_input`); a timeout or a dropped connection with nothing known is billed at the
worst case reserved before sending (`worst_case`). The last two are flagged uncertain and charged to
the budget. The classifier's call has its pending row before its request reaches the provider (fix,
bench, mining), and a capped run refuses a model without a price unless `--allow-unpriced`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.bench.mining_setup import PlannerClassifier
from agent.core.effort import EffortLevel
from agent.core.errors import ProviderError
from agent.core.messages import Message, Usage
from agent.engine.budget import Budget
from agent.engine.calling.metered import MeteredModel
from agent.engine.calling.meters import AttemptMeter
from agent.ledger import Ledger
from agent.ledger.writer import LedgerWriter
from agent.providers.pricing import cost
from agent.simulate.script import Script
from agent.wiring import model_factory, price_lookup
from tasks.history import open_repo
from tests.bench_helpers import make_suite
from tests.billing_helpers import HAIKU, SOLVE, fix
from tests.cli_helpers import run_agent
from tests.failed_call_helpers import FAST_CLIENT, LedgerAtArrival, fast_client_toml
from tests.repo_helpers import ISSUE, RIGHT_FIX, edit_turn, make_repo, plan_turn
from tests.task_file_helpers import mined_task

OPUS, GPT = "claude-opus-4-7", "gpt-5"
ANSWER = "The fault is in add(): it subtracts where it should add. " * 3
"""A reply long enough that the first streamed piece is 24 characters (6 tokens at 4 a token)."""
HANG = 1.5  # seconds: three times the client's timeout


def call_with_fault(tmp_path: Path, make_fake, make_config, fake_env, provider: str, model: str, fault: dict):
    """One metered call to `model` that `fault` breaks; the fake, its ledger row, the budget and the price."""
    fake = make_fake({"rules": [{"turns": [{"text": ANSWER}]}], "faults": [fault]})
    fast = {f"providers.{provider}.{key}": value for key, value in FAST_CLIENT.items()}
    config = make_config(**fast)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    run_id = ledger.create_run("fix", {}, Decimal(0))
    issue = {"task_type": "bug_fix", "task_type_reason": "r", "decided_by": "rules", "repo": "/r"}
    issue_id = ledger.add_issue(run_id, key="k", title="t", base_commit="abc", test_cmd="pytest", ladder="m", **issue)
    attempt = {"rung_index": 0, "model": model, "provider": provider, "effort_asked": "low", "effort_sent": "low"}
    attempt_id = ledger.start_attempt(issue_id, run_id, max_turns=5, **attempt)
    meter = AttemptMeter(attempt_id, LedgerWriter(ledger).write, lambda kind, data: None)
    price, budget = price_lookup(config)(model), Budget(Decimal(10))
    assert price is not None
    metered = MeteredModel(model_factory(config, fake_env(fake, provider))(model, None), price, budget, meter)
    with pytest.raises(ProviderError):
        metered.complete([Message.user("fix add " * 40)], system="s", tools=[], effort=EffortLevel.LOW, max_tokens=900)
    [row] = ledger.calls(attempt_id)
    assert ledger.spent(run_id) == row.cost_usd == budget.spent  # charged to the budget and the run alike
    return fake, row, price


@pytest.mark.parametrize(
    ("provider", "model", "status"),
    [("anthropic", OPUS, 529), ("anthropic", OPUS, 500), ("openai", GPT, 529), ("openai", GPT, 500)],
)
def test_an_error_status_before_any_generation_is_not_billed_and_says_so(
    tmp_path, make_fake, make_config, fake_env, provider, model, status
):
    fake, row, _ = call_with_fault(tmp_path, make_fake, make_config, fake_env, provider, model, {"status": status})
    assert [request.status for request in fake.requests] == [status]
    assert (row.status, row.error_kind, row.cost_basis, row.cost_uncertain) == ("failed", "status", "not_billed", False)
    assert (row.cost_usd, row.usage) == (Decimal(0), Usage())
    assert row.cost_reason == "$0: the call failed (status) and no usage came back"


@pytest.mark.parametrize(("provider", "model"), [("anthropic", OPUS), ("openai", GPT)])
def test_a_timeout_with_nothing_known_is_billed_at_the_worst_case_reserved_and_flagged(
    tmp_path, make_fake, make_config, fake_env, provider, model
):
    fake, row, _ = call_with_fault(tmp_path, make_fake, make_config, fake_env, provider, model, {"hang_s": HANG})
    assert len(fake.requests) == 1  # no retries: it reached the provider once
    assert (row.status, row.error_kind, row.cost_basis, row.cost_uncertain) == ("failed", "timeout", "worst_case", True)
    assert row.reserved_usd is not None and row.reserved_usd > 0
    assert (row.cost_usd, row.usage) == (row.reserved_usd, Usage())
    assert row.cost_reason is not None and row.cost_reason.startswith("uncertain: the call failed (timeout)")


@pytest.mark.parametrize(
    ("fault", "kind", "streamed_tokens"),
    [
        ({"cut_after": 1}, "unreachable", 1),  # the connection dropped right after message_start
        ({"cut_after": 1, "cut": "error"}, "status", 1),  # the API's overloaded_error event mid-stream
        ({"cut_after": 4, "cut": "hang", "hang_s": HANG}, "timeout", 6),  # one 24-character text delta, then silence
    ],
    ids=["dropped", "error-event", "read-timeout"],
)
def test_a_stream_that_fails_after_message_start_is_billed_at_the_input_the_provider_counted(
    tmp_path, make_fake, make_config, fake_env, fault, kind, streamed_tokens
):
    fake, row, price = call_with_fault(tmp_path, make_fake, make_config, fake_env, "anthropic", OPUS, fault)
    [request] = fake.requests
    assert request.usage is not None
    counted = sum(
        request.usage[key] for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    assert counted > 0
    assert (row.status, row.error_kind, row.cost_basis, row.cost_uncertain) == ("failed", kind, "known_input", True)
    assert (row.usage.input_tokens, row.usage.output_tokens) == (counted, streamed_tokens)
    assert row.cost_usd == cost(row.usage, price)
    assert row.reserved_usd is not None and 0 < row.cost_usd < row.reserved_usd


def test_an_openai_stream_cut_before_its_usage_chunk_is_billed_at_the_worst_case(
    tmp_path, make_fake, make_config, fake_env
):
    fault = {"cut_after": 3}  # OpenAI reports usage only in the last chunk: nothing known yet
    _, row, _ = call_with_fault(tmp_path, make_fake, make_config, fake_env, "openai", GPT, fault)
    assert (row.error_kind, row.cost_basis, row.cost_usd) == ("unreachable", "worst_case", row.reserved_usd)


def test_stats_counts_the_uncertain_dollars_of_a_fix_whose_call_timed_out(tmp_path, make_fake, fake_env):
    fake = make_fake({"rules": [SOLVE], "faults": [{"hang_s": HANG}]})
    (tmp_path / "fast.toml").write_text(fast_client_toml("anthropic"))
    env = {**fake_env(fake), "AGENT_CONFIG": str(tmp_path / "fast.toml")}
    result, ledger = fix(tmp_path, "--ladder", f"{OPUS}@high", env=env)
    assert result["status"] == "error"
    [attempt] = ledger.attempts(result["run_id"])
    [row] = ledger.calls(attempt.id)
    assert (row.cost_basis, row.cost_usd) == ("worst_case", row.reserved_usd)
    assert ledger.spent(result["run_id"]) == row.reserved_usd
    done = run_agent(tmp_path, "stats", result["run_id"], "--json")
    assert done.returncode == 0, done.stderr
    total = json.loads(done.stdout)["spend"]["total"]
    assert (total["calls"], total["uncertain_calls"], total["uncertain_cost_usd"]) == (
        1,
        1,
        float(round(row.reserved_usd, 6)),
    )
    text = run_agent(tmp_path, "stats", result["run_id"]).stdout
    assert f"${row.reserved_usd:.4f} (1 uncertain)" in text


# --- the classifier's row exists before its request is sent --------------------------------------
def classifier_watch(ledger_path: Path, rules: list[dict]) -> LedgerAtArrival:
    """The fake's answers (the classifier says complex_bug), noting the ledger's rows as its requests arrive."""
    script = Script.model_validate({"rules": [{"model": "claude-haiku-*", "turns": [{"text": "complex_bug"}]}, *rules]})
    return LedgerAtArrival(script, ledger_path, "claude-haiku-*")


def test_fix_writes_the_classifiers_pending_row_before_sending_it_and_the_issue_claims_it(
    tmp_path, make_fake, fake_env
):
    watch = classifier_watch(tmp_path / "agent-home" / "ledger.sqlite", [SOLVE])
    fake = make_fake(watch.script, responder=watch)
    result, ledger = fix(tmp_path, "--ladder", f"{OPUS}@high", env=fake_env(fake), classifier=True)
    assert (result["status"], result["decided_by"]) == ("solved", "model")
    assert watch.seen == [[("classify", "pending", HAIKU, None)]]
    [issue] = ledger.issues(result["run_id"])
    [call] = ledger.issue_calls(issue.id)
    assert (call.purpose, call.status, call.cost_basis, call.run_id) == ("classify", "ok", "usage", result["run_id"])
    assert ledger.run_calls(result["run_id"]) == []  # claimed: no row is left without its issue


def test_bench_writes_each_classifier_row_before_sending_it(tmp_path, make_fake, fake_env):
    suite = make_suite(tmp_path / "suite", ["add", "mul"])
    tasks = [json.loads(line) for line in suite.read_text().splitlines()]
    suite.write_text("".join(json.dumps({k: v for k, v in t.items() if k != "task_type"}) + "\n" for t in tasks))
    (tmp_path / "user.toml").write_text(f'[planner]\nclassifier_model = "{HAIKU}"\n')
    watch = classifier_watch(tmp_path / "agent-home" / "ledger.sqlite", [])
    fake = make_fake(watch.script, responder=watch)
    env = {**fake_env(fake), "AGENT_CONFIG": str(tmp_path / "user.toml")}
    done = run_agent(tmp_path, "bench", str(suite), "--model", "null", "--sandbox", "local", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert watch.seen == [[("classify", "pending", HAIKU, None)]] * 2  # one task after the other
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    run_id = json.loads(done.stdout)["run_id"]
    calls = [call for issue in ledger.issues(run_id) for call in ledger.issue_calls(issue.id)]
    assert [(call.purpose, call.status) for call in calls] == [("classify", "ok")] * 2
    assert ledger.run_calls(run_id) == []


def test_mining_writes_each_classifier_row_before_sending_it_under_a_mine_run(
    tmp_path, make_fake, fake_env, make_config
):
    config = make_config(planner__classifier_model=HAIKU)
    watch = classifier_watch(config.ledger_path, [])
    fake = make_fake(watch.script, responder=watch)
    repo = make_repo(tmp_path / "calc")
    classifier = PlannerClassifier(config, fake_env(fake), open_repo(repo))
    tasks = [mined_task(name) for name in ("calc__1", "calc__2")]
    assert [classifier(task, []) for task in tasks] == ["complex_bug", "complex_bug"]
    classifier.close()
    assert watch.seen == [[("classify", "pending", HAIKU, None)], [("classify", "pending", HAIKU, None)]]
    ledger = Ledger(config.ledger_path)
    [run] = ledger.runs()
    calls = [call for issue in ledger.issues(run.id) for call in ledger.issue_calls(issue.id)]
    assert [(call.status, call.cost_basis) for call in calls] == [("ok", "usage")] * 2
    assert ledger.spent(run.id) == sum((call.cost_usd or Decimal(0) for call in calls), Decimal(0)) > 0


# --- a capped run refuses an unpriced model ------------------------------------------------------
def scripted_fix_args(tmp_path: Path, *extra: str) -> list[str]:
    repo = make_repo(tmp_path / "calc")
    (tmp_path / "issue.md").write_text(ISSUE)
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"turns": [plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."}]}]}))
    args = ["fix", str(tmp_path / "issue.md"), "--repo", str(repo), "--test-cmd", "python -m pytest -q"]
    return [*args, "--sandbox", "local", "--model", f"scripted:{script}", "--json", *extra]


def test_a_capped_fix_refuses_an_unpriced_model_in_one_line(tmp_path):
    done = run_agent(tmp_path, *scripted_fix_args(tmp_path, "--max-cost", "1"))
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    script = tmp_path / "script.json"
    assert lines[0] == (
        f"error: scripted:{script} has no price, so the $1.0 cost cap cannot count its calls: "
        f'set [models."scripted:{script}"] price or pass --allow-unpriced'
    )


def test_allow_unpriced_runs_the_capped_fix_and_says_once_its_calls_do_not_count(tmp_path):
    done = run_agent(tmp_path, *scripted_fix_args(tmp_path, "--max-cost", "1", "--allow-unpriced"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "solved"
    script = tmp_path / "script.json"
    note = f"calls to scripted:{script} are unpriced: they do not count against the cost cap"
    assert done.stderr.count(note) == 1, done.stderr


def test_an_uncapped_fix_runs_an_unpriced_model_without_a_word(tmp_path):
    done = run_agent(tmp_path, *scripted_fix_args(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "unpriced" not in done.stderr


@pytest.mark.parametrize(("allow", "code"), [((), 2), (("--allow-unpriced",), 0)])
def test_a_capped_bench_refuses_an_unpriced_model_unless_allowed(tmp_path, allow, code):
    suite = make_suite(tmp_path / "suite", ["add"])
    args = ["bench", str(suite), "--model", "null", "--max-cost", "1", "--sandbox", "local", "--json", *allow]
    done = run_agent(tmp_path, *args)
    assert done.returncode == code, (done.stdout, done.stderr)
    if code == 2:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "null has no price" in lines[0] and "--allow-unpriced" in lines[0], done.stderr
    else:
        assert "calls to null are unpriced: they do not count against the cost cap" in done.stderr
