"""Any OpenAI-compatible Chat Completions endpoint (OpenAI, DeepSeek, vLLM, Ollama), streamed."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import openai

from agent.core.effort import EffortLevel
from agent.core.messages import Message, ModelTurn, TextBlock, ThinkingBlock, ToolCall, ToolResult, ToolSpec, Usage
from agent.core.protocols import TextSink
from agent.providers.errors import api_message, malformed, status_error, timed_out, unreachable
from agent.providers.http import AttemptCounter, api_key_for, base_url_for
from agent.providers.resolve import ResolvedModel
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


class OpenAIModel:
    """One model behind an OpenAI-compatible endpoint. `complete` streams one request."""

    def __init__(self, resolved: ResolvedModel, env: Mapping[str, str]) -> None:
        self.resolved = resolved
        self.name = resolved.name
        self.provider = resolved.provider
        self.base_url = base_url_for(resolved, env, DEFAULT_BASE_URL)
        self.deepseek = resolved.wire_name.startswith("deepseek") or resolved.price_provider_id == "deepseek"
        self._attempts = AttemptCounter()
        config = resolved.provider_config
        self.client = openai.OpenAI(
            api_key=api_key_for(resolved, env),
            base_url=self.base_url,
            max_retries=config.max_retries,
            timeout=config.timeout_s,
            http_client=openai.DefaultHttpxClient(event_hooks=self._attempts.hooks()),
        )

    def effort_for(self, effort: EffortLevel) -> tuple[EffortLevel, str]:
        return self.resolved.effort_for(effort)

    def request_params(
        self,
        messages: Sequence[Message],
        *,
        system: str,
        tools: Sequence[ToolSpec],
        effort: EffortLevel,
        max_tokens: int,
    ) -> dict[str, Any]:
        """The keyword arguments of `chat.completions.create` for one call."""
        params: dict[str, Any] = {
            "model": self.resolved.wire_name,
            "messages": messages_param(messages, system, echo_reasoning=self.deepseek),
            "stream": True,
            "stream_options": {"include_usage": True},
            "reasoning_effort": self.effort_for(effort)[1],
            # DeepSeek and most compatible servers know max_tokens; OpenAI reasoning models need the other.
            "max_tokens" if self.deepseek else "max_completion_tokens": max_tokens,
        }
        if tools:
            params["tools"] = [tool_param(spec) for spec in tools]
        return params

    def complete(
        self,
        messages: Sequence[Message],
        *,
        system: str,
        tools: Sequence[ToolSpec],
        effort: EffortLevel,
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelTurn:
        params = self.request_params(messages, system=system, tools=tools, effort=effort, max_tokens=max_tokens)
        started = time.monotonic()
        self._attempts.reset()
        text: list[str] = []
        reasoning: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish: str | None = None
        usage: Any = None
        response_id = ""
        try:
            stream = self.client.chat.completions.create(**cast(Any, params))
            for chunk in stream:
                response_id = chunk.id or response_id
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    delta = choice.delta
                    finish = choice.finish_reason or finish
                    thought = (delta.model_extra or {}).get("reasoning_content")
                    if thought:
                        reasoning.append(thought)
                    if delta.content:
                        text.append(delta.content)
                        if on_text is not None:
                            on_text(delta.content)
                    for part in delta.tool_calls or []:
                        call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                        call["id"] = part.id or call["id"]
                        if part.function is not None:
                            call["name"] += part.function.name or ""
                            call["arguments"] += part.function.arguments or ""
        except openai.APIStatusError as exc:
            code = (exc.body or {}).get("code") if isinstance(exc.body, dict) else None
            too_long = code == "context_length_exceeded" or "maximum context length" in api_message(exc)
            raise status_error(
                self.resolved,
                exc.status_code,
                api_message(exc),
                context_window=too_long,
                retries=self._attempts.retries,
            ) from exc
        except openai.APITimeoutError as exc:
            raise timed_out(self.resolved, self._attempts.retries) from exc
        except openai.APIConnectionError as exc:
            raise unreachable(self.resolved, self.base_url, str(exc), self._attempts.retries) from exc
        except (openai.APIResponseValidationError, ValueError) as exc:
            raise malformed(self.resolved, str(exc).splitlines()[0][:200], self._attempts.retries) from exc
        tool_calls = [parse_call(c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items())]
        thinking = [ThinkingBlock(thinking="".join(reasoning))] if reasoning else []
        message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        if tool_calls:
            message["tool_calls"] = [call_param(call) for call in tool_calls]
        raw = {
            "id": response_id,
            "model": self.resolved.wire_name,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage.to_dict() if usage is not None else None,
        }
        return ModelTurn(
            text="".join(text),
            tool_calls=tool_calls,
            thinking=thinking,
            usage=usage_from(usage),
            stop_reason=finish,
            duration_s=time.monotonic() - started,
            retries=self._attempts.retries,
            model=self.name,
            effort_sent=params["reasoning_effort"],
            raw=raw,
        )
