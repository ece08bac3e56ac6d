"""What the `agent fix` tests share: the calculator's test command, the script that fails at medium effort
and passes at high, and the command line of a --json fix."""

from __future__ import annotations

from pathlib import Path

from tests.repo_helpers import RIGHT_FIX, WRONG_FIX, edit_turn, plan_turn

TEST_CMD = "python -m pytest -q"
ESCALATE = {
    "rules": [
        {"effort": "medium", "turns": [plan_turn(), edit_turn(WRONG_FIX), {"text": "Done."}]},
        {"turns": [plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."}]},
    ]
}
"""A fake-provider script: the wrong fix at medium effort, the right one above it."""


def fix_args(repo: Path, issue: Path, *extra: str) -> list[str]:
    return ["fix", str(issue), "--repo", str(repo), "--test-cmd", TEST_CMD, "--json", *extra]
