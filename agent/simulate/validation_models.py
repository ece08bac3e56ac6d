"""`oracle` and `null`: models that check the harness before any money is spent.

`oracle` applies the task's gold patch with the bash tool and ends its turn, so a suite run with
it must resolve every task; `null` ends its turn at once, so it must resolve none.
"""

from __future__ import annotations

import secrets
import time

from agent.core.errors import TaskError
from agent.core.messages import ModelTurn, ToolCall, Usage
from agent.core.model_request import ModelRequest
from agent.core.protocols import TextSink
from agent.simulate.in_process import InProcessModel


class NullModel(InProcessModel):
    """Ends its turn at once without changing anything."""

    provider = "validation"
    per_task = True

    def __init__(self, name: str = "null") -> None:
        self.name = name

    @classmethod
    def build(cls, name: str, config: object = None, task: object = None) -> NullModel:
        """The model for one task; a task without a gold patch is refused (it is not a benchmark task)."""
        if task is not None and not str(getattr(task, "patch", "")).strip():
            raise TaskError(
                f"task {getattr(task, 'instance_id', '?')} has no gold patch: the {name} model only checks the "
                "harness on benchmark tasks (agent bench); pick a real model"
            )
        return cls(name)

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        return self._turn("Nothing to do.", [])

    def _turn(self, text: str, calls: list[ToolCall]) -> ModelTurn:
        return ModelTurn(
            text=text,
            tool_calls=calls,
            usage=Usage(),
            stop_reason="tool_use" if calls else "end_turn",
            model=self.name,
            duration_s=0.0,
        )


class OracleModel(NullModel):
    """Applies `gold_patch` with one bash call, then ends its turn."""

    def __init__(self, gold_patch: str, name: str = "oracle") -> None:
        super().__init__(name)
        self.gold_patch = gold_patch

    @classmethod
    def build(cls, name: str, config: object = None, task: object = None) -> OracleModel:
        NullModel.build(name, config, task)  # the same refusal
        return cls(str(getattr(task, "patch", "")), name)

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        started = time.perf_counter()
        if any(message.role == "assistant" for message in request.messages):
            return self._turn("Applied the gold patch.", [])
        marker = f"AGENT_GOLD_{secrets.token_hex(6)}"
        command = f"git apply --whitespace=nowarn - <<'{marker}'\n{self.gold_patch}\n{marker}"
        turn = self._turn(
            "Plan: apply the task's gold patch with git apply, then stop.",
            [ToolCall(id=f"oracle_{secrets.token_hex(4)}", name="bash", input={"command": command})],
        )
        turn.duration_s = time.perf_counter() - started
        return turn
