"""A batch's task types: the task's own, else the classifier model's when the job runs, else the rules'.

`agent bench` classifies the way `agent fix` does (`planner.classify`): when a task's first job
runs, the classifier model is asked under that job's budget (so under the batch cap too), each call
recorded under the run before it is sent, and `run_issue` puts its calls under the job's issue. A
task's other grid jobs, and the jobs a resumed run runs again, reuse the decision instead of asking
(and paying) again. Until its job runs, a job carries the rules' plan, which the upfront model
checks and `--json` totals use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from agent.core.errors import AgentError
from agent.engine.budget import Budget
from agent.engine.calling.meters import RunRecorder
from agent.engine.planner import Classification, LadderChoice, classify
from agent.engine.runner import RunSetup
from agent.ledger import Ledger
from tasks.models import Task


class TaskTypes:
    """The classifier's decisions of one batch, by task id; each task is classified once."""

    def __init__(self, known: dict[str, Classification] | None = None) -> None:
        self.known = dict(known or {})
        self._lock = threading.Lock()

    def decide(self, task: Task, ctx: RunSetup, budget: Budget) -> Classification:
        """The task's type; the classifier's calls ride along only the first time (to be recorded once)."""
        with self._lock:  # a task's grid jobs may start together: one call for all of them
            known = self.known.get(task.instance_id)
            if known is not None:
                return known
            run = RunRecorder(lambda: ctx.run_id, ctx.write)  # each call's row is written before it is sent
            decided = classify(
                task.problem_statement, task.labels, ctx.config.planner, ctx.model_factory, ctx.price_for, budget, run
            )
            self.known[task.instance_id] = decided.model_copy(update={"calls": []})
            return decided

    def plan(
        self,
        task: Task,
        provisional: LadderChoice,
        ctx: RunSetup,
        budget: Budget,
        replan: Callable[[Classification], LadderChoice],
    ) -> LadderChoice:
        """The job's plan on the decided type; the rules' plan, with the decision's calls, when the
        ladder of the decided type cannot run here (so the calls are still recorded with the issue)."""
        decided = self.decide(task, ctx, budget)
        try:
            plan = replan(decided)
            for rung in plan.ladder:
                ctx.model_factory(rung.model, task)  # unknown models and missing keys: keep the rules' plan
        except AgentError as exc:
            rules = provisional.classification
            why = f"{rules.reason}; {decided.reason}, but its ladder cannot run here ({exc})"
            kept = rules.model_copy(update={"reason": why, "calls": decided.calls})
            return provisional.model_copy(update={"classification": kept})
        return plan


def recorded_task_types(ledger: Ledger, run_id: str) -> dict[str, Classification]:
    """The classifier model's decisions a run recorded, by task id (what a resumed run reuses)."""
    return {
        issue.key: Classification(task_type=issue.task_type, reason=issue.task_type_reason, decided_by="model")
        for issue in ledger.issues(run_id)
        if issue.decided_by == "model"
    }
