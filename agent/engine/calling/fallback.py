"""A fallback model: calls the route an attempt is on and, when it keeps failing, switches to the next
target of the rung's chain (`agent.engine.calling.router`) for the rest of the attempt.

A provider failure beyond the SDK's retries that the router can route switches at once and raises
`FellBack`: the failed turn is over and the conversation goes on from its last valid turn. Invalid
replies switch when the loop says they were too many (`after_invalid`). Every switch is a ledger
row and an event, recorded once, here.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.core.effort import EffortLevel
from agent.core.errors import ProviderError
from agent.core.messages import ModelTurn
from agent.core.model_request import ModelRequest, RequestModel
from agent.core.protocols import TextSink
from agent.engine.calling.meters import AttemptMeter
from agent.engine.calling.router import Route, Router, failure_reason
from agent.ledger import Fallback


class FellBack(Exception):
    """The call failed and the attempt switched to a fallback; the turn is over."""


class FallbackModel(RequestModel):
    """The current route of an attempt; `before_switch(target)` lets the conversation make room first
    (it may raise BudgetExhausted when the target's price does not fit)."""

    def __init__(
        self,
        route: Route,
        router: Router | None,
        meter: AttemptMeter,
        before_switch: Callable[[Route], None] = lambda target: None,
    ) -> None:
        self.route = route
        self.router = router
        self.meter = meter
        self.before_switch = before_switch
        self.taken: list[dict] = []
        """Each switch made: {"turn", "from", "to", "reason"}."""

    @property
    def name(self) -> str:
        return self.route.model.name

    @property
    def provider(self) -> str:
        return self.route.model.provider

    def effort_for(self, effort: EffortLevel) -> tuple[EffortLevel, str]:
        return self.route.level, self.route.wire

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        """One request to the current route, at its level (the request's is the route's by construction)."""
        route = self.route
        try:
            return route.model.complete(
                request.messages,
                system=request.system,
                tools=request.tools,
                effort=route.level,
                max_tokens=request.max_tokens,
                on_text=on_text,
            )
        except ProviderError as exc:
            reason = failure_reason(exc)
            target = self.router.after_failure(route, reason) if self.router and reason else None
            if target is None or reason is None:
                raise
            self._switch(target, reason, f"{route.model.name}: {_provider_text(exc, reason)}", str(exc))
            raise FellBack(str(exc)) from exc

    def take_up(self, label: str) -> None:
        """A paused attempt goes on at the route it was on (`label`), taking the chain's targets up to it."""
        if label and label != self.route.label and self.router is not None:
            target = self.router.take(label)
            if target is not None:
                self.route = target

    def after_invalid(self, count: int, reason: str, detail: str) -> bool:
        """Switch after `count` invalid replies of the current route; False when no target is left."""
        target = self.router.after_invalid(self.route) if self.router is not None else None
        if target is None:
            return False
        self._switch(target, reason, f"{self.route.model.name}: {count} invalid replies ({reason})", detail)
        return True

    def _switch(self, target: Route, reason: str, why: str, detail: str) -> None:
        self.before_switch(target)
        route, turn = self.route, self.meter.turn
        fallback = Fallback(
            turn=turn,
            from_model=route.model.name,
            from_effort=route.level.value,
            to_model=target.model.name,
            to_effort=target.level.value,
            reason=reason,
            detail=detail[:500],
        )
        self.meter.fell_back(fallback, f"{why} → {target.label} for the rest of this attempt")
        self.taken.append({"turn": turn, "from": route.label, "to": target.label, "reason": reason})
        self.route = target


def _provider_text(exc: ProviderError, reason: str) -> str:
    status = f" ({exc.status})" if exc.status is not None else ""
    return f"{reason.replace('_', ' ')}{status} after {exc.retries} retries"
