"""The fake provider speaks the real wire formats: the real SDKs (and raw HTTP) against it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import anthropic
import openai
import pytest

from agent.simulate.tokens import estimate_tokens

TURN = {
    "text": "Let me check.",
    "thinking": "Look first.",
    "tool_calls": [{"name": "bash", "input": {"command": "ls"}}],
}
SCRIPT = {"rules": [{"model": "*", "turns": [TURN]}]}


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def anthropic_client(fake, key="k", retries=0):
    return anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key=key, max_retries=retries)


def openai_client(fake, key="k", retries=0):
    return openai.OpenAI(base_url=fake.openai_base_url, api_key=key, max_retries=retries)


def test_anthropic_stream_sends_the_real_event_sequence(make_fake):
    fake = make_fake(SCRIPT)
    stream = anthropic_client(fake).messages.create(
        model="claude-x",
        max_tokens=10,
        messages=[{"role": "user", "content": "hi"}],
        thinking={"type": "adaptive"},
        stream=True,
    )

    events = [(event.type, getattr(getattr(event, "delta", None), "type", None)) for event in stream]

    assert events == [
        ("message_start", None),
        ("content_block_start", None),
        ("content_block_delta", "thinking_delta"),
        ("content_block_delta", "signature_delta"),
        ("content_block_stop", None),
        ("content_block_start", None),
        ("content_block_delta", "text_delta"),
        ("content_block_stop", None),
        ("content_block_start", None),
        ("content_block_delta", "input_json_delta"),
        ("content_block_delta", "input_json_delta"),
        ("content_block_stop", None),
        ("message_delta", None),
        ("message_stop", None),
    ]


def test_anthropic_non_streaming_round_trip(make_fake):
    fake = make_fake(SCRIPT)

    message = anthropic_client(fake).messages.create(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}], thinking={"type": "adaptive"}
    )

    assert [block.type for block in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[0].signature == fake.sign("Look first.")
    assert message.content[2].input == {"command": "ls"}
    assert message.content[2].id == "toolu_000000fake"
    assert message.stop_reason == "tool_use"
    assert fake.requests[0].stream is False
    assert fake.requests[0].usage == message.usage.to_dict()


def test_anthropic_without_thinking_enabled_sends_no_thinking_block(make_fake):
    fake = make_fake(SCRIPT)

    message = anthropic_client(fake).messages.create(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )

    assert [block.type for block in message.content] == ["text", "tool_use"]


def test_openai_stream_sends_deltas_then_usage_then_done(make_fake):
    fake = make_fake(SCRIPT)
    stream = openai_client(fake).chat.completions.create(
        model="gpt-x", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
    )

    chunks = list(stream)

    assert [chunk.choices[0].finish_reason if chunk.choices else "usage" for chunk in chunks] == [
        None,
        None,
        None,
        None,
        "tool_calls",
        "usage",
    ]
    assert chunks[1].choices[0].delta.content == "Let me check."
    assert chunks[2].choices[0].delta.tool_calls[0].id == "call_000000fake"
    assert chunks[3].choices[0].delta.tool_calls[0].function.arguments == '{"command": "ls"}'
    assert chunks[-1].usage is not None and chunks[-1].usage.to_dict() == fake.requests[0].usage


def test_openai_stream_without_include_usage_has_no_usage_chunk(make_fake):
    fake = make_fake(SCRIPT)

    chunks = list(
        openai_client(fake).chat.completions.create(
            model="gpt-x", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )

    assert all(chunk.choices and chunk.usage is None for chunk in chunks)


def test_openai_non_streaming_round_trip(make_fake):
    fake = make_fake(SCRIPT)

    completion = openai_client(fake).chat.completions.create(
        model="gpt-x", messages=[{"role": "user", "content": "hi"}]
    )

    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Let me check.", "tool_calls")
    assert choice.message.tool_calls[0].function.arguments == '{"command": "ls"}'
    assert (choice.message.model_extra or {}).get("reasoning_content") is None


def test_deepseek_models_get_reasoning_content(make_fake):
    fake = make_fake(SCRIPT)

    completion = openai_client(fake).chat.completions.create(
        model="deepseek-x", messages=[{"role": "user", "content": "hi"}]
    )

    assert (completion.choices[0].message.model_extra or {})["reasoning_content"] == "Look first."
    assert completion.usage is not None
    extra = completion.usage.model_extra or {}
    assert (extra["prompt_cache_hit_tokens"], extra["prompt_cache_miss_tokens"]) == (0, completion.usage.prompt_tokens)


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "x-api-key header is required"), ({"x-api-key": "bad-key"}, "invalid x-api-key")],
)
def test_anthropic_auth_errors_have_the_real_shape(headers, message, make_fake):
    fake = make_fake()

    status, _, body = post(f"{fake.anthropic_base_url}/v1/messages", {"model": "m"}, headers)

    assert status == 401
    payload = json.loads(body)
    assert payload["type"] == "error"
    assert payload["error"] == {"type": "authentication_error", "message": message}
    assert payload["request_id"].startswith("req_")


def test_openai_bad_key_has_the_real_shape(make_fake):
    fake = make_fake()

    status, _, body = post(
        f"{fake.openai_base_url}/chat/completions", {"model": "m"}, {"Authorization": "Bearer bad-key"}
    )

    assert status == 401
    assert json.loads(body)["error"]["code"] == "invalid_api_key"
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit_error"), (529, "overloaded_error"), (500, "api_error")])
def test_anthropic_faults_have_the_real_error_shape_and_retry_after(status, kind, make_fake):
    fake = make_fake({"faults": [{"status": status, "retry_after": 3, "message": "slow down"}]})
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}

    got, headers, raw = post(f"{fake.anthropic_base_url}/v1/messages", body, {"x-api-key": "k"})
    again, _, _ = post(f"{fake.anthropic_base_url}/v1/messages", body, {"x-api-key": "k"})

    assert (got, again) == (status, 200)
    assert {key.lower(): value for key, value in headers.items()}["retry-after"] == "3"
    assert json.loads(raw)["error"] == {"type": kind, "message": "slow down"}


def test_faults_match_by_model_and_turn(make_fake):
    fake = make_fake({"faults": [{"status": 529, "model": "claude-*", "turn": 1}]})
    client = anthropic_client(fake)
    first = [{"role": "user", "content": "hi"}]
    second = [*first, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "go"}]

    client.messages.create(model="claude-x", max_tokens=5, messages=first)
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(model="claude-x", max_tokens=5, messages=second)
    client.messages.create(model="claude-x", max_tokens=5, messages=second)

    assert [request.status for request in fake.requests] == [200, 529, 200]


def test_invalid_faults_match_and_count_like_the_others_and_answer_200(make_fake):
    fake = make_fake({**SCRIPT, "faults": [{"invalid": "empty", "model": "claude-*", "turn": 1, "status": 500}]})
    client = anthropic_client(fake)
    first = [{"role": "user", "content": "hi"}]
    second = [*first, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "go"}]

    replies = [
        client.messages.create(model=model, max_tokens=5, messages=messages)
        for model, messages in [("claude-x", first), ("gpt-x", second), ("claude-x", second), ("claude-x", second)]
    ]

    assert [[block.type for block in reply.content] for reply in replies] == [
        ["text", "tool_use"],
        ["text"],
        [],
        ["text"],
    ]
    assert [request.status for request in fake.requests] == [200, 200, 200, 200]
    assert replies[2].usage.to_dict() == fake.requests[2].usage


def test_more_than_four_breakpoints_is_a_400(make_fake):
    fake = make_fake()
    mark = {"type": "ephemeral"}
    content = [{"type": "text", "text": f"part {i}", "cache_control": mark} for i in range(5)]

    with pytest.raises(
        anthropic.BadRequestError, match=r"A maximum of 4 blocks with cache_control may be provided\. Found 5\."
    ):
        anthropic_client(fake).messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": content}])


def test_anthropic_cache_reads_what_an_earlier_request_wrote(make_fake):
    fake = make_fake(min_cache_tokens=100)
    system = [{"type": "text", "text": "x" * 800, "cache_control": {"type": "ephemeral"}}]
    client = anthropic_client(fake)
    system_tokens = estimate_tokens({"type": "text", "text": "x" * 800})
    question = estimate_tokens({"type": "text", "text": "hi", "role": "user"})

    client.messages.create(model="m", max_tokens=5, system=system, messages=[{"role": "user", "content": "hi"}])
    client.messages.create(model="m", max_tokens=5, system=system, messages=[{"role": "user", "content": "hi"}])
    client.messages.create(model="other", max_tokens=5, system=system, messages=[{"role": "user", "content": "hi"}])

    usages = [
        {key: value for key, value in r.usage.items() if key != "output_tokens"} for r in fake.requests if r.usage
    ]
    assert system_tokens == 207
    assert usages == [
        {"input_tokens": question, "cache_read_input_tokens": 0, "cache_creation_input_tokens": system_tokens},
        {"input_tokens": question, "cache_read_input_tokens": system_tokens, "cache_creation_input_tokens": 0},
        {"input_tokens": question, "cache_read_input_tokens": 0, "cache_creation_input_tokens": system_tokens},
    ]


def test_anthropic_prefixes_below_the_minimum_are_not_cached(make_fake):
    fake = make_fake(min_cache_tokens=1024)
    system = [{"type": "text", "text": "x" * 800, "cache_control": {"type": "ephemeral"}}]

    for _ in range(2):
        anthropic_client(fake).messages.create(
            model="m", max_tokens=5, system=system, messages=[{"role": "user", "content": "hi"}]
        )

    assert [(r.usage or {})["cache_read_input_tokens"] for r in fake.requests] == [0, 0]
    assert [(r.usage or {})["cache_creation_input_tokens"] for r in fake.requests] == [0, 0]


def test_openai_caches_in_128_token_blocks_from_1024(make_fake):
    fake = make_fake()
    client = openai_client(fake)
    long = [{"role": "system", "content": "y" * 5000}]

    client.chat.completions.create(model="gpt-x", messages=[*long, {"role": "user", "content": "a"}])
    second = client.chat.completions.create(model="gpt-x", messages=[*long, {"role": "user", "content": "b"}])
    short = client.chat.completions.create(model="gpt-x", messages=[{"role": "user", "content": "b"}])

    assert second.usage is not None and second.usage.prompt_tokens_details is not None
    # The common prefix is the system message plus '{"content":"' of the next: 5036 characters, 1259 tokens.
    assert second.usage.prompt_tokens_details.cached_tokens == 1152
    assert short.usage is not None and short.usage.prompt_tokens_details is not None
    assert short.usage.prompt_tokens_details.cached_tokens == 0


@pytest.mark.parametrize("stream", [True, False])
def test_malformed_fault_sends_a_200_the_sdk_cannot_parse(stream, make_fake):
    fake = make_fake({"faults": [{"malformed": True}]})

    with pytest.raises(Exception) as caught:
        result = openai_client(fake).chat.completions.create(
            model="gpt-x", messages=[{"role": "user", "content": "hi"}], stream=stream
        )
        if stream:
            list(result)

    assert not isinstance(caught.value, openai.APIStatusError)
    assert fake.requests[0].status == 200


def test_turn_index_counts_assistant_messages(make_fake):
    fake = make_fake({"rules": [{"turns": [{"text": "first"}, {"text": "second"}]}]})
    client = openai_client(fake)
    messages: list[Any] = [{"role": "user", "content": "hi"}]

    texts = []
    for _ in range(3):
        reply = client.chat.completions.create(model="gpt-x", messages=messages)
        texts.append(reply.choices[0].message.content)
        messages += [{"role": "assistant", "content": texts[-1]}, {"role": "user", "content": "more"}]

    assert texts == ["first", "second", "Done."]


def test_module_runs_in_the_foreground_and_prints_its_url(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"turns": [{"text": "from the cli"}]}]}))
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.fake_provider", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = anthropic.Anthropic(base_url=url, api_key="k", max_retries=0)
        message = client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        assert message.to_dict()["content"] == [{"type": "text", "text": "from the cli"}]
    finally:
        process.terminate()
        process.wait(timeout=10)
