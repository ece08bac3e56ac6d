"""What the model is sent of a long attempt: old tool results masked in blocks, the oldest turns summarised.

The attempt keeps every message as it happened (the trajectory file holds them all). The model is
sent a view of them: the issue, every assistant turn and the most recent tool results in full,
within `keep_tokens` (per effort level); older tool results become a one-line placeholder that
keeps the command, its exit code and its first line. The boundary between the two moves in
blocks, not every turn: when the full results pass `keep_tokens`, it moves far enough to leave
`mask_to` of the window, so the prompt prefix (which the providers cache) changes once every many
turns. When even the masked view nears the model's context window, the runner asks the model to
summarise the oldest turns, and the view starts with the issue and that summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.core.messages import Message, TextBlock, ToolCall, ToolResult

CHARS_PER_TOKEN = 4
"""A rough tokenizer for deciding what to mask (budgets use a stricter bound)."""

EXIT_CODE = re.compile(r"\[exit code (-?\d+)\]\s*$")

SUMMARY_REQUEST = (
    "Your context is nearly full. Summarise the work so far for yourself, so you can continue from the "
    "summary alone: what the issue needs, the files and functions you looked at and what you found, "
    "every change you made (file and what changed), the commands and test results that matter, and what "
    "is left to do. Plain text, at most 400 words, no tool calls."
)


def tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def placeholder(result: ToolResult, call: ToolCall | None) -> ToolResult:
    """A masked tool result: which call it answered, how it ended, its first line, what was left out."""
    lines = result.output.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if len(first) > 120:
        first = first[:117] + "..."
    if call is None:
        what = "tool call"
    elif call.name == "bash":
        command = str(call.input.get("command", ""))
        what = "bash: " + (command if len(command) <= 120 else command[:117] + "...")
    else:
        what = f"{call.name} {call.input.get('command', '')} {call.input.get('path', '')}".strip()
    exit_match = EXIT_CODE.search(result.output)
    ended = f"exit code {exit_match.group(1)}" if exit_match else ("error" if result.is_error else "ok")
    text = f"[output elided to save context — {what}; {ended}; first line: {first!r}; {len(lines)} lines elided]"
    return ToolResult(tool_call_id=result.tool_call_id, output=text, is_error=result.is_error)


@dataclass(frozen=True)
class Masking:
    """A move of the boundary: the results it masked and the tokens that saved."""

    results: int
    saved_tokens: int
    kept_tokens: int


@dataclass(frozen=True)
class Summary:
    """The model's summary of messages[1:upto] (the issue stays as it is)."""

    text: str
    upto: int


class ContextView:
    """The view of one attempt's conversation the model is sent; its state only moves forward."""

    def __init__(self, keep_tokens: int, mask_to: float = 0.25) -> None:
        self.keep_tokens = keep_tokens
        self.mask_to = mask_to
        self.boundary = 1
        """Tool results in messages[:boundary] are masked."""
        self.summary: Summary | None = None
        self._masked: dict[str, ToolResult] = {}
        self._calls: dict[str, ToolCall] = {}

    def update(self, messages: list[Message]) -> Masking | None:
        """Move the boundary when the full results after it pass the window; None when it stays."""
        self.boundary = min(self.boundary, len(messages))
        results = [(index, _results_tokens(message)) for index, message in enumerate(messages)]
        full = sum(count for index, count in results if index >= self.boundary)
        if full <= self.keep_tokens:
            return None
        keep, kept, boundary = self.keep_tokens * self.mask_to, 0, len(messages)
        while boundary > self.boundary:
            size = results[boundary - 1][1]
            if kept + size > keep and kept > 0:  # the latest results always stay in full
                break
            boundary -= 1
            kept += size
        if boundary <= self.boundary:
            return None
        masked_messages = messages[self.boundary : boundary]
        count = sum(1 for message in masked_messages for block in message.content if isinstance(block, ToolResult))
        saved = sum(count for index, count in results[self.boundary : boundary])
        self.boundary = boundary
        self._remember_calls(messages[:boundary])
        saved -= sum(_results_tokens(self._mask(message)) for message in masked_messages)
        return Masking(results=count, saved_tokens=saved, kept_tokens=kept)

    def summarised(self, summary: Summary) -> None:
        self.summary = summary
        self.boundary = max(self.boundary, summary.upto)

    def view(self, messages: list[Message]) -> list[Message]:
        """The messages to send: the summary (if any) in the first one, old tool results masked."""
        start = 0
        head: list[Message] = []
        if self.summary is not None and self.summary.upto < len(messages):
            note = f"\n\n[Summary of your work so far, in your own words]\n{self.summary.text}"
            head = [Message(role="user", content=[*messages[0].content, TextBlock(text=note)])]
            start = self.summary.upto
        if self.boundary <= start:
            return [*head, *messages[start:]]
        self._remember_calls(messages[: self.boundary])
        masked = [self._mask(message) for message in messages[start : self.boundary]]
        return [*head, *masked, *messages[max(start, self.boundary) :]]

    def summary_cut(self, messages: list[Message]) -> int | None:
        """Where a summary of the oldest half of the turns would end: an assistant message, so the view
        goes on from a whole turn (None: too few turns to summarise)."""
        start = self.summary.upto if self.summary is not None else 1
        assistants = [index for index in range(start + 1, len(messages)) if messages[index].role == "assistant"]
        if len(assistants) < 2:
            return None
        return assistants[len(assistants) // 2]

    def _remember_calls(self, messages: list[Message]) -> None:
        for message in messages:
            if message.role == "assistant":
                for call in message.tool_calls:
                    self._calls.setdefault(call.id, call)

    def _mask(self, message: Message) -> Message:
        if message.role != "user" or not any(isinstance(block, ToolResult) for block in message.content):
            return message
        content = [
            self._masked.setdefault(block.tool_call_id, placeholder(block, self._calls.get(block.tool_call_id)))
            if isinstance(block, ToolResult)
            else block
            for block in message.content
        ]
        return Message(role=message.role, content=content)


def _results_tokens(message: Message) -> int:
    return sum(tokens(block.output) for block in message.content if isinstance(block, ToolResult))


def summary_prompt(view: list[Message]) -> list[Message]:
    """The request for a summary of `view` (which ends with an assistant turn's tool results or text)."""
    return [*view, Message.user(SUMMARY_REQUEST)]
