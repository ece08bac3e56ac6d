"""Task files for the tests: one SWE-bench-style record, and a JSONL file of records."""

from __future__ import annotations

import json
from pathlib import Path

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
