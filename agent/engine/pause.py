"""A paused issue: where its attempt stopped when the cap was reached, and how it goes on.

When the next call does not fit in what is left (`agent.engine.budget`), the attempt's loop stops
before sending it and keeps what it needs to go on exactly there (`LoopState`: the conversation,
the turn, the condensers' and validator's state, the route, the sandbox's changes); the attempt's
trajectory file holds it, with the attempts before it (`PausedAttempt`). The sandbox is closed:
nothing lives outside the ledger and the run directory. `agent resume RUN --max-cost NEW` reopens
the same issue and attempt rows, lays the changes over a fresh sandbox at the base commit and
continues the conversation from the turn that did not fit, then climbs the ladder's next rungs: the
conversation is the one an uninterrupted run with the larger cap would have had (the calls just
before the pause may have asked for fewer output tokens, to fit what was left; a reply cut short by
that is the one difference a pause can make). A shell's working directory and variables do not
survive a pause; files do.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field

from agent.core.errors import TaskError
from agent.core.messages import Message
from agent.core.protocols import Sandbox
from agent.engine.evaluation import apply_patch
from agent.engine.prompts import EarlierAttempt
from agent.ledger.events import TurnProgress
from tasks.models import slugify


class LoopState(BaseModel):
    """What a paused loop needs to continue at `next_turn` as if it had never stopped."""

    next_turn: int
    messages: list[Message]
    plan: str = ""
    turns: int = 0
    valid_length: int = 1
    invalid_in_a_row: int = 0
    invalid_of_route: int = 0
    prompt_tokens: int = 0
    view_tokens: int = 0
    route: str = Field("", description="The route's label (model@effort): a fallback taken stays taken.")
    masked_before: int = Field(1, description="The masking boundary: tool results before it are masked.")
    summary: tuple[str, int] | None = Field(None, description="The summary in force: (text, up to message).")
    repeated_call: str | None = None
    repeats: int = 0
    model_time_s: float = 0.0
    command_time_s: float = 0.0
    fallbacks: list[dict] = Field(default_factory=list)
    validation_failures: dict[str, int] = Field(default_factory=dict)
    context_events: list[dict] = Field(default_factory=list)
    progress: TurnProgress | None = None
    progress_diff: str = ""
    work_patch: str = Field("", description="The sandbox's changes when it paused (`git diff` with new files).")


class PausedAttempt(BaseModel):
    """A paused issue's resume point: its attempt (by rung index and row) and the attempts before it."""

    issue_id: int
    attempt_id: int
    rung_index: int
    state: LoopState
    earlier: list[EarlierAttempt] = Field(default_factory=list)


def pause_message(spent: Decimal, cap: Decimal | None, needed: Decimal | None, run_id: str) -> str:
    """What the user is told when an issue pauses: what was spent, what the next call needs, how to go on."""
    of = "" if cap is None else f" of the ${cap:.2f} cap"
    call = "" if needed is None else f"; the next call needs ${needed:.4f} at least"
    more = (spent + (needed or Decimal(0))) * 2
    return f"paused: ${spent:.4f} spent{of}{call}. Grant more with: agent resume {run_id} --max-cost {more:.2f}"


def trajectory_path(run_dir: Path, instance_id: str, rung_index: int) -> Path:
    """Where an attempt's trajectory (and a paused attempt's state) is saved."""
    return run_dir / slugify(instance_id, 60) / f"attempt-{rung_index + 1}.json"


def read_paused(run_dir: Path, instance_id: str, issue_id: int, attempt_id: int, rung_index: int) -> PausedAttempt:
    """The resume point saved in a paused attempt's trajectory; TaskError when it is missing."""
    path = trajectory_path(run_dir, instance_id, rung_index)
    try:
        data = json.loads(path.read_text())
        paused = data["paused"]
    except (OSError, ValueError, KeyError):
        raise TaskError(
            f"the paused attempt's trajectory {path} is missing or has no saved state: run it again"
        ) from None
    return PausedAttempt(
        issue_id=issue_id,
        attempt_id=attempt_id,
        rung_index=rung_index,
        state=LoopState.model_validate(paused["state"]),
        earlier=[EarlierAttempt.model_validate(item) for item in paused.get("earlier", [])],
    )


def lay_over(sandbox: Sandbox, patch: str) -> None:
    """Apply a paused attempt's changes to a fresh sandbox at the base commit."""
    if patch.strip() and not apply_patch(sandbox, patch):
        raise TaskError("the paused attempt's changes no longer apply at the base commit: run the issue again")
