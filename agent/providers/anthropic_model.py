"""Claude through the Anthropic Messages API: always streamed, adaptive thinking, prompt caching.

The stream's raw events are put together here rather than by the SDK's `messages.stream`, which
raises on a tool input that is not JSON: such a call becomes a ToolCall with `error` set, as on
the OpenAI wire (`agent.providers.tool_calls`), in a normal turn with its full usage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import anthropic

from agent.core.messages import Message, ModelTurn, TextBlock, ThinkingBlock, ToolCall, ToolResult, ToolSpec, Usage
from agent.core.model_request import ModelRequest
from agent.core.protocols import TextSink
from agent.core.tool_specs import BASH, EDITOR
from agent.providers.errors import api_message
from agent.providers.resolve import ResolvedModel
from agent.providers.sdk_model import SdkErrors, SdkModel, StreamSeen
from agent.providers.tool_calls import parse_call

DEFAULT_BASE_URL = "https://api.anthropic.com"
EPHEMERAL = {"type": "ephemeral"}
NATIVE_TOOLS = {BASH.name: "bash_20250124", EDITOR.name: "text_editor_20250728"}


def tool_param(spec: ToolSpec) -> dict[str, Any]:
    """A native client tool for the two standard tools, a custom tool for anything else."""
    if spec.name in NATIVE_TOOLS:
        return {"type": NATIVE_TOOLS[spec.name], "name": spec.name}
    return {"name": spec.name, "description": spec.description, "input_schema": spec.input_schema}


def block_param(block: Any) -> dict[str, Any] | None:
    """A content block on the wire (None for blocks the API rejects, such as empty text)."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text} if block.text else None
    if isinstance(block, ThinkingBlock):
        # Anthropic's own blocks go back exactly as received; unsigned ones (another provider's) cannot.
        if block.raw.get("type") in ("thinking", "redacted_thinking"):
            return dict(block.raw)
        if block.signature and not block.redacted:
            return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
        return None
    if isinstance(block, ToolCall):
        # A call whose arguments did not parse goes back with its empty input; its result says why.
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, ToolResult):
        return {
            "type": "tool_result",
            "tool_use_id": block.tool_call_id,
            "content": block.output,
            "is_error": block.is_error,
        }
    raise TypeError(f"unknown block {block!r}")


def messages_param(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages on the wire, with rolling cache breakpoints on the last block of the latest
    message and on the last block of the user message before it."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        blocks = [param for block in message.content if (param := block_param(block)) is not None]
        wire.append({"role": message.role, "content": blocks})
    marked = [len(wire) - 1] if wire else []
    earlier_users = [index for index in range(len(wire) - 1) if wire[index]["role"] == "user"]
    if earlier_users:
        marked.append(earlier_users[-1])
    for index in marked:
        blocks = wire[index]["content"]
        if blocks and blocks[-1]["type"] not in ("thinking", "redacted_thinking"):
            blocks[-1] = {**blocks[-1], "cache_control": EPHEMERAL}
    return wire


def handed_over(messages: Sequence[Message], name: str) -> bool:
    """Whether the current tool-use loop (the assistant turns since the last user text) holds tool
    calls another model wrote: a fallback took the conversation over. Thinking stays off for the
    rest of that loop: the API wants every final tool-use message of a thinking loop to start with
    a thinking block, which the other model's turn, and the turns since, cannot have."""
    for message in reversed(messages):
        if message.role == "user" and any(isinstance(block, TextBlock) for block in message.content):
            return False
        if message.role == "assistant" and message.tool_calls and message.model not in (None, name):
            return True
    return False


def usage_of(usage: dict[str, Any]) -> Usage:
    """Our usage of the API's: input counts the cache reads and writes it reports apart."""
    read = usage.get("cache_read_input_tokens") or 0
    write = usage.get("cache_creation_input_tokens") or 0
    details = usage.get("output_tokens_details") or {}
    return Usage(
        input_tokens=(usage.get("input_tokens") or 0) + read + write,
        cache_read_tokens=read,
        cache_write_tokens=write,
        output_tokens=usage.get("output_tokens") or 0,
        reasoning_tokens=details.get("thinking_tokens"),
    )


class MessageStream:
    """The final Message of a stream of raw events, as the API's JSON, and each tool_use block's input
    text; `seen` is told of the usage `message_start` reports and of each piece of output."""

    def __init__(self, on_text: TextSink | None, seen: StreamSeen | None = None) -> None:
        self.on_text = on_text
        self.seen = seen or StreamSeen()
        self.message: dict[str, Any] | None = None
        self.blocks: dict[int, dict[str, Any]] = {}
        self.inputs: dict[int, str] = {}

    def add(self, event: Any) -> None:
        self.seen.started = True
        if event.type == "message_start":
            self.message = event.message.to_dict()
            self.seen.usage = usage_of(self.message["usage"])
        elif self.message is None:
            raise ValueError(f"a {event.type} event came before message_start")
        elif event.type == "content_block_start":
            self.blocks[event.index] = event.content_block.to_dict()
            if event.content_block.type == "tool_use":
                self.inputs[event.index] = ""
        elif event.type == "content_block_delta":
            if event.index not in self.blocks:
                raise ValueError(f"a content_block_delta event came for block {event.index}, which never started")
            self._delta(self.blocks[event.index], event.index, event.delta)
        elif event.type == "message_delta":
            self.message["stop_reason"] = event.delta.stop_reason
            self.message["stop_sequence"] = event.delta.stop_sequence
            # Usage on message_delta is cumulative; the counts it leaves out keep their message_start value.
            sent = event.usage.to_dict()
            self.message["usage"].update({key: value for key, value in sent.items() if value is not None})
            self.seen.usage = usage_of(self.message["usage"])

    def _delta(self, block: dict[str, Any], index: int, delta: Any) -> None:
        if delta.type == "text_delta":
            block["text"] += delta.text
            self.seen.streamed_chars += len(delta.text)
            if self.on_text is not None:
                self.on_text(delta.text)
        elif delta.type == "thinking_delta":
            block["thinking"] += delta.thinking
            self.seen.streamed_chars += len(delta.thinking)
        elif delta.type == "signature_delta":
            block["signature"] = delta.signature
        elif delta.type == "input_json_delta":
            self.inputs[index] += delta.partial_json
            self.seen.streamed_chars += len(delta.partial_json)

    def turn(self) -> ModelTurn:
        if self.message is None:
            raise ValueError("the stream ended without a message_start event")
        text, calls, thinking = [], [], []
        content = [self.blocks[index] for index in sorted(self.blocks)]
        for index, block in sorted(self.blocks.items()):
            if block["type"] == "text":
                text.append(block["text"])
            elif block["type"] == "tool_use":
                call = parse_call(block["id"], block["name"], self.inputs[index])
                block["input"] = call.input
                calls.append(call)
            elif block["type"] == "thinking":
                thinking.append(ThinkingBlock(thinking=block["thinking"], signature=block.get("signature"), raw=block))
            elif block["type"] == "redacted_thinking":
                thinking.append(ThinkingBlock(redacted=True, raw=block))
        return ModelTurn(
            text="".join(text),
            tool_calls=calls,
            thinking=thinking,
            usage=usage_of(self.message["usage"]),
            stop_reason=self.message.get("stop_reason"),
            raw={**self.message, "content": content},
        )


class AnthropicModel(SdkModel):
    """One Claude model. `complete` streams one request and returns the turn."""

    errors = SdkErrors.of(anthropic)
    default_base_url = DEFAULT_BASE_URL

    def __init__(self, resolved: ResolvedModel, env: Mapping[str, str]) -> None:
        super().__init__(resolved, env)
        self.client = anthropic.Anthropic(**self.client_options(anthropic.DefaultHttpxClient))

    def request_params(self, request: ModelRequest) -> dict[str, Any]:
        """The keyword arguments of `messages.create` for one call (without `stream`). Thinking is
        left off for a call whose final assistant message is another model's tool calls."""
        tool_params = [tool_param(spec) for spec in request.tools]
        if tool_params:
            tool_params[-1] = {**tool_params[-1], "cache_control": EPHEMERAL}
        params: dict[str, Any] = {
            "model": self.resolved.wire_name,
            "max_tokens": request.max_tokens,
            "messages": messages_param(request.messages),
            "output_config": {"effort": self.effort_for(request.effort)[1]},
        }
        if not handed_over(request.messages, self.name):
            params["thinking"] = {"type": "adaptive"}
        if request.system:
            params["system"] = [{"type": "text", "text": request.system, "cache_control": EPHEMERAL}]
        if tool_params:
            params["tools"] = tool_params
        return params

    def stream(self, params: dict[str, Any], on_text: TextSink | None, seen: StreamSeen) -> ModelTurn:
        received = MessageStream(on_text, seen)
        with self.client.messages.create(**cast(Any, params), stream=True) as stream:
            for event in stream:
                received.add(event)
        return received.turn()

    def too_long(self, exc: Any) -> bool:
        return bool(exc.status_code == 400 and "prompt is too long" in api_message(exc))
