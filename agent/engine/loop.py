"""One attempt = one rung: the plan-edit loop that drives a model with tools in a sandbox.

The loop keeps the conversation. It calls the model stack of `agent.engine.calling` (every request
metered and billed; provider failures routed to a fallback, which raises `FellBack`), validates
every reply before its tools run (`agent.engine.validation`), answers an invalid one with the error
(after `fallback_after` invalid replies of one model it asks the fallback model to switch), and
sends the model the view its condensers make of a long conversation (`agent.engine.condensers.view`).

The loop ends when the model ends its turn without a tool call, at the effort level's turn
limit, when the next call does not fit in the budget (outcome `paused`: it keeps its state to go
on there, `agent.engine.pause`), after three invalid replies in a row with no fallback
left, when the user asks to stop, or when the attempt's progress says climbing to the next rung is
worth more than going on (`agent.engine.progress.watch`: outcome `abandoned`). It never judges
success itself: the runner runs the tests afterwards. After a turn that may have changed files,
`agent.engine.work_patch` looks at the diff in the background for the live view.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from agent.core.errors import (
    AttemptEnded,
    BudgetExhausted,
    ContextWindowError,
    ModelFinished,
    ProviderPaused,
    RepeatedFormatError,
    StopRequested,
    TurnLimit,
)
from agent.core.messages import Message, ModelTurn, ToolCall, ToolResult
from agent.core.tool_specs import STANDARD_TOOLS
from agent.engine.budget import Budget, tokens_at_most
from agent.engine.calling.fallback import FallbackModel, FellBack
from agent.engine.calling.metered import request_chars
from agent.engine.calling.meters import AttemptMeter
from agent.engine.calling.router import Route
from agent.engine.condensers.view import CHARS_PER_TOKEN, ContextView, Summary, summary_prompt, tokens
from agent.engine.pause import LoopState
from agent.engine.progress.watch import ProgressWatch
from agent.engine.tools import ToolRunner
from agent.engine.validation import Invalid, ReplyValidator
from agent.engine.work_patch import WorkPatchWatcher

MAX_MALFORMED_IN_A_ROW = 3
SUMMARY_MAX_TOKENS = 4096
TOOLS_CHARS = sum(len(tool.model_dump_json()) for tool in STANDARD_TOOLS)


@dataclass
class AttemptSetup:
    model: FallbackModel
    """The rung's route (metered) within its fallback chain; a fallback replaces it for the rest of the attempt."""
    meter: AttemptMeter
    """Records every call of the attempt; the loop tells it the turn and its judgement of each reply."""
    tools: ToolRunner
    system: str
    task: str
    max_turns: int
    max_tokens: int
    budget: Budget
    emit: Callable[[str, dict], None]
    summary_route: Callable[[Route], Route]
    """Who summarises for a route (metered): the configured summary model, or the route's own model."""
    fallback_after: int = 2
    loop_repeats: int = 3
    context: ContextView | None = None
    """What the model is sent of the conversation (None: everything, as it happened)."""
    summarise_at: float = 0.8
    """Share of the route's context window at which the oldest turns are summarised."""
    stop: threading.Event = field(default_factory=threading.Event)
    work_diff: Callable[[], str] | None = None
    """The sandbox's current diff; when set, its changes are emitted as `work_patch` events."""
    progress: ProgressWatch | None = None
    """Notes what the attempt has done after each turn; may end it (`Abandoned`) to climb to the next rung."""
    resume: LoopState | None = None
    """A paused attempt's state: the loop goes on from there."""


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
    fallbacks: list[dict] = field(default_factory=list)
    """Each fallback taken: {"turn", "from", "to", "reason"}."""
    validation_failures: dict[str, int] = field(default_factory=dict)
    """Invalid replies by reason."""
    context_events: list[dict] = field(default_factory=list)
    """Each time old tool results were masked or the oldest turns summarised."""
    paused: LoopState | None = None
    """Outcome `paused`: where to go on (the sandbox's changes are added by the attempt)."""
    budget_note: tuple[Decimal | None, Decimal | None] = (None, None)
    """Outcome `paused`: what the call that did not fit could cost, and what was left."""


def run_loop(ctx: AttemptSetup) -> LoopResult:
    return _Loop(ctx).run()


class _Loop:
    """The state of one attempt's conversation while it runs."""

    def __init__(self, ctx: AttemptSetup) -> None:
        self.ctx = ctx
        self.model = ctx.model
        self.model.before_switch = self._before_switch
        self.messages = [Message.user(ctx.task)]
        self.result = LoopResult(
            outcome="", turns=0, plan="", messages=self.messages, model_time_s=0.0, command_time_s=0.0
        )
        self.result.fallbacks = self.model.taken
        self.validator = ReplyValidator(STANDARD_TOOLS, ctx.loop_repeats)
        self.prompt_tokens = tokens_at_most(len(ctx.system) + TOOLS_CHARS + len(ctx.task))
        """The budget's bound on the next prompt (the route's metered model reserves with it)."""
        self.valid_length = len(self.messages)
        """The conversation up to the last valid turn: what a fallback model is handed."""
        self.invalid_in_a_row = 0
        self.invalid_of_route = 0
        self.results: list[ToolResult] = []
        """The tool results of the latest turn whose tools ran."""
        self.turn_began: float | None = None
        self.view_tokens = tokens(ctx.system) + tokens(ctx.task) + TOOLS_CHARS // CHARS_PER_TOKEN
        """An estimate of the prompt the model is sent next, for its context window."""
        self.first_turn = 1
        if ctx.resume is not None:
            self._restore(ctx.resume)

    def run(self) -> LoopResult:
        ctx, result = self.ctx, self.result
        watcher = WorkPatchWatcher(ctx.work_diff, ctx.emit) if ctx.work_diff is not None else None
        began = time.perf_counter()
        try:
            for turn in range(self.first_turn, ctx.max_turns + 1):
                if ctx.stop.is_set():
                    raise StopRequested("stopped by the user")
                ctx.meter.turn = turn
                self._fit_window(turn)
                try:
                    reply = self._call()
                except FellBack:
                    continue  # the call failed and the attempt fell back
                result.turns = turn
                ran = self._reply(turn, reply)
                if ran:
                    if watcher is not None:
                        watcher.after_turn(turn, reply.tool_calls)
                    self._mask_old_results(turn)
                if ctx.progress is not None:
                    ctx.progress.after_turn(turn, reply.tool_calls if ran else [], self.results if ran else [])
            raise TurnLimit(f"used all {ctx.max_turns} turns")
        except BudgetExhausted as signal:
            result.outcome, result.detail, result.paused = "paused", str(signal), self._state(ctx.meter.turn)
            result.budget_note = (signal.needed, signal.left)
        except ProviderPaused as signal:  # out of quota, or rate limited past the longest wait
            result.outcome, result.detail, result.paused = "paused", str(signal), self._state(ctx.meter.turn)
        except AttemptEnded as signal:
            result.outcome, result.detail = signal.outcome, str(signal)
        except ContextWindowError as exc:
            result.outcome, result.detail = "context_window", str(exc)
        finally:
            if watcher is not None:
                watcher.close()
            result.model_time_s = ctx.meter.model_time_s
        result.wall_s = time.perf_counter() - began
        return result

    def _state(self, turn: int) -> LoopState:
        """Where the loop stands before `turn` (whose call did not fit)."""
        view, progress = self.ctx.context, self.ctx.progress
        summary = view.summarising.summary if view is not None else None
        return LoopState(
            next_turn=max(turn, 1),
            messages=list(self.messages),
            plan=self.result.plan,
            turns=self.result.turns,
            valid_length=self.valid_length,
            invalid_in_a_row=self.invalid_in_a_row,
            invalid_of_route=self.invalid_of_route,
            prompt_tokens=self.prompt_tokens,
            view_tokens=self.view_tokens,
            route=self.model.route.label,
            masked_before=view.masking.boundary if view is not None else 1,
            summary=(summary.text, summary.upto) if summary is not None else None,
            repeated_call=self.validator.previous,
            repeats=self.validator.repeats,
            model_time_s=self.ctx.meter.model_time_s,
            command_time_s=self.result.command_time_s,
            fallbacks=list(self.result.fallbacks),
            validation_failures=dict(self.result.validation_failures),
            context_events=list(self.result.context_events),
            progress=progress.progress if progress is not None else None,
            progress_diff=progress.last_diff if progress is not None else "",
        )

    def _restore(self, state: LoopState) -> None:
        """Take up a paused loop's state (its route is restored by the attempt's model stack)."""
        result, view, progress = self.result, self.ctx.context, self.ctx.progress
        self.first_turn = state.next_turn
        self.messages[:] = state.messages
        result.plan, result.turns, result.command_time_s = state.plan, state.turns, state.command_time_s
        result.validation_failures.update(state.validation_failures)
        result.context_events.extend(state.context_events)
        self.model.taken[:0] = state.fallbacks
        self.valid_length, self.invalid_in_a_row = state.valid_length, state.invalid_in_a_row
        self.invalid_of_route = state.invalid_of_route
        self.prompt_tokens, self.view_tokens = state.prompt_tokens, state.view_tokens
        self.validator.previous, self.validator.repeats = state.repeated_call, state.repeats
        self.ctx.meter.model_time_s = state.model_time_s
        if view is not None:
            view.masking.boundary = state.masked_before
            if state.summary is not None:
                view.summarising.summary = Summary(text=state.summary[0], upto=state.summary[1])
        if progress is not None and state.progress is not None:
            progress.progress, progress.last_diff = state.progress, state.progress_diff

    def _call(self) -> ModelTurn:
        """One request to the current route (FellBack: it failed and the attempt switched)."""
        ctx = self.ctx
        if self.turn_began is None:
            self.turn_began = time.perf_counter()
        ctx.meter.prompt_tokens = self.prompt_tokens
        return self.model.complete(
            self.condensed(self.messages),
            system=ctx.system,
            tools=STANDARD_TOOLS,
            effort=self.model.route.level,
            max_tokens=ctx.max_tokens,
            on_text=lambda text: ctx.emit("text_delta", {"text": text}),
        )

    def _reply(self, turn: int, reply: ModelTurn) -> bool:
        """Judge a reply, then run its tools (True) or answer its errors (False); ModelFinished ends the turn."""
        ctx, result = self.ctx, self.result
        problems = self.validator.check(reply, turns_left=turn < ctx.max_turns)
        turn_s = None
        if not problems and self.turn_began is not None:
            turn_s, self.turn_began = time.perf_counter() - self.turn_began, None
        ctx.meter.judged(problems[0].reason if problems else None, turn_s)
        if turn == 1:
            result.plan = reply.text.strip() or "(the model gave no plan)"
            ctx.emit("plan", {"text": result.plan})
        ctx.emit("assistant", {"turn": turn, "text": reply.text, "tool_calls": len(reply.tool_calls)})
        if problems:
            self._invalid(turn, reply, problems)
            return False
        self.messages.append(reply.as_message())
        if not reply.tool_calls:
            if ctx.progress is not None:
                ctx.progress.after_turn(turn, [], [], finished=True)
            raise ModelFinished("the model ended its turn")
        results = self.results = [self._run_tool(turn, call) for call in reply.tool_calls]
        self.messages.append(Message(role="user", content=results))
        self.valid_length = len(self.messages)
        self.invalid_in_a_row = 0
        self._grow(reply, sum(len(item.output) + 100 for item in results))
        return True

    def _invalid(self, turn: int, reply: ModelTurn, problems: list[Invalid]) -> None:
        """Answer an invalid reply with its errors (its tools do not run), or fall back."""
        ctx, route, reason = self.ctx, self.model.route, problems[0].reason
        failures = self.result.validation_failures
        failures[reason] = failures.get(reason, 0) + 1
        self.invalid_of_route += 1
        detail = problems[0].message
        ctx.emit(
            "validation_failed",
            {
                "turn": turn,
                "model": route.model.name,
                "effort": route.level.value,
                "reason": reason,
                "detail": detail,
                "text": f"{route.label}: invalid reply ({reason}): {detail}",
            },
        )
        if self.invalid_of_route >= ctx.fallback_after and self.model.after_invalid(
            self.invalid_of_route, reason, detail
        ):
            return
        if reply.tool_calls:
            self.messages.append(reply.as_message())
            errors = {problem.call_id: problem.message for problem in problems}
            results = [self._refuse(turn, call, errors.get(call.id)) for call in reply.tool_calls]
            self.messages.append(Message(role="user", content=results))
            self._grow(reply, sum(len(item.output) + 100 for item in results))
        else:  # an empty reply is not kept: an empty assistant message is not valid on every wire
            self.messages.append(Message.user(f"Error: {detail}"))
            self.prompt_tokens += tokens_at_most(len(detail) + 100)
        self.invalid_in_a_row += 1
        if self.invalid_in_a_row >= MAX_MALFORMED_IN_A_ROW:
            raise RepeatedFormatError(f"{self.invalid_in_a_row} invalid replies in a row")

    def _before_switch(self, target: Route) -> None:
        """Before a fallback takes over: the conversation up to the last valid turn, and the target's price must fit."""
        del self.messages[self.valid_length :]
        self._estimate_prompt()
        self.ctx.budget.allow(self.prompt_tokens, self.ctx.max_tokens, target.price)
        self.invalid_of_route = self.invalid_in_a_row = 0
        self.validator = ReplyValidator(STANDARD_TOOLS, self.ctx.loop_repeats)

    def _run_tool(self, turn: int, call: ToolCall) -> ToolResult:
        ctx = self.ctx
        ctx.emit("tool_call", {"turn": turn, "id": call.id, "name": call.name, "input": call.input})
        outcome = ctx.tools.run(call)
        self.result.command_time_s += outcome.seconds
        self._tool_result(turn, outcome.result, outcome.seconds)
        return outcome.result

    def _refuse(self, turn: int, call: ToolCall, error: str | None) -> ToolResult:
        """An invalid reply's call, answered with its error (or, for a valid one beside it, not run)."""
        self.ctx.emit("tool_call", {"turn": turn, "id": call.id, "name": call.name, "input": call.input})
        text = error or "not run: another call in this reply was invalid; send it again if you still need it"
        result = ToolResult(tool_call_id=call.id, output=f"Error: {text}", is_error=True)
        self._tool_result(turn, result, 0.0)
        return result

    def _tool_result(self, turn: int, result: ToolResult, seconds: float) -> None:
        self.ctx.emit(
            "tool_result",
            {
                "turn": turn,
                "id": result.tool_call_id,
                "is_error": result.is_error,
                "output": result.output[-2000:],
                "seconds": round(seconds, 4),
            },
        )

    def _grow(self, reply: ModelTurn, new_chars: int) -> None:
        self.prompt_tokens = reply.usage.input_tokens + reply.usage.output_tokens + tokens_at_most(new_chars)
        self.view_tokens = reply.usage.input_tokens + reply.usage.output_tokens + new_chars // CHARS_PER_TOKEN

    # Long attempts -------------------------------------------------------------------------

    def _estimate_prompt(self) -> None:
        """Both prompt estimates from the view itself (after the history was cut or summarised)."""
        chars = request_chars(self.condensed(self.messages), self.ctx.system, TOOLS_CHARS)
        self.prompt_tokens, self.view_tokens = tokens_at_most(chars), chars // CHARS_PER_TOKEN

    def condensed(self, messages: list[Message]) -> list[Message]:
        return self.ctx.context.view(messages) if self.ctx.context is not None else messages

    def _mask_old_results(self, turn: int) -> None:
        """Move the masking boundary when the full tool results outgrow the effort's window."""
        context = self.ctx.context
        masking = context.update(self.messages) if context is not None else None
        if masking is None:
            return
        self.view_tokens -= masking.saved_tokens
        text = (
            f"context: masked {masking.results} older tool results (about {masking.saved_tokens:,} tokens); "
            f"the latest {masking.kept_tokens:,} tokens of results stay in full"
        )
        data = {"turn": turn, "results": masking.results, "saved_tokens": masking.saved_tokens, "text": text}
        self.result.context_events.append({"kind": "masked", **data})
        self.ctx.emit("context_masked", data)

    def _fit_window(self, turn: int) -> None:
        """Summarise the oldest turns when the next prompt nears the route's context window."""
        ctx, context, route = self.ctx, self.ctx.context, self.model.route
        window = route.window
        if context is None or window is None or self.view_tokens < ctx.summarise_at * window:
            return
        cut = context.summary_cut(self.messages)
        if cut is None:
            return
        writer = ctx.summary_route(route)
        reply = writer.model.complete(
            summary_prompt(context.view(self.messages[:cut])),
            system=ctx.system,
            tools=STANDARD_TOOLS,
            effort=writer.level,
            max_tokens=min(ctx.max_tokens, SUMMARY_MAX_TOKENS),
        )
        before = self.view_tokens
        context.summarised(Summary(text=reply.text.strip() or "(no summary)", upto=cut))
        self._estimate_prompt()
        assistants = sum(1 for message in self.messages[1:cut] if message.role == "assistant")
        text = (
            f"context: the prompt neared {route.model.name}'s window ({before:,} of {window:,} tokens); "
            f"{writer.label} summarised the oldest {assistants} turns (now about {self.view_tokens:,} tokens)"
        )
        data = {"turn": turn, "turns": assistants, "before_tokens": before, "after_tokens": self.view_tokens}
        self.result.context_events.append({"kind": "summarised", **data, "summary": reply.text})
        ctx.emit("context_summarised", {**data, "text": text})
