"""A small SWE-bench-style suite for the bench tests: one repository, one task per broken function."""

from __future__ import annotations

import json
from pathlib import Path

from tests.repo_helpers import git, make_repo

BROKEN = {
    "add": ("a, b", "a - b", "a + b", "(2, 3) == 5"),
    "mul": ("a, b", "a + b", "a * b", "(2, 3) == 6"),
    "neg": ("x", "x", "-x", "(4) == -4"),
    "half": ("x", "x * 2", "x / 2", "(8) == 4"),
    "sub": ("a, b", "b - a", "a - b", "(5, 3) == 2"),
    "square": ("x", "x * 2", "x * x", "(3) == 9"),
    "inc": ("x", "x", "x + 1", "(1) == 2"),
    "dec": ("x", "x + 1", "x - 1", "(1) == 0"),
    "mod": ("a, b", "a // b", "a % b", "(7, 3) == 1"),
    "avg": ("a, b", "a + b", "(a + b) / 2", "(2, 4) == 3"),
}
DEFAULT = ["add", "mul", "neg", "half"]


def _ops(names: list[str], fixed: set[str]) -> str:
    parts = ['"""Operations."""\n']
    for name in names:
        args, wrong, right, _ = BROKEN[name]
        parts.append(f"\n\ndef {name}({args}):\n    return {right if name in fixed else wrong}\n")
    return "".join(parts)


def _diff(repo: Path) -> str:
    git(repo, "add", "-A")
    diff = git(repo, "diff", "--cached")
    git(repo, "reset", "-q", "--hard")
    return diff


def make_suite(root: Path, names: list[str] | None = None) -> Path:
    """A repository and `tasks.jsonl` next to it; returns the task file."""
    names = names or DEFAULT
    repo = make_repo(
        root / "ops",
        {
            "ops/__init__.py": "",
            "ops/calc.py": _ops(names, set()),
            "tests/__init__.py": "",
            "tests/test_base.py": "def test_ok():\n    assert True\n",
        },
    )
    base = git(repo, "rev-parse", "HEAD").strip()
    lines = []
    for name in names:
        (repo / "ops/calc.py").write_text(_ops(names, {name}))
        gold = _diff(repo)
        call = BROKEN[name][3]
        (repo / f"tests/test_{name}.py").write_text(
            f"from ops.calc import {name}\n\n\ndef test_{name}():\n    assert {name}{call}\n"
        )
        test_patch = _diff(repo)
        lines.append(
            {
                "instance_id": f"ops__{name}",
                "repo": "local/ops",
                "base_commit": base,
                "problem_statement": f"# {name}() returns the wrong value\n\n{name}{call.split(' ==')[0]} is wrong.",
                "patch": gold,
                "test_patch": test_patch,
                "FAIL_TO_PASS": [f"tests/test_{name}.py::test_{name}"],
                "PASS_TO_PASS": ["tests/test_base.py::test_ok"],
                "repo_path": str(repo),
                "test_cmd": "python -m pytest -q",
                "task_type": "bug_fix",
            }
        )
    path = root / "tasks.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
