"""The Anthropic Messages API side of the fake: validation, replies, SSE events and error bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from agent.fake_provider.cache import count_breakpoints
from agent.simulate.script import Script, ScriptedTurn
from agent.simulate.tokens import estimate_tokens

MAX_BREAKPOINTS = 4

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

DROPPED_THINKING = (
    "messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. "
    "When `thinking` is enabled, a final `assistant` message must start with a thinking block "
    "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include "
    "thinking blocks from previous turns. To avoid this requirement, disable `thinking`."
)


def error_body(status: int, message: str) -> dict[str, Any]:
    error_type = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": f"req_{uuid.uuid4().hex[:24]}",
    }


def sign(secret: bytes, thinking: str) -> str:
    """The signature of a thinking block: an HMAC of its text with the server's secret."""
    return base64.b64encode(hmac.new(secret, thinking.encode(), hashlib.sha256).digest()).decode()


def effort_of(body: dict[str, Any]) -> str | None:
    config = body.get("output_config")
    return config.get("effort") if isinstance(config, dict) else None


def thinking_enabled(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("adaptive", "enabled")


def turn_index(body: dict[str, Any]) -> int:
    return sum(1 for message in body.get("messages") or [] if message.get("role") == "assistant")


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def validate(body: dict[str, Any], script: Script, secret: bytes) -> str | None:
    """Why the real API would reject this request with a 400, or None when it would accept it."""
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    breakpoints = count_breakpoints(body)
    if breakpoints > MAX_BREAKPOINTS:
        return f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
    model, effort = body["model"], effort_of(body)
    assistant_turn = 0
    for index, message in enumerate(body["messages"]):
        if message.get("role") != "assistant":
            continue
        blocks = _blocks(message)
        for number, block in enumerate(blocks):
            if block.get("type") == "thinking" and not hmac.compare_digest(
                str(block.get("signature", "")), sign(secret, str(block.get("thinking", "")))
            ):
                return f"messages.{index}.content.{number}: Invalid `signature` in `thinking` block"
        scripted = script.turn_for(model, effort, assistant_turn)
        has_thinking = any(block.get("type") in ("thinking", "redacted_thinking") for block in blocks)
        if thinking_enabled(body) and scripted.thinking and scripted.tool_calls and not has_thinking:
            found = blocks[0].get("type", "text") if blocks else "text"
            return DROPPED_THINKING.format(index=index, found=found)
        assistant_turn += 1
    return None


def build_message(
    body: dict[str, Any], turn: ScriptedTurn, index: int, usage: dict[str, int], secret: bytes
) -> tuple[dict[str, Any], dict[int, str]]:
    """The full Message JSON for a turn, and the raw input JSON of each tool_use block by index."""
    content: list[dict[str, Any]] = []
    raw_inputs: dict[int, str] = {}
    if turn.thinking and thinking_enabled(body):
        content.append({"type": "thinking", "thinking": turn.thinking, "signature": sign(secret, turn.thinking)})
    if turn.text:
        content.append({"type": "text", "text": turn.text})
    for number, call in enumerate(turn.tool_calls):
        raw = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.input)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {}
        raw_inputs[len(content)] = raw
        content.append(
            {
                "type": "tool_use",
                "id": f"toolu_{index:03d}{number:03d}fake",
                "name": call.name,
                "input": parsed,
            }
        )
    output_tokens = turn.output_tokens
    if output_tokens is None:
        output_tokens = max(1, estimate_tokens((turn.thinking or "") + turn.text + "".join(raw_inputs.values())))
    full_usage: dict[str, Any] = {**usage, "output_tokens": output_tokens}
    if turn.reasoning_tokens is not None:
        full_usage["output_tokens_details"] = {"thinking_tokens": turn.reasoning_tokens}
    message = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": full_usage,
    }
    return message, raw_inputs


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _chunks(text: str, size: int = 24) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def stream_events(message: dict[str, Any], raw_inputs: dict[int, str]) -> list[bytes]:
    """The SSE events the real API sends for `message`, in order."""
    usage = message["usage"]
    start_usage = {key: value for key, value in usage.items() if key != "output_tokens_details"}
    start = {**message, "content": [], "stop_reason": None, "usage": {**start_usage, "output_tokens": 1}}
    events = [_event("message_start", {"type": "message_start", "message": start})]
    events.append(_event("ping", {"type": "ping"}))
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "thinking":
            opening: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            deltas: list[dict[str, Any]] = [
                {"type": "thinking_delta", "thinking": part} for part in _chunks(block["thinking"])
            ]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": part} for part in _chunks(block["text"])]
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            parts = ["", *_chunks(raw_inputs[index])]
            deltas = [{"type": "input_json_delta", "partial_json": part} for part in parts]
        events.append(
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opening},
            )
        )
        events.extend(
            _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            for delta in deltas
        )
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(_event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events


MALFORMED_STREAM = b'event: message_start\ndata: {"type": "message_start", "message": {"id": "msg_\n\n'
MALFORMED_BODY = b'{"id": "msg_broken", "type": "message", "content": [{"type": "te'
