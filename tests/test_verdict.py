"""A fix counts as solved only when a test shows it: the verdict rule, and `agent fix` refusing what cannot.

Unit tests pin `judge` on runs built by hand and the junit reading on real pytest runs; the CLI tests
run `agent fix` in-process with a scripted model on real git repositories (local sandbox, the fake
provider over the real SDK) and count the requests the provider received.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.engine.testing import (
    TestRun,
    environment_collection_errors,
    read_junit,
    unusable_test_command,
    unverifiable,
    with_junit,
)
from agent.engine.verdict import candidates, judge
from tests.cli_helpers import Ran, run_agent
from tests.repo_helpers import CALC_FILES, ISSUE, RIGHT_FIX, edit_turn, git, make_repo, plan_turn


def _run(exit_code: int = 1, collection_errors: dict[str, str] | None = None, **tests: str) -> TestRun:
    return TestRun(
        command="pytest",
        exit_code=exit_code,
        tests={k.replace("__", "::"): v for k, v in tests.items()},
        collection_errors=collection_errors or {},
    )


# --- judge: doing nothing never passes ---------------------------------------------------------
def test_a_run_that_changes_nothing_is_not_solved():
    baseline = _run(0, t__a="passed", t__b="passed")
    verdict = judge(_run(0, t__a="passed", t__b="passed"), [], baseline)
    assert (verdict.passed, verdict.fixed, verdict.reproduced) == (False, [], [])
    assert verdict.why.startswith("no test shows the fix: nothing failed at the base commit")


def test_a_failing_baseline_test_that_passes_is_the_fix_and_unrelated_failures_are_named_not_judged():
    baseline = _run(1, t__bug="failed", t__net="failed", t__ok="passed")
    verdict = judge(_run(1, t__bug="passed", t__net="failed", t__ok="passed"), [], baseline)
    assert (verdict.passed, verdict.fixed, verdict.still_failing) == (True, ["t::bug"], ["t::net"])
    assert verdict.why == (
        "1 test(s) that failed at the base commit pass: t::bug; "
        "not judged: 1 test(s) that failed at the base still fail (t::net)"
    )


@pytest.mark.parametrize(
    ("after", "why"),
    [
        ({"t__bug": "failed", "t__ok": "passed"}, "no test that failed at the base commit passes now (t::bug)"),
        ({"t__bug": "passed", "t__ok": "failed"}, "tests that passed at the base commit now fail: t::ok"),
        ({"t__bug": "passed", "t__ok": "passed", "t__new": "failed"}, "tests the attempt added fail: t::new"),
        ({"t__bug": "passed"}, "tests that passed at the base commit now fail: t::ok"),  # deleting a test breaks it
    ],
)
def test_what_keeps_an_attempt_from_passing(after, why):
    verdict = judge(_run(1, **after), [], _run(1, t__bug="failed", t__ok="passed"))
    assert (verdict.passed, verdict.why) == (False, why)


def test_a_new_test_passes_only_when_it_reproduced_the_issue_at_the_base():
    baseline = _run(0, t__ok="passed")
    after = _run(0, t__ok="passed", t__new="passed")
    assert candidates(after, baseline, ["t"]) == ["t::new", "t::ok"]
    assert judge(after, [], baseline).passed is False
    verdict = judge(after, [], baseline, reproduced=["t::new"])
    assert (verdict.passed, verdict.why) == (True, "1 new test(s) fail on the base code and pass with the fix: t::new")


def test_tests_of_a_file_that_could_not_be_collected_at_the_base_count_as_fixed():
    baseline = _run(2, {"tests/test_a.py": "SyntaxError: invalid syntax"}, tests__test_b_py__test_b="passed")
    after = _run(0, tests__test_a_py__test_a="passed", tests__test_b_py__test_b="passed")
    after.tests = {"tests/test_a.py::test_a": "passed", "tests/test_b.py::test_b": "passed"}
    baseline.tests = {"tests/test_b.py::test_b": "passed"}
    assert judge(after, [], baseline).fixed == ["tests/test_a.py::test_a"]


def test_targets_judge_alone_and_a_timeout_never_passes():
    baseline = _run(1, t__a="failed", t__b="passed", t__c="failed")
    assert judge(_run(1, t__a="passed", t__b="passed", t__c="failed"), ["t::a"], baseline).passed is True
    assert judge(_run(1, t__a="failed", t__b="passed"), ["t::a"], baseline).why == "target tests not passing: t::a"
    timed_out = TestRun(command="pytest", exit_code=0, timed_out=True, tests={"t::a": "passed"})
    assert judge(timed_out, ["t::a"], baseline).why == "the test command timed out"


# --- what cannot verify anything is refused ------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("", "--test-cmd is empty"),
        ("   ", "--test-cmd is empty"),
        ("true", "--test-cmd 'true' does not run pytest"),
        ("make test", "--test-cmd 'make test' does not run pytest"),
        ("python -m pytest -q", None),
    ],
)
def test_test_commands_that_cannot_show_a_fix(command, why):
    problem = unusable_test_command(command)
    assert (problem if why is None else (problem or "")[: len(why)]) == why


def test_a_baseline_without_a_report_or_with_targets_that_already_pass_is_unverifiable():
    silent = TestRun(command="python -m pytest -q || true", exit_code=0)
    assert unverifiable(silent, []) == (
        "the test command ran no test the runner can see (no per-test report, exit 0): "
        "pass a pytest command with --test-cmd, e.g. 'python -m pytest -q'"
    )
    passing = _run(0, t__a="passed")
    assert (unverifiable(passing, ["t::a"]) or "").startswith("--target t::a already passes at the base commit")


def test_collection_errors_are_read_from_the_report_and_told_apart(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/broken.py": "def f(:\n",
        "tests/test_code.py": "from pkg.broken import f\n\ndef test_f():\n    pass\n",
        "tests/test_env.py": "import nosuchthirdparty\n\ndef test_g():\n    pass\n",
        "tests/test_fine.py": "def test_h():\n    pass\n",
    }
    repo = make_repo(tmp_path / "r", files)
    report = tmp_path / "junit.xml"
    command = with_junit("python -m pytest -q", str(report), keep_going=True).replace("python", sys.executable, 1)
    subprocess.run(command, shell=True, cwd=repo, capture_output=True)
    junit = read_junit(report.read_text())
    assert junit.tests == {"tests/test_fine.py::test_h": "passed"}  # the other files do not hide it
    assert junit.collection_errors == {
        "tests/test_code.py": "SyntaxError: invalid syntax",
        "tests/test_env.py": "ModuleNotFoundError: No module named 'nosuchthirdparty'",
    }
    run = TestRun(command="pytest", exit_code=1, tests=junit.tests, collection_errors=junit.collection_errors)
    modules = {"pkg": "root", "tests": "root"}
    assert environment_collection_errors(run, modules) == {
        "tests/test_env.py": "ModuleNotFoundError: No module named 'nosuchthirdparty'"
    }


# --- agent fix end to end -------------------------------------------------------------------------
NOTE = {
    "text": "Writing a note.",
    "tool_calls": [
        {
            "name": "str_replace_based_edit_tool",
            "input": {"command": "create", "path": "NOTE.txt", "file_text": "looked at it\n"},
        }
    ],
}
NO_OP = {"rules": [{"turns": [plan_turn(), NOTE, {"text": "Done."}]}]}
PASSING_FILES = {**CALC_FILES, "calc/ops.py": '"""Operations."""\n\n\ndef add(a, b):\n    return a + b\n'}


def _fix(tmp_path: Path, repo: Path, fake, fake_env, *extra: str) -> Ran:
    (tmp_path / "issue.md").write_text(ISSUE)
    args = ["fix", str(tmp_path / "issue.md"), "--repo", str(repo), "--ladder", "claude-opus-4-7@low"]
    return run_agent(tmp_path, *args, "--sandbox", "local", "--no-tui", *extra, env=fake_env(fake))


@pytest.mark.parametrize("command", ["", " ", "true", ":", "echo tests ok", "exit 0", "python -c 'print(1)'"])
def test_an_empty_or_trivial_test_command_exits_2_before_any_model_call(tmp_path, make_fake, fake_env, command):
    repo = make_repo(tmp_path / "calc", PASSING_FILES)
    fake = make_fake(NO_OP)
    done = _fix(tmp_path, repo, fake, fake_env, "--test-cmd", command, "--json")
    assert done.code == 2, done.stdout + done.stderr
    assert "no model was called" in done.stderr and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["error_kind"] == "environment"
    assert fake.requests == []
    assert git(repo, "branch", "--list", "agent/*") == ""


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"tests/test_net.py": "import nosuchthirdparty\n\n\ndef test_net():\n    pass\n"}, "tests/test_net.py"),
        ({}, "collected no tests"),
    ],
)
def test_an_uncollectable_or_empty_baseline_exits_2_before_any_model_call(tmp_path, make_fake, fake_env, extra, says):
    files = {**PASSING_FILES, **extra}
    repo = make_repo(tmp_path / "calc", files)
    fake = make_fake(NO_OP)
    command = "python -m pytest -q" if extra else "python -m pytest -q -k nosuchtest"
    done = _fix(tmp_path, repo, fake, fake_env, "--test-cmd", command)
    assert done.code == 2, done.stdout + done.stderr
    assert says in done.stderr and "no model was called" in done.stderr
    assert fake.requests == []


@pytest.mark.parametrize("files", [PASSING_FILES, CALC_FILES], ids=["baseline-passes", "baseline-fails"])
def test_an_edit_of_an_unrelated_file_is_never_delivered_as_solved(tmp_path, make_fake, fake_env, files):
    repo = make_repo(tmp_path / "calc", files)
    fake = make_fake(NO_OP)
    done = _fix(tmp_path, repo, fake, fake_env, "--test-cmd", "python -m pytest -q", "--json")
    assert done.code == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["solved"]) == ("unsolved", False)
    assert git(repo, "branch", "--list", "agent/*") == ""
    assert len(fake.requests) == 3


REPRO_TEST = "from calc.ops import add\n\n\ndef test_add_negative():\n    assert add(-2, -3) == -5\n"
NOT_A_REPRO = "from calc.ops import add\n\n\ndef test_add_zeros():\n    assert add(0, 0) == 0\n"
BUGGY_NEGATIVE = '"""Operations."""\n\n\ndef add(a, b):\n    return abs(a) + abs(b)\n'


def _write(path: str, text: str) -> dict:
    return {
        "text": f"Writing {path}.",
        "tool_calls": [
            {"name": "str_replace_based_edit_tool", "input": {"command": "create", "path": path, "file_text": text}}
        ],
    }


@pytest.mark.parametrize(("test_text", "solved"), [(REPRO_TEST, True), (NOT_A_REPRO, False)])
def test_when_every_test_passes_only_a_reproducing_test_can_solve(tmp_path, make_fake, fake_env, test_text, solved):
    tests = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    repo = make_repo(tmp_path / "calc", {**CALC_FILES, "calc/ops.py": BUGGY_NEGATIVE, "tests/test_ops.py": tests})
    fix = edit_turn({"old_str": "return abs(a) + abs(b)", "new_str": "return a + b"})
    script = {"rules": [{"turns": [plan_turn(), _write("tests/test_negative.py", test_text), fix, {"text": "Done."}]}]}
    fake = make_fake(script)
    done = _fix(tmp_path, repo, fake, fake_env, "--test-cmd", "python -m pytest -q", "--json")
    result = json.loads(done.stdout)
    assert (done.code, result["solved"]) == ((0, True) if solved else (1, False)), done.stderr
    system = fake.requests[0].body["system"]
    text = system if isinstance(system, str) else " ".join(block["text"] for block in system)
    assert "Your first job is a reproduction" in text
    if solved:
        patch = Path(result["patch_path"]).read_text()
        assert "tests/test_negative.py" in patch and "return a + b" in patch


def test_unrelated_baseline_failures_are_named_with_a_target_hint_and_do_not_block(tmp_path, make_fake, fake_env):
    files = {**CALC_FILES, "tests/test_net.py": "def test_download():\n    assert False, 'needs the network'\n"}
    repo = make_repo(tmp_path / "calc", files)
    fake = make_fake({"rules": [{"turns": [plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."}]}]})
    done = _fix(tmp_path, repo, fake, fake_env, "--test-cmd", "python -m pytest -q")
    assert done.code == 0, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert (
        "baseline: 2 test(s) fail at the base commit: tests/test_net.py::test_download, tests/test_ops.py::test_add."
        in out
    )
    assert "To judge by the tests about this issue only, pass them with --target (repeatable)" in out
    assert (
        "tests PASS 1 test(s) that failed at the base commit pass: tests/test_ops.py::test_add; not judged: "
        "1 test(s) that failed at the base still fail (tests/test_net.py::test_download)" in out
    )
    assert (
        "not judged: 1 test(s) failed at the base commit and still fail (tests/test_net.py::test_download); "
        "to judge by the tests about this issue only, pass them with --target" in out
    )
