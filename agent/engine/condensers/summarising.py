"""The oldest turns replaced by the model's own summary: the view starts with the issue, the model's plan
(so it survives the summary) and the summary, then goes on from the first turn not summarised."""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.messages import Message, TextBlock

SUMMARY_REQUEST = (
    "Your context is nearly full. Summarise the work so far for yourself, so you can continue from the "
    "summary alone: what the issue needs, the files and functions you looked at and what you found, "
    "every change you made (file and what changed), the commands and test results that matter, and what "
    "is left to do. Plain text, at most 400 words, no tool calls."
)


@dataclass(frozen=True)
class Summary:
    """The model's summary of messages[1:upto] (the issue stays as it is)."""

    text: str
    upto: int


class Summarising:
    """Holds the latest summary and applies it to the view."""

    def __init__(self) -> None:
        self.summary: Summary | None = None

    def cut(self, messages: list[Message]) -> int | None:
        """Where a summary of the oldest half of the turns would end: an assistant message, so the view
        goes on from a whole turn (None: too few turns to summarise)."""
        start = self.summary.upto if self.summary is not None else 1
        assistants = [index for index in range(start + 1, len(messages)) if messages[index].role == "assistant"]
        if len(assistants) < 2:
            return None
        return assistants[len(assistants) // 2]

    def condense(self, messages: list[Message]) -> list[Message]:
        summary = self.summary
        if summary is None or summary.upto >= len(messages):
            return messages
        plan = _plan(messages[1 : summary.upto])
        kept = f"\n\n[Your plan, from your first turn]\n{plan}" if plan else ""
        note = f"{kept}\n\n[Summary of your work so far, in your own words]\n{summary.text}"
        head = Message(role="user", content=[*messages[0].content, TextBlock(text=note)])
        return [head, *messages[summary.upto :]]


def _plan(messages: list[Message]) -> str:
    """The text of the first assistant turn (the plan), when it is among `messages`."""
    first = next((message for message in messages if message.role == "assistant"), None)
    return first.text.strip() if first is not None else ""


def summary_prompt(view: list[Message]) -> list[Message]:
    """The request for a summary of `view` (which ends with an assistant turn's tool results or text)."""
    return [*view, Message.user(SUMMARY_REQUEST)]
