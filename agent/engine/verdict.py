"""Whether an attempt fixed the issue: a rule that doing nothing can never satisfy.

An attempt is solved when the tests really ran and changed state: at least one test that failed at
the base commit passes after the change (or, when none failed there, a test the attempt wrote fails
on the base code and passes with the change: a reproduction), and no test that passed at the base
fails after it. With `--target` tests, every target must pass instead. Tests that failed at the
base and still fail are left out of the judging, and the verdict says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from agent.core.protocols import Sandbox
from agent.engine.evaluation import apply_patch
from agent.engine.testing import TestRun, run_tests


class Verdict(BaseModel):
    passed: bool
    why: str
    fixed: list[str] = Field(default_factory=list, description="failed (or uncollectable) at the base, pass now")
    reproduced: list[str] = Field(default_factory=list, description="written by the attempt: fail on the base code")
    broken: list[str] = Field(default_factory=list, description="passed at the base, do not pass now")
    still_failing: list[str] = Field(default_factory=list, description="failed at the base and still fail: not judged")


def baseline_failures(baseline: TestRun) -> list[str]:
    """The tests that fail at the base commit, and the test files pytest could not collect there."""
    return sorted(baseline.failing_ids) + sorted(baseline.collection_errors)


def needs_reproduction(baseline: TestRun, targets: list[str]) -> bool:
    """No test fails at the base commit: only a test the attempt writes can show its fix."""
    return not targets and not baseline_failures(baseline)


def name_list(names: Sequence[str], limit: int = 5) -> str:
    """The first `limit` names, comma-separated, then how many more there are."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _file_of(test: str) -> str:
    return test.split("::", 1)[0]


def candidates(run: TestRun, baseline: TestRun, patch_files: list[str]) -> list[str]:
    """Passing tests the attempt wrote or changed: new since the base, or in a test file it touched."""
    touched = set(patch_files)
    return sorted(
        test
        for test in run.passed_ids
        if baseline.tests.get(test) != "passed" or _file_of(test) in touched
        if test not in baseline.failing_ids
    )


def reproduced_at_base(sandbox: Sandbox, patch: str, tests: list[str], command: str, timeout: float) -> list[str]:
    """Which of `tests` fail on the base code with only the patch's changes to their files applied.

    `sandbox` is a fresh copy at the base commit. A test whose file cannot even be collected there
    (it imports what the fix adds) fails there too.
    """
    files = sorted({_file_of(test) for test in tests})
    if not files:
        return []
    if not apply_patch(sandbox, patch, only=files):
        return []
    at_base = run_tests(sandbox, command, timeout, keep_going=True)
    return [test for test in tests if test in at_base.failing_ids or _file_of(test) in at_base.collection_errors]


def judge(run: TestRun, targets: list[str], baseline: TestRun, reproduced: list[str] | None = None) -> Verdict:
    """The verdict on an attempt's test run against the baseline (`reproduced`: its tests that fail at the base)."""
    if run.timed_out:
        return Verdict(passed=False, why="the test command timed out")
    broken = sorted(baseline.passed_ids - run.passed_ids)
    still = sorted(baseline.failing_ids - run.passed_ids)
    if targets:
        missing = [target for target in targets if run.tests.get(target) != "passed"]
        if missing:
            return Verdict(passed=False, why=f"target tests not passing: {name_list(missing)}", broken=broken)
        if broken:
            return Verdict(passed=False, why=f"tests that passed at the base commit now fail: {name_list(broken)}")
        return Verdict(
            passed=True,
            why=f"all {len(targets)} target test(s) pass and nothing that passed before broke",
            fixed=list(targets),
        )
    uncollected = set(baseline.collection_errors)
    fixed = sorted(test for test in run.passed_ids if test in baseline.failing_ids or _file_of(test) in uncollected)
    added_failing = sorted(test for test in run.failing_ids if test not in baseline.tests)
    new_uncollected = sorted(set(run.collection_errors) - uncollected)
    verdict = Verdict(
        passed=False, why="", fixed=fixed, reproduced=reproduced or [], broken=broken, still_failing=still
    )
    if broken:
        verdict.why = f"tests that passed at the base commit now fail: {name_list(broken)}"
    elif new_uncollected:
        verdict.why = f"test files pytest collected at the base commit no longer collect: {name_list(new_uncollected)}"
    elif added_failing:
        verdict.why = f"tests the attempt added fail: {name_list(added_failing)}"
    elif fixed:
        verdict.passed = True
        verdict.why = f"{len(fixed)} test(s) that failed at the base commit pass: {name_list(fixed)}"
    elif verdict.reproduced:
        verdict.passed = True
        verdict.why = (
            f"{len(verdict.reproduced)} new test(s) fail on the base code and pass with the fix: "
            f"{name_list(verdict.reproduced)}"
        )
    elif baseline_failures(baseline):
        verdict.why = f"no test that failed at the base commit passes now ({name_list(baseline_failures(baseline))})"
    else:
        verdict.why = (
            "no test shows the fix: nothing failed at the base commit and no test the attempt wrote "
            "fails on the base code and passes with the change"
        )
    if still and verdict.passed:
        verdict.why += f"; not judged: {len(still)} test(s) that failed at the base still fail ({name_list(still)})"
    return verdict
