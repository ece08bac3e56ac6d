"""The README's keyless `agent fix`: `--model scripted:FILE` replays the README's own example script on
a real git repository whose test fails at the base commit; the runner's verdict, the branch, the
patch and the ledger are those of any fix, and the user's working tree is untouched."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.ledger import Ledger
from tests.cli_helpers import Ran, run_agent
from tests.repo_helpers import fingerprint, git

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "### Try `agent fix` on your own repository without a key"


def readme_script() -> str:
    """The JSON example under the README's keyless section, as a user would copy it."""
    text = README.read_text()
    section = text[text.index(SECTION) :]
    found = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the keyless section has no ```json example"
    return found.group(1)


def keyless_fix(home: Path, repo: Path, sandbox: str, *model: str) -> Ran:
    """`agent fix --json` of the calculator's `add` issue on `repo`, with `model` (--model/--ladder and value)."""
    issue = "add(2, 3) returns -1, expected 5"
    return run_agent(home, "fix", "--text", issue, "--repo", str(repo), *model, "--sandbox", sandbox, "--json")


@pytest.mark.parametrize("sandbox", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_readme_script_fixes_the_failing_test_without_a_key(tmp_path, repo, sandbox):
    script = tmp_path / "fix.json"
    script.write_text(readme_script())
    before, head = fingerprint(repo), git(repo, "rev-parse", "HEAD").strip()
    ran = keyless_fix(tmp_path, repo, sandbox, "--model", f"scripted:{script}")
    assert ran.code == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["solved"] is True
    assert [(a["model"], a["effort"], a["tests_passed"], a["turns"]) for a in result["attempts"]] == [
        (f"scripted:{script}", "medium", True, 3)
    ]
    assert result["branch"] == "agent/add-2-3-returns-1-expected-5"
    patch = Path(result["patch_path"]).read_text().splitlines()
    changed = [line for line in patch if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-    return a - b", "+    return a + b"]
    assert git(repo, "show", f"{result['branch']}:calc/ops.py").endswith("    return a + b\n")
    assert (fingerprint(repo), git(repo, "rev-parse", "HEAD").strip()) == (before, head)
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    try:
        assert [(run.id, run.kind, run.status) for run in ledger.runs()] == [(result["run_id"], "fix", "finished")]
    finally:
        ledger.close()


def test_a_script_that_breaks_nothing_but_fixes_nothing_is_not_solved(tmp_path, repo):
    """The scripted model gets no favours: a reply that only looks does not solve the issue."""
    script = tmp_path / "look.json"
    look = {"name": "str_replace_based_edit_tool", "input": {"command": "view", "path": "calc/ops.py"}}
    script.write_text(
        json.dumps({"rules": [{"model": "*", "effort": "*", "turns": [{"text": "Looking.", "tool_calls": [look]}]}]})
    )
    ran = keyless_fix(tmp_path, repo, "local", "--ladder", f"scripted:{script}@high")
    assert ran.code == 1, ran.stderr
    result = json.loads(ran.stdout)
    assert (result["solved"], [a["tests_passed"] for a in result["attempts"]]) == (False, [False])
