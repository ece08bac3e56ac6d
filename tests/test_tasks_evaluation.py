"""`evaluate_patch` on real sandboxes: gold resolves, empty and broken patches do not, infra is told apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.core.config import AgentConfig
from agent.engine.evaluation import evaluate_patch, patch_files
from agent.wiring import sandbox_factory
from tasks.builtin import builtin_tasks
from tasks.models import Task
from tests.sandbox_helpers import needs_docker

F2P = [
    "tests/test_wrap.py::test_truncate_counts_the_ellipsis_in_the_width",
    "tests/test_wrap.py::test_truncate_never_exceeds_width[12]",
    "tests/test_wrap.py::test_truncate_never_exceeds_width[18]",
    "tests/test_wrap.py::test_truncate_never_exceeds_width[5]",
    "tests/test_wrap.py::test_truncate_never_exceeds_width[8]",
    "tests/test_wrap.py::test_truncate_with_a_long_ellipsis",
]


@pytest.fixture(scope="module")
def truncate_task(tmp_path_factory) -> Task:
    tasks = builtin_tasks(tmp_path_factory.mktemp("home"))
    return next(t for t in tasks if t.instance_id == "textkit__truncate-width")


def factory(make_config, **overrides):
    config: AgentConfig = make_config(**overrides)
    return sandbox_factory(config, "eval-test")


def test_patch_files_lists_both_sides_of_a_rename():
    patch = "diff --git a/a.py b/b.py\nrename from a.py\nrename to b.py\ndiff --git a/t.py b/t.py\n"
    assert patch_files(patch) == ["a.py", "b.py", "t.py"]


@needs_docker
def test_gold_patch_resolves(truncate_task, make_config):
    report = evaluate_patch(truncate_task, truncate_task.patch, factory(make_config))
    assert (report.resolved, report.patch_applied, report.error_kind, report.error) == (True, True, None, None)
    assert report.FAIL_TO_PASS == {"success": F2P, "failure": []}
    assert report.PASS_TO_PASS["failure"] == []
    assert len(report.PASS_TO_PASS["success"]) == 18
    assert {report.tests[node] for node in F2P} == {"passed"}


@needs_docker
def test_empty_patch_shows_the_base_and_does_not_resolve(truncate_task, make_config):
    report = evaluate_patch(truncate_task, "", factory(make_config))
    assert (report.resolved, report.patch_applied, report.error_kind) == (False, True, None)
    assert report.FAIL_TO_PASS == {"success": [], "failure": F2P}
    assert report.PASS_TO_PASS["failure"] == []
    assert report.tests["tests/test_wrap.py::test_truncate_counts_the_ellipsis_in_the_width"] == "failed"


@needs_docker
def test_patch_that_does_not_apply_is_the_models_failure(truncate_task, make_config):
    patch = truncate_task.patch.replace("return text[:width] + ellipsis", "return text[:width] + '!!'")
    report = evaluate_patch(truncate_task, patch, factory(make_config))
    assert (report.resolved, report.patch_applied, report.error_kind) == (False, False, None)
    assert report.error == "the patch does not apply at the base commit (git apply failed)"
    assert report.FAIL_TO_PASS == {"success": [], "failure": F2P}


@needs_docker
def test_changes_to_judged_test_files_are_undone(truncate_task, make_config):
    cheat = (
        "diff --git a/tests/test_wrap.py b/tests/test_wrap.py\n--- a/tests/test_wrap.py\n+++ b/tests/test_wrap.py\n"
        "@@ -1,3 +1,4 @@\n+pytest_plugins = []\n import pytest\n \n from textkit import truncate, wrap\n"
    )
    report = evaluate_patch(truncate_task, truncate_task.patch + cheat, factory(make_config))
    assert (report.resolved, report.patch_applied) == (True, True)


@needs_docker
def test_test_timeout_is_infra(truncate_task, make_config):
    slow = truncate_task.model_copy(update={"test_cmd": "sleep 30; python -m pytest -q"})
    report = evaluate_patch(slow, truncate_task.patch, factory(make_config), timeout=1)
    assert (report.resolved, report.error_kind) == (False, "infra")
    assert report.error == "the test command timed out after 1 s"


@needs_docker
def test_missing_image_is_infra(truncate_task, make_config):
    report = evaluate_patch(truncate_task, truncate_task.patch, factory(make_config, sandbox__image="agent-nope:none"))
    assert (report.resolved, report.patch_applied, report.error_kind) == (False, False, "infra")
    assert report.error == "image agent-nope:none not found: run `agent sandbox build`"
    assert report.tests == {}


def test_missing_repository_is_infra(truncate_task, make_config, tmp_path):
    gone = truncate_task.model_copy(update={"repo_path": str(tmp_path / "gone")})
    report = evaluate_patch(gone, gone.patch, factory(make_config))
    assert (report.resolved, report.error_kind) == (False, "infra")
    assert report.error == f"task textkit__truncate-width: repository {tmp_path / 'gone'} does not exist: fix repo_path"
    assert Path(truncate_task.repo_path).exists()
