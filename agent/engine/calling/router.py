"""The fallback router: which rung an attempt switches to when its model keeps failing.

Each rung has a chain of fallbacks, from `[models."X"] fallback` and then `[planner] fallback`
(or `--fallback`), each `MODEL[@EFFORT]` (no effort: the rung's). A higher effort of the same
model comes before a model switch, as it keeps the prompt cache. The router walks the chain once
per attempt and picks the first target that fits the failure:

- invalid replies: the next target;
- a provider failure beyond the SDK's retries (rate limit, overload, 5xx, timeout, unreachable,
  malformed answer): the next target on another model (the same model's endpoint is the one failing);
- the prompt exceeding the context window: the next target with a larger known window.

Auth failures and other refusals are not routed: another model would not fix a wrong key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.core.config import AgentConfig
from agent.core.effort import EffortLevel, Rung
from agent.core.errors import ConfigError, ContextWindowError, ProviderError, ProviderPaused
from agent.core.protocols import Model
from agent.providers.errors import MalformedResponse, ProviderAuthError, ProviderUnreachable
from agent.providers.pricing import PriceQuote


@dataclass(frozen=True)
class Route:
    """A model at an effort level, as an attempt calls it: the rung it climbs, or a fallback."""

    model: Model
    level: EffortLevel
    wire: str
    price: PriceQuote | None
    window: int | None = None

    @property
    def label(self) -> str:
        return f"{self.model.name}@{self.level.value}"


def parse_target(spec: str, effort: EffortLevel) -> Rung:
    """`MODEL@EFFORT`, or `MODEL` at `effort`."""
    return Rung.parse(spec if "@" in spec else f"{spec.strip()}@{effort.value}")


def fallback_chain(config: AgentConfig, rung: Rung) -> list[Rung]:
    """The rungs `rung` falls back to, in the order tried: the same model at a higher effort first."""
    model = config.models.get(rung.model)
    specs = [spec for spec in (model.fallback if model else None, config.planner.fallback) if spec]
    targets = [parse_target(spec, rung.effort) for spec in specs]
    same_model = [target for target in targets if target.model == rung.model and target.effort > rung.effort]
    others = [target for target in targets if target.model != rung.model]
    return list(dict.fromkeys(same_model + others))


def failure_reason(exc: ProviderError) -> str | None:
    """The reason a provider failure is routed (None: it is not, e.g. a rejected key)."""
    if isinstance(exc, ContextWindowError):
        return "context_window"
    if isinstance(exc, ProviderAuthError | ProviderPaused):
        return None  # a paused provider (`agent.engine.calling.quota`) ends the issue paused, not on another rung
    if isinstance(exc, ProviderUnreachable):
        return "unreachable"
    if isinstance(exc, MalformedResponse):
        return "malformed"
    if exc.status is None:
        return "timeout"
    if exc.status == 429:
        return "rate_limit"
    if exc.status == 529:
        return "overloaded"
    if exc.status >= 500:
        return "server_error"
    return None


class Router:
    """Walks one attempt's fallback chain; `make_route` builds a target's model (ConfigError: cannot run here)."""

    def __init__(self, chain: list[Rung], make_route: Callable[[Rung], Route], warn: Callable[[str], None]) -> None:
        self._left = list(chain)
        self._make_route = make_route
        self._warn = warn
        self._unusable: set[Rung] = set()

    def after_invalid(self, current: Route) -> Route | None:
        return self._take(lambda rung, route: True)

    def after_failure(self, current: Route, reason: str) -> Route | None:
        if reason == "context_window":
            return self._take(lambda rung, route: _larger(route.window, current.window))
        return self._take(lambda rung, route: rung.model != current.model.name)

    def take(self, label: str) -> Route | None:
        """The target named `label` (model@effort), as a paused attempt had switched to it."""
        return self._take(lambda rung, route: route.label == label)

    def _take(self, fits: Callable[[Rung, Route], bool]) -> Route | None:
        """The first target left that can run here and fits; it and the targets before it are used up."""
        for index, rung in enumerate(self._left):
            try:
                route = self._make_route(rung)
            except ConfigError as exc:
                if rung not in self._unusable:
                    self._unusable.add(rung)
                    self._warn(f"fallback {rung} cannot run here: {exc}")
                continue
            if fits(rung, route):
                del self._left[: index + 1]
                return route
        return None


def _larger(window: int | None, than: int | None) -> bool:
    return window is not None and (than is None or window > than)
