"""The generated suite: `generated:N` or `generated:N:SEED` (seed 0 by default) is N distinct tasks, each a
small real repository (stdlib-only Python and a tests/ folder run with `python -m pytest -q`) with a
real failing test, generated deterministically from the seed.

- `suite` drafts the tasks: templates of small real bugs and changes (`bugs`, `changes`, `features`:
  a wrong comparison, an off-by-one, a wrong default, a missing edge case, wrong rounding, swapped
  arguments, a cache key, a syntax error, a feature flag, a new function, boilerplate, a rename),
  varied over names, constants and module shapes (`fillers`) by a seeded RNG;
- `scenario` turns a template's output into the base files, the gold patch, the test patch and the
  FAIL_TO_PASS / PASS_TO_PASS ids, by construction (nothing is run to find them);
- `repos` writes each task's base commit into a bare repository under
  `$AGENT_HOME/cache/generated/` with stable SHAs, once.

`agent tasks generate` writes the same tasks to a task file, which works with real models too.
"""

from __future__ import annotations

from pathlib import Path

from agent.core.errors import TaskError
from tasks.generated.repos import materialize
from tasks.generated.suite import draft_tasks
from tasks.models import Task

PREFIX = "generated"
MAX_COUNT = 10_000
USAGE = f"write generated:N or generated:N:SEED (N from 1 to {MAX_COUNT}, SEED a whole number)"


def parse_spec(spec: str) -> tuple[int, int] | None:
    """(count, seed) of a `generated:N[:SEED]` suite spec; None when `spec` is not one."""
    if not spec.startswith(PREFIX + ":"):
        return None
    parts = spec.split(":")[1:]
    if len(parts) not in (1, 2) or not all(part.isdigit() for part in parts):
        raise TaskError(f"suite {spec!r}: {USAGE}")
    count, seed = int(parts[0]), int(parts[1]) if len(parts) == 2 else 0
    if not 1 <= count <= MAX_COUNT:
        raise TaskError(f"suite {spec!r} asks for {count} tasks: {USAGE}")
    return count, seed


def generated_tasks(count: int, seed: int, home: Path) -> list[Task]:
    """The first `count` tasks of seed `seed`, their repositories materialized under `home`."""
    drafts = draft_tasks(count, seed)
    located = materialize([draft.repo for draft in drafts], home)
    return [
        draft.task.model_copy(update={"repo_path": str(path), "base_commit": commit})
        for draft, (path, commit) in zip(drafts, located, strict=True)
    ]
