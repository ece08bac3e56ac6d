"""Condensers composed: each condenses what the one before it returned."""

from __future__ import annotations

from typing import Protocol

from agent.core.messages import Message


class Condenser(Protocol):
    def condense(self, messages: list[Message]) -> list[Message]: ...


class Pipeline:
    def __init__(self, *condensers: Condenser) -> None:
        self.condensers = condensers

    def condense(self, messages: list[Message]) -> list[Message]:
        for condenser in self.condensers:
            messages = condenser.condense(messages)
        return messages
