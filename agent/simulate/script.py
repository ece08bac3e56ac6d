"""Scripts that drive the fake provider and the in-process scripted model.

A script says which text, thinking and tool calls to return on each turn, chosen by model and
effort, and which faults to inject. The turn number of a request is the number of assistant
messages already in it, so a script needs no server-side session state.

    {
      "rules": [
        {"model": "claude-*", "effort": "medium",
         "turns": [{"text": "plan...", "thinking": "...",
                    "tool_calls": [{"name": "bash", "input": {"command": "ls"}}]},
                   {"text": "Done."}]},
        {"turns": [{"text": "nothing to do"}]}
      ],
      "faults": [{"status": 529, "count": 2, "retry_after": 0}]
    }

Rules match in order; `model` and `effort` are fnmatch patterns (default "*"). A turn past
the end of a rule's list ends the conversation with the text "Done.".
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agent.core.errors import ConfigError


class ScriptedToolCall(BaseModel):
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = Field(None, description="Send these arguments verbatim (bad JSON tests).")


class ScriptedTurn(BaseModel):
    text: str = ""
    thinking: str | None = None
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    output_tokens: int | None = Field(None, description="Reported output tokens (default: estimated).")
    reasoning_tokens: int | None = None
    delay_s: float = Field(0.0, description="Sleep this long before answering.")


class ScriptRule(BaseModel):
    model: str = "*"
    effort: str = "*"
    turns: list[ScriptedTurn]

    def matches(self, model: str, effort: str | None) -> bool:
        return fnmatch.fnmatch(model, self.model) and fnmatch.fnmatch(effort or "", self.effort)


class Fault(BaseModel):
    """Answer the next `count` matching requests with an error instead of a turn."""

    status: int = 529
    count: int = 1
    retry_after: float | None = None
    turn: int | None = Field(None, description="Only requests at this turn number.")
    model: str = "*"
    malformed: bool = Field(False, description="Send a 200 with a body that is not valid JSON/SSE.")
    delay_s: float = 0.0
    message: str = "injected fault"


class Script(BaseModel):
    rules: list[ScriptRule] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)

    def turn_for(self, model: str, effort: str | None, index: int) -> ScriptedTurn:
        for rule in self.rules:
            if rule.matches(model, effort):
                if index < len(rule.turns):
                    return rule.turns[index]
                return ScriptedTurn(text="Done.")
        return ScriptedTurn(text="Done.")


def load_script(path: Path) -> Script:
    """Read a script from a .json or .toml file, with a clear error when it is malformed."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read script {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        return Script.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"malformed script {path}: {str(exc).splitlines()[0]}") from None
