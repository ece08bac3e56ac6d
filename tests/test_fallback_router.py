"""The fallback router: every reply validated, retried, then routed to a fallback rung, never silently.

Unit tests check the validator and the chain; end-to-end tests run `agent fix` in-process,
the real SDKs over HTTP to the fake provider, in a local sandbox over a real git repository.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.core.effort import EffortLevel, Rung
from agent.core.messages import ModelTurn, ToolCall, Usage
from agent.core.tool_specs import STANDARD_TOOLS
from agent.engine.calling.router import Route, Router, fallback_chain
from agent.engine.validation import ReplyValidator
from agent.fake_provider import FakeProvider
from agent.ledger import Ledger
from agent.providers.pricing import cost, quote
from tests.cli_helpers import run_agent
from tests.repo_helpers import ISSUE, RIGHT_FIX, edit_turn, make_repo, plan_turn

BAD_JSON = {"text": "", "tool_calls": [{"name": "bash", "raw_arguments": '{"command": ls}'}]}
SOLVE = [plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."}]


def call(name: str = "bash", error: str | None = None, **fields: object) -> ToolCall:
    return ToolCall(id="c1", name=name, input=dict(fields), error=error)


def reasons(validator: ReplyValidator, *calls: ToolCall, text: str = "", turns_left: bool = True) -> list[str]:
    return [problem.reason for problem in validator.check(ModelTurn(text=text, tool_calls=list(calls)), turns_left)]


def test_the_validator_names_each_kind_of_invalid_reply():
    validator = ReplyValidator(STANDARD_TOOLS)
    assert reasons(validator, call("run_shell", command="ls")) == ["unknown_tool"]
    assert reasons(validator, call(error="the arguments of bash are not valid JSON")) == ["bad_json"]
    assert reasons(validator, call()) == ["schema"]  # bash without its command
    assert reasons(validator, call(command=["ls"])) == ["schema"]  # wrong type
    assert reasons(validator, call("str_replace_based_edit_tool", command="delete", path="a.py")) == ["schema"]
    assert reasons(validator, call("str_replace_based_edit_tool", command="insert", path="a.py")) == ["schema"]
    assert reasons(validator) == ["empty"]
    assert reasons(validator, turns_left=False) == []  # the last turn may end quietly
    assert reasons(validator, text="Done.") == []
    assert reasons(validator, call("str_replace_based_edit_tool", command="view", path="a.py")) == []


def test_the_same_call_three_times_in_a_row_is_a_loop_and_any_other_reply_resets_it():
    validator = ReplyValidator(STANDARD_TOOLS, loop_repeats=3)
    ls, pytest_call = call(command="ls"), call(command="pytest -q")
    assert [reasons(validator, ls) for _ in range(2)] == [[], []]
    assert reasons(validator, ls) == ["loop"]
    assert reasons(validator, pytest_call) == []
    assert [reasons(validator, ls) for _ in range(3)] == [[], [], ["loop"]]


def test_messages_the_model_reads_say_what_to_do():
    validator = ReplyValidator(STANDARD_TOOLS)
    [unknown] = validator.check(ModelTurn(tool_calls=[call("python")]), True)
    assert unknown.message == "unknown tool 'python': use bash or str_replace_based_edit_tool"
    [missing] = validator.check(ModelTurn(tool_calls=[call()]), True)
    assert missing.message == "missing required field 'command' for bash"
    [enum] = validator.check(ModelTurn(tool_calls=[call("str_replace_based_edit_tool", command="x", path="p")]), True)
    assert "command: 'x' is not one of ['view', 'create', 'str_replace', 'insert']" in enum.message


def test_the_chain_tries_a_higher_effort_of_the_same_model_before_a_model_switch(make_config):
    config = make_config(
        models={"deepseek-v4-flash": {"fallback": "deepseek-v4-flash@max"}},
        planner__fallback="claude-opus-4-7@high",
    )
    chain = fallback_chain(config, Rung.parse("deepseek-v4-flash@medium"))
    assert [str(rung) for rung in chain] == ["deepseek-v4-flash@max", "claude-opus-4-7@high"]
    # No effort: the rung's. A "higher effort" that is not higher is dropped.
    config = make_config(models={"deepseek-v4-pro": {"fallback": "deepseek-v4-pro@low"}}, planner__fallback="gpt-5.5")
    assert [str(rung) for rung in fallback_chain(config, Rung.parse("deepseek-v4-pro@high"))] == ["gpt-5.5@high"]
    assert fallback_chain(make_config(), Rung.parse("claude-opus-4-7@high")) == []


class Named:
    """Just enough of a model for routing decisions (the router never calls it)."""

    def __init__(self, name: str) -> None:
        self.name = name


def route(name: str, effort: str = "high", window: int | None = None) -> Route:
    return Route(Named(name), EffortLevel(effort), effort, None, window)  # type: ignore[arg-type]


def test_provider_failures_skip_the_same_model_and_context_windows_need_a_larger_one():
    windows = {"flash": 128_000, "pro": 128_000, "big": 1_000_000}
    warnings: list[str] = []

    def make(rung: Rung) -> Route:
        if rung.model == "keyless":
            from agent.core.errors import ConfigError

            raise ConfigError("KEYLESS_API_KEY is not set: export it")
        return route(rung.model, rung.effort.value, windows.get(rung.model))

    chain = [Rung.parse(spec) for spec in ("flash@max", "keyless@high", "pro@high", "big@high")]
    router = Router(chain, make, warnings.append)
    assert router.after_failure(route("flash", window=128_000), "overloaded").label == "pro@high"  # type: ignore[union-attr]
    assert warnings == ["fallback keyless@high cannot run here: KEYLESS_API_KEY is not set: export it"]
    assert router.after_failure(route("pro", window=128_000), "context_window").label == "big@high"  # type: ignore[union-attr]
    assert router.after_invalid(route("big")) is None  # the chain is used up, in order

    router = Router([Rung.parse("pro@high")], make, warnings.append)
    assert router.after_failure(route("flash", window=128_000), "context_window") is None  # not larger


# End to end ----------------------------------------------------------------------------------


def fix(tmp_path: Path, fake: FakeProvider, *extra: str, ladder: str = "deepseek-v4-flash@high"):
    repo = make_repo(tmp_path / "calc")
    (tmp_path / "issue.md").write_text(ISSUE)
    env = {
        "DEEPSEEK_BASE_URL": fake.openai_base_url,
        "DEEPSEEK_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": fake.anthropic_base_url,
        "ANTHROPIC_API_KEY": "test-key",
    }
    done = run_agent(
        tmp_path,
        "fix",
        str(tmp_path / "issue.md"),
        *("--repo", str(repo), "--test-cmd", "python -m pytest -q", "--sandbox", "local", "--json"),
        *("--ladder", ladder, *extra),
        env=env,
    )
    result = json.loads(done.stdout) if done.stdout.strip() else {}
    return done, result, Ledger(tmp_path / "agent-home" / "ledger.sqlite")


def served_cost(fake: FakeProvider) -> dict[str, Decimal]:
    """What the provider served, priced from its own usage records: USD by model."""
    spent: dict[str, Decimal] = {}
    for request in fake.requests:
        if request.usage is None:
            continue
        model, usage = request.body["model"], request.usage
        if request.path.endswith("/messages"):
            read, write = usage.get("cache_read_input_tokens", 0), usage.get("cache_creation_input_tokens", 0)
            tokens = Usage(
                input_tokens=usage["input_tokens"] + read + write,
                cache_read_tokens=read,
                cache_write_tokens=write,
                output_tokens=usage["output_tokens"],
            )
            price = quote(model, "anthropic")
        else:
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
            tokens = Usage(
                input_tokens=usage["prompt_tokens"], cache_read_tokens=cached, output_tokens=usage["completion_tokens"]
            )
            price = quote(model, "deepseek")
        value = cost(tokens, price)
        assert value is not None
        spent[model] = spent.get(model, Decimal(0)) + value
    return spent


def ledger_cost(ledger: Ledger, run_id: str) -> dict[str, Decimal]:
    spent: dict[str, Decimal] = {}
    for attempt in ledger.attempts(run_id):
        for row in ledger.calls(attempt.id):
            if row.status == "ok":
                assert row.cost_usd is not None
                spent[row.model] = spent.get(row.model, Decimal(0)) + row.cost_usd
    return spent


def test_a_cheap_model_that_always_sends_bad_json_falls_back_and_the_issue_is_solved(tmp_path, make_fake):
    fake = make_fake(
        {
            "rules": [
                {"model": "deepseek-v4-flash", "turns": [plan_turn(), *[BAD_JSON] * 10]},
                {"model": "claude-opus-4-7", "turns": SOLVE},
            ]
        }
    )
    done, result, ledger = fix(tmp_path, fake, "--fallback", "claude-opus-4-7@high")
    assert done.returncode == 0, done.stderr
    assert result["solved"] is True
    [attempt] = result["attempts"]
    assert attempt["fallbacks"] == [
        {"turn": 3, "from": "deepseek-v4-flash@high", "to": "claude-opus-4-7@high", "reason": "bad_json"}
    ]
    assert attempt["validation_failures"] == {"bad_json": 2}
    [row] = ledger.attempts(result["run_id"])
    [fallback] = ledger.fallbacks(row.id)
    assert (fallback.turn, fallback.from_model, fallback.to_model, fallback.reason) == (
        3,
        "deepseek-v4-flash",
        "claude-opus-4-7",
        "bad_json",
    )
    calls = ledger.calls(row.id)
    assert [(call.model, call.validation) for call in calls] == [
        ("deepseek-v4-flash", None),
        ("deepseek-v4-flash", "bad_json"),
        ("deepseek-v4-flash", "bad_json"),
        ("claude-opus-4-7", None),  # the fallback goes on from turn 2 of its script: the edit
        ("claude-opus-4-7", None),
    ]
    # Every request the provider served is a ledger row, priced as served; invalid ones included.
    assert [request.body["model"] for request in fake.requests] == [call.model for call in calls]
    assert ledger_cost(ledger, result["run_id"]) == served_cost(fake)
    # The fallback model was handed the conversation up to the last valid turn, not the invalid replies.
    first_fallback_request = fake.requests[3].body["messages"]
    assert [message["role"] for message in first_fallback_request] == ["user", "assistant", "user"]
    # Never silent: an event for each invalid reply and the fallback, with the line users read.
    events = ledger.events(result["run_id"], kinds=("validation_failed", "fallback"))
    assert [event.kind for event in events] == ["validation_failed", "validation_failed", "fallback"]
    assert events[-1].data["text"] == (
        "deepseek-v4-flash: 2 invalid replies (bad_json) → claude-opus-4-7@high for the rest of this attempt"
    )


def test_without_a_fallback_three_invalid_replies_in_a_row_still_end_as_format_error(tmp_path, make_fake):
    fake = make_fake({"rules": [{"model": "deepseek-v4-flash", "turns": [plan_turn(), *[BAD_JSON] * 10]}]})
    done, result, ledger = fix(tmp_path, fake)
    assert done.returncode == 1, done.stderr
    [attempt] = result["attempts"]
    assert (attempt["outcome"], attempt["turns"]) == ("format_error", 4)
    assert attempt["fallbacks"] == []
    assert attempt["validation_failures"] == {"bad_json": 3}
    assert len(fake.requests) == 4
    assert ledger_cost(ledger, result["run_id"]) == served_cost(fake)


def test_overload_beyond_the_retries_falls_back_instead_of_ending_the_issue(tmp_path, make_fake):
    fake = make_fake(
        {
            "rules": [{"model": "claude-opus-4-7", "turns": SOLVE}],
            "faults": [{"model": "deepseek-v4-flash", "status": 529, "count": 50, "retry_after": 0}],
        }
    )
    done, result, ledger = fix(tmp_path, fake, "--fallback", "claude-opus-4-7@high")
    assert done.returncode == 0, done.stderr
    [attempt] = result["attempts"]
    assert attempt["fallbacks"] == [
        {"turn": 1, "from": "deepseek-v4-flash@high", "to": "claude-opus-4-7@high", "reason": "overloaded"}
    ]
    [row] = ledger.attempts(result["run_id"])
    failed = [call for call in ledger.calls(row.id) if call.status == "failed"]
    assert [(call.model, call.retries, call.cost_usd) for call in failed] == [("deepseek-v4-flash", 4, Decimal(0))]
    text = ledger.events(result["run_id"], kinds=("fallback",))[0].data["text"]
    assert (
        text
        == "deepseek-v4-flash: overloaded (529) after 4 retries → claude-opus-4-7@high for the rest of this attempt"
    )


def test_overload_with_no_fallback_still_ends_the_issue_as_a_provider_error(tmp_path, make_fake):
    fake = make_fake({"faults": [{"model": "deepseek-v4-flash", "status": 529, "count": 50, "retry_after": 0}]})
    done, _, _ = fix(tmp_path, fake)
    assert done.returncode == 3
    assert "returned 529 for deepseek-v4-flash after 4 retries" in done.stderr


def test_the_budget_check_covers_the_fallback_price_before_the_switch(tmp_path, make_fake):
    fake = make_fake(
        {
            "rules": [
                {"model": "deepseek-v4-flash", "turns": [plan_turn(), *[BAD_JSON] * 10]},
                {"model": "claude-opus-4-7", "turns": SOLVE},
            ]
        }
    )
    # Enough for the cheap model's short calls, not for even a small answer from the fallback.
    done, result, ledger = fix(tmp_path, fake, "--fallback", "claude-opus-4-7@high", "--max-cost", "0.004")
    assert done.returncode == 75, done.stderr  # paused: agent resume with more would switch
    [attempt] = result["attempts"]
    assert attempt["outcome"] == "paused"
    assert attempt["fallbacks"] == []
    assert {request.body["model"] for request in fake.requests} == {"deepseek-v4-flash"}
    assert ledger.spent(result["run_id"]) <= Decimal("0.004")


def test_a_fallback_that_cannot_run_here_is_bad_input_before_anything_runs(tmp_path, make_fake):
    fake = make_fake({"rules": [{"turns": SOLVE}]})
    repo = make_repo(tmp_path / "calc")
    (tmp_path / "issue.md").write_text(ISSUE)
    env = {"DEEPSEEK_BASE_URL": fake.openai_base_url, "DEEPSEEK_API_KEY": "test-key"}
    base = ["fix", str(tmp_path / "issue.md"), "--repo", str(repo), "--test-cmd", "pytest", "--sandbox", "local"]
    done = run_agent(tmp_path, *base, "--ladder", "deepseek-v4-flash@high", "--fallback", "gpt-5.5@high", env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: fallback gpt-5.5@high cannot run: OPENAI_API_KEY is not set: export it "
        "(or point OPENAI_BASE_URL at a compatible endpoint and set a key for it)"
    )
    done = run_agent(tmp_path, *base, "--ladder", "deepseek-v4-flash@high", "--fallback", "opus@@high", env=env)
    assert done.returncode == 2 and "bad rung 'opus@@high'" in done.stderr
    assert "Traceback" not in done.stderr
    assert fake.requests == []


@pytest.mark.parametrize("wire", ["anthropic", "openai"])
def test_bad_json_is_the_same_validation_failure_on_both_wires(tmp_path, make_fake, wire):
    cheap = "claude-haiku-4-5" if wire == "anthropic" else "deepseek-v4-flash"
    fake = make_fake(
        {
            "rules": [{"model": "claude-opus-4-7", "turns": SOLVE}],
            "faults": [{"model": cheap, "invalid": "bad_json", "count": 50}],
        }
    )
    done, result, ledger = fix(tmp_path, fake, "--fallback", "claude-opus-4-7@high", ladder=f"{cheap}@high")
    assert done.returncode == 0, done.stderr
    [attempt] = result["attempts"]
    assert attempt["validation_failures"] == {"bad_json": 2}
    assert [fallback["reason"] for fallback in attempt["fallbacks"]] == ["bad_json"]
    assert ledger_cost(ledger, result["run_id"]) == served_cost(fake)


@pytest.mark.parametrize("kind", ["unknown_tool", "schema", "empty", "loop"])
def test_each_kind_of_invalid_reply_is_counted_and_routed(tmp_path, make_fake, kind):
    # The fallback takes over at turn 1, or at turn 3 after a loop's two valid repeats: it fixes either way.
    takes_over = [edit_turn(RIGHT_FIX), {"text": "Fixed."}] * 2
    fake = make_fake(
        {
            "rules": [{"model": "claude-opus-4-7", "turns": takes_over}],
            "faults": [{"model": "deepseek-v4-flash", "invalid": kind, "count": 50}],
        }
    )
    done, result, _ = fix(tmp_path, fake, "--fallback", "claude-opus-4-7@high")
    assert done.returncode == 0, done.stderr
    [attempt] = result["attempts"]
    assert attempt["validation_failures"] == {kind: 2}  # a loop is first seen at the third repeat
    assert [fallback["reason"] for fallback in attempt["fallbacks"]] == [kind]
