"""Per-test status from pytest's junit report, and how an attempt is judged."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.engine.testing import TestRun, detect_test_cmd, judge, parse_junit, with_junit
from tests.repo_helpers import CALC_FILES, ISSUE, RIGHT_FIX, edit_turn, make_repo, plan_turn
from tests.test_fix_cli import run_agent

SUITE = {
    "tests/__init__.py": "",
    "tests/test_a.py": (
        "import pytest\n\n\ndef test_ok():\n    pass\n\n\ndef test_bad():\n    assert False\n\n\n"
        "@pytest.mark.skip\ndef test_skip():\n    pass\n\n\n@pytest.mark.parametrize('n', [1, 2])\n"
        "def test_param(n):\n    assert n == 1\n\n\nclass TestGroup:\n    def test_inner(self):\n        pass\n"
    ),
}


def test_junit_report_gives_pytest_node_ids(tmp_path):
    repo = make_repo(tmp_path / "r", SUITE)
    command = with_junit("python -m pytest -q", str(tmp_path / "junit.xml"))
    assert command.startswith("PYTHONDONTWRITEBYTECODE=1 python -m pytest -q --junitxml=")
    subprocess.run(command.replace("python", sys.executable, 1), shell=True, cwd=repo, capture_output=True)
    assert parse_junit((tmp_path / "junit.xml").read_text()) == {
        "tests/test_a.py::test_ok": "passed",
        "tests/test_a.py::test_bad": "failed",
        "tests/test_a.py::test_skip": "skipped",
        "tests/test_a.py::test_param[1]": "passed",
        "tests/test_a.py::test_param[2]": "failed",
        "tests/test_a.py::TestGroup::test_inner": "passed",
    }


def _run(exit_code: int, **tests: str) -> TestRun:
    return TestRun(command="pytest", exit_code=exit_code, tests={k.replace("__", "::"): v for k, v in tests.items()})


def test_without_targets_the_exit_code_decides():
    assert judge(_run(0), [], None) == (True, "test command passed: no test report (exit 0)")
    assert judge(_run(1, t__a="failed"), [], None) == (False, "test command failed: 1 failed (exit 1)")


def test_with_targets_every_target_passes_and_nothing_breaks():
    baseline = _run(1, t__a="failed", t__b="passed", t__c="failed")
    assert judge(_run(1, t__a="passed", t__b="passed", t__c="failed"), ["t::a"], baseline)[0] is True
    assert judge(_run(1, t__a="failed", t__b="passed"), ["t::a"], baseline) == (
        False,
        "target tests not passing: t::a",
    )
    assert judge(_run(1, t__a="passed", t__b="failed"), ["t::a"], baseline) == (
        False,
        "tests that passed at baseline now fail: t::b",
    )


def test_timeout_never_passes():
    assert judge(TestRun(command="x", exit_code=0, timed_out=True), [], None) == (False, "the test command timed out")


@pytest.mark.parametrize(("files", "expected"), [({"tests/x.py": ""}, "python -m pytest -q"), ({"main.c": ""}, None)])
def test_detect_test_cmd(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert detect_test_cmd(tmp_path) == expected


def test_targets_judge_an_attempt_when_the_baseline_already_fails(tmp_path, make_fake, fake_env):
    files = {**CALC_FILES, "tests/test_unrelated.py": "def test_network():\n    assert False, 'needs network'\n"}
    repo = make_repo(tmp_path / "calc", files)
    (tmp_path / "issue.md").write_text(ISSUE)
    fake = make_fake({"rules": [{"turns": [plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."}]}]})
    done = run_agent(
        tmp_path,
        "fix",
        str(tmp_path / "issue.md"),
        "--repo",
        str(repo),
        "--test-cmd",
        "python -m pytest -q",
        "--ladder",
        "claude-opus-4-7@low",
        "--target",
        "tests/test_ops.py::test_add",
        "--sandbox",
        "local",
        "--json",
        env=fake_env(fake),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "solved"
