"""What the cost tests share: the classifier model and its list price, the scripted fix at Opus, and
`agent fix --json` in a local sandbox (in-process) with its result and ledger, a ledger with one issue."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from agent.ledger import Ledger
from tests.cli_helpers import run_agent
from tests.repo_helpers import ISSUE, RIGHT_FIX, edit_turn, make_repo, plan_turn

HAIKU = "claude-haiku-4-5"  # $1 per million input tokens, $5 per million output tokens
MILLION = Decimal(1_000_000)
SOLVE = {"model": "claude-opus-*", "turns": [plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."}]}


def haiku_usd(usage: dict) -> Decimal:
    """What the fake's reported usage costs at Haiku 4.5's list price (no cache tokens in one short call)."""
    assert usage["cache_read_input_tokens"] == usage["cache_creation_input_tokens"] == 0
    return (usage["input_tokens"] * 1 + usage["output_tokens"] * 5) / MILLION


def fix(tmp_path: Path, *extra: str, env: dict[str, str], classifier: bool = False) -> tuple[dict, Ledger]:
    repo = make_repo(tmp_path / "calc")
    (tmp_path / "issue.md").write_text(ISSUE)
    if classifier:
        (tmp_path / "user.toml").write_text(f'[planner]\nclassifier_model = "{HAIKU}"\n')
        env = {**env, "AGENT_CONFIG": str(tmp_path / "user.toml")}
    args = ["fix", str(tmp_path / "issue.md"), "--repo", str(repo), "--test-cmd", "python -m pytest -q"]
    done = run_agent(tmp_path, *args, "--sandbox", "local", "--json", *extra, env=env)
    assert done.stdout, done.stderr
    return json.loads(done.stdout), Ledger(tmp_path / "agent-home" / "ledger.sqlite")


def ledger_with_issue(root: Path, ladder: str = "m@low,m@medium,m@high,m@max") -> tuple[Ledger, str, int]:
    """A real ledger under `root` with run r1 ($60/h) and one issue of it: the ledger, run id, issue id."""
    ledger = Ledger(root / "ledger.sqlite")
    run_id = ledger.create_run("fix", {}, Decimal(60), run_id="r1")
    issue_id = ledger.add_issue(
        run_id, key="k", title="t", task_type="bug_fix", task_type_reason="r", decided_by="model", repo="/r",
        base_commit="abc", test_cmd="pytest", ladder=ladder,
    )  # fmt: skip
    return ledger, run_id, issue_id
