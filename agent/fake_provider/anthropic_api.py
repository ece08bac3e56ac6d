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


QUOTA_MESSAGE = (
    "Your credit balance is too low to access the Anthropic API. "
    "Please go to Plans & Billing to upgrade or purchase credits."
)


def quota_error() -> tuple[int, dict[str, Any]]:
    """The API's answer to an account out of credit: a 400 invalid_request_error."""
    return 400, error_body(400, QUOTA_MESSAGE)


def sign(secret: bytes, thinking: str) -> str:
    """The signature of a thinking block: an HMAC of its text with the server's secret."""
    return base64.b64encode(hmac.new(secret, thinking.encode(), hashlib.sha256).digest()).decode()


def effort_of(body: dict[str, Any]) -> str | None:
    config = body.get("output_config")
    return config.get("effort") if isinstance(config, dict) else None


def too_long(prompt: int, window: int) -> str:
    """The API's message for a prompt over the model's context window."""
    return f"prompt is too long: {prompt} tokens > {window} maximum"


def thinking_enabled(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("adaptive", "enabled")


def turn_index(body: dict[str, Any]) -> int:
    return sum(1 for message in body.get("messages") or [] if message.get("role") == "assistant")


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def tool_use_id(turn: int, number: int, tag: str = "fake") -> str:
    """The id of the `number`-th tool call the fake sends on turn `turn`. `tag` says where the reply
    came from: "fake" a scripted turn sent as scripted, "plain" one whose scripted thinking was left
    out (the request did not enable thinking), "invalid" an invalid fault's reply."""
    return f"toolu_{turn:03d}{number:03d}{tag}"


def validate(body: dict[str, Any], script: Script, secret: bytes) -> str | None:
    """Why the real API would reject this request with a 400, or None when it would accept it.

    Every thinking block must carry its valid signature. With thinking enabled, the final assistant
    message (the one with the lastmost tool_use blocks) must start with a thinking block when the
    reply it echoes had one; earlier assistant messages need not. The fake tells without keeping
    state: the final message's tool_use ids are the "fake" ids of a scripted turn that has thinking
    (`tool_use_id`). A reply sent without its thinking, an invalid fault's reply or another model's
    calls carry other ids, so they are not asked for a thinking block.
    """
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    breakpoints = count_breakpoints(body)
    if breakpoints > MAX_BREAKPOINTS:
        return f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
    final: tuple[int, list[dict[str, Any]]] | None = None
    for index, message in enumerate(body["messages"]):
        if message.get("role") != "assistant":
            continue
        blocks = _blocks(message)
        for number, block in enumerate(blocks):
            if block.get("type") == "thinking" and not hmac.compare_digest(
                str(block.get("signature", "")), sign(secret, str(block.get("thinking", "")))
            ):
                return f"messages.{index}.content.{number}: Invalid `signature` in `thinking` block"
        final = index, blocks
    if final is None or not thinking_enabled(body):
        return None
    index, blocks = final
    turn = turn_index(body) - 1
    scripted = script.turn_for(body["model"], effort_of(body), turn)
    served = {tool_use_id(turn, number) for number in range(len(scripted.tool_calls))}
    ids = [block.get("id") for block in blocks if block.get("type") == "tool_use"]
    had_thinking = bool(scripted.thinking) and bool(ids) and all(id_ in served for id_ in ids)
    if had_thinking and not any(block.get("type") in ("thinking", "redacted_thinking") for block in blocks):
        found = blocks[0].get("type", "text") if blocks else "text"
        return DROPPED_THINKING.format(index=index, found=found)
    return None


def build_message(
    body: dict[str, Any], turn: ScriptedTurn, index: int, usage: dict[str, int], secret: bytes, tag: str = "fake"
) -> tuple[dict[str, Any], dict[int, str]]:
    """The full Message JSON for a turn, and the raw input JSON of each tool_use block by index
    (`tag` marks the tool_use ids, see `tool_use_id`)."""
    content: list[dict[str, Any]] = []
    raw_inputs: dict[int, str] = {}
    if turn.thinking and thinking_enabled(body):
        content.append({"type": "thinking", "thinking": turn.thinking, "signature": sign(secret, turn.thinking)})
    elif turn.thinking and tag == "fake":
        tag = "plain"  # the scripted thinking is left out, so `validate` will not ask for it back
    if turn.text:
        content.append({"type": "text", "text": turn.text})
    for number, call in enumerate(turn.tool_calls):
        raw = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.input)
        raw_inputs[len(content)] = raw
        content.append(
            {"type": "tool_use", "id": tool_use_id(index, number, tag), "name": call.name, "input": _input(raw)}
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


def _input(raw: str) -> dict[str, Any]:
    """A tool_use block's `input` in a JSON body. Streamed, the raw text goes out verbatim as
    input_json_delta chunks; a JSON body cannot hold text that is not a JSON object, so such text is
    wrapped the way Anthropic's tool-streaming docs tell clients to send invalid JSON back:
    {"INVALID_JSON": raw}. The body stays parsable and the bad text stays visible."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"INVALID_JSON": raw}


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


def stream_error(message: str) -> bytes:
    """The error event the API sends inside a stream that fails after it began (overloaded, mid-reply)."""
    return _event("error", {"type": "error", "error": {"type": "overloaded_error", "message": message}})


MALFORMED_STREAM = b'event: message_start\ndata: {"type": "message_start", "message": {"id": "msg_\n\n'
MALFORMED_BODY = b'{"id": "msg_broken", "type": "message", "content": [{"type": "te'
