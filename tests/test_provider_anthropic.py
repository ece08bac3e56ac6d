"""AnthropicModel with the real anthropic SDK against the fake provider over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError, ContextWindowError, ProviderError
from agent.core.messages import Block, Message, ModelTurn, ToolResult
from agent.core.tool_specs import STANDARD_TOOLS
from agent.providers import build_model
from agent.providers.errors import MalformedResponse, ProviderAuthError, ProviderUnreachable

MODEL = "claude-opus-4-7"
SYSTEM = "You fix bugs in Python repositories. Read the code before you change it. " * 80
TOOL_LOOP = {
    "rules": [
        {
            "turns": [
                {
                    "text": "Let me look at the repository first.",
                    "thinking": "The user wants a fix; list the files.",
                    "tool_calls": [{"name": "bash", "input": {"command": "ls"}}],
                },
                {
                    "thinking": "Now read the module.",
                    "tool_calls": [
                        {"name": "str_replace_based_edit_tool", "input": {"command": "view", "path": "a.py"}}
                    ],
                },
                {"text": "Fixed."},
            ]
        }
    ]
}


def run_loop(model: Any, turns: int = 3, system: str = SYSTEM) -> list[ModelTurn]:
    """Drive a tool loop the way the agent loop does: append the turn, answer each tool call."""
    messages = [Message.user("The tests in test_a.py fail; fix it.")]
    results = []
    for _ in range(turns):
        turn = model.complete(messages, system=system, tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=4096)
        results.append(turn)
        messages.append(turn.as_message())
        if not turn.tool_calls:
            break
        outputs: list[Block] = [
            ToolResult(tool_call_id=call.id, output=f"output of {call.name}") for call in turn.tool_calls
        ]
        messages.append(Message(role="user", content=outputs))
    return results


def test_complete_streams_text_deltas_and_returns_tool_calls(make_fake, make_config, fake_env):
    fake = make_fake(
        {
            "rules": [
                {
                    "turns": [
                        {
                            "text": "I will list the files now, then read them.",
                            "tool_calls": [{"name": "bash", "input": {"command": "ls -la"}}],
                        }
                    ]
                }
            ]
        }
    )
    model = build_model(MODEL, make_config(), fake_env(fake))
    deltas: list[str] = []

    turn = model.complete(
        [Message.user("hi")],
        system="sys",
        tools=STANDARD_TOOLS,
        effort=EffortLevel.LOW,
        max_tokens=100,
        on_text=deltas.append,
    )

    assert deltas == ["I will list the files no", "w, then read them."]
    assert turn.text == "I will list the files now, then read them."
    assert [(c.id, c.name, c.input, c.error) for c in turn.tool_calls] == [
        ("toolu_000000fake", "bash", {"command": "ls -la"}, None)
    ]
    assert turn.stop_reason == "tool_use"
    assert turn.model == MODEL
    assert turn.retries == 0
    assert turn.raw["content"][1]["type"] == "tool_use"
    request = fake.requests[0]
    assert request.stream is True
    assert request.body["model"] == MODEL
    assert request.body["thinking"] == {"type": "adaptive"}
    assert request.body["max_tokens"] == 100
    assert request.body["tools"][0] == {"type": "bash_20250124", "name": "bash"}
    assert request.body["tools"][1] == {
        "type": "text_editor_20250728",
        "name": "str_replace_based_edit_tool",
        "cache_control": {"type": "ephemeral"},
    }


@pytest.mark.parametrize("level", list(EffortLevel))
def test_effort_is_sent_as_output_config_at_every_level(level, make_fake, make_config, fake_env):
    fake = make_fake()
    model = build_model(MODEL, make_config(), fake_env(fake))

    turn = model.complete([Message.user("hi")], system="", tools=[], effort=level, max_tokens=50)

    assert fake.requests[0].body["output_config"] == {"effort": level.value}
    assert turn.effort_sent == level.value
    assert turn.text == "Done."


@pytest.mark.parametrize(
    ("asked", "sent"),
    [("low", "low"), ("medium", "low"), ("high", "high"), ("xhigh", "high"), ("max", "max")],
)
def test_model_lacking_levels_sends_the_nearest_one_ties_going_down(asked, sent, make_fake, make_config, fake_env):
    fake = make_fake()
    config = make_config(**{"models.claude-lite": {"provider": "anthropic", "efforts": ["low", "high", "max"]}})
    model = build_model("claude-lite", config, fake_env(fake))

    assert model.effort_for(EffortLevel(asked)) == (EffortLevel(sent), sent)
    model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel(asked), max_tokens=50)
    assert fake.requests[0].body["output_config"] == {"effort": sent}


def test_effort_map_overrides_the_wire_value(make_fake, make_config, fake_env):
    fake = make_fake()
    config = make_config(**{"models.claude-mapped": {"provider": "anthropic", "effort_map": {"max": "xhigh"}}})
    model = build_model("claude-mapped", config, fake_env(fake))

    turn = model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.MAX, max_tokens=50)

    assert fake.requests[0].body["output_config"] == {"effort": "xhigh"}
    assert turn.effort_sent == "xhigh"


def test_thinking_blocks_are_echoed_unchanged_through_a_tool_loop(make_fake, make_config, fake_env):
    fake = make_fake(TOOL_LOOP)
    model = build_model(MODEL, make_config(), fake_env(fake))

    turns = run_loop(model)

    assert [turn.text for turn in turns] == ["Let me look at the repository first.", "", "Fixed."]
    assert [request.status for request in fake.requests] == [200, 200, 200]
    first_thinking = turns[0].thinking[0]
    assert first_thinking.thinking == "The user wants a fix; list the files."
    assert first_thinking.signature == fake.sign("The user wants a fix; list the files.")
    assert first_thinking.raw == {
        "type": "thinking",
        "thinking": "The user wants a fix; list the files.",
        "signature": fake.sign("The user wants a fix; list the files."),
    }
    echoed = fake.requests[2].body["messages"]
    assert echoed[1]["content"][0] == first_thinking.raw
    assert echoed[3]["content"][0] == turns[1].thinking[0].raw


def test_a_tool_loop_that_drops_the_thinking_block_gets_the_400(make_fake, make_config, fake_env):
    fake = make_fake(TOOL_LOOP)
    model = build_model(MODEL, make_config(), fake_env(fake))
    messages = [Message.user("fix it")]
    first = model.complete(messages, system="", tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=100)
    stripped = first.model_copy(update={"thinking": []})
    messages += [
        stripped.as_message(),
        Message(role="user", content=[ToolResult(tool_call_id="toolu_000000fake", output="a.py")]),
    ]

    with pytest.raises(ProviderError) as caught:
        model.complete(messages, system="", tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=100)

    assert caught.value.status == 400
    assert "Expected `thinking` or `redacted_thinking`, but found `text`" in str(caught.value)
    assert [request.status for request in fake.requests] == [200, 400]


def test_a_tampered_thinking_signature_gets_the_400(make_fake, make_config, fake_env):
    fake = make_fake(TOOL_LOOP)
    model = build_model(MODEL, make_config(), fake_env(fake))
    messages = [Message.user("fix it")]
    first = model.complete(messages, system="", tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=100)
    block = first.thinking[0]
    forged = block.model_copy(update={"raw": {**block.raw, "thinking": "something else"}})
    messages += [
        first.model_copy(update={"thinking": [forged]}).as_message(),
        Message(role="user", content=[ToolResult(tool_call_id="toolu_000000fake", output="a.py")]),
    ]

    with pytest.raises(ProviderError, match="Invalid `signature` in `thinking` block") as caught:
        model.complete(messages, system="", tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=100)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            '{"command": "ls',
            "the arguments of bash are not valid JSON (Unterminated string starting at: line 1 column 13 (char 12)); "
            "send a JSON object",
        ),
        ("[1, 2]", "the arguments of bash must be a JSON object, got list"),
    ],
)
def test_tool_input_that_is_not_a_json_object_is_a_tool_call_error_not_a_provider_error(
    raw, error, make_fake, make_config, fake_env
):
    fake = make_fake({"rules": [{"turns": [{"tool_calls": [{"name": "bash", "raw_arguments": raw}]}]}]})
    model = build_model(MODEL, make_config(), fake_env(fake))
    messages = [Message.user("hi")]

    turn = model.complete(messages, system="", tools=STANDARD_TOOLS, effort=EffortLevel.LOW, max_tokens=50)
    call = turn.tool_calls[0]

    assert (call.id, call.name, call.input, call.raw_arguments, call.error) == (
        "toolu_000000fake",
        "bash",
        {},
        raw,
        error,
    )
    sent = fake.requests[0].usage or {}
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (sent["input_tokens"], sent["output_tokens"])
    messages += [
        turn.as_message(),
        Message(role="user", content=[ToolResult(tool_call_id=call.id, output=error, is_error=True)]),
    ]
    model.complete(messages, system="", tools=STANDARD_TOOLS, effort=EffortLevel.LOW, max_tokens=50)
    # The API takes only an object as input: the call goes back with an empty one, its result says why.
    assert fake.requests[1].body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_000000fake", "name": "bash", "input": {}}
    ]
    assert [request.status for request in fake.requests] == [200, 200]


def cache_marks(body: dict[str, Any]) -> list[str]:
    """Where the cache_control breakpoints of a request are."""
    marks = [f"tools.{i}" for i, tool in enumerate(body.get("tools", [])) if "cache_control" in tool]
    marks += [f"system.{i}" for i, block in enumerate(body.get("system", [])) if "cache_control" in block]
    for m, message in enumerate(body["messages"]):
        marks += [f"messages.{m}.{b}" for b, block in enumerate(message["content"]) if "cache_control" in block]
    return marks


def test_cache_breakpoints_are_the_last_tool_the_system_and_the_two_latest_user_messages(
    make_fake, make_config, fake_env
):
    fake = make_fake(TOOL_LOOP)
    model = build_model(MODEL, make_config(), fake_env(fake))

    run_loop(model)

    assert [cache_marks(request.body) for request in fake.requests] == [
        ["tools.1", "system.0", "messages.0.0"],
        ["tools.1", "system.0", "messages.0.0", "messages.2.0"],
        ["tools.1", "system.0", "messages.2.0", "messages.4.0"],
    ]
    assert all(
        request.body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
        for request in fake.requests
    )


def test_usage_adds_cache_reads_and_writes_back_into_input_tokens(make_fake, make_config, fake_env):
    fake = make_fake(TOOL_LOOP)
    model = build_model(MODEL, make_config(), fake_env(fake))

    turns = run_loop(model)

    sent = [request.usage for request in fake.requests]
    assert sent == [
        {"input_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 1513, "output_tokens": 23},
        {"input_tokens": 0, "cache_read_input_tokens": 1513, "cache_creation_input_tokens": 112, "output_tokens": 14},
        {"input_tokens": 0, "cache_read_input_tokens": 1625, "cache_creation_input_tokens": 102, "output_tokens": 2},
    ]
    # Each turn reads exactly what the turns before it wrote.
    assert [t.usage.cache_read_tokens for t in turns] == [0, 1513, 1513 + 112]
    assert [t.usage.model_dump() for t in turns] == [
        {
            "input_tokens": 1513,
            "cache_read_tokens": 0,
            "cache_write_tokens": 1513,
            "output_tokens": 23,
            "reasoning_tokens": None,
        },
        {
            "input_tokens": 1625,
            "cache_read_tokens": 1513,
            "cache_write_tokens": 112,
            "output_tokens": 14,
            "reasoning_tokens": None,
        },
        {
            "input_tokens": 1727,
            "cache_read_tokens": 1625,
            "cache_write_tokens": 102,
            "output_tokens": 2,
            "reasoning_tokens": None,
        },
    ]


def test_a_later_conversation_with_the_same_system_prompt_reads_its_cached_prefix(make_fake, make_config, fake_env):
    fake = make_fake()
    model = build_model(MODEL, make_config(), fake_env(fake))
    first = model.complete(
        [Message.user("one")], system=SYSTEM, tools=STANDARD_TOOLS, effort=EffortLevel.LOW, max_tokens=9
    )
    second = model.complete(
        [Message.user("two")], system=SYSTEM, tools=STANDARD_TOOLS, effort=EffortLevel.LOW, max_tokens=9
    )

    assert (first.usage.cache_read_tokens, first.usage.cache_write_tokens) == (0, 1505)
    assert (second.usage.cache_read_tokens, second.usage.cache_write_tokens) == (1494, 11)
    assert second.usage.input_tokens == 1505


def test_a_short_prompt_is_not_cached(make_fake, make_config, fake_env):
    fake = make_fake(TOOL_LOOP)
    model = build_model(MODEL, make_config(), fake_env(fake))

    turns = run_loop(model, system="short")

    assert [(t.usage.cache_read_tokens, t.usage.cache_write_tokens) for t in turns] == [(0, 0), (0, 0), (0, 0)]
    assert [t.usage.input_tokens for t in turns] == [r.usage["input_tokens"] for r in fake.requests if r.usage]


def test_thinking_tokens_are_reported_as_reasoning_tokens(make_fake, make_config, fake_env):
    fake = make_fake(
        {"rules": [{"turns": [{"text": "ok", "thinking": "hm", "output_tokens": 40, "reasoning_tokens": 25}]}]}
    )
    model = build_model(MODEL, make_config(), fake_env(fake))

    turn = model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.HIGH, max_tokens=100)

    assert (turn.usage.output_tokens, turn.usage.reasoning_tokens) == (40, 25)


def test_429_and_529_are_retried_by_the_sdk_and_counted(make_fake, make_config, fake_env):
    faults = [{"status": 429, "count": 1, "retry_after": 0}, {"status": 529, "count": 1, "retry_after": 0}]
    fake = make_fake({"faults": faults})
    model = build_model(MODEL, make_config(), fake_env(fake))

    turn = model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert turn.retries == 2
    assert turn.text == "Done."
    assert [request.status for request in fake.requests] == [429, 529, 200]
    assert [request.headers["x-stainless-retry-count"] for request in fake.requests] == ["0", "1", "2"]


def test_overloaded_after_all_retries_is_a_provider_error_with_the_status(make_fake, make_config, fake_env):
    fake = make_fake({"faults": [{"status": 529, "count": 5, "retry_after": 0}]})
    model = build_model(MODEL, make_config(**{"providers.anthropic.max_retries": 1}), fake_env(fake))

    with pytest.raises(ProviderError) as caught:
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert (caught.value.status, caught.value.retries) == (529, 1)
    assert "anthropic returned 529 for claude-opus-4-7 after 1 retries: injected fault" in str(caught.value)
    assert len(fake.requests) == 2


def test_a_rejected_key_is_a_provider_error_naming_the_env_var_and_is_not_retried(make_fake, make_config, fake_env):
    fake = make_fake()
    model = build_model(MODEL, make_config(), fake_env(fake, key="bad-key"))

    with pytest.raises(ProviderAuthError) as caught:
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert caught.value.status == 401
    assert str(caught.value) == "anthropic rejected the API key (401: invalid x-api-key): check ANTHROPIC_API_KEY"
    assert len(fake.requests) == 1


def test_an_unreachable_endpoint_names_the_url_and_the_env_var(free_port, make_config):
    config = make_config(**{"providers.anthropic.max_retries": 1})
    url = f"http://127.0.0.1:{free_port}"
    model = build_model(MODEL, config, {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "k"})

    with pytest.raises(ProviderUnreachable) as caught:
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert caught.value.exit_code == 3  # a provider failure, as the README says
    assert caught.value.retries == 1
    assert str(caught.value).startswith(
        f"cannot reach anthropic at {url} (set ANTHROPIC_BASE_URL to change it) after 1 retries:"
    )


def test_a_missing_key_is_a_config_error_naming_the_var(make_config):
    with pytest.raises(ConfigError) as caught:
        build_model(MODEL, make_config(), {})

    assert str(caught.value) == (
        "ANTHROPIC_API_KEY is not set: export it "
        "(or point ANTHROPIC_BASE_URL at a compatible endpoint and set a key for it)"
    )


def test_prompt_too_long_is_a_context_window_error(make_fake, make_config, fake_env):
    fake = make_fake({"faults": [{"status": 400, "message": "prompt is too long: 210000 tokens > 200000 maximum"}]})
    model = build_model(MODEL, make_config(), fake_env(fake))

    with pytest.raises(ContextWindowError) as caught:
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)

    assert caught.value.status == 400
    assert len(fake.requests) == 1


def test_a_malformed_stream_is_a_readable_provider_error(make_fake, make_config, fake_env):
    fake = make_fake({"faults": [{"malformed": True}]})
    model = build_model(MODEL, make_config(), fake_env(fake))

    with pytest.raises(MalformedResponse, match="anthropic sent a malformed response for claude-opus-4-7"):
        model.complete([Message.user("hi")], system="", tools=[], effort=EffortLevel.LOW, max_tokens=50)
