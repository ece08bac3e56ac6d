"""What the model is sent of a long attempt: the condensers of `agent.engine.condensers` in one pipeline.

The attempt keeps every message as it happened (the trajectory file holds them all). The model is
sent a view of them: old tool results masked in blocks (`condensers.masking`), and, when even the
masked view nears the model's context window, the oldest turns replaced by the model's summary
(`condensers.summarising`).
"""

from __future__ import annotations

from agent.core.messages import Message
from agent.engine.condensers.masking import CHARS_PER_TOKEN, Masking, ObservationMasking, placeholder, tokens
from agent.engine.condensers.pipeline import Pipeline
from agent.engine.condensers.summarising import SUMMARY_REQUEST, Summarising, Summary, summary_prompt

__all__ = [
    "CHARS_PER_TOKEN",
    "SUMMARY_REQUEST",
    "ContextView",
    "Masking",
    "Summary",
    "placeholder",
    "summary_prompt",
    "tokens",
]


class ContextView:
    """One attempt's condensers: masking, then the summary; their state only moves forward."""

    def __init__(self, keep_tokens: int, mask_to: float = 0.25) -> None:
        self.masking = ObservationMasking(keep_tokens, mask_to)
        self.summarising = Summarising()
        self.pipeline = Pipeline(self.masking, self.summarising)

    def update(self, messages: list[Message]) -> Masking | None:
        """Move the masking boundary when the full results outgrow the window; None when it stays."""
        return self.masking.update(messages)

    def summarised(self, summary: Summary) -> None:
        self.summarising.summary = summary
        self.masking.skip_to(summary.upto)

    def summary_cut(self, messages: list[Message]) -> int | None:
        return self.summarising.cut(messages)

    def view(self, messages: list[Message]) -> list[Message]:
        """The messages to send: the summary (if any) in the first one, old tool results masked."""
        return self.pipeline.condense(messages)
