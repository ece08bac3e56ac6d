"""One attempt = one rung: the plan-edit loop that drives a model with tools in a sandbox.

The loop ends when the model ends its turn without a tool call, at the effort level's turn
limit, when the budget would be exceeded, after three malformed tool calls in a row, or when
the user asks to stop. It never judges success itself: the runner runs the tests afterwards.
After a turn that may have changed files, `agent.engine.work_patch` looks at the diff in the background
for the live view.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.core.effort import EffortLevel
from agent.core.errors import (
    AttemptEnded,
    ContextWindowError,
    ModelFinished,
    ProviderError,
    RepeatedFormatError,
    StopRequested,
    TurnLimit,
)
from agent.core.messages import Message
from agent.core.protocols import Model
from agent.core.tool_specs import STANDARD_TOOLS
from agent.engine.budget import Budget, tokens_at_most, worst_case_usd
from agent.engine.calls import AttemptCalls
from agent.engine.tools import ToolRunner
from agent.engine.work_patch import WorkPatchWatcher
from agent.providers.pricing import PriceQuote

MAX_MALFORMED_IN_A_ROW = 3
TOOLS_CHARS = sum(len(tool.model_dump_json()) for tool in STANDARD_TOOLS)


@dataclass
class AttemptContext:
    model: Model
    tools: ToolRunner
    system: str
    task: str
    effort: EffortLevel
    max_turns: int
    max_tokens: int
    budget: Budget
    price: PriceQuote | None
    emit: Callable[[str, dict], None]
    calls: AttemptCalls
    """Records each call before it is sent (its worst case reserved) and settles it when it ends."""
    stop: threading.Event = field(default_factory=threading.Event)
    work_diff: Callable[[], str] | None = None
    """The sandbox's current diff; when set, its changes are emitted as `work_patch` events."""


@dataclass
class LoopResult:
    outcome: str
    turns: int
    plan: str
    messages: list[Message]
    model_time_s: float
    command_time_s: float
    wall_s: float = 0.0
    detail: str = ""


def run_loop(ctx: AttemptContext) -> LoopResult:
    messages = [Message.user(ctx.task)]
    result = LoopResult(outcome="", turns=0, plan="", messages=messages, model_time_s=0.0, command_time_s=0.0)
    prompt_tokens = tokens_at_most(len(ctx.system) + TOOLS_CHARS + len(ctx.task))
    malformed = 0
    watcher = WorkPatchWatcher(ctx.work_diff, ctx.emit) if ctx.work_diff is not None else None
    began = time.perf_counter()
    try:
        for turn in range(1, ctx.max_turns + 1):
            if ctx.stop.is_set():
                raise StopRequested("stopped by the user")
            max_tokens = ctx.budget.allow(prompt_tokens, ctx.max_tokens, ctx.price)
            sent = ctx.calls.sent(turn, max_tokens, worst_case_usd(prompt_tokens, max_tokens, ctx.price))
            ctx.emit("turn_started", {"turn": turn, "max_turns": ctx.max_turns, "max_tokens": max_tokens})
            started = time.perf_counter()
            try:
                reply = ctx.model.complete(
                    messages,
                    system=ctx.system,
                    tools=STANDARD_TOOLS,
                    effort=ctx.effort,
                    max_tokens=max_tokens,
                    on_text=lambda text: ctx.emit("text_delta", {"text": text}),
                )
            except ProviderError as exc:  # anything else leaves the call pending: counted at its worst case
                result.model_time_s += time.perf_counter() - started
                ctx.calls.failed(sent, exc, time.perf_counter() - started)
                raise
            result.model_time_s += time.perf_counter() - started
            result.turns = turn
            ctx.calls.answered(sent, reply)
            messages.append(reply.as_message())
            if turn == 1:
                result.plan = reply.text.strip() or "(the model gave no plan)"
                ctx.emit("plan", {"text": result.plan})
            ctx.emit("assistant", {"turn": turn, "text": reply.text, "tool_calls": len(reply.tool_calls)})
            if not reply.tool_calls:
                raise ModelFinished("the model ended its turn")
            results = []
            for call in reply.tool_calls:
                ctx.emit("tool_call", {"turn": turn, "id": call.id, "name": call.name, "input": call.input})
                outcome = ctx.tools.run(call)
                result.command_time_s += outcome.seconds
                malformed = malformed + 1 if outcome.malformed else 0
                ctx.emit(
                    "tool_result",
                    {
                        "turn": turn,
                        "id": call.id,
                        "is_error": outcome.result.is_error,
                        "output": outcome.result.output[-2000:],
                        "seconds": round(outcome.seconds, 4),
                    },
                )
                results.append(outcome.result)
            messages.append(Message(role="user", content=results))
            if watcher is not None:
                watcher.after_turn(turn, reply.tool_calls)
            new_chars = sum(len(item.output) + 100 for item in results)
            prompt_tokens = reply.usage.input_tokens + reply.usage.output_tokens + tokens_at_most(new_chars)
            if malformed >= MAX_MALFORMED_IN_A_ROW:
                raise RepeatedFormatError(f"{malformed} malformed tool calls in a row")
        raise TurnLimit(f"used all {ctx.max_turns} turns")
    except AttemptEnded as signal:
        result.outcome, result.detail = signal.outcome, str(signal)
    except ContextWindowError as exc:
        result.outcome, result.detail = "context_window", str(exc)
    finally:
        if watcher is not None:
            watcher.close()
    result.wall_s = time.perf_counter() - began
    return result
