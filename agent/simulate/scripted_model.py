"""`scripted:FILE`: a model that replays a script in-process, for tests and demos without keys.

It uses the same script format as the fake provider server (see agent/script.py) but makes no
HTTP request; use the fake provider when the real SDK path should be exercised.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from agent.core.config import AgentConfig
from agent.core.messages import ModelTurn, ThinkingBlock, ToolCall, Usage
from agent.core.model_request import ModelRequest
from agent.core.protocols import TextSink
from agent.simulate.in_process import InProcessModel
from agent.simulate.script import Script, load_script
from agent.simulate.tokens import estimate_tokens


class ScriptedModel(InProcessModel):
    """Replays `script`; the turn number is the count of assistant messages so far."""

    provider = "scripted"

    def __init__(self, script: Script, name: str = "scripted") -> None:
        self.script = script
        self.name = name

    @classmethod
    def from_spec(cls, spec: str, config: AgentConfig | None = None) -> ScriptedModel:
        path = Path(spec.removeprefix("scripted:"))
        return cls(load_script(path), name=spec)

    per_task = False
    """One scripted model serves a whole run: its script's position carries over between attempts."""

    @classmethod
    def build(cls, name: str, config: AgentConfig, task: object = None) -> ScriptedModel:
        return cls.from_spec(name, config)

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        started = time.perf_counter()
        index = sum(1 for message in request.messages if message.role == "assistant")
        turn = self.script.turn_for("scripted", request.effort.value, index)
        if turn.delay_s:
            time.sleep(turn.delay_s)
        if on_text and turn.text:
            on_text(turn.text)
        calls = []
        for call in turn.tool_calls:
            error = None
            arguments = call.input
            if call.raw_arguments is not None:
                try:
                    arguments = json.loads(call.raw_arguments)
                except ValueError as exc:
                    error, arguments = f"tool input is not valid JSON: {exc}", {}
            calls.append(
                ToolCall(
                    id=f"call_{uuid.uuid4().hex[:12]}",
                    name=call.name,
                    input=arguments,
                    raw_arguments=call.raw_arguments,
                    error=error,
                )
            )
        prompt = request.system + "".join(message.model_dump_json() for message in request.messages)
        output = turn.output_tokens or estimate_tokens(turn.text + json.dumps([c.input for c in calls]))
        return ModelTurn(
            text=turn.text,
            tool_calls=calls,
            thinking=[ThinkingBlock(thinking=turn.thinking)] if turn.thinking else [],
            usage=Usage(
                input_tokens=estimate_tokens(prompt),
                output_tokens=min(output, request.max_tokens),
                reasoning_tokens=turn.reasoning_tokens,
            ),
            stop_reason="tool_use" if calls else "end_turn",
            duration_s=time.perf_counter() - started,
            model=self.name,
            effort_sent=request.effort.value,
        )
