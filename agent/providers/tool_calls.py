"""Tool calls from the raw argument text a model sent, the same on every wire.

Arguments that are not a JSON object do not fail the call: the ToolCall keeps the text in
`raw_arguments`, has an empty `input` and says what is wrong in `error`, for the loop to answer
as the model's format failure.
"""

from __future__ import annotations

import json

from agent.core.messages import ToolCall


def parse_call(call_id: str, name: str, arguments: str) -> ToolCall:
    """A tool call; arguments that are not a JSON object leave `error` set for the loop to answer."""
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError as exc:
        error = f"the arguments of {name} are not valid JSON ({exc}); send a JSON object"
        return ToolCall(id=call_id, name=name, raw_arguments=arguments, error=error)
    if not isinstance(parsed, dict):
        error = f"the arguments of {name} must be a JSON object, got {type(parsed).__name__}"
        return ToolCall(id=call_id, name=name, raw_arguments=arguments, error=error)
    return ToolCall(id=call_id, name=name, input=parsed, raw_arguments=arguments)
