"""`agent bench --estimate` (and `--approve-above`): a batch's estimate before it runs, no run created.

The jobs are planned as `run_bench` plans them (`plan_jobs`: the task's own type, else the rules';
the classifier model is not asked), each job's ladder estimated with one planner model for the whole
batch (`agent.wiring.estimates.PlannerModel`), and the batch's totals summed draw by draw. With the
learned policy the batch refits as results arrive and later tasks may climb other ladders: the
estimate is of the ladders chosen now.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict

from agent.bench.jobs import BenchOptions, Job, plan_jobs, select_tasks, wants_learned
from agent.core.config import AgentConfig, ReviewConfig
from agent.core.errors import ConfigError
from agent.learning.ladder_estimate import Estimate, sum_estimates
from agent.ledger import Ledger
from agent.wiring.estimates import PlannerModel, economics_of, opening_chars
from agent.wiring.factories import learned_planner, rung_fit

LEARNED_NOTE = "the learned planner refits as a batch's results arrive: later tasks may climb other ladders"


class JobEstimate(BaseModel):
    """One job's estimate, by its key (the task, or task@rung in a grid)."""

    model_config = ConfigDict(frozen=True)

    key: str
    estimate: Estimate


class BatchEstimate(BaseModel):
    """Every job's estimate and the batch's total (intervals from the draws summed, not the percentiles)."""

    model_config = ConfigDict(frozen=True)

    suite: str
    grid: bool = False
    jobs: list[JobEstimate]
    total: Estimate

    def as_data(self) -> dict[str, object]:
        """One JSON object: the total and each job's estimate."""
        return {
            "suite": self.suite,
            "run_created": False,
            "total": self.total.model_dump(mode="json"),
            "jobs": [{"key": job.key, **job.estimate.model_dump(mode="json")} for job in self.jobs],
        }


def estimate_batch(options: BenchOptions, config: AgentConfig, env: Mapping[str, str]) -> BatchEstimate:
    """The batch `options` would run, estimated job by job; nothing is run or recorded."""
    if options.resume:
        raise ConfigError("--estimate and --approve-above look at a new batch: drop --resume RUN_ID")
    ledger = Ledger(config.ledger_path)
    try:
        seed = options.run_id or "bench"
        learned = learned_planner(config, ledger, env, seed=seed) if wants_learned(options, config) else None
    finally:
        ledger.close()
    jobs = plan_jobs(select_tasks(options, config.home), options, config, rung_fit(config, env), learned)
    if not jobs:
        raise ConfigError(f"suite {options.suite} has no task to estimate: check --ids and --limit")
    rungs = list(dict.fromkeys(rung for job in jobs for rung in job.plan.ladder))
    types = sorted({job.plan.classification.task_type for job in jobs})
    model = PlannerModel(config, learned, rungs, types)
    notes = [LEARNED_NOTE] if learned is not None else []
    estimated = [JobEstimate(key=job.key, estimate=model.estimate(job.plan, job_chars(job, config))) for job in jobs]
    total = sum_estimates([job.estimate for job in estimated], economics_of(config))
    return BatchEstimate(
        suite=options.suite,
        grid=bool(options.grid),
        jobs=estimated,
        total=total.model_copy(update={"notes": [*total.notes, *notes]}),
    )


def job_chars(job: Job, config: AgentConfig) -> int:
    """The characters of the job's opening prompt."""
    return opening_chars(config, job.task.display_title, job.task.problem_statement, job.task.test_cmd)


class Outcome(BaseModel):
    """One job's estimate against what its run spent and solved (the ledger's costs)."""

    model_config = ConfigDict(frozen=True)

    key: str
    estimate: Estimate
    api_usd: float
    review_minutes: float
    total_usd: float
    solved: bool


def outcomes(expected: BatchEstimate, ledger: Ledger, run_id: str, review: ReviewConfig) -> list[Outcome]:
    """Each estimated job of `expected` with its run's actual API $, review and verdict in run `run_id`."""
    from agent.reporting.costs import issue_summaries

    summaries = issue_summaries(ledger, run_id, review)
    by_key = {f"{issue.key}@{issue.ladder}" if expected.grid else issue.key: issue for issue in ledger.issues(run_id)}
    found: list[Outcome] = []
    for job in expected.jobs:
        issue = by_key.get(job.key)
        if issue is None or issue.status not in ("solved", "unsolved"):
            continue  # not run, or ended by an error or a cap: no fair comparison
        summary = summaries[issue.id]
        rate = float(summary.hourly_rate_usd)
        api = float(summary.api_cost_usd)
        minutes = summary.review_minutes
        found.append(
            Outcome(
                key=job.key,
                estimate=job.estimate,
                api_usd=api,
                review_minutes=minutes,
                total_usd=api + minutes * rate / 60,
                solved=issue.status == "solved",
            )
        )
    return found


class Spread(BaseModel):
    """Ratios actual / estimated over jobs: the median, the quartiles and the 10th and 90th percentiles."""

    model_config = ConfigDict(frozen=True)

    median: float
    q25: float
    q75: float
    p10: float
    p90: float
    batch: float  # the batch's actual sum over its estimated sum

    @classmethod
    def of(cls, actual: list[float], estimated: list[float]) -> Spread:
        ratios = np.array([a / e for a, e in zip(actual, estimated, strict=True) if e > 0])
        if ratios.size == 0:
            raise ConfigError("no priced estimate to compare")
        p10, q25, median, q75, p90 = np.percentile(ratios, [10, 25, 50, 75, 90])
        batch = sum(actual) / sum(estimated)
        return cls(median=median, q25=q25, q75=q75, p10=p10, p90=p90, batch=batch)


class Accuracy(BaseModel):
    """How a batch's estimates compare with what it spent and solved."""

    model_config = ConfigDict(frozen=True)

    jobs: int
    api: Spread
    total: Spread
    predicted_solved: float  # mean predicted P(solved)
    realised_solved: float  # share of the jobs solved


def accuracy(found: list[Outcome]) -> Accuracy:
    """The estimates of `found` against their actual API $, totals and verdicts (priced estimates only)."""
    priced = [outcome for outcome in found if outcome.estimate.api_usd is not None]
    if not priced:
        raise ConfigError("no finished job with a priced estimate to compare")
    api_estimates = [outcome.estimate.api_usd.mean for outcome in priced if outcome.estimate.api_usd is not None]
    total_estimates = [outcome.estimate.total_usd.mean for outcome in priced if outcome.estimate.total_usd is not None]
    return Accuracy(
        jobs=len(priced),
        api=Spread.of([outcome.api_usd for outcome in priced], api_estimates),
        total=Spread.of([outcome.total_usd for outcome in priced], total_estimates),
        predicted_solved=float(np.mean([outcome.estimate.p_solved.mean for outcome in priced])),
        realised_solved=sum(outcome.solved for outcome in priced) / len(priced),
    )
