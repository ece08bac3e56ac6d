"""OpenAIModel (OpenAI and DeepSeek) with the real openai SDK against the fake provider over HTTP."""

from __future__ import annotations

import json

import pytest

from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError, ContextWindowError, ProviderError
from agent.core.messages import Message, ToolResult
from agent.core.tool_specs import STANDARD_TOOLS
from agent.providers import build_model
from agent.providers.errors import MalformedResponse, ProviderAuthError, ProviderUnreachable

SYSTEM = "You fix bugs in Python repositories. Read the code before you change it. " * 80
TOOL_LOOP = {
    "rules": [
        {
            "turns": [
                {
                    "text": "Listing files.",
                    "thinking": "First see what is there.",
                    "reasoning_tokens": 12,
                    "tool_calls": [{"name": "bash", "input": {"command": "ls"}}],
                },
                {"text": "Fixed."},
            ]
        }
    ]
}


def two_turns(model, system=SYSTEM):
    messages = [Message.user("fix the failing test")]
    first = model.complete(messages, system=system, tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=500)
    messages += [
        first.as_message(),
        Message(role="user", content=[ToolResult(tool_call_id=c.id, output="a.py") for c in first.tool_calls]),
    ]
    second = model.complete(messages, system=system, tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=500)
    return first, second


def test_complete_streams_text_and_tool_calls_as_function_tools(make_fake, make_config, fake_env):
    fake = make_fake(TOOL_LOOP)
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai"))
    deltas: list[str] = []

    turn = model.complete(
        [Message.user("hi")],
        system="sys",
        tools=STANDARD_TOOLS,
        effort=EffortLevel.LOW,
        max_tokens=100,
        on_text=deltas.append,
    )

    assert deltas == ["Listing files."]
    assert turn.text == "Listing files."
    assert [(c.id, c.name, c.input, c.error) for c in turn.tool_calls] == [
        ("call_000000fake", "bash", {"command": "ls"}, None)
    ]
    assert turn.thinking == []
    assert turn.stop_reason == "tool_calls"
    assert turn.usage.reasoning_tokens == 12
    body = fake.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_completion_tokens"] == 100
    assert body["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    assert [tool["function"]["name"] for tool in body["tools"]] == ["bash", "str_replace_based_edit_tool"]
    assert [tool["function"]["parameters"] for tool in body["tools"]] == [spec.input_schema for spec in STANDARD_TOOLS]


@pytest.mark.parametrize(
    ("level", "wire"),
    [("low", "low"), ("medium", "medium"), ("high", "high"), ("xhigh", "xhigh"), ("max", "xhigh")],
)
def test_reasoning_effort_is_sent_at_every_level(level, wire, make_fake, make_config, fake_env):
    fake = make_fake()
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai"))

    turn = model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel(level), max_tokens=50)

    assert fake.requests[0].body["reasoning_effort"] == wire
    assert turn.effort_sent == wire


@pytest.mark.parametrize(
    ("level", "wire"), [("low", "high"), ("medium", "high"), ("high", "high"), ("xhigh", "high"), ("max", "max")]
)
def test_deepseek_uses_its_nearest_level(level, wire, make_fake, make_config, fake_env):
    fake = make_fake()
    model = build_model("deepseek-v4-pro", make_config(), fake_env(fake, "deepseek"))

    model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel(level), max_tokens=50)

    assert fake.requests[0].body["reasoning_effort"] == wire
    assert fake.requests[0].body["max_tokens"] == 50


def test_arguments_that_are_not_json_become_a_tool_call_error_and_are_echoed_verbatim(make_fake, make_config, fake_env):
    bad = '{"command": "ls'
    fake = make_fake({"rules": [{"turns": [{"tool_calls": [{"name": "bash", "raw_arguments": bad}]}]}]})
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai"))
    messages = [Message.user("hi")]

    turn = model.complete(messages, system="", tools=STANDARD_TOOLS, effort=EffortLevel.LOW, max_tokens=50)
    call = turn.tool_calls[0]

    assert (call.name, call.input, call.raw_arguments) == ("bash", {}, bad)
    assert call.error is not None
    assert call.error.startswith("the arguments of bash are not valid JSON (")
    messages += [
        turn.as_message(),
        Message(role="user", content=[ToolResult(tool_call_id=call.id, output=call.error, is_error=True)]),
    ]
    model.complete(messages, system="", tools=STANDARD_TOOLS, effort=EffortLevel.LOW, max_tokens=50)
    echoed = fake.requests[1].body["messages"]
    assert echoed[1]["tool_calls"][0]["function"]["arguments"] == bad
    assert echoed[2] == {"role": "tool", "tool_call_id": "call_000000fake", "content": call.error}


def test_arguments_that_are_json_but_not_an_object_are_an_error(make_fake, make_config, fake_env):
    fake = make_fake({"rules": [{"turns": [{"tool_calls": [{"name": "bash", "raw_arguments": "[1, 2]"}]}]}]})
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai"))

    turn = model.complete([Message.user("hi")], system="", tools=STANDARD_TOOLS, effort=EffortLevel.LOW, max_tokens=50)

    assert turn.tool_calls[0].error == "the arguments of bash must be a JSON object, got list"


def test_cached_tokens_are_mapped_to_cache_reads(make_fake, make_config, fake_env):
    fake = make_fake(TOOL_LOOP)
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai"))

    first, second = two_turns(model)

    sent = [request.usage["prompt_tokens_details"]["cached_tokens"] for request in fake.requests]
    assert sent == [0, 1792]
    assert (first.usage.input_tokens, first.usage.cache_read_tokens) == (fake.requests[0].usage["prompt_tokens"], 0)
    assert (second.usage.input_tokens, second.usage.cache_read_tokens) == (
        fake.requests[1].usage["prompt_tokens"],
        1792,
    )
    assert second.usage.cache_write_tokens == 0


def test_deepseek_cache_hits_and_reasoning_content_round_trip(make_fake, make_config, fake_env):
    fake = make_fake(TOOL_LOOP)
    model = build_model("deepseek-v4-pro", make_config(), fake_env(fake, "deepseek"))

    first, second = two_turns(model)

    assert [request.usage["prompt_cache_hit_tokens"] for request in fake.requests] == [0, 1792]
    assert second.usage.cache_read_tokens == 1792
    assert (
        second.usage.input_tokens
        == fake.requests[1].usage["prompt_cache_hit_tokens"] + fake.requests[1].usage["prompt_cache_miss_tokens"]
    )
    assert [block.thinking for block in first.thinking] == ["First see what is there."]
    echoed = fake.requests[1].body["messages"][2]
    assert echoed["reasoning_content"] == "First see what is there."
    assert echoed["tool_calls"][0]["function"] == {"name": "bash", "arguments": json.dumps({"command": "ls"})}


def test_429_and_500_are_retried_by_the_sdk_and_counted(make_fake, make_config, fake_env):
    fake = make_fake({"faults": [{"status": 429, "retry_after": 0}, {"status": 500, "retry_after": 0}]})
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai"))

    turn = model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert (turn.retries, turn.text) == (2, "Done.")
    assert [request.status for request in fake.requests] == [429, 500, 200]


def test_a_rejected_key_is_not_retried(make_fake, make_config, fake_env):
    fake = make_fake()
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai", key="bad-key"))

    with pytest.raises(
        ProviderAuthError, match=r"openai rejected the API key \(401: Incorrect API key provided"
    ) as caught:
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert str(caught.value).endswith(": check OPENAI_API_KEY")
    assert len(fake.requests) == 1


def test_an_unreachable_endpoint_is_provider_unreachable(free_port, make_config):
    url = f"http://127.0.0.1:{free_port}/v1"
    model = build_model(
        "deepseek-v4-pro",
        make_config(**{"providers.deepseek.max_retries": 0}),
        {"DEEPSEEK_BASE_URL": url, "DEEPSEEK_API_KEY": "k"},
    )

    with pytest.raises(
        ProviderUnreachable, match=f"cannot reach deepseek at {url} \\(set DEEPSEEK_BASE_URL to change it\\)"
    ):
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)


@pytest.mark.parametrize(("name", "var"), [("gpt-5", "OPENAI_API_KEY"), ("deepseek-v4-pro", "DEEPSEEK_API_KEY")])
def test_a_missing_key_is_a_config_error_naming_the_var(name, var, make_config):
    with pytest.raises(ConfigError, match=f"^{var} is not set: export it"):
        build_model(name, make_config(), {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})


def test_context_length_exceeded_is_a_context_window_error(make_fake, make_config, fake_env):
    message = "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens."
    fake = make_fake({"faults": [{"status": 400, "message": message}]})
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai"))

    with pytest.raises(ContextWindowError) as caught:
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert caught.value.status == 400


def test_other_client_errors_are_provider_errors_with_the_status(make_fake, make_config, fake_env):
    fake = make_fake({"faults": [{"status": 404, "message": "The model `gpt-nope` does not exist"}]})
    model = build_model("gpt-nope", make_config(), fake_env(fake, "openai"))

    with pytest.raises(ProviderError) as caught:
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert str(caught.value) == "openai returned 404 for gpt-nope after 0 retries: The model `gpt-nope` does not exist"
    assert caught.value.status == 404


def test_a_malformed_stream_is_a_readable_provider_error(make_fake, make_config, fake_env):
    fake = make_fake({"faults": [{"malformed": True}]})
    model = build_model("gpt-5", make_config(), fake_env(fake, "openai"))

    with pytest.raises(MalformedResponse, match="openai sent a malformed response for gpt-5"):
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)
