"""The path of a simulated attempt: what it does on each of its turns (read, run the tests, edit, finish).

Real agents that will pass tend to find the fault early, edit, run the tests and see them pass;
those that will fail more often wander (read on without an edit), or edit the wrong thing and keep
retrying against failing tests. Neither is certain, so the path is drawn with noise, deterministically
from (population seed, task, model, effort, attempt number) like the pass/fail draw itself:

- a passing attempt edits at turn 1 + floor(u² · (N − 2)) (mostly early, sometimes late), runs the
  tests first to see them fail in 35% of attempts, runs them after the edit in 80%, reads once more
  in 20%, then finishes;
- a failing attempt, by a second draw: wanders (45%: reads for N−1 to 2N−1 turns with an occasional
  failing test run, then makes its wrong edit), fixes the wrong thing (35%: edits when a passer would,
  the tests fail, then one to three rounds of read, edit again, test), or edits quietly (20%: edits
  when a passer would and reads on without running the tests until turn N−1: it looks like a confident
  passer until it ends).

N is the attempt's shape (`agent.simulate.population.attempt_shape`). What each action's turn says and
runs is `agent.simulate.sim_turns`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agent.core.effort import EffortLevel
from agent.simulate.population import Population, attempt_passes, attempt_shape, uniform
from tasks.models import Task

Action = Literal["read", "test", "edit", "finish"]

REPRODUCE_FIRST = 0.35
VERIFY_AFTER_EDIT = 0.80
READ_AGAIN = 0.20
WANDER, WRONG_FIX = 0.45, 0.80
"""A failing attempt wanders when its kind draw is below WANDER, fixes the wrong thing below WRONG_FIX,
else edits quietly."""
WANDER_TEST = 0.25
"""The chance a wandering turn (from the third on) runs the tests, never twice in a row."""


class AttemptPath(BaseModel):
    """One attempt's actions, one per turn (0-based); the last is `finish`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["pass", "wander", "wrong_fix", "quiet"]
    actions: tuple[Action, ...]

    def action(self, turn_index: int) -> Action:
        """The action of turn `turn_index`; past the path's end the attempt finishes."""
        return self.actions[turn_index] if turn_index < len(self.actions) else "finish"


def attempt_path(
    population: Population, task: Task, model: str, effort: EffortLevel, attempt_index: int
) -> AttemptPath:
    """The path of the attempt numbered `attempt_index` of `model@effort` on `task` (see the module doc)."""
    turns = attempt_shape(population, task, effort).turns

    def draw(name: str) -> float:
        return uniform(population.seed, "path", task.instance_id, model, effort.value, attempt_index, name)

    edit_at = 1 + int(draw("edit") ** 2 * max(1, turns - 2))
    reads: list[Action] = ["read"] * edit_at
    if attempt_passes(population, task, model, effort, attempt_index):
        before: list[Action] = ["test"] if draw("reproduce") < REPRODUCE_FIRST else []
        after: list[Action] = ["test"] if draw("verify") < VERIFY_AFTER_EDIT else []
        again: list[Action] = ["read"] if draw("again") < READ_AGAIN else []
        return AttemptPath(kind="pass", actions=(*reads, *before, "edit", *after, *again, "finish"))
    kind = draw("kind")
    if kind < WANDER:
        wandering = _wandering(turns - 1 + int(draw("length") * turns), draw)
        return AttemptPath(kind="wander", actions=(*wandering, "edit", "finish"))
    if kind < WRONG_FIX:
        retries: list[Action] = ["read", "edit", "test"] * (1 + int(draw("retries") * 3))
        return AttemptPath(kind="wrong_fix", actions=(*reads, "edit", "test", *retries, "finish"))
    quiet: list[Action] = ["read"] * max(1, turns - 2 - edit_at)
    return AttemptPath(kind="quiet", actions=(*reads, "edit", *quiet, "finish"))


def _wandering(length: int, draw: Callable[[str], float]) -> list[Action]:
    """`length` turns of reading (at least one), with an occasional test run from the third turn on."""
    actions: list[Action] = []
    for turn in range(max(1, length)):
        tests = turn >= 2 and actions[-1] != "test" and draw(f"test {turn}") < WANDER_TEST
        actions.append("test" if tests else "read")
    return actions
