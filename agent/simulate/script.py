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
      "faults": [{"status": 529, "count": 2, "retry_after": 0},
                 {"invalid": "bad_json", "turn": 1}]
    }

`"context_windows": {"claude-*": 60000}` makes the fake refuse longer prompts with the real APIs'
context-window errors.

Rules match in order; `model` and `effort` are fnmatch patterns (default "*"). A turn past
the end of a rule's list ends the conversation with the text "Done.".

A fault with `hang_s` (and no `cut_after`) holds the request that long without a byte, then hangs
up: past the client's timeout, a timeout. A fault with `cut_after` answers 200 and streams the
first `cut_after` SSE events of the real reply (on the Anthropic wire, 1 is `message_start`, which
reports the input tokens), then ends as `cut` says: `drop` hangs up mid-stream, `error` sends the
API's error event (Anthropic's `overloaded_error`; OpenAI's `{"error": ...}` chunk), `hang` holds
the stream for `hang_s` (a read timeout), then hangs up. Its `status` is ignored.

A fault with `for_s` is a window: from the first request it matches, it answers every matching
request for `for_s` seconds (its `count` does not apply), then never again; a storm of 429s is
`{"status": 429, "retry_after": 5, "for_s": 60}`. A fault with `quota` answers the API's own
out-of-quota error in place of its `status` and `message` (OpenAI: 429 `insufficient_quota`;
Anthropic: 400 "Your credit balance is too low ...").

A fault with `invalid` set answers 200 with a normal, billed turn whose reply is invalid, in
place of the scripted one (its `status` is ignored):

- `unknown_tool`: a `run_shell` call with {"command": "ls"};
- `bad_json`: a `bash` call whose arguments are the text `{"command": ls}`;
- `schema`: a `str_replace_based_edit_tool` call with {"command": "delete", "path": "README.md"};
- `empty`: no text and no tool call;
- `loop`: a `bash` call with {"command": "ls"}, the same every time.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

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


InvalidKind = Literal["unknown_tool", "bad_json", "schema", "empty", "loop"]
CutKind = Literal["drop", "error", "hang"]


class Fault(BaseModel):
    """Answer the next `count` matching requests (or every one for `for_s` seconds) with an error, or an
    invalid reply, instead of a turn."""

    status: int = 529
    count: int = 1
    for_s: float | None = Field(None, description="Answer every matching request this long after the first.")
    quota: bool = Field(False, description="Send the API's out-of-quota error (its status and message).")
    retry_after: float | None = None
    turn: int | None = Field(None, description="Only requests at this turn number.")
    model: str = "*"
    malformed: bool = Field(False, description="Send a 200 with a body that is not valid JSON/SSE.")
    delay_s: float = 0.0
    message: str = "injected fault"
    invalid: InvalidKind | None = Field(None, description="Send a 200 with this kind of invalid reply instead.")
    hang_s: float = Field(0.0, description="Hold the request (or the cut stream) this long, then hang up.")
    cut_after: int | None = Field(None, description="Stream only this many SSE events of the real reply.")
    cut: CutKind = Field("drop", description="How a cut stream ends: hang up, the API's error event, or hang.")

    @property
    def answers(self) -> bool:
        """Whether the fault still answers 200 with the turn (invalid, or cut short) rather than an error."""
        return self.invalid is not None or self.cut_after is not None


_INVALID_CALLS = {
    "unknown_tool": ScriptedToolCall(name="run_shell", input={"command": "ls"}),
    "bad_json": ScriptedToolCall(name="bash", raw_arguments='{"command": ls}'),
    "schema": ScriptedToolCall(name="str_replace_based_edit_tool", input={"command": "delete", "path": "README.md"}),
    "loop": ScriptedToolCall(name="bash", input={"command": "ls"}),
}


def invalid_turn(kind: InvalidKind) -> ScriptedTurn:
    """The turn a fault with `invalid=kind` sends (see the module docstring); `empty` has no call."""
    call = _INVALID_CALLS.get(kind)
    return ScriptedTurn(tool_calls=[call.model_copy()] if call else [])


class Script(BaseModel):
    rules: list[ScriptRule] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)
    context_windows: dict[str, int] = Field(
        default_factory=dict, description="Model pattern -> the most prompt tokens it accepts (a 400 above)."
    )

    def window_for(self, model: str) -> int | None:
        return next((size for pattern, size in self.context_windows.items() if fnmatch.fnmatch(model, pattern)), None)

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
