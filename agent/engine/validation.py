"""Checks every model reply before its tools run, and says why one is invalid.

A reply is invalid when a tool call names a tool we did not offer (`unknown_tool`), its
arguments are not a JSON object (`bad_json`: the adapters leave `ToolCall.error` set, on every
wire), its input does not match the tool's schema or the editor command's required fields
(`schema`), it has neither text nor a tool call while turns remain (`empty`), or its tool calls
repeat the previous replies' exactly `loop_repeats` times in a row (`loop`). Each problem carries
the message the model reads as the call's result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from jsonschema import Draft202012Validator

from agent.core.messages import ModelTurn, ToolCall, ToolSpec

Reason = Literal["unknown_tool", "bad_json", "schema", "empty", "loop"]
REASONS: tuple[Reason, ...] = ("unknown_tool", "bad_json", "schema", "empty", "loop")

EDITOR_FIELDS = {"create": ("file_text",), "str_replace": ("old_str",), "insert": ("insert_line", "new_str")}
"""Fields each editor command needs beyond the schema's own `required` (the schema cannot say it per command)."""


@dataclass(frozen=True)
class Invalid:
    """Why one reply (or one of its tool calls, `call_id`) is invalid, and what the model is told."""

    reason: Reason
    message: str
    call_id: str | None = None


class ReplyValidator:
    """Validates the replies of one attempt against the tools it offers (it remembers recent calls for `loop`)."""

    def __init__(self, tools: Sequence[ToolSpec], loop_repeats: int = 3) -> None:
        self.schemas = {tool.name: Draft202012Validator(tool.input_schema) for tool in tools}
        self.loop_repeats = loop_repeats
        self.previous: str | None = None
        self.repeats = 0

    def check(self, reply: ModelTurn, turns_left: bool) -> list[Invalid]:
        """The problems of `reply`, first problem first; empty when the reply is valid."""
        if not reply.tool_calls:
            self.previous, self.repeats = None, 0
            if not reply.text.strip() and turns_left:
                return [Invalid("empty", "your reply was empty: call a tool to continue, or say what you did")]
            return []
        problems = [problem for call in reply.tool_calls if (problem := self._check_call(call)) is not None]
        if problems:
            self.previous, self.repeats = None, 0
            return problems
        return self._check_loop(reply.tool_calls)

    def _check_call(self, call: ToolCall) -> Invalid | None:
        if call.name not in self.schemas:
            offered = " or ".join(self.schemas)
            return Invalid("unknown_tool", f"unknown tool {call.name!r}: use {offered}", call.id)
        if call.error:
            return Invalid("bad_json", call.error, call.id)
        error = next(iter(self.schemas[call.name].iter_errors(call.input)), None)
        if error is not None and error.validator == "required" and not error.absolute_path:
            missing = next(name for name in error.validator_value if name not in call.input)
            return Invalid("schema", f"missing required field {missing!r} for {call.name}", call.id)
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path)
            detail = f"{where}: {error.message}" if where else error.message
            return Invalid("schema", f"the input of {call.name} does not match its schema ({detail})", call.id)
        needed = (
            EDITOR_FIELDS.get(str(call.input.get("command"))) if call.name == "str_replace_based_edit_tool" else None
        )
        missing = [name for name in needed or () if name not in call.input]
        if missing:
            command = call.input["command"]
            return Invalid("schema", f"missing required field {missing[0]!r} for {command}", call.id)
        return None

    def _check_loop(self, calls: list[ToolCall]) -> list[Invalid]:
        key = json.dumps([(call.name, call.input) for call in calls], sort_keys=True)
        self.repeats = self.repeats + 1 if key == self.previous else 1
        self.previous = key
        if self.repeats < self.loop_repeats:
            return []
        message = (
            f"you made this exact call {self.repeats} times in a row and it gives the same result: "
            "stop repeating it and try something else"
        )
        return [Invalid("loop", message, call.id) for call in calls]
