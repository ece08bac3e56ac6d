"""Entry points the CLI calls: `run_fix_in_tui`, `run_demo_in_tui`, `run_in_tui` and `attach`.

A live run is the same `run_fix` the CLI calls, run in the app's thread worker; the caller gets
its `(result, failure)` back after the app exits, and any exception it raised is re-raised here.
What `run_fix` prints (warnings, the detected test command) is shown after the app closes.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from agent.core.config import AgentConfig, ReviewConfig
from agent.core.errors import AgentError, RunAbandoned, TaskError
from agent.core.events import EventSink
from agent.ledger import Ledger
from agent.wiring.fix import FixOptions, FixRepo, run_fix
from sandboxes.lifecycle import close_all
from tasks.issues import IssueText
from tui.app import AgentApp, Work
from tui.app_state import AppState


def reviewer_name() -> str:
    return os.environ.get("USER", "developer")


def run_in_tui(work: Work, ledger_path: Path, review: ReviewConfig, batch: bool = False) -> Any:
    """Run `work(on_event, stop)` in the app's thread worker with the fix view (or the batch view); return its result.

    Never returns before the worker has: a quit sets `stop` and waits, so sandboxes are closed.
    """
    ledger = Ledger(ledger_path)
    context = AppState(ledger=ledger, review=review, reviewer=reviewer_name())
    app = AgentApp(context, work=work, batch=batch)
    try:
        app.run()
        if app.abandoned and not context.done.is_set():
            close_all()  # the sandboxes go now; the turn in flight is not waited for
            raise RunAbandoned("stopped at once by a second Ctrl-C")
    finally:
        if app.work_started and not context.done.is_set() and not app.abandoned:
            context.stop.set()  # the app died under a live run: stop it cleanly
            context.done.wait()
        ledger.close()
    if app.error is not None:
        raise app.error
    return app.outcome


def run_fix_in_tui(
    issue: IssueText, options: FixOptions, env: Mapping[str, str], repo: FixRepo, say: Console | None = None
) -> tuple[dict[str, Any], AgentError | None]:
    """`run_fix` on the prepared `repo` with the fix view on screen; returns the same `(result, failure)`."""
    quiet = Console(file=io.StringIO(), width=120)

    def work(on_event: EventSink, stop: threading.Event) -> tuple[dict[str, Any], AgentError | None]:
        return run_fix(issue, options, env, quiet, on_event, stop, repo)

    try:
        result, failure = run_in_tui(work, repo.config.ledger_path, repo.config.review)
    finally:
        _replay(quiet, say)
    return result, failure


def run_demo_in_tui(
    config: AgentConfig, sandbox: str | None, ledger: Path | None, say: Console | None = None
) -> tuple[dict[str, Any], Exception | None]:
    """`agent demo` with the fix view on screen."""
    from agent.demo import run_demo

    quiet = Console(file=io.StringIO(), width=120)

    def work(on_event: EventSink, stop: threading.Event) -> tuple[dict[str, Any], Exception | None]:
        return run_demo(config.home, quiet, on_event, sandbox, ledger, stop)

    try:
        result, failure = run_in_tui(work, config.ledger_path, config.review)
    finally:
        _replay(quiet, say)
    return result, failure


def _replay(quiet: Console, say: Console | None) -> None:
    text = quiet.file.getvalue() if isinstance(quiet.file, io.StringIO) else ""
    if text.strip() and say is not None:
        say.print(text.rstrip(), markup=False, highlight=False)


def attach(config: AgentConfig, run_id: str | None) -> None:
    """`agent tui [RUN_ID]`: watch a running or finished run; without RUN_ID, pick from recent runs."""
    ledger = Ledger(config.ledger_path)
    try:
        if run_id is not None and ledger.run(run_id) is None:
            raise TaskError(f"no run {run_id} in {ledger.path}: run `agent tui` to pick from recent runs")
        context = AppState(ledger=ledger, review=config.review, reviewer=reviewer_name())
        AgentApp(context, run_id=run_id).run()
    finally:
        ledger.close()
