"""Task files for the tests: one SWE-bench-style record, a JSONL file of records, and a mined task."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.models import Task

RECORD = {
    "instance_id": "calc__add",
    "repo": "acme/calc",
    "base_commit": "abc123",
    "problem_statement": "add() subtracts",
    "patch": "diff --git a/x b/x\n",
    "test_patch": "",
    "FAIL_TO_PASS": ["tests/test_ops.py::test_add"],
    "PASS_TO_PASS": ["tests/test_ops.py::test_add_zero"],
    "task_type": "bug_fix",
    "difficulty": "easy",
}


def write_jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def mined_task(instance_id: str) -> Task:
    """A task as mining finds it in a small calculator repository: a commit's fix with its test command."""
    return Task(
        instance_id=instance_id,
        repo="local/calc",
        base_commit="a" * 40,
        problem_statement="add() returns the wrong sum: expected 5, actual -1",
        title="Fix add()",
        test_cmd="python -m pytest -q",
    )
