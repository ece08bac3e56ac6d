"""The base of the models answered in this process (scripted, null, oracle): there is no wire, so
every effort level is sent as itself."""

from __future__ import annotations

from agent.core.effort import EffortLevel
from agent.core.model_request import RequestModel


class InProcessModel(RequestModel):
    """A `Model` whose turns are made here rather than by a provider; subclasses write `reply`."""

    name: str

    def effort_for(self, effort: EffortLevel) -> tuple[EffortLevel, str]:
        return effort, effort.value
