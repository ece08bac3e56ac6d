"""Real git repositories for tests, and a fingerprint of everything a user could lose."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@localhost",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@localhost",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}

CALC_FILES = {
    "README.md": "# calc\n\nTiny arithmetic helpers.\n",
    "calc/__init__.py": '"""Tiny arithmetic helpers."""\n\nfrom calc.ops import add\n\n__all__ = ["add"]\n',
    "calc/ops.py": '"""Operations."""\n\n\ndef add(a, b):\n    """Return a plus b."""\n    return a - b\n',
    "tests/__init__.py": "",
    "tests/test_ops.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_add_zero():\n    assert add(4, 0) == 4\n",
}

WRONG_FIX = {"old_str": "return a - b", "new_str": "return a - b + 0"}
RIGHT_FIX = {"old_str": "return a - b", "new_str": "return a + b"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=GIT_ENV
    ).stdout


ISSUE = "# add() returns the wrong sum\n\n`add(2, 3)` returns -1. Expected 5, actual -1.\n"
"""The bug the calculator repository of `make_repo` has."""


def make_repo(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files or CALC_FILES).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def fingerprint(repo: Path) -> dict[str, str]:
    """Hash of every file in the working tree and .git except refs under agent/ (which the agent adds)."""
    hashes = {}
    for path in sorted(repo.rglob("*")):
        if (
            path.is_file()
            and "refs/heads/agent" not in path.as_posix()
            and "logs/refs/heads/agent" not in path.as_posix()
        ):
            if path.name == "packed-refs" or "/objects/" in path.as_posix():
                continue  # new objects are added for the branch; existing ones never change
            hashes[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def edit_turn(change: dict[str, str], path: str = "calc/ops.py") -> dict:
    return {
        "text": "Editing.",
        "tool_calls": [
            {"name": "str_replace_based_edit_tool", "input": {"command": "str_replace", "path": path, **change}}
        ],
    }


def plan_turn(text: str = "Plan: the fault is in calc/ops.py; I will fix add() and run pytest.") -> dict:
    return {
        "text": text,
        "thinking": "add() subtracts.",
        "tool_calls": [{"name": "str_replace_based_edit_tool", "input": {"command": "view", "path": "calc/ops.py"}}],
    }
