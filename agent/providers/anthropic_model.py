"""Claude through the Anthropic Messages API: always streamed, adaptive thinking, prompt caching."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import anthropic

from agent.core.effort import EffortLevel
from agent.core.messages import Message, ModelTurn, TextBlock, ThinkingBlock, ToolCall, ToolResult, ToolSpec, Usage
from agent.core.protocols import TextSink
from agent.core.tool_specs import BASH, EDITOR
from agent.providers.errors import api_message, malformed, status_error, timed_out, unreachable
from agent.providers.http import AttemptCounter, api_key_for, base_url_for
from agent.providers.resolve import ResolvedModel

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


def turn_from_message(message: Any) -> ModelTurn:
    """Text, tool calls, thinking and usage of a final Message (Anthropic reports cache apart)."""
    text, calls, thinking = [], [], []
    for block in message.content:
        if block.type == "text":
            text.append(block.text)
        elif block.type == "tool_use":
            calls.append(ToolCall(id=block.id, name=block.name, input=dict(block.input or {})))
        elif block.type == "thinking":
            raw = block.to_dict()
            thinking.append(ThinkingBlock(thinking=block.thinking, signature=block.signature, raw=raw))
        elif block.type == "redacted_thinking":
            thinking.append(ThinkingBlock(redacted=True, raw=block.to_dict()))
    usage = message.usage
    read = usage.cache_read_input_tokens or 0
    write = usage.cache_creation_input_tokens or 0
    details = usage.output_tokens_details
    return ModelTurn(
        text="".join(text),
        tool_calls=calls,
        thinking=thinking,
        usage=Usage(
            input_tokens=usage.input_tokens + read + write,
            cache_read_tokens=read,
            cache_write_tokens=write,
            output_tokens=usage.output_tokens,
            reasoning_tokens=details.thinking_tokens if details is not None else None,
        ),
        stop_reason=message.stop_reason,
        raw=message.to_dict(),
    )


class AnthropicModel:
    """One Claude model. `complete` streams one request and returns the turn."""

    def __init__(self, resolved: ResolvedModel, env: Mapping[str, str]) -> None:
        self.resolved = resolved
        self.name = resolved.name
        self.provider = resolved.provider
        self.base_url = base_url_for(resolved, env, DEFAULT_BASE_URL)
        self._attempts = AttemptCounter()
        config = resolved.provider_config
        self.client = anthropic.Anthropic(
            api_key=api_key_for(resolved, env),
            base_url=self.base_url,
            max_retries=config.max_retries,
            timeout=config.timeout_s,
            http_client=anthropic.DefaultHttpxClient(event_hooks=self._attempts.hooks()),
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
        """The keyword arguments of `messages.stream` for one call."""
        tool_params = [tool_param(spec) for spec in tools]
        if tool_params:
            tool_params[-1] = {**tool_params[-1], "cache_control": EPHEMERAL}
        params: dict[str, Any] = {
            "model": self.resolved.wire_name,
            "max_tokens": max_tokens,
            "messages": messages_param(messages),
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": self.effort_for(effort)[1]},
        }
        if system:
            params["system"] = [{"type": "text", "text": system, "cache_control": EPHEMERAL}]
        if tool_params:
            params["tools"] = tool_params
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
        try:
            with self.client.messages.stream(**cast(Any, params)) as stream:
                for event in stream:
                    if event.type == "text" and on_text is not None:
                        on_text(event.text)
                final = stream.get_final_message()
        except anthropic.APIStatusError as exc:
            too_long = exc.status_code == 400 and "prompt is too long" in api_message(exc)
            raise status_error(
                self.resolved,
                exc.status_code,
                api_message(exc),
                context_window=too_long,
                retries=self._attempts.retries,
            ) from exc
        except anthropic.APITimeoutError as exc:
            raise timed_out(self.resolved, self._attempts.retries) from exc
        except anthropic.APIConnectionError as exc:
            raise unreachable(self.resolved, self.base_url, str(exc), self._attempts.retries) from exc
        except (anthropic.APIResponseValidationError, ValueError, RuntimeError) as exc:
            raise malformed(self.resolved, str(exc).splitlines()[0][:200], self._attempts.retries) from exc
        turn = turn_from_message(final)
        return turn.model_copy(
            update={
                "duration_s": time.monotonic() - started,
                "retries": self._attempts.retries,
                "model": self.name,
                "effort_sent": params["output_config"]["effort"],
            }
        )
