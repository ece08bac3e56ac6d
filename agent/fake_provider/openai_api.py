"""The OpenAI Chat Completions side of the fake (DeepSeek flavour for `deepseek*` models)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from agent.simulate.script import ScriptedTurn
from agent.simulate.tokens import estimate_tokens

ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    if status == 400 and "context length" in message:
        code = "context_length_exceeded"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more information "
    "on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)


def quota_error() -> tuple[int, dict[str, Any]]:
    """The API's answer to an account out of quota: a 429 whose type and code are `insufficient_quota`."""
    error = {"message": QUOTA_MESSAGE, "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}
    return 429, {"error": error}


def is_deepseek(model: str) -> bool:
    return model.startswith("deepseek")


def turn_index(body: dict[str, Any]) -> int:
    return sum(1 for message in body.get("messages") or [] if message.get("role") == "assistant")


def effort_of(body: dict[str, Any]) -> str | None:
    return body.get("reasoning_effort")


def too_long(prompt: int, window: int) -> str:
    """The API's message for a prompt over the model's context window."""
    return (
        f"This model's maximum context length is {window} tokens. However, your messages resulted in "
        f"{prompt} tokens. Please reduce the length of the messages."
    )


def validate(body: dict[str, Any]) -> str | None:
    for key in ("model", "messages"):
        if key not in body:
            return f"Missing required parameter: '{key}'."
    return None


def build_completion(
    body: dict[str, Any], turn: ScriptedTurn, index: int, prompt_tokens: int, cached: int, tag: str = "fake"
) -> dict[str, Any]:
    """The full chat.completion JSON for a turn (`tag` ends its tool call ids: "invalid" for a fault's)."""
    model = body["model"]
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.thinking and is_deepseek(model):
        message["reasoning_content"] = turn.thinking
    calls: list[dict[str, Any]] = []
    for number, call in enumerate(turn.tool_calls):
        arguments = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.input)
        function = {"name": call.name, "arguments": arguments}
        calls.append({"id": f"call_{index:03d}{number:03d}{tag}", "type": "function", "function": function})
    if calls:
        message["tool_calls"] = calls
    completion_tokens = turn.output_tokens
    if completion_tokens is None:
        spoken = (turn.thinking or "") + turn.text + "".join(c["function"]["arguments"] for c in calls)
        completion_tokens = max(1, estimate_tokens(spoken)) + (turn.reasoning_tokens or 0)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
    }
    if turn.reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": turn.reasoning_tokens}
    if is_deepseek(model):
        usage["prompt_cache_hit_tokens"] = cached
        usage["prompt_cache_miss_tokens"] = prompt_tokens - cached
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": usage,
    }


def _data(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _chunks(text: str, size: int = 24) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


def stream_chunks(completion: dict[str, Any], include_usage: bool) -> list[bytes]:
    """The SSE chunks the real API sends for `completion`, ending with `data: [DONE]`."""
    head = {key: completion[key] for key in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        payload: dict[str, Any] = {**head, "choices": [choice]}
        if include_usage:
            payload["usage"] = None
        return _data(payload)

    choice = completion["choices"][0]
    message = choice["message"]
    events = [chunk({"role": "assistant", "content": ""})]
    events.extend(chunk({"reasoning_content": part}) for part in _chunks(message.get("reasoning_content") or ""))
    events.extend(chunk({"content": part}) for part in _chunks(message.get("content") or ""))
    for number, call in enumerate(message.get("tool_calls") or []):
        opening = {"index": number, "id": call["id"], "type": "function"}
        opening["function"] = {"name": call["function"]["name"], "arguments": ""}
        events.append(chunk({"tool_calls": [opening]}))
        events.extend(
            chunk({"tool_calls": [{"index": number, "function": {"arguments": part}}]})
            for part in _chunks(call["function"]["arguments"])
        )
    events.append(chunk({}, choice["finish_reason"]))
    if include_usage:
        events.append(_data({**head, "choices": [], "usage": completion["usage"]}))
    events.append(b"data: [DONE]\n\n")
    return events


def stream_error(message: str) -> bytes:
    """The error chunk the API sends inside a stream that fails after it began."""
    return _data({"error": {"message": message, "type": "server_error", "param": None, "code": None}})


MALFORMED_STREAM = b'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choi\n\n'
MALFORMED_BODY = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"ind'
