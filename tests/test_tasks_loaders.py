"""Task loading: SWE-bench field forms, file kinds, malformed files, cloning, and the built-in suite."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from agent.core.errors import TaskError
from agent.engine.planner import TASK_TYPES
from tasks.builtin import TASKS_FILE, builtin_tasks
from tasks.loaders import checkout_repo, find_task, load_tasks
from tasks.models import Task
from tests.repo_helpers import git, make_repo
from tests.task_file_helpers import RECORD, write_jsonl

AS_STRINGS = {
    **RECORD,
    "instance_id": "calc__strings",
    "FAIL_TO_PASS": json.dumps(RECORD["FAIL_TO_PASS"]),
    "PASS_TO_PASS": json.dumps(RECORD["PASS_TO_PASS"]),
}


def test_jsonl_reads_lists_and_json_encoded_strings_alike(tmp_path):
    tasks = load_tasks(str(write_jsonl(tmp_path / "suite.jsonl", RECORD, AS_STRINGS)), tmp_path)
    assert [t.instance_id for t in tasks] == ["calc__add", "calc__strings"]
    assert [t.FAIL_TO_PASS for t in tasks] == [["tests/test_ops.py::test_add"]] * 2
    assert [t.PASS_TO_PASS for t in tasks] == [["tests/test_ops.py::test_add_zero"]] * 2
    assert tasks[0].model_dump(exclude={"instance_id"}) == tasks[1].model_dump(exclude={"instance_id"})


@pytest.mark.parametrize("shape", ["list", "object"])
def test_json_file_as_list_or_tasks_object(tmp_path, shape):
    data = [RECORD, AS_STRINGS] if shape == "list" else {"tasks": [RECORD, AS_STRINGS]}
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(data))
    assert [t.instance_id for t in load_tasks(str(path), tmp_path)] == ["calc__add", "calc__strings"]


def test_directory_reads_json_and_jsonl_files_in_name_order(tmp_path):
    write_jsonl(tmp_path / "b.jsonl", AS_STRINGS)
    (tmp_path / "a.json").write_text(json.dumps([RECORD]))
    (tmp_path / "notes.txt").write_text("ignored")
    assert [t.instance_id for t in load_tasks(str(tmp_path), tmp_path)] == ["calc__add", "calc__strings"]


def test_relative_repo_path_is_relative_to_the_task_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = write_jsonl(tmp_path / "sub" / "suite.jsonl", {**RECORD, "repo_path": "../calc"})
    assert load_tasks(str(path), tmp_path)[0].repo_path == str(tmp_path / "calc")


def test_invalid_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "suite.jsonl"
    path.write_text(json.dumps(RECORD) + "\n\n{not json\n")
    with pytest.raises(TaskError, match=rf"^{path}:3: invalid JSON \(Expecting property name"):
        load_tasks(str(path), tmp_path)


def test_missing_field_names_file_line_and_field(tmp_path):
    record = {key: value for key, value in RECORD.items() if key != "problem_statement"}
    path = write_jsonl(tmp_path / "suite.jsonl", RECORD | {"instance_id": "ok"}, record)
    with pytest.raises(TaskError) as info:
        load_tasks(str(path), tmp_path)
    assert str(info.value) == f"{path}:2: field 'problem_statement': Field required"


def test_bad_json_string_list_is_a_task_error(tmp_path):
    path = write_jsonl(tmp_path / "suite.jsonl", {**RECORD, "FAIL_TO_PASS": "[not json"})
    with pytest.raises(TaskError) as info:
        load_tasks(str(path), tmp_path)
    assert str(info.value) == f"{path}:1: field 'FAIL_TO_PASS': Value error, Expecting value: line 1 column 2 (char 1)"


def test_json_file_that_is_not_a_list(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text('{"instance_id": "x"}')
    with pytest.raises(TaskError, match=r"expected a list of tasks"):
        load_tasks(str(path), tmp_path)


def test_duplicate_ids_rejected(tmp_path):
    path = write_jsonl(tmp_path / "suite.jsonl", RECORD, RECORD)
    with pytest.raises(TaskError, match="instance_id calc__add appears twice"):
        load_tasks(str(path), tmp_path)


def test_unknown_suite(tmp_path):
    with pytest.raises(TaskError, match="no task suite"):
        load_tasks(str(tmp_path / "nope.jsonl"), tmp_path)


def test_find_task_unknown_id_says_where_to_look(tmp_path):
    path = write_jsonl(tmp_path / "suite.jsonl", RECORD)
    with pytest.raises(TaskError) as info:
        find_task("nope", str(path), tmp_path)
    assert str(info.value) == f"no task nope in {path}: see `agent tasks list {path}`"
    assert find_task("calc__add", str(path), tmp_path).instance_id == "calc__add"


# --- cloning --------------------------------------------------------------------------------
def remote_task(url: str | None, commit: str) -> Task:
    return Task(instance_id="calc__add", repo="acme/calc", base_commit=commit, problem_statement="x", repo_path=url)


def test_clone_url_is_cloned_once_into_the_cache(tmp_path):
    origin = make_repo(tmp_path / "origin")
    commit = git(origin, "rev-parse", "HEAD").strip()
    home = tmp_path / "home"
    first = checkout_repo(remote_task(f"file://{origin}", commit), home)
    assert Path(str(first.repo_path)).parent == home / "cache" / "repos"
    assert git(Path(str(first.repo_path)), "rev-parse", f"{commit}^{{commit}}").strip() == commit
    second = checkout_repo(remote_task(f"file://{origin}", commit), home)
    assert second.repo_path == first.repo_path


def test_cached_clone_fetches_a_newer_base_commit(tmp_path):
    origin = make_repo(tmp_path / "origin")
    home = tmp_path / "home"
    checkout_repo(remote_task(f"file://{origin}", git(origin, "rev-parse", "HEAD").strip()), home)
    (origin / "more.txt").write_text("more\n")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "more")
    newer = git(origin, "rev-parse", "HEAD").strip()
    local = checkout_repo(remote_task(f"file://{origin}", newer), home)
    assert git(Path(str(local.repo_path)), "rev-parse", f"{newer}^{{commit}}").strip() == newer


def test_clone_failure_is_a_task_error(tmp_path):
    with pytest.raises(TaskError, match=r"^task calc__add: `git clone` failed .*set repo_path to a local clone$"):
        checkout_repo(remote_task(f"file://{tmp_path}/missing", "abc"), tmp_path / "home")
    assert list((tmp_path / "home" / "cache" / "repos").iterdir()) == []


def test_missing_base_commit_in_clone(tmp_path):
    origin = make_repo(tmp_path / "origin")
    with pytest.raises(TaskError, match="base commit 0123456789abcdef is not in"):
        checkout_repo(remote_task(f"file://{origin}", "0123456789abcdef"), tmp_path / "home")


def test_local_repo_path_is_used_as_it_is(tmp_path):
    origin = make_repo(tmp_path / "origin")
    task = remote_task(str(origin), "HEAD")
    assert checkout_repo(task, tmp_path / "home") is task


# --- the built-in suite ---------------------------------------------------------------------
def test_builtin_suite_covers_every_task_type_and_difficulty(tmp_path):
    tasks = load_tasks("builtin", tmp_path / "home")
    assert len(tasks) >= 30
    assert set(Counter(t.task_type for t in tasks)) == set(TASK_TYPES)
    assert {t.difficulty for t in tasks} == {"easy", "medium", "hard"}
    assert len({t.repo for t in tasks}) == 5
    assert all(t.FAIL_TO_PASS and t.patch and t.test_patch and t.test_cmd for t in tasks)


def test_builtin_base_commits_are_deterministic(tmp_path):
    records = [json.loads(line) for line in TASKS_FILE.read_text().splitlines()]
    tasks = builtin_tasks(tmp_path / "home")
    assert [t.base_commit for t in tasks] == [r["base_commit"] for r in records]
    for task in tasks:
        tree = subprocess.run(
            ["git", "--git-dir", str(task.repo_path), "ls-tree", "-r", "--name-only", task.base_commit],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "README.md" in tree.splitlines()
        parents = subprocess.run(
            ["git", "--git-dir", str(task.repo_path), "rev-list", "--count", task.base_commit],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert parents.strip() == "1"  # no history leads to the fix


def test_builtin_materialization_is_safe_in_parallel(tmp_path):
    results: list[list[Task]] = []
    threads = [threading.Thread(target=lambda: results.append(builtin_tasks(tmp_path / "home"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all([t.base_commit for t in r] == [t.base_commit for t in results[0]] for r in results)
    cache = tmp_path / "home" / "cache" / "builtin"
    assert sorted(p.name.rsplit("-", 1)[0] for p in cache.iterdir()) == [
        "inicfg",
        "ledgerlite",
        "shopcart",
        "textkit",
        "tinyq",
    ]


@pytest.mark.slow
def test_tasks_jsonl_is_up_to_date_with_its_sources():
    done = subprocess.run(
        [sys.executable, "-m", "agent.bench.build_suite", "--check"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
