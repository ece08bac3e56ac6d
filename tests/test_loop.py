"""The attempt loop with the in-process scripted model (`--model scripted:FILE`) in a local sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.ledger import Ledger
from tests.cli_helpers import run_agent
from tests.repo_helpers import CALC_FILES, ISSUE, RIGHT_FIX, edit_turn, make_repo, plan_turn

BAD_CALLS = [
    {"text": "Plan: poke around.", "tool_calls": [{"name": "python", "input": {}}]},
    {"text": "", "tool_calls": [{"name": "bash", "input": {}, "raw_arguments": "{not json"}]},
    {"text": "", "tool_calls": [{"name": "bash", "input": {}}]},
    {"text": "never reached"},
]


def fix_with_script(tmp_path, turns, *extra, project_toml: str | None = None):
    files = {**CALC_FILES, "agent.toml": project_toml} if project_toml else None
    repo = make_repo(tmp_path / "calc", files)
    (tmp_path / "issue.md").write_text(ISSUE)
    (tmp_path / "script.json").write_text(json.dumps({"rules": [{"turns": turns}]}))
    done = run_agent(
        tmp_path,
        "fix",
        str(tmp_path / "issue.md"),
        "--repo",
        str(repo),
        "--test-cmd",
        "python -m pytest -q",
        "--model",
        f"scripted:{tmp_path / 'script.json'}",
        "--sandbox",
        "local",
        "--json",
        *extra,
    )
    result = json.loads(done.stdout)
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    return done, result, ledger


def test_three_malformed_calls_in_a_row_end_the_attempt_as_format_error(tmp_path):
    done, result, ledger = fix_with_script(tmp_path, BAD_CALLS, "--effort", "max")
    assert done.returncode == 1
    assert [(a["outcome"], a["turns"]) for a in result["attempts"]] == [("format_error", 3)]
    outputs = [event.data["output"] for event in ledger.events(result["run_id"], kinds=("tool_result",))]
    assert outputs == [
        "Error: unknown tool 'python': use bash or str_replace_based_edit_tool",
        "Error: tool input is not valid JSON: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "Error: missing required field 'command' for bash",
    ]


def test_turn_limit_of_the_effort_level_ends_the_attempt(tmp_path):
    limits = "[efforts.max]\nmax_turns = 4\nmax_tokens = 1000\n"
    _, result, _ = fix_with_script(tmp_path, [plan_turn()] * 20, "--effort", "max", project_toml=limits)
    assert [(a["outcome"], a["turns"]) for a in result["attempts"]] == [("turn_limit", 4)]


def test_scripted_model_solves_and_records_the_plan(tmp_path):
    done, result, ledger = fix_with_script(tmp_path, [plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."}])
    assert done.returncode == 0, done.stderr
    plans = [event.data["text"] for event in ledger.events(result["run_id"], kinds=("plan",))]
    assert plans == ["Plan: the fault is in calc/ops.py; I will fix add() and run pytest."]
    assert [a["api_cost_usd"] for a in result["attempts"]] == [None]


@pytest.mark.parametrize("answer", ["complex_bug", "garbage words only"])
def test_classifier_model_decides_or_falls_back_to_rules(tmp_path, answer):
    (tmp_path / "classify.json").write_text(json.dumps({"rules": [{"turns": [{"text": answer}]}]}))
    (tmp_path / "user.toml").write_text(f'[planner]\nclassifier_model = "scripted:{tmp_path / "classify.json"}"\n')
    done = run_agent(
        tmp_path,
        "plan",
        "--text",
        "The total is wrong",
        "--json",
        env={"AGENT_CONFIG": str(tmp_path / "user.toml"), "ANTHROPIC_API_KEY": "k"},  # the ladder needs a usable model
    )
    data = json.loads(done.stdout)
    expected = ("complex_bug", "model") if answer == "complex_bug" else ("bug_fix", "rules")
    assert (data["task_type"], data["decided_by"]) == expected


def test_work_patch_events_follow_each_change_to_the_diff_and_only_changes(tmp_path):
    # The looks run in the background while the model thinks: each turn here thinks for 0.5 s.
    turns = [
        plan_turn(),  # a view: no look at the diff
        {"text": "Try.", "tool_calls": [{"name": "bash", "input": {"command": "echo '# note' >> calc/ops.py"}}]},
        {"text": "Check.", "tool_calls": [{"name": "bash", "input": {"command": "git status --short"}}]},  # no change
        edit_turn(RIGHT_FIX),
        {"text": "Fixed."},
    ]
    turns = [{**turn, "delay_s": 0.5} for turn in turns]
    done, result, ledger = fix_with_script(tmp_path, turns)
    assert done.returncode == 0, done.stderr
    patches = [event.data for event in ledger.events(result["run_id"], kinds=("work_patch",))]
    assert [(p["turn"], p["files"], p["added"], p["removed"]) for p in patches] == [(2, 1, 1, 0), (4, 1, 2, 1)]
    assert patches[0]["patch"].endswith("+# note\n")
    assert patches[-1]["patch"] == Path(result["patch_path"]).read_text()  # the last look is the delivered patch
