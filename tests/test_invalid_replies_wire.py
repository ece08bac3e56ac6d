"""Invalid replies on the wire: the fake's `invalid` faults, both SDK adapters, the fake's check of the
final assistant message, and the thinking handover after a fallback."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from agent.core.effort import EffortLevel
from agent.core.errors import ProviderError
from agent.core.messages import Block, Message, ModelTurn, TextBlock, ToolCall, ToolResult, Usage
from agent.core.tool_specs import STANDARD_TOOLS
from agent.fake_provider.anthropic_api import DROPPED_THINKING
from agent.providers import build_model

CLAUDE = "claude-opus-4-7"
WIRES = {"anthropic": CLAUDE, "openai": "gpt-5"}
SYSTEM = "You fix bugs in Python repositories. Read the code before you change it. " * 80
BAD = '{"command": ls}'
BAD_ERROR = "the arguments of bash are not valid JSON (Expecting value: line 1 column 13 (char 12)); send a JSON object"
SCRIPT = {
    "rules": [
        {
            "turns": [
                {
                    "text": "Listing first.",
                    "thinking": "See what is there.",
                    "tool_calls": [{"name": "bash", "input": {"command": "ls -la"}}],
                },
                {
                    "thinking": "Read the module.",
                    "tool_calls": [
                        {"name": "str_replace_based_edit_tool", "input": {"command": "view", "path": "a.py"}}
                    ],
                },
                {"text": "Fixed."},
            ]
        }
    ]
}
EXPECTED: dict[str, list[tuple[str, dict[str, Any], str | None, str | None]]] = {
    "unknown_tool": [("run_shell", {"command": "ls"}, '{"command": "ls"}', None)],
    "bad_json": [("bash", {}, BAD, BAD_ERROR)],
    "schema": [
        (
            "str_replace_based_edit_tool",
            {"command": "delete", "path": "README.md"},
            '{"command": "delete", "path": "README.md"}',
            None,
        )
    ],
    "empty": [],
    "loop": [("bash", {"command": "ls"}, '{"command": "ls"}', None)],
}


def with_faults(*faults: dict[str, Any]) -> dict[str, Any]:
    return {**SCRIPT, "faults": list(faults)}


def recorded_usage(wire: str, usage: dict[str, Any] | None) -> Usage:
    """What the fake billed for a request, in our terms."""
    assert usage is not None
    if wire == "anthropic":
        read, write = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
        return Usage(
            input_tokens=usage["input_tokens"] + read + write,
            cache_read_tokens=read,
            cache_write_tokens=write,
            output_tokens=usage["output_tokens"],
        )
    return Usage(
        input_tokens=usage["prompt_tokens"],
        cache_read_tokens=usage["prompt_tokens_details"]["cached_tokens"],
        output_tokens=usage["completion_tokens"],
    )


def calls_of(turn: ModelTurn) -> list[tuple[str, dict[str, Any], str | None, str | None]]:
    return [(call.name, call.input, call.raw_arguments, call.error) for call in turn.tool_calls]


def answer(calls: list[ToolCall]) -> Message:
    results: list[Block] = [
        ToolResult(tool_call_id=call.id, output=call.error or "ok", is_error=call.error is not None) for call in calls
    ]
    return Message(role="user", content=results)


def complete(model: Any, messages: list[Message]) -> ModelTurn:
    turn: ModelTurn = model.complete(
        messages, system=SYSTEM, tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=500
    )
    return turn


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("kind", EXPECTED)
def test_an_invalid_fault_is_a_normal_billed_turn_with_the_invalid_reply(kind, wire, make_fake, make_config, fake_env):
    fake = make_fake(with_faults({"invalid": kind, "status": 529}))
    model = build_model(WIRES[wire], make_config(), fake_env(fake, wire))
    deltas: list[str] = []

    turn = model.complete(
        [Message.user("fix it")],
        system=SYSTEM,
        tools=STANDARD_TOOLS,
        effort=EffortLevel.HIGH,
        max_tokens=500,
        on_text=deltas.append,
    )

    assert calls_of(turn) == EXPECTED[kind]
    assert [call.id for call in turn.tool_calls] == (
        [] if kind == "empty" else ["toolu_000000invalid" if wire == "anthropic" else "call_000000invalid"]
    )
    assert (turn.text, turn.thinking, deltas) == ("", [], [])
    stops = {"anthropic": ("tool_use", "end_turn"), "openai": ("tool_calls", "stop")}[wire]
    assert turn.stop_reason == (stops[1] if kind == "empty" else stops[0])
    assert [request.status for request in fake.requests] == [200]
    assert turn.usage == recorded_usage(wire, fake.requests[0].usage)
    assert turn.usage.input_tokens > 1024 and turn.usage.output_tokens >= 1


def test_the_fake_bills_an_invalid_turn_with_its_prompt_cache(make_fake, make_config, fake_env):
    fake = make_fake(with_faults({"invalid": "bad_json", "turn": 1}))
    model = build_model(CLAUDE, make_config(), fake_env(fake))
    messages = [Message.user("fix it")]
    first = complete(model, messages)
    messages += [first.as_message(), answer(first.tool_calls)]

    second = complete(model, messages)

    assert calls_of(second) == EXPECTED["bad_json"]
    assert fake.requests[1].usage == {
        "input_tokens": 0,
        "cache_read_input_tokens": first.usage.cache_write_tokens,
        "cache_creation_input_tokens": 101,
        "output_tokens": 4,
    }
    assert second.usage == recorded_usage("anthropic", fake.requests[1].usage)


@pytest.mark.parametrize("wire", WIRES)
def test_bad_json_is_answered_as_a_tool_error_and_the_conversation_goes_on(wire, make_fake, make_config, fake_env):
    fake = make_fake(with_faults({"invalid": "bad_json"}))
    model = build_model(WIRES[wire], make_config(), fake_env(fake, wire))
    messages = [Message.user("fix it")]
    first = complete(model, messages)
    messages += [first.as_message(), answer(first.tool_calls)]

    second = complete(model, messages)

    assert calls_of(second) == [
        (
            "str_replace_based_edit_tool",
            {"command": "view", "path": "a.py"},
            '{"command": "view", "path": "a.py"}',
            None,
        )
    ]
    assert [request.status for request in fake.requests] == [200, 200]
    echoed = fake.requests[1].body["messages"]
    if wire == "anthropic":
        # The final assistant message is the fault's reply, which had no thinking: nothing to echo, no 400.
        assert echoed[1]["content"] == [{"type": "tool_use", "id": "toolu_000000invalid", "name": "bash", "input": {}}]
        assert echoed[2]["content"][0]["content"] == BAD_ERROR
    else:
        assert echoed[2]["tool_calls"][0]["function"] == {"name": "bash", "arguments": BAD}
        assert echoed[3] == {"role": "tool", "tool_call_id": "call_000000invalid", "content": BAD_ERROR}


@pytest.mark.parametrize("wire", WIRES)
def test_repeated_loop_faults_send_the_same_call_every_turn(wire, make_fake, make_config, fake_env):
    fake = make_fake(with_faults({"invalid": "loop", "count": 3}))
    model = build_model(WIRES[wire], make_config(), fake_env(fake, wire))
    messages = [Message.user("fix it")]
    turns = []
    for _ in range(4):
        turns.append(complete(model, messages))
        messages += [turns[-1].as_message(), answer(turns[-1].tool_calls)]

    assert [calls_of(turn) for turn in turns] == [EXPECTED["loop"]] * 3 + [[]]
    assert turns[3].text == "Done."  # the script's turn 3: past its end
    assert [turn.usage for turn in turns] == [recorded_usage(wire, request.usage) for request in fake.requests]
    assert [request.status for request in fake.requests] == [200] * 4


def anthropic_request(fake: Any, stream: bool) -> Any:
    client = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="k", max_retries=0)
    return client.messages.create(
        model=CLAUDE,
        max_tokens=100,
        messages=[{"role": "user", "content": "hi"}],
        thinking={"type": "adaptive"},
        stream=stream,
    )


def openai_request(fake: Any, stream: bool) -> Any:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)
    options: dict[str, Any] = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    return client.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "hi"}], **options)


@pytest.mark.parametrize("kind", EXPECTED)
def test_anthropic_non_streaming_carries_the_invalid_reply(kind, make_fake):
    fake = make_fake(with_faults({"invalid": kind}))

    message = anthropic_request(fake, stream=False)

    wrapped = {"INVALID_JSON": BAD} if kind == "bad_json" else None
    assert [(block.name, block.input) for block in message.content] == [
        (name, wrapped or given) for name, given, _, _ in EXPECTED[kind]
    ]
    assert message.stop_reason == ("end_turn" if kind == "empty" else "tool_use")
    assert message.usage.to_dict() == fake.requests[0].usage


@pytest.mark.parametrize("kind", EXPECTED)
def test_anthropic_streaming_carries_the_raw_input_text(kind, make_fake):
    fake = make_fake(with_faults({"invalid": kind}))

    events = list(anthropic_request(fake, stream=True))

    starts = [event.content_block.to_dict() for event in events if event.type == "content_block_start"]
    partial = "".join(event.delta.partial_json for event in events if event.type == "content_block_delta")
    assert [(block["name"], block["input"]) for block in starts] == [(name, {}) for name, *_ in EXPECTED[kind]]
    assert partial == "".join(raw or "" for _, _, raw, _ in EXPECTED[kind])
    assert events[-2].delta.stop_reason == ("end_turn" if kind == "empty" else "tool_use")


@pytest.mark.parametrize("kind", EXPECTED)
@pytest.mark.parametrize("stream", [True, False])
def test_openai_carries_the_invalid_reply_streamed_or_not(stream, kind, make_fake):
    fake = make_fake(with_faults({"invalid": kind}))

    reply = openai_request(fake, stream)

    if stream:
        chunks = list(reply)
        deltas = [chunk.choices[0].delta for chunk in chunks[:-1]]
        content = "".join(delta.content or "" for delta in deltas)
        parts = [part for delta in deltas for part in delta.tool_calls or []]
        names = [part.function.name for part in parts if part.function.name]
        arguments = "".join(part.function.arguments or "" for part in parts)
        finish, usage = chunks[-2].choices[0].finish_reason, chunks[-1].usage
    else:
        choice = reply.choices[0]
        content = choice.message.content
        names = [call.function.name for call in choice.message.tool_calls or []]
        arguments = "".join(call.function.arguments for call in choice.message.tool_calls or [])
        finish, usage = choice.finish_reason, reply.usage
    assert content == ("" if stream else None)
    assert usage.to_dict() == fake.requests[0].usage
    assert names == [name for name, *_ in EXPECTED[kind]]
    assert arguments == "".join(raw or "" for _, _, raw, _ in EXPECTED[kind])
    assert finish == ("stop" if kind == "empty" else "tool_calls")


def test_only_the_final_assistant_message_must_keep_its_thinking(make_fake, make_config, fake_env):
    fake = make_fake(SCRIPT)
    model = build_model(CLAUDE, make_config(), fake_env(fake))
    messages = [Message.user("fix it")]
    first = complete(model, messages)
    messages += [first.as_message(), answer(first.tool_calls)]
    second = complete(model, messages)
    messages += [second.as_message(), answer(second.tool_calls)]
    messages[1] = first.model_copy(update={"thinking": []}).as_message()

    third = complete(model, messages)

    assert third.text == "Fixed."
    assert [request.status for request in fake.requests] == [200, 200, 200]
    assert [block["type"] for block in fake.requests[2].body["messages"][1]["content"]] == ["text", "tool_use"]


def test_a_final_assistant_message_without_its_thinking_gets_the_real_400(make_fake, make_config, fake_env):
    fake = make_fake(SCRIPT)
    model = build_model(CLAUDE, make_config(), fake_env(fake))
    messages = [Message.user("fix it")]
    first = complete(model, messages)
    messages += [first.as_message(), answer(first.tool_calls)]
    second = complete(model, messages)
    messages += [second.model_copy(update={"thinking": []}).as_message(), answer(second.tool_calls)]

    with pytest.raises(ProviderError) as caught:
        complete(model, messages)

    assert caught.value.status == 400
    assert str(caught.value).endswith(": " + DROPPED_THINKING.format(index=3, found="tool_use"))
    assert [request.status for request in fake.requests] == [200, 200, 400]


def handed_over_conversation(writer: str | None, calls: bool) -> list[Message]:
    """A task, one assistant message written by `writer` (a bash call, or text ending its turn), and the answer."""
    if not calls:
        reply = Message(role="assistant", content=[TextBlock(text="All done.")], model=writer)
        return [Message.user("fix it"), reply, Message.user("go on")]
    call = ToolCall(id="call_000000fake", name="bash", input={"command": "ls"}, raw_arguments='{"command": "ls"}')
    return [Message.user("fix it"), Message(role="assistant", content=[call], model=writer), answer([call])]


@pytest.mark.parametrize(
    ("writer", "calls", "thinking"),
    [
        ("gpt-5", True, False),  # another model's tool calls end the conversation: no thinking this call
        (CLAUDE, True, True),
        (None, True, True),  # who wrote it is unknown: as before
        ("gpt-5", False, True),  # another model's text ended its turn: nothing to answer with thinking
    ],
)
def test_thinking_is_left_off_only_when_the_final_tool_calls_are_another_models(
    writer, calls, thinking, make_fake, make_config, fake_env
):
    fake = make_fake(SCRIPT)
    model = build_model(CLAUDE, make_config(), fake_env(fake))

    complete(model, handed_over_conversation(writer, calls))

    body = fake.requests[0].body
    assert ("thinking" in body) is thinking
    assert body["output_config"] == {"effort": "high"}
    assert fake.requests[0].status == 200


def test_after_a_handover_thinking_stays_off_until_the_tool_loop_ends(make_fake, make_config, fake_env):
    fake = make_fake(SCRIPT)
    model = build_model(CLAUDE, make_config(), fake_env(fake))
    messages = handed_over_conversation("gpt-5", calls=True)
    first = complete(model, messages)
    messages += [first.as_message(), answer(first.tool_calls)]

    second = complete(model, messages)
    messages += [second.as_message(), Message.user("Now the docs, please.")]
    complete(model, messages)

    assert messages[3].model == CLAUDE
    # Sent without thinking, the scripted turn came back without it (its ids say so); the loop the other
    # model's calls belong to goes on without thinking, and a new user message starts one with it.
    assert (first.thinking, [call.id for call in first.tool_calls]) == ([], ["toolu_001000plain"])
    assert ["thinking" in request.body for request in fake.requests] == [False, False, True]
    assert [request.status for request in fake.requests] == [200, 200, 200]
    assert second.text == "Fixed."


def test_as_message_records_the_model_that_wrote_it():
    turn = ModelTurn(text="hi", model="gpt-5")

    assert turn.as_message().model == "gpt-5"
    assert ModelTurn(text="hi").as_message().model is None
    assert Message.user("task").model is None
    assert json.loads(turn.as_message().model_dump_json())["model"] == "gpt-5"
