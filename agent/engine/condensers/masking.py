"""Old tool results masked in blocks: the latest results stay in full within `keep_tokens` (per effort
level), older ones become a one-line placeholder that keeps the command, its exit code and its first
line; a test run's output keeps its tail too, where pytest prints the FAILED lines and the counts.
The boundary moves in blocks, not every turn: when the full results pass `keep_tokens` it moves far
enough to leave `mask_to` of them, so the prompt prefix (which providers cache) changes rarely. The
view keeps the conversation's length and order, so condensers after this one see the same indices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.core.messages import Message, ToolCall, ToolResult

CHARS_PER_TOKEN = 4
"""A rough tokenizer for deciding what to mask (budgets use a stricter bound)."""

EXIT_CODE = re.compile(r"\[exit code (-?\d+)\]\s*$")
TEST_RUN = re.compile(r"\b(pytest|py\.test|tox|nox)\b")
PINNED_TAIL_LINES = 15
PINNED_TAIL_CHARS = 1500


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


def pinned(result: ToolResult, call: ToolCall | None) -> ToolResult:
    """The latest test run's result, masked: its placeholder and its last lines (the FAILED lines, the counts)."""
    tail = "\n".join(result.output.splitlines()[-PINNED_TAIL_LINES:])[-PINNED_TAIL_CHARS:]
    masked = placeholder(result, call)
    return masked.model_copy(update={"output": f"{masked.output}\n[its last lines]\n{tail}"})


def _is_test_run(call: ToolCall) -> bool:
    return call.name == "bash" and bool(TEST_RUN.search(str(call.input.get("command", ""))))


@dataclass(frozen=True)
class Masking:
    """A move of the boundary: the results it masked and the tokens that saved."""

    results: int
    saved_tokens: int
    kept_tokens: int


class ObservationMasking:
    """Masks tool results before `boundary`; the boundary only moves forward."""

    def __init__(self, keep_tokens: int, mask_to: float = 0.25) -> None:
        self.keep_tokens = keep_tokens
        self.mask_to = mask_to
        self.boundary = 1
        """Tool results in messages[:boundary] are masked."""
        self._masked: dict[str, ToolResult] = {}
        self._calls: dict[str, ToolCall] = {}
        self._latest_test_run: str | None = None
        """The id of the latest call that ran the tests: its result, once masked, keeps its tail."""

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

    def skip_to(self, index: int) -> None:
        """Nothing before `index` is sent as it is any more (a summary replaced it)."""
        self.boundary = max(self.boundary, index)

    def condense(self, messages: list[Message]) -> list[Message]:
        self._remember_calls(messages)
        return [self._mask(message) for message in messages[: self.boundary]] + messages[self.boundary :]

    def _remember_calls(self, messages: list[Message]) -> None:
        for message in messages:
            if message.role == "assistant":
                for call in message.tool_calls:
                    self._calls.setdefault(call.id, call)
                    if _is_test_run(call):
                        self._latest_test_run = call.id

    def _mask(self, message: Message) -> Message:
        if message.role != "user" or not any(isinstance(block, ToolResult) for block in message.content):
            return message
        content = [self._masked_result(block) if isinstance(block, ToolResult) else block for block in message.content]
        return Message(role=message.role, content=content)

    def _masked_result(self, result: ToolResult) -> ToolResult:
        call = self._calls.get(result.tool_call_id)
        if result.tool_call_id == self._latest_test_run:
            return pinned(result, call)
        return self._masked.setdefault(result.tool_call_id, placeholder(result, call))


def _results_tokens(message: Message) -> int:
    return sum(tokens(block.output) for block in message.content if isinstance(block, ToolResult))
