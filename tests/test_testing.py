"""Per-test status from pytest's junit report, the usual test command, and judging by --target."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.engine.testing import detect_test_cmd, parse_junit, with_junit
from tests.cli_helpers import run_agent
from tests.repo_helpers import CALC_FILES, ISSUE, RIGHT_FIX, edit_turn, make_repo, plan_turn

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
