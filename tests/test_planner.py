"""The planner: task type rules and the ladders they map to."""

import pytest

from agent.core.config import load_config
from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError
from agent.engine.planner import classify_by_rules, ladder_for, plan_ladder


@pytest.mark.parametrize(
    ("text", "labels", "task_type"),
    [
        ("SyntaxError: invalid syntax in utils.py line 3", [], "syntax_fix"),
        ("Add a __repr__ and docstrings to every model class (boilerplate)", [], "boilerplate"),
        ("The total is wrong: expected 10, actual 9", [], "bug_fix"),
        ("Please add support for YAML output; a new option --format would be nice", [], "feature"),
        ("Rename Client to Session across all modules", [], "multi_file_refactor"),
        ("Intermittent failure: a race condition when two threads refresh the cache", [], "complex_bug"),
        ("Redesign the storage layer into a plugin system", [], "architecture"),
        ("The parser has no tests for edge cases; write tests for it", [], "test_writing"),
        ("It does something odd", ["enhancement"], "feature"),
        ("hello", [], "bug_fix"),
    ],
)
def test_rules_classify_issue_texts(text, labels, task_type):
    assert classify_by_rules(text, labels).task_type == task_type


def test_reason_names_what_matched():
    decided = classify_by_rules("There is a deadlock in the worker pool")
    assert (decided.task_type, decided.reason, decided.decided_by) == ("complex_bug", "matched 'deadlock'", "rules")


def test_long_bug_reports_count_as_complex():
    assert classify_by_rules("wrong result. " + "x" * 5000).task_type == "complex_bug"


@pytest.fixture
def config(tmp_path):
    return load_config(env={"AGENT_HOME": str(tmp_path)})


@pytest.mark.parametrize(
    ("task_type", "first", "length"),
    [
        ("syntax_fix", "claude-opus-4-7@low", 10),
        ("boilerplate", "claude-opus-4-7@low", 10),
        ("bug_fix", "claude-opus-4-7@medium", 8),
        ("feature", "claude-opus-4-7@high", 6),
        ("multi_file_refactor", "claude-opus-4-7@xhigh", 4),
        ("complex_bug", "claude-opus-4-7@max", 2),
        ("architecture", "claude-opus-4-7@max", 2),
    ],
)
def test_default_ladders_start_where_the_guidance_says(config, task_type, first, length):
    ladder = ladder_for(task_type, config)
    assert (str(ladder[0]), len(ladder), str(ladder[-1])) == (first, length, "deepseek-v4-pro@max")


def test_feature_ladder_climbs_effort_then_moves_to_next_model(config):
    assert [str(rung) for rung in ladder_for("feature", config)] == [
        "claude-opus-4-7@high",
        "claude-opus-4-7@xhigh",
        "claude-opus-4-7@max",
        "deepseek-v4-pro@high",
        "deepseek-v4-pro@xhigh",
        "deepseek-v4-pro@max",
    ]


def test_project_config_overrides_a_task_type_ladder(tmp_path):
    (tmp_path / "agent.toml").write_text('[planner.task_types.bug_fix]\nladder = "gpt-5@high,claude-opus-4-7@max"\n')
    config = load_config(project_dir=tmp_path, env={"AGENT_HOME": str(tmp_path)})
    assert [str(rung) for rung in ladder_for("bug_fix", config)] == ["gpt-5@high", "claude-opus-4-7@max"]


def test_model_flag_climbs_from_effort_to_max(config):
    decided = classify_by_rules("bug")
    plan = plan_ladder(decided, config, model="gpt-5", effort=EffortLevel.XHIGH)
    assert ([str(rung) for rung in plan.ladder], plan.ladder_source) == (["gpt-5@xhigh", "gpt-5@max"], "--model")


def test_ladder_and_model_together_are_refused(config):
    with pytest.raises(ConfigError, match="either --ladder or --model"):
        plan_ladder(classify_by_rules("bug"), config, ladder_spec="m@low", model="m")
