"""Named job handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[..., Any]


class Registry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def task(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: register the function under `name` and return it unchanged."""

        def register(func: Handler) -> Handler:
            if name in self._handlers:
                raise ValueError(f"a task named {name!r} is already registered")
            self._handlers[name] = func
            return func

        return register

    def get(self, name: str) -> Handler:
        try:
            return self._handlers[name]
        except KeyError:
            raise KeyError(f"no task named {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._handlers)
