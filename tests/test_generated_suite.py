"""The generated suite `generated:N[:SEED]`: deterministic, distinct, and every template's task real.

One task of each template, taken from the second half of `generated:300`, is checked with real git and
real pytest: at the base with the test patch its FAIL_TO_PASS tests fail and its PASS_TO_PASS tests pass
(and pytest collects exactly those), with the gold patch all of them pass. The sim population's server
finds each of the 300 tasks from its issue text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anthropic
import pytest

from agent.core.errors import TaskError
from agent.engine.prompts import system_prompt, task_message
from agent.engine.testing import parse_junit
from agent.fake_provider.sim import SIM_API_KEY, SimResponder, start_sim
from agent.simulate.population import load_population
from agent.simulate.sim_turns import changed_files
from tasks.generated import generated_tasks, parse_spec
from tasks.generated.repos import materialize
from tasks.generated.suite import TEMPLATES, draft_tasks
from tasks.loaders import load_tasks
from tasks.models import Task
from tests.cli_helpers import run_agent

SUITE = [draft.task for draft in draft_tasks(300, 0)]
TEMPLATE_NAMES = sorted(template.__name__ for template in TEMPLATES)
PYTEST_ENV = {"PATH": os.environ["PATH"], "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def template_of(task: Task) -> str:
    return next(label.removeprefix("template:") for label in task.labels if label.startswith("template:"))


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Task]:
    """One task per template from the second half of `generated:300`, materialized."""
    chosen: dict[str, Task] = {}
    drafts = draft_tasks(300, 0)
    for draft in drafts[150:]:
        chosen.setdefault(template_of(draft.task), draft.task)
    by_id = {draft.task.instance_id: draft for draft in drafts}
    picked = [by_id[task.instance_id] for task in chosen.values()]
    located = materialize([draft.repo for draft in picked], tmp_path_factory.mktemp("home"))
    return {
        template_of(draft.task): draft.task.model_copy(update={"repo_path": str(path), "base_commit": commit})
        for draft, (path, commit) in zip(picked, located, strict=True)
    }


# Determinism and distinctness.


def test_the_same_seed_gives_the_same_tasks_and_commits_on_any_machine(tmp_path):
    first = generated_tasks(16, 4, tmp_path / "one")
    again = generated_tasks(16, 4, tmp_path / "two")
    fields = ("instance_id", "base_commit", "patch", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS", "problem_statement")
    assert [task.model_dump(include=set(fields)) for task in first] == [
        task.model_dump(include=set(fields)) for task in again
    ]
    for task in first[:3]:
        head = subprocess.run(["git", "-C", task.repo_path, "rev-parse", "main"], capture_output=True, text=True)
        assert head.stdout.strip() == task.base_commit
        assert Path(task.repo_path).name == f"{task.instance_id}-{task.base_commit[:12]}"


def test_a_cached_suite_loads_the_repositories_already_written(tmp_path):
    written = generated_tasks(5, 0, tmp_path)
    stamps = {task.repo_path: os.stat(task.repo_path).st_mtime_ns for task in written}
    assert load_tasks("generated:5", tmp_path) == written
    assert {task.repo_path: os.stat(task.repo_path).st_mtime_ns for task in written} == stamps


def test_another_seed_gives_other_tasks():
    other = [draft.task for draft in draft_tasks(30, 1)]
    assert not {task.instance_id for task in other} & {task.instance_id for task in SUITE}
    assert not {task.patch for task in other} & {task.patch for task in SUITE}
    assert not {task.problem_statement for task in other} & {task.problem_statement for task in SUITE}


def test_a_smaller_suite_is_the_start_of_a_larger_one():
    assert [draft.task for draft in draft_tasks(20, 0)] == SUITE[:20]


def test_300_tasks_have_distinct_ids_and_no_issue_text_inside_another():
    statements = [task.problem_statement for task in SUITE]
    assert len({task.instance_id for task in SUITE}) == len({task.repo for task in SUITE}) == 300
    inside = [
        (a.instance_id, b.instance_id)
        for a in SUITE
        for b in SUITE
        if a is not b and a.problem_statement in b.problem_statement
    ]
    assert (len(set(statements)), inside) == (300, [])


def test_every_template_type_and_difficulty_is_in_the_mix():
    assert sorted(Counter(template_of(task) for task in SUITE[:14])) == TEMPLATE_NAMES
    assert set(Counter(template_of(task) for task in SUITE).values()) <= {21, 22}
    assert Counter(task.task_type for task in SUITE) == {
        "bug_fix": 152,
        "complex_bug": 42,
        "feature": 43,
        "boilerplate": 21,
        "multi_file_refactor": 21,
        "syntax_fix": 21,
    }
    assert Counter(task.difficulty for task in SUITE) == {"easy": 110, "medium": 124, "hard": 66}


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [("generated:300", (300, 0)), ("generated:12:7", (12, 7)), ("builtin", None), ("generated", None)],
)
def test_suite_specs(spec, parsed):
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["generated:0", "generated:x", "generated:3:-1", "generated:1:2:3", "generated:10001"])
def test_a_malformed_spec_says_how_to_write_it(spec):
    with pytest.raises(TaskError, match=r"write generated:N or generated:N:SEED \(N from 1 to 10000"):
        load_tasks(spec, Path("/nonexistent"))


# Each template's task, with real git and pytest.


def run_pytest(work: Path) -> dict[str, str]:
    report = work.parent / f"{work.name}.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        "-o",
        "junit_family=xunit1",
    ]
    subprocess.run(command, cwd=work, env=PYTEST_ENV, capture_output=True, timeout=120, check=False)
    return parse_junit(report.read_text())


def git(work: Path, *args: str, stdin: str | None = None) -> None:
    subprocess.run(["git", *args], cwd=work, input=stdin, capture_output=True, text=True, check=True)


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_each_templates_test_fails_at_the_base_and_passes_with_the_gold_patch(samples, template, tmp_path):
    task = samples[template]
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(task.repo_path), str(work))
    git(work, "apply", "-", stdin=task.test_patch)
    at_base = run_pytest(work)
    git(work, "apply", "-", stdin=task.patch)
    with_gold = run_pytest(work)
    expected_base = {**dict.fromkeys(task.FAIL_TO_PASS, "failed"), **dict.fromkeys(task.PASS_TO_PASS, "passed")}
    assert (at_base, with_gold) == (expected_base, dict.fromkeys(expected_base, "passed"))
    assert task.FAIL_TO_PASS and task.PASS_TO_PASS


def test_the_sim_server_finds_every_task_by_its_issue(samples):
    responder = SimResponder(load_population(), SUITE)
    assert [responder.match_task(task_message(task.display_title, task.problem_statement)) for task in SUITE] == SUITE
    with start_sim(SUITE) as fake:
        client = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key=SIM_API_KEY, max_retries=0)
        for task in samples.values():
            reply = client.messages.create(
                model="sim-frontier",
                max_tokens=16000,
                system=system_prompt("/testbed", "python -m pytest -q", []),
                messages=[{"role": "user", "content": task_message(task.display_title, task.problem_statement)}],
                extra_body={"output_config": {"effort": "high"}},
            )
            texts = [block.text for block in reply.content if block.type == "text"]
            assert texts == [
                f"Plan: the fault is in {', '.join(changed_files(task.patch))}; read it, fix it, then run the tests."
            ]


# The command line.


def test_generate_writes_a_task_file_that_loads_as_the_same_tasks(tmp_path):
    out = tmp_path / "suite.jsonl"
    ran = run_agent(tmp_path, "tasks", "generate", "--count", "3", "--seed", "5", "--out", str(out))
    assert (ran.code, ran.stderr) == (0, "")
    assert ran.stdout.startswith(f"wrote 3 tasks to {out}")
    home = tmp_path / "agent-home"
    assert load_tasks(str(out), home) == generated_tasks(3, 5, home)
    listed = run_agent(tmp_path, "tasks", "list", "generated:3:5", "--json")
    assert [row["instance_id"] for row in json.loads(listed.stdout)] == [
        task.instance_id for task in generated_tasks(3, 5, home)
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tasks", "list", "generated:many"), "error: suite 'generated:many': write generated:N or generated:N:SEED"),
        (
            ("tasks", "generate", "--count", "0", "--out", "x.jsonl"),
            "error: --count 0 --seed 0: give a count of 1 or more",
        ),
    ],
)
def test_bad_generate_input_is_one_line_and_exit_2(tmp_path, args, message):
    ran = run_agent(tmp_path, *args)
    assert (ran.code, ran.stderr.count("\n"), ran.stderr.startswith(message)) == (2, 1, True)
