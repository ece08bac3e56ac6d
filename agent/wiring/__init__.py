"""The only builder of the run setup, in two rooms, and the options a run is given.

- `factories`: the configuration turned into what the engine receives (models, prices, context
  windows, sandboxes, environment images, the learned planner) and `run_setup`, which
  assembles them for one run.
- `fix`: `agent fix` end to end (`FixOptions`, `prepare_fix`, `run_fix`).
- `options`: `RunOptions`, the flags `agent fix` and `agent bench` share, and `load_run_config`.

The demo, which runs a fix and a batch, sits above `agent.bench` in `agent.demo`. The names
below are this package's public ones; the modules above are where they live.
"""

from agent.wiring.factories import (
    check_fallbacks,
    environment_preparer,
    learned_if_asked,
    learned_planner,
    model_factory,
    policy_of,
    price_lookup,
    run_setup,
    rung_fit,
    sandbox_factory,
    task_environments,
    window_lookup,
)
from agent.wiring.fix import FixOptions, FixRepo, check_repo, prepare_fix, run_fix, say_left_out, task_from_issue
from agent.wiring.options import RunOptions, checked_fallback, load_run_config

__all__ = [
    "FixOptions",
    "FixRepo",
    "RunOptions",
    "check_fallbacks",
    "check_repo",
    "checked_fallback",
    "environment_preparer",
    "learned_if_asked",
    "learned_planner",
    "load_run_config",
    "model_factory",
    "policy_of",
    "prepare_fix",
    "price_lookup",
    "run_fix",
    "run_setup",
    "rung_fit",
    "sandbox_factory",
    "say_left_out",
    "task_environments",
    "task_from_issue",
    "window_lookup",
]
