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
from agent.core.protocols import TextSink


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
