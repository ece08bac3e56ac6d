"""Deterministic token estimates and prompt-cache accounting, computed the way the real services do.

A token is estimated as four characters of the canonical JSON of a piece of the prompt. The
estimate is crude but exact and repeatable, so tests can assert precise numbers.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from agent.simulate.tokens import canonical, estimate_tokens

OPENAI_CACHE_MIN_TOKENS = 1024
OPENAI_CACHE_BLOCK_TOKENS = 128
_OPENAI_HISTORY = 64


def _without_cache_control(piece: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in piece.items() if key != "cache_control"}


def anthropic_pieces(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The prompt of a Messages request as cacheable pieces, in tools -> system -> messages order."""
    pieces: list[dict[str, Any]] = list(body.get("tools") or [])
    system = body.get("system")
    if isinstance(system, str) and system:
        pieces.append({"type": "text", "text": system})
    elif isinstance(system, list):
        pieces.extend(system)
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        pieces.extend({**block, "role": message.get("role")} for block in blocks)
    return pieces


def anthropic_prompt_tokens(body: dict[str, Any]) -> int:
    """All the prompt tokens of a Messages request, as `AnthropicCache.account` counts them."""
    return sum(estimate_tokens(_without_cache_control(piece)) for piece in anthropic_pieces(body))


def openai_prompt_tokens(body: dict[str, Any]) -> int:
    """All the prompt tokens of a Chat Completions request, as `PrefixCache.account` counts them."""
    return estimate_tokens(_openai_text(body))


def _openai_text(body: dict[str, Any]) -> str:
    return "".join(canonical(piece) for piece in [*(body.get("tools") or []), *(body.get("messages") or [])])


def count_breakpoints(body: dict[str, Any]) -> int:
    return sum(1 for piece in anthropic_pieces(body) if piece.get("cache_control"))


class AnthropicCache:
    """Prompt caching with explicit breakpoints (blocks carrying `cache_control`).

    Reads are the longest prefix ending at one of this request's breakpoints that an earlier
    request wrote; writes are the prefix up to the last breakpoint minus what was read, when that
    prefix reaches the minimum cacheable length. Entries are per model.
    """

    def __init__(self, min_tokens: int) -> None:
        self.min_tokens = min_tokens
        self._written: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def account(self, model: str, body: dict[str, Any]) -> dict[str, int]:
        pieces = anthropic_pieces(body)
        digest = hashlib.sha256()
        prefix_tokens: list[int] = []
        prefix_hashes: list[str] = []
        breakpoints: list[int] = []
        total = 0
        for index, piece in enumerate(pieces):
            stripped = _without_cache_control(piece)
            digest.update(canonical(stripped).encode())
            total += estimate_tokens(stripped)
            prefix_tokens.append(total)
            prefix_hashes.append(digest.copy().hexdigest())
            if piece.get("cache_control"):
                breakpoints.append(index)
        read = write = 0
        with self._lock:
            for index in reversed(breakpoints):
                if (model, prefix_hashes[index]) in self._written:
                    read = prefix_tokens[index]
                    break
            if breakpoints and prefix_tokens[breakpoints[-1]] >= self.min_tokens:
                write = prefix_tokens[breakpoints[-1]] - read
                for index in breakpoints:
                    if prefix_tokens[index] >= self.min_tokens:
                        self._written.add((model, prefix_hashes[index]))
        return {
            "input_tokens": total - read - write,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
        }


def _common_prefix_len(first: str, second: str) -> int:
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


class PrefixCache:
    """Automatic prefix caching (OpenAI, DeepSeek): the longest common prefix with any earlier
    request for the same model, rounded down to 128-token blocks, counted from 1024 tokens."""

    def __init__(self) -> None:
        self._prompts: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def account(self, model: str, body: dict[str, Any]) -> tuple[int, int]:
        """(prompt_tokens, cached_tokens) of a Chat Completions request."""
        text = _openai_text(body)
        prompt_tokens = estimate_tokens(text)
        with self._lock:
            earlier = self._prompts.setdefault(model, [])
            common = max((_common_prefix_len(text, old) for old in earlier), default=0)
            earlier.append(text)
            del earlier[:-_OPENAI_HISTORY]
        cached = (common // 4) // OPENAI_CACHE_BLOCK_TOKENS * OPENAI_CACHE_BLOCK_TOKENS
        if cached < OPENAI_CACHE_MIN_TOKENS:
            cached = 0
        return prompt_tokens, min(cached, prompt_tokens)
