"""One call's question to a model as data, and the base of the models that take it in one piece.

`Model.complete` keeps the keyword signature every caller uses; a `RequestModel` turns those
arguments into a `ModelRequest` once, and its subclasses answer it in `reply` (the SDK adapters,
the in-process models).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from agent.core.effort import EffortLevel
from agent.core.messages import Message, ModelTurn, ToolSpec
from agent.core.protocols import Model, TextSink


@dataclass(frozen=True)
class ModelRequest:
    """What one call asks of a model."""

    messages: Sequence[Message]
    system: str
    tools: Sequence[ToolSpec]
    effort: EffortLevel
    max_tokens: int


class RequestModel(ABC):
    """A `Model` whose `complete` hands its arguments on to `reply` as one `ModelRequest`."""

    def complete(
        self,
        messages: Sequence[Message],
        *,
        system: str,
        tools: Sequence[ToolSpec],
        effort: EffortLevel,
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelTurn:
        request = ModelRequest(messages=messages, system=system, tools=tools, effort=effort, max_tokens=max_tokens)
        return self.reply(request, on_text)

    @abstractmethod
    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        """The turn for `request`, its text also given to `on_text` as it comes where the model streams."""


class WrapperModel(RequestModel):
    """A model around `self.model`: its name, provider and efforts are the wrapped model's."""

    model: Model

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def provider(self) -> str:
        return self.model.provider

    def effort_for(self, effort: EffortLevel) -> tuple[EffortLevel, str]:
        return self.model.effort_for(effort)

    def forward(self, request: ModelRequest, on_text: TextSink | None, max_tokens: int | None = None) -> ModelTurn:
        """`request` sent to the wrapped model (with `max_tokens` in place of the request's, when given)."""
        return self.model.complete(
            request.messages,
            system=request.system,
            tools=request.tools,
            effort=request.effort,
            max_tokens=request.max_tokens if max_tokens is None else max_tokens,
            on_text=on_text,
        )
