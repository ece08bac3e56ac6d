"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, DeepSeek, vLLM, Ollama), streamed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import openai

from agent.core.messages import Message, ModelTurn, TextBlock, ThinkingBlock, ToolCall, ToolResult, ToolSpec, Usage
from agent.core.model_request import ModelRequest
from agent.core.protocols import TextSink
from agent.providers.errors import api_message
from agent.providers.resolve import ResolvedModel
from agent.providers.sdk_model import SdkErrors, SdkModel, StreamSeen
from agent.providers.tool_calls import parse_call

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def tool_param(spec: ToolSpec) -> dict[str, Any]:
    function = {"name": spec.name, "description": spec.description, "parameters": spec.input_schema}
    return {"type": "function", "function": function}


def call_param(call: ToolCall) -> dict[str, Any]:
    """A tool call as sent back: the model's own argument string when we have it."""
    arguments = call.raw_arguments if call.raw_arguments is not None else json.dumps(call.input)
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def messages_param(messages: Sequence[Message], system: str, echo_reasoning: bool) -> list[dict[str, Any]]:
    """Chat messages: tool results become `tool` messages right after the assistant's calls."""
    wire: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        text = message.text
        if message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": text or None}
            reasoning = "".join(b.thinking for b in message.content if isinstance(b, ThinkingBlock))
            if echo_reasoning and reasoning:
                entry["reasoning_content"] = reasoning
            if message.tool_calls:
                entry["tool_calls"] = [call_param(call) for call in message.tool_calls]
            wire.append(entry)
            continue
        for block in message.content:
            if isinstance(block, ToolResult):
                wire.append({"role": "tool", "tool_call_id": block.tool_call_id, "content": block.output})
        if any(isinstance(block, TextBlock) for block in message.content):
            wire.append({"role": "user", "content": text})
    return wire


def usage_from(usage: Any) -> Usage:
    """Usage of a Chat Completions call: prompt_tokens counts all, cached ones are a subset."""
    if usage is None:
        return Usage()
    extra = usage.model_extra or {}
    details = usage.prompt_tokens_details
    cached = details.cached_tokens if details is not None and details.cached_tokens is not None else None
    if cached is None:
        cached = extra.get("prompt_cache_hit_tokens") or 0
    completion = usage.completion_tokens_details
    return Usage(
        input_tokens=usage.prompt_tokens,
        cache_read_tokens=cached,
        output_tokens=usage.completion_tokens,
        reasoning_tokens=completion.reasoning_tokens if completion is not None else None,
    )


class ChatStream:
    """A streamed Chat Completions reply as it arrives: text (each piece also to `on_text`), reasoning,
    tool calls by index, the finish reason and the usage; `turn` makes the ModelTurn of it. `seen` is
    told of the usage (the last chunk carries it, when asked for) and of each piece of output."""

    def __init__(self, on_text: TextSink | None, seen: StreamSeen | None = None) -> None:
        self.on_text = on_text
        self.seen = seen or StreamSeen()
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish: str | None = None
        self.usage: Any = None
        self.response_id = ""

    def add(self, chunk: Any) -> None:
        self.seen.started = True
        self.response_id = chunk.id or self.response_id
        if chunk.usage is not None:
            self.usage = chunk.usage
            self.seen.usage = usage_from(chunk.usage)
        for choice in chunk.choices:
            delta = choice.delta
            self.finish = choice.finish_reason or self.finish
            thought = (delta.model_extra or {}).get("reasoning_content")
            if thought:
                self.reasoning.append(thought)
                self.seen.streamed_chars += len(thought)
            if delta.content:
                self.text.append(delta.content)
                self.seen.streamed_chars += len(delta.content)
                if self.on_text is not None:
                    self.on_text(delta.content)
            for part in delta.tool_calls or []:
                call = self.calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                call["id"] = part.id or call["id"]
                if part.function is not None:
                    call["name"] += part.function.name or ""
                    call["arguments"] += part.function.arguments or ""
                    self.seen.streamed_chars += len(part.function.arguments or "")

    def turn(self, wire_name: str) -> ModelTurn:
        """The reply, its `raw` a non-streamed response's shape; timing and retries are the caller's."""
        tool_calls = [parse_call(c["id"], c["name"], c["arguments"]) for _, c in sorted(self.calls.items())]
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if tool_calls:
            message["tool_calls"] = [call_param(call) for call in tool_calls]
        raw = {
            "id": self.response_id,
            "model": wire_name,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish}],
            "usage": self.usage.to_dict() if self.usage is not None else None,
        }
        return ModelTurn(
            text="".join(self.text),
            tool_calls=tool_calls,
            thinking=[ThinkingBlock(thinking="".join(self.reasoning))] if self.reasoning else [],
            usage=usage_from(self.usage),
            stop_reason=self.finish,
            raw=raw,
        )


class OpenAIModel(SdkModel):
    """One model behind an OpenAI-compatible endpoint. `complete` streams one request."""

    errors = SdkErrors.of(openai)
    default_base_url = DEFAULT_BASE_URL

    def __init__(self, resolved: ResolvedModel, env: Mapping[str, str]) -> None:
        super().__init__(resolved, env)
        self.deepseek = resolved.wire_name.startswith("deepseek") or resolved.price_provider_id == "deepseek"
        self.client = openai.OpenAI(**self.client_options(openai.DefaultHttpxClient))

    def request_params(self, request: ModelRequest) -> dict[str, Any]:
        """The keyword arguments of `chat.completions.create` for one call."""
        params: dict[str, Any] = {
            "model": self.resolved.wire_name,
            "messages": messages_param(request.messages, request.system, echo_reasoning=self.deepseek),
            "stream": True,
            "stream_options": {"include_usage": True},
            "reasoning_effort": self.effort_for(request.effort)[1],
            # DeepSeek and most compatible servers know max_tokens; OpenAI reasoning models need the other.
            "max_tokens" if self.deepseek else "max_completion_tokens": request.max_tokens,
        }
        if request.tools:
            params["tools"] = [tool_param(spec) for spec in request.tools]
        return params

    def stream(self, params: dict[str, Any], on_text: TextSink | None, seen: StreamSeen) -> ModelTurn:
        received = ChatStream(on_text, seen)
        for chunk in self.client.chat.completions.create(**cast(Any, params)):
            received.add(chunk)
        return received.turn(self.resolved.wire_name)

    def too_long(self, exc: Any) -> bool:
        code = (exc.body or {}).get("code") if isinstance(exc.body, dict) else None
        return bool(code == "context_length_exceeded" or "maximum context length" in api_message(exc))
