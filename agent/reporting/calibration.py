"""Calibration of the learned policy (`agent report --policy learned`): is its P(solved) honest?

Each held-out task of a fold has a forecast, the P(solved) the fold's fit expected of the ladder it
chose for the task's type (`FoldChoice.predicted`), and an outcome, whether walking that ladder over
the grid solved it (`PolicyResult.solved_tasks`). A reliability table sets them side by side: per
fold, and over all folds binned by the forecast (`BINS`), each row with its number of tasks, mean
forecast, realised solve rate and a Wilson 95% interval for the realised rate. A calibrated policy's
realised rates fall on the forecasts (the diagonal of the HTML's reliability diagram); realised below
predicted is overconfidence. Tasks whose type had no usable ladder have no forecast: they are named
apart (`unpredicted`), not counted as forecasts of 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from agent.reporting.policies import PolicyResult
from agent.reporting.render import Col, columns

Z_95 = 1.959963984540054
"""The standard normal's 97.5th percentile: a two-sided 95% interval."""
BINS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.0))
"""Forecast bins [low, high); the last one includes 1."""


class Forecast(BaseModel):
    """One held-out task: its fold, its type's ladder, the P(solved) predicted for it and the outcome."""

    task: str
    fold: int
    task_type: str
    ladder: list[str]
    predicted: float
    solved: bool


class Reliability(BaseModel):
    """Some forecasts summarised: how many, their mean, the realised solve rate and its Wilson interval."""

    label: str
    tasks: int
    mean_predicted: float | None  # None: no task
    realised: float | None
    realised_low: float | None  # Wilson 95% interval of the realised rate
    realised_high: float | None


class Calibration(BaseModel):
    policy: str
    overall: Reliability
    folds: list[Reliability]
    bins: list[Reliability]
    unpredicted: list[str]  # held-out tasks whose type had no usable ladder (no forecast)
    tasks: list[Forecast]


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial rate; None for no trials."""
    if trials == 0:
        return None
    rate = successes / trials
    scale = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / scale
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def reliability(label: str, forecasts: Sequence[Forecast]) -> Reliability:
    tasks = len(forecasts)
    solved = sum(forecast.solved for forecast in forecasts)
    interval = wilson(solved, tasks)
    return Reliability(
        label=label,
        tasks=tasks,
        mean_predicted=_rounded(sum(forecast.predicted for forecast in forecasts) / tasks) if tasks else None,
        realised=_rounded(solved / tasks) if tasks else None,
        realised_low=None if interval is None else _rounded(interval[0]),
        realised_high=None if interval is None else _rounded(interval[1]),
    )


def _rounded(value: float) -> float:
    return round(value, 6)


def bin_label(low: float, high: float) -> str:
    return f"[{low:g}, {high:g}]" if high >= 1.0 else f"[{low:g}, {high:g})"


def in_bin(predicted: float, low: float, high: float) -> bool:
    """Whether a forecast falls in [low, high) (the last bin: [low, 1]); rounded to 9 places first, so that
    a forecast of 0.9 that float arithmetic made 0.8999999999998 is counted at 0.9."""
    value = round(predicted, 9)
    return low <= value < high or (high >= 1.0 and value >= high)


def calibration(result: PolicyResult) -> Calibration:
    """The reliability of a learned policy's forecasts (see the module docstring)."""
    solved = set(result.solved_tasks)
    forecasts, unpredicted = [], []
    for fold in result.folds or []:
        for task in fold.held_out:
            task_type = result.task_types[task]
            predicted = fold.predicted.get(task_type)
            if predicted is None:
                unpredicted.append(task)
                continue
            ladder = fold.ladders[task_type]
            forecasts.append(Forecast(task=task, fold=fold.fold, task_type=task_type, ladder=ladder,
                                      predicted=predicted, solved=task in solved))  # fmt: skip
    by_fold = [
        reliability(f"fold {fold.fold + 1}", [forecast for forecast in forecasts if forecast.fold == fold.fold])
        for fold in result.folds or []
    ]
    bins = [
        reliability(bin_label(low, high), [forecast for forecast in forecasts if in_bin(forecast.predicted, low, high)])
        for low, high in BINS
    ]
    return Calibration(
        policy=result.policy,
        overall=reliability("all folds", forecasts),
        folds=by_fold,
        bins=bins,
        unpredicted=sorted(unpredicted),
        tasks=forecasts,
    )


RELIABILITY_NUMBERS = ("tasks", "mean predicted", "realised", "95% interval", "gap (pts)")
"""The numeric columns of a reliability table, after its first (the fold or the forecast bin)."""


def reliability_columns(first: str) -> list[Col]:
    return columns(first, *RELIABILITY_NUMBERS, right=RELIABILITY_NUMBERS)


def reliability_cells(row: dict[str, Any]) -> list[str]:
    """A `Reliability` (as JSON) as table cells: rates in %, the gap realised - predicted in points."""
    if not row["tasks"]:
        return [str(row["label"]), "0", "-", "-", "-", "-"]
    predicted, realised = row["mean_predicted"], row["realised"]
    interval = f"{row['realised_low']:.0%}-{row['realised_high']:.0%}"
    gap = f"{(realised - predicted) * 100:+.1f}"
    return [str(row["label"]), str(row["tasks"]), f"{predicted:.1%}", f"{realised:.1%}", interval, gap]


def reliability_tables(name: str, data: dict[str, Any]) -> list[tuple[str, str, list[list[str]]]]:
    """(title, first column, rows) of the per-fold and the binned tables of one policy's calibration."""
    folds = [*data["folds"], data["overall"]]
    return [
        (f"calibration of {name}: P(solved) per fold (predicted vs realised)", "fold", [
            reliability_cells(row) for row in folds
        ]),
        (f"calibration of {name}: by predicted P(solved), all folds", "predicted P(solved)", [
            reliability_cells(row) for row in data["bins"]
        ]),
    ]  # fmt: skip


def calibration_notes(name: str, data: dict[str, Any]) -> list[str]:
    """How to read the tables, and the held-out tasks that have no forecast."""
    overall = data["overall"]
    notes = []
    if overall["tasks"]:
        notes.append(
            f"{name}: mean predicted P(solved) {overall['mean_predicted']:.1%} vs realised {overall['realised']:.1%}"
            f" over {overall['tasks']} held-out task(s) (gap = realised - predicted; below 0: overconfident)"
        )
    if data["unpredicted"]:
        notes.append(
            f"{name}: no forecast (no usable ladder for their type), left out: {', '.join(data['unpredicted'])}"
        )
    return notes
