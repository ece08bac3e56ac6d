"""The patch of an attempt while it runs: when to look again, and a short summary of it.

After a turn whose tool calls may have changed files, a `WorkPatchWatcher` asks the sandbox for
its diff in a background thread (while the model thinks about the next turn, so the loop does
not wait for it) and emits a `work_patch` event when the diff changed. The TUI's `d` key, live
or attached, then shows the running attempt's work before the attempt ends. It is the same diff
that is delivered: the sandbox leaves build and test artifacts out (`sandboxes.artifacts`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from agent.core.messages import ToolCall
from agent.core.patches import patch_stats

MAX_PATCH_CHARS = 200_000
"""A larger work patch is stored cut to this length (the final patch is always kept whole)."""


def may_change_files(call: ToolCall) -> bool:
    """Whether running `call` could have changed the work tree (any bash command; editor writes)."""
    if call.name == "bash":
        return True
    return call.name == "str_replace_based_edit_tool" and call.input.get("command") != "view"


def work_patch_event(turn: int, patch: str) -> dict[str, object]:
    """The data of a `work_patch` event for `patch` as it stands after `turn`."""
    cut = len(patch) > MAX_PATCH_CHARS
    text = patch[:MAX_PATCH_CHARS] + (f"\n[... {len(patch) - MAX_PATCH_CHARS} characters cut ...]\n" if cut else "")
    return {"turn": turn, "patch": text, **patch_stats(patch)}


class WorkPatchWatcher:
    """Looks at the sandbox's diff after a turn, one look at a time, in a background thread.

    A look shows the work tree as it is when it runs, labelled with the latest turn done, so
    turns that come faster than looks share one: at most one look waits while another runs.
    `close()` drops a look that has not started and does not wait for a running diff (the
    sandbox's diffs may overlap: each has its own scratch index); a look whose diff ends after
    `close()` shows nothing, and one already showing its patch finishes first. Once an attempt
    ends, the views show its recorded patch.
    """

    def __init__(self, diff: Callable[[], str], emit: Callable[[str, dict], None]) -> None:
        self._diff, self._emit = diff, emit
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="work-patch")
        self._last = ""
        self._turn = 0  # the latest turn whose tool calls have run
        self._waiting = threading.Event()  # a look is queued and has not started
        self._closed = False
        self._showing = threading.Lock()  # held while a look emits, and by close()

    def after_turn(self, turn: int, calls: list[ToolCall]) -> None:
        self._turn = turn
        if any(may_change_files(call) for call in calls) and not self._waiting.is_set():
            self._waiting.set()
            self._pool.submit(self._look)

    def _look(self) -> None:
        self._waiting.clear()
        turn = self._turn  # a look that starts late also sees later turns' work: label it with the latest
        try:
            patch = self._diff()
        except Exception:
            return  # a broken diff fails the attempt when it ends (a closed sandbox: it has ended)
        with self._showing:
            if self._closed or patch == self._last:
                return
            self._last = patch
            self._emit("work_patch", work_patch_event(turn, patch))

    def close(self) -> None:
        with self._showing:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
