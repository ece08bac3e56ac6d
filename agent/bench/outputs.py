"""What a batch leaves in its run directory, rebuilt from the ledger (the one source of truth).

`predictions.jsonl` (SWE-bench: `instance_id`, `model_name_or_path`, `model_patch`) and
`report.json` (resolved/unresolved/error/skipped ids and each instance's report) are rewritten
whole, atomically, after every job, so a killed runner leaves them consistent with the ledger
and a resumed one never duplicates a line. In a grid run a job is `instance_id@rung`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agent.core.config import AgentConfig
from agent.ledger import AttemptRow, IssueRow, Ledger
from agent.reporting.costs import counted_issues, run_costs
from agent.reporting.results import spend_result, usd_number

OUTCOMES = {
    "solved": "resolved",
    "unsolved": "unresolved",
    "budget_exhausted": "unresolved",
    "error": "error",
    "paused": "paused",
}
"""Each issue status's place in report.json; a paused issue goes on with `agent resume`."""


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def final_attempt(attempts: list[AttemptRow]) -> AttemptRow | None:
    """The attempt whose patch stands for the issue: the passing one, else the last."""
    passing = [attempt for attempt in attempts if attempt.tests_passed]
    return passing[-1] if passing else (attempts[-1] if attempts else None)


def instance_report(issue: IssueRow, attempt: AttemptRow | None) -> dict[str, Any]:
    """The attempt's InstanceReport when it was evaluated SWE-bench style, else what its tests said."""
    data = json.loads(attempt.test_report_json) if attempt and attempt.test_report_json else {}
    if "resolved" in data:
        return data
    return {
        "instance_id": issue.key,
        "resolved": issue.status == "solved",
        "patch_applied": None,
        "error_kind": issue.error_kind,
        "error": issue.error,
        "tests": data.get("tests", {}),
    }


def job_rows(ledger: Ledger, run_id: str) -> list[tuple[str, IssueRow, AttemptRow | None]]:
    """(job key, issue, final attempt) for every counted issue row of the run, in order."""
    run = ledger.run(run_id)
    grid = run is not None and run.kind == "grid"
    attempts: dict[int, list[AttemptRow]] = {}
    for attempt in ledger.attempts(run_id):
        attempts.setdefault(attempt.issue_id, []).append(attempt)
    rows = []
    for issue in counted_issues(ledger.issues(run_id)):
        key = f"{issue.key}@{issue.ladder}" if grid else issue.key
        rows.append((key, issue, final_attempt(attempts.get(issue.id, []))))
    return rows


def write_outputs(ledger: Ledger, run_id: str, run_dir: Path, grid: bool) -> Path:
    """Rewrite predictions.jsonl and report.json from the ledger; returns the predictions path."""
    predictions: list[dict[str, str]] = []
    ids: dict[str, list[str]] = {"resolved": [], "unresolved": [], "error": [], "skipped": [], "paused": []}
    instances: dict[str, Any] = {}
    for key, issue, attempt in job_rows(ledger, run_id):
        if issue.status == "running":
            continue
        outcome = OUTCOMES.get(issue.status, "skipped")
        ids[outcome].append(key)
        instances[key] = {
            "status": issue.status,
            "rung": f"{attempt.model}@{attempt.effort_asked}" if attempt else None,
            "report": instance_report(issue, attempt),
        }
        if outcome not in ("skipped", "paused"):  # a paused issue has no prediction until it ends
            predictions.append(
                {
                    "instance_id": issue.key,
                    "model_name_or_path": f"{attempt.model}@{attempt.effort_asked}" if attempt else issue.ladder,
                    "model_patch": (attempt.patch if attempt else None) or "",
                }
            )
    report = {"run_id": run_id, **{f"{name}_ids": keys for name, keys in ids.items()}, "instances": instances}
    path = run_dir / "predictions.jsonl"
    _write_atomic(path, "".join(json.dumps(line) + "\n" for line in predictions))
    _write_atomic(run_dir / "report.json", json.dumps(report, indent=1))
    return path


def bench_result(ledger: Ledger, run_id: str, config: AgentConfig, run_dir: Path, instances: int) -> dict[str, Any]:
    """The one object `agent bench --json` prints."""
    _, summary = run_costs(ledger, run_id, config.review)
    ids: dict[str, list[str]] = {"resolved": [], "unresolved": [], "error": [], "skipped": [], "paused": []}
    for key, issue, _ in job_rows(ledger, run_id):
        if issue.status != "running":
            ids[OUTCOMES.get(issue.status, "skipped")].append(key)
    return {
        "run_id": run_id,
        "instances": instances,
        "resolved": len(ids["resolved"]),
        "resolved_ids": ids["resolved"],
        "unresolved_ids": ids["unresolved"],
        "error_ids": ids["error"],
        "skipped_ids": ids["skipped"],
        "paused_ids": ids["paused"],
        **spend_result(summary),
        "classifier_calls": summary.classifier_calls,
        "classifier_cost_usd": usd_number(summary.classifier_cost_usd),
        "lost_worker_calls": summary.lost_calls,
        "lost_worker_cost_usd": usd_number(summary.lost_cost_usd),
        "attempts": summary.attempts,
        "cost_per_solved_usd": usd_number(summary.cost_per_solved_usd),
        "predictions_path": str(run_dir / "predictions.jsonl"),
    }
