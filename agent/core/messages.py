"""Provider-neutral conversation types: messages, content blocks, tool calls, usage and model turns.

Every block keeps the provider's raw JSON beside the parsed fields, so what a provider needs
echoed back (Anthropic thinking blocks with their signatures) goes back unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class Usage(BaseModel):
    """Token counts of one or more model calls.

    `input_tokens` counts ALL prompt tokens, cached ones included; `cache_read_tokens` and
    `cache_write_tokens` are subsets of it.
    """

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int | None = None

    def __add__(self, other: Usage) -> Usage:
        reasoning = None
        if self.reasoning_tokens is not None or other.reasoning_tokens is not None:
            reasoning = (self.reasoning_tokens or 0) + (other.reasoning_tokens or 0)
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_tokens=reasoning,
        )


class TextBlock(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ThinkingBlock(BaseModel):
    """A reasoning block. `raw` is the provider's block exactly as received (signature included)."""

    type: Literal["thinking"] = "thinking"
    thinking: str = ""
    signature: str | None = None
    redacted: bool = False
    raw: dict[str, Any] = Field(default_factory=dict)


class ToolCall(BaseModel):
    """A tool call made by the model. `error` is set when its input could not be parsed."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None
    error: str | None = None


class ToolResult(BaseModel):
    type: Literal["tool_result"] = "tool_result"
    tool_call_id: str
    output: str
    is_error: bool = False


Block = Annotated[TextBlock | ThinkingBlock | ToolCall | ToolResult, Field(discriminator="type")]


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: list[Block]
    model: str | None = None
    """The model that wrote an assistant message (a fallback hands a conversation to another model)."""

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", content=[TextBlock(text=text)])

    @property
    def text(self) -> str:
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [block for block in self.content if isinstance(block, ToolCall)]


class ModelTurn(BaseModel):
    """What one model call returned."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    thinking: list[ThinkingBlock] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str | None = None
    duration_s: float = 0.0
    retries: int = 0
    model: str = ""
    effort_sent: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    def as_message(self) -> Message:
        """The assistant message to append to the conversation (thinking first, as received)."""
        content: list[Block] = [*self.thinking]
        if self.text:
            content.append(TextBlock(text=self.text))
        content.extend(self.tool_calls)
        return Message(role="assistant", content=content, model=self.model or None)


class ToolSpec(BaseModel):
    """A tool offered to the model: name, description and JSON schema of its input."""

    name: str
    description: str
    input_schema: dict[str, Any]
