"""`agent tasks list|show|validate` in-process, on task files and on the whole built-in suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.builtin import TASKS_FILE
from tests.cli_helpers import run_agent
from tests.sandbox_helpers import needs_docker
from tests.task_file_helpers import RECORD, write_jsonl

BUILTIN_IDS = [json.loads(line)["instance_id"] for line in TASKS_FILE.read_text().splitlines()]


def test_list_json_from_a_task_file(tmp_path):
    path = write_jsonl(tmp_path / "suite.jsonl", RECORD)
    done = run_agent(tmp_path, "tasks", "list", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"instance_id": "calc__add", "task_type": "bug_fix", "difficulty": "easy", "repo": "acme/calc"}
    ]


def test_list_json_builtin(tmp_path):
    done = run_agent(tmp_path, "tasks", "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [row["instance_id"] for row in rows] == BUILTIN_IDS
    assert rows[0] == {
        "instance_id": "inicfg__bool-off",
        "task_type": "bug_fix",
        "difficulty": "easy",
        "repo": "builtin/inicfg",
    }


def test_malformed_file_exits_2_with_file_and_line(tmp_path):
    path = tmp_path / "suite.jsonl"
    path.write_text(json.dumps(RECORD) + "\n{\n")
    done = run_agent(tmp_path, "tasks", "list", str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}:2: invalid JSON")


def test_show_prints_issue_and_tests(tmp_path):
    done = run_agent(tmp_path, "tasks", "show", "tinyq__reserve-race")
    assert done.returncode == 0, done.stderr
    assert "tinyq__reserve-race  complex_bug / hard" in done.stdout
    assert "FAIL_TO_PASS (1)\n  tests/test_ids.py::test_reserve_is_atomic_between_threads\n" in done.stdout


def test_show_json_round_trips_the_task(tmp_path):
    done = run_agent(
        tmp_path, "tasks", "show", "calc__add", "--suite", str(write_jsonl(tmp_path / "s.jsonl", RECORD)), "--json"
    )
    assert done.returncode == 0, done.stderr
    assert {key: json.loads(done.stdout)[key] for key in RECORD} == RECORD


def test_show_unknown_id_exits_2(tmp_path):
    done = run_agent(tmp_path, "tasks", "show", "nope")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "error: no task nope in builtin: see `agent tasks list builtin`",
    )


def test_validate_unknown_id_exits_2(tmp_path):
    done = run_agent(tmp_path, "tasks", "validate", "--ids", "nope")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "error: no task nope in builtin: see `agent tasks list builtin`",
    )


@needs_docker
@pytest.mark.slow
def test_validate_whole_builtin_suite(tmp_path):
    done = run_agent(tmp_path, "tasks", "validate", "builtin", "--json")
    results = [json.loads(line) for line in done.stdout.splitlines()]
    problems = {r["instance_id"]: r["problems"] for r in results if not r["valid"]}
    assert done.returncode == 0, f"{problems} {done.stderr[-2000:]}"
    assert [r["instance_id"] for r in results] == BUILTIN_IDS
    assert [r["instance_id"] for r in results if not r["valid"]] == []
    assert all(r["gold"]["resolved"] and not r["base"]["resolved"] for r in results)


@needs_docker
def test_validate_reports_a_broken_task_and_exits_1(tmp_path):
    done = run_agent(tmp_path, "tasks", "show", "textkit__truncate-width", "--json")
    task = json.loads(done.stdout)
    broken = {**task, "PASS_TO_PASS": [*task["PASS_TO_PASS"], "tests/test_wrap.py::test_does_not_exist"]}
    path = write_jsonl(tmp_path / "broken.jsonl", broken)
    done = run_agent(tmp_path, "tasks", "validate", str(path), "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["valid"] is False
    assert result["problems"] == [
        "P2P fail at the base: tests/test_wrap.py::test_does_not_exist",
        "fail with the gold patch: tests/test_wrap.py::test_does_not_exist",
    ]
    assert result["base"]["tests"]["tests/test_wrap.py::test_does_not_exist"] == "missing"
    assert Path(task["repo_path"]).exists()
