"""Mining an eval set: which tests each candidate commit turns from failing to passing, in sandboxes.

Each candidate (`tasks.history.Candidate`) gets two sandboxes at its parent commit, side by side:
one with the test patch applied ("before the change"), one with the gold patch too ("with the
change"); both patches are applied before any test runs. The test modules the test patch touches
run in both at once, `runs` (3) times. FAIL_TO_PASS: the tests that do not pass (fail, error, or
are missing) in any run before and pass in every run with the change; PASS_TO_PASS: those that pass
in every run of both, the first 50 by name. A test that passes in some runs of one side and not in
others is flaky and in neither list. The runs stop as soon as no test is left going from failing to
passing (more runs only remove tests), so a commit that fixes nothing costs one run a side.

A candidate is skipped with one reason of `SKIP_REASONS` and one cause of `CAUSES` (what the
summary counts): its patches do not apply; the environment cannot run its tests (the sandbox or
the environment image cannot be made, or, with the change, a module the environment lacks, test
files pytest cannot collect, no test collected, pytest crashing; the same files uncollectable on
both sides count here too, whatever the error); its tests cannot run for another reason (no test
module, a timeout, an OOM kill, pytest not starting or writing no report); or no test goes from
failing to passing. Before the change a run that cannot collect the tests (a conftest importing
what the change adds) means no test passes there.
A kept candidate becomes a SWE-bench-style `Task`: the task type from the planner's classifier, the
difficulty from the size of the gold patch (`tasks.history.difficulty`).
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field

from agent.core.errors import AgentError
from agent.core.protocols import Sandbox
from agent.engine.evaluation import DEFAULT_TEST_CMD, OOM_EXIT, apply_patch
from agent.engine.testing import (
    MISSING_MODULE,
    PYTEST_NO_TESTS,
    TestRun,
    environment_problem,
    repo_modules,
    run_tests,
    unverifiable,
)
from tasks.history import Candidate, RepoInfo, Statement, difficulty
from tasks.models import Task

RUNS = 3
P2P_CAP = 50
SKIP_REASONS = {
    "does_not_apply": "patch does not apply",
    "environment_error": "environment",
    "tests_cannot_run": "tests cannot run",
    "no_fail_to_pass": "no FAIL_TO_PASS test",
}
CAUSES = {
    "patch": "the patch does not apply",
    "test_patch": "the test patch does not apply",
    "sandbox": "sandbox or environment image cannot be made",
    "module_not_found": "module not found",
    "collection_errors": "collection errors",
    "no_tests_collected": "no tests collected",
    "pytest_crashed": "pytest crashed",
    "no_test_module": "no test module in the test patch",
    "timeout": "timeout",
    "out_of_memory": "out of memory",
    "pytest_cannot_start": "pytest cannot start or writes no report",
    "no_fail_to_pass": "no test goes from failing to passing",
}
NO_FAIL_TO_PASS = "no test fails before the change and passes after it"
SIDES = ("before the change", "with the change")
TestResults = dict[str, str]
"""One run's node id -> passed|failed|error|skipped."""


class Problem(BaseModel):
    """Why one run's results cannot be used: a skip reason, its cause, and the detail."""

    reason: str
    cause: str
    detail: str
    uncollected: list[str] = Field(default_factory=list)  # the test files pytest could not collect


Outcome = TestResults | Problem


class MineSettings(BaseModel):
    """What every candidate of one mining run shares."""

    model_config = ConfigDict(frozen=True)

    repo: RepoInfo
    test_cmd: str = DEFAULT_TEST_CMD
    setup: str | None = Field(None, description="The environment's setup command, recorded in each task.")
    image: str | None = Field(None, description="The sandbox image used as it is, recorded in each task.")
    timeout_s: float = Field(180, description="Per run of the test command.")
    runs: int = Field(RUNS, ge=1, description="Runs per side; a test whose result differs between them is flaky.")
    p2p_cap: int = Field(P2P_CAP, ge=0)


class Verdict(BaseModel):
    """The outcome for one candidate: its test lists, or why it is skipped."""

    skip: str | None = None  # a key of SKIP_REASONS; None when the candidate is kept
    cause: str = ""  # a key of CAUSES when skipped
    detail: str = ""
    uncollected: list[str] = Field(default_factory=list)  # test files pytest could not collect
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    flaky: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, problem: Problem, side: str) -> Verdict:
        detail = f"{side}: {problem.detail}"
        return cls(skip=problem.reason, cause=problem.cause, detail=detail, uncollected=problem.uncollected)


class Skip(BaseModel):
    commit: str
    subject: str
    reason: str
    cause: str
    detail: str


class MiningProgress(BaseModel):
    """Where a mining run is: sent before each candidate (`current`), after it (`outcome`), and
    once at the end (both empty)."""

    scanned: int
    kept: int
    skipped: int
    current: str = ""
    outcome: str = ""  # "kept (2 FAIL_TO_PASS)" or "skipped: environment (collection errors in test.py)"


class MiningResult(BaseModel):
    tasks: list[Task]
    skips: list[Skip]

    def skipped(self) -> dict[str, int]:
        """Skipped candidates per reason, every reason present."""
        return {reason: sum(skip.reason == reason for skip in self.skips) for reason in SKIP_REASONS}

    def causes(self) -> dict[str, int]:
        """Skipped candidates per cause, only the causes met, most frequent first."""
        counted = {cause: sum(skip.cause == cause for skip in self.skips) for cause in CAUSES}
        return dict(sorted(((cause, n) for cause, n in counted.items() if n), key=lambda item: -item[1]))


def _ignore(_value: object) -> None:
    return None


def mine(
    candidates: Iterable[Candidate],
    settings: MineSettings,
    make_sandbox: Callable[[Task], Sandbox],
    *,
    describe: Callable[[Candidate], Statement],
    classify: Callable[[Task, list[str]], str],
    max_tasks: int | None = None,
    on_task: Callable[[Task], None] = _ignore,
    on_progress: Callable[[MiningProgress], None] = _ignore,
) -> MiningResult:
    """Validate each candidate in turn until `max_tasks` are kept; `on_task` gets each kept task as
    soon as it is known. `classify` gives a kept task (its statement in) and its labels a task type."""
    result = MiningResult(tasks=[], skips=[])

    def progress(current: str = "", outcome: str = "") -> None:
        done = len(result.tasks) + len(result.skips)
        state = MiningProgress(
            scanned=done, kept=len(result.tasks), skipped=len(result.skips), current=current, outcome=outcome
        )
        on_progress(state)

    for candidate in candidates:
        label = f"{candidate.sha[:10]} {candidate.subject}"
        progress(current=label)
        verdict = check_candidate(candidate, settings, make_sandbox)
        if verdict.skip is not None:
            skip = Skip(
                commit=candidate.sha,
                subject=candidate.subject,
                reason=verdict.skip,
                cause=verdict.cause,
                detail=verdict.detail,
            )
            result.skips.append(skip)
            progress(current=label, outcome=f"skipped: {SKIP_REASONS[skip.reason]} ({_short(verdict)})")
            continue
        statement = describe(candidate)
        task = base_task(candidate, settings).model_copy(
            update={
                "problem_statement": statement.text,
                "FAIL_TO_PASS": verdict.fail_to_pass,
                "PASS_TO_PASS": verdict.pass_to_pass,
            }
        )
        task = task.model_copy(update={"task_type": classify(task, statement.labels)})
        result.tasks.append(task)
        on_task(task)
        progress(current=label, outcome=f"kept ({len(task.FAIL_TO_PASS)} FAIL_TO_PASS, {task.task_type})")
        if max_tasks is not None and len(result.tasks) >= max_tasks:
            break
    progress()
    return result


def _short(verdict: Verdict) -> str:
    """The cause in a few words, naming the files pytest could not collect."""
    words = CAUSES.get(verdict.cause, verdict.cause)
    return f"{words} in {', '.join(verdict.uncollected[:3])}" if verdict.uncollected else words


def base_task(candidate: Candidate, settings: MineSettings) -> Task:
    """The candidate as a task at its parent, without test lists: what the sandbox factory is given."""
    return Task(
        instance_id=f"{settings.repo.name}__{candidate.sha[:10]}",
        repo=settings.repo.label,
        repo_path=str(settings.repo.path),
        base_commit=candidate.parent,
        problem_statement=candidate.message,
        title=candidate.subject,
        patch=candidate.patch,
        test_patch=candidate.test_patch,
        test_cmd=settings.test_cmd,
        difficulty=difficulty(len(candidate.files), candidate.lines),
        image=settings.image,
        setup=settings.setup,
        source=f"commit {candidate.sha}",
        created_at=candidate.created_at,
    )


def check_candidate(candidate: Candidate, settings: MineSettings, make_sandbox: Callable[[Task], Sandbox]) -> Verdict:
    """One candidate in two sandboxes at its parent; sandbox and environment failures become a skip."""
    if not candidate.test_files:
        return Verdict(
            skip="tests_cannot_run",
            cause="no_test_module",
            detail="the test patch leaves no test module (test_*.py, *_test.py, test.py, its python_files)",
        )
    task = base_task(candidate, settings)
    try:
        with make_sandbox(task) as before, make_sandbox(task) as after:
            return validate(candidate, before, after, settings)
    except AgentError as exc:
        return Verdict(skip="environment_error", cause="sandbox", detail=str(exc))
    except OSError as exc:  # reading or writing a file in the sandbox failed
        return Verdict(skip="environment_error", cause="sandbox", detail=f"sandbox file operation failed: {exc}")


def validate(candidate: Candidate, before: Sandbox, after: Sandbox, settings: MineSettings) -> Verdict:
    """The verdict from two sandboxes at the parent, run side by side: `before` with the test patch,
    `after` with the gold patch too. Stops as soon as no test is left going from failing to passing."""
    for sandbox in (before, after):
        if not apply_patch(sandbox, candidate.test_patch):
            return Verdict(
                skip="does_not_apply",
                cause="test_patch",
                detail="the test patch does not apply at the parent (git apply failed)",
            )
    if not apply_patch(after, candidate.patch):
        return Verdict(
            skip="does_not_apply", cause="patch", detail="the patch does not apply at the parent (git apply failed)"
        )
    command = " ".join([settings.test_cmd, *map(shlex.quote, candidate.test_files)])
    modules = repo_modules(settings.repo.path, candidate.sha)  # the packages the change adds are the repo's own
    runs: tuple[list[TestResults], list[TestResults]] = ([], [])
    uncollected: tuple[set[str], set[str]] = (set(), set())
    verdict = Verdict()
    for _ in range(settings.runs):
        both = _at_once(
            lambda: run_tests(before, command, settings.timeout_s),
            lambda: run_tests(after, command, settings.timeout_s),
        )
        outcomes = (
            _outcome(both[0], modules, settings.timeout_s, before_change=True),
            _outcome(both[1], modules, settings.timeout_s, before_change=False),
        )
        if isinstance(outcomes[1], Problem):
            return _with_the_change(outcomes[1], outcomes[0])
        if isinstance(outcomes[0], Problem) and outcomes[0].reason == "tests_cannot_run":
            return Verdict.of(outcomes[0], SIDES[0])
        for done, run, outcome, files in zip(runs, both, outcomes, uncollected, strict=True):
            done.append(run.tests if isinstance(outcome, Problem) else outcome)  # cannot collect before: none pass
            files.update(run.collection_errors)
        verdict = judge(*runs, settings.p2p_cap)
        if verdict.skip is not None:
            break
    if verdict.skip is not None and (both_sides := sorted(uncollected[0] & uncollected[1])):
        return Verdict(
            skip="environment_error",
            cause="collection_errors",
            detail=f"pytest cannot collect the same test file(s) before and with the change: {', '.join(both_sides)}",
            uncollected=both_sides,
        )
    return verdict


def _with_the_change(problem: Problem, before: Outcome) -> Verdict:
    """The verdict when the run with the change cannot be used, saying when the run before failed alike."""
    verdict = Verdict.of(problem, SIDES[1])
    if isinstance(before, Problem) and before.cause == problem.cause:
        verdict.detail = f"before and with the change: {problem.detail}"
    return verdict


def _outcome(run: TestRun, modules: dict[str, str], timeout: float, before_change: bool) -> Outcome:
    """Each test's status from one run, or why its results cannot be used.

    Before the change a run may report nothing (a conftest importing what the change adds): every
    test counts as not passing then; only a timeout or an OOM kill stops it there, and an
    environment problem is told apart (for the verdict to say both sides failed alike).
    """
    if run.timed_out:
        return Problem(
            reason="tests_cannot_run", cause="timeout", detail=f"the test command timed out after {timeout:g} s"
        )
    if run.exit_code == OOM_EXIT:
        return Problem(
            reason="tests_cannot_run",
            cause="out_of_memory",
            detail="the test command was killed (exit 137, out of memory?): raise sandbox.mem_limit",
        )
    uncollected = sorted(run.collection_errors)
    problem = environment_problem(run, modules)
    if problem is None and uncollected and not run.tests:
        listed = "; ".join(f"{file} ({run.collection_errors[file]})" for file in uncollected[:3])
        problem = f"pytest cannot collect any test file: {listed}"
    if problem is not None:
        return Problem(
            reason="environment_error", cause=_environment_cause(run), detail=problem, uncollected=uncollected
        )
    if before_change:
        return run.tests
    if why := unverifiable(run, [], modules):
        return Problem(reason="tests_cannot_run", cause="pytest_cannot_start", detail=why)
    if not run.tests:
        tail = " | ".join(line for line in run.output_tail.strip().splitlines()[-2:] if line.strip())
        return Problem(
            reason="tests_cannot_run",
            cause="pytest_cannot_start",
            detail=f"pytest wrote no test report (exit {run.exit_code}: {tail})",
        )
    return run.tests


def _environment_cause(run: TestRun) -> str:
    """Which environment problem a run that `environment_problem` refused has (a key of CAUSES)."""
    errors = list(run.collection_errors.values())
    if any(MISSING_MODULE.search(error) for error in errors) or (not errors and MISSING_MODULE.search(run.output_tail)):
        return "module_not_found"
    if errors:
        return "collection_errors"
    return "no_tests_collected" if run.exit_code == PYTEST_NO_TESTS else "pytest_crashed"


def _at_once(first: Callable[[], TestRun], second: Callable[[], TestRun]) -> tuple[TestRun, TestRun]:
    """Both calls at the same time, `second` in a daemon thread: when `first` fails or is interrupted
    this returns at once (closing the sandboxes ends the other run)."""
    found: list[TestRun | Exception] = []

    def run_second() -> None:
        try:
            found.append(second())
        except Exception as exc:  # handed to the caller below
            found.append(exc)

    thread = threading.Thread(target=run_second, name="mine-side", daemon=True)
    thread.start()
    result = first()
    thread.join()
    if isinstance(found[0], Exception):
        raise found[0]
    return result, found[0]


def judge(before: list[TestResults], after: list[TestResults], p2p_cap: int = P2P_CAP) -> Verdict:
    """FAIL_TO_PASS, PASS_TO_PASS and flaky tests from the runs of each side (a missing test does not pass)."""
    names = sorted(set().union(*before, *after))

    def passes(runs: list[TestResults], name: str) -> set[bool]:
        return {run.get(name) == "passed" for run in runs}

    flaky = [name for name in names if len(passes(before, name)) > 1 or len(passes(after, name)) > 1]
    fail_to_pass = [name for name in names if passes(before, name) == {False} and passes(after, name) == {True}]
    pass_to_pass = [name for name in names if passes(before, name) == {True} == passes(after, name)]
    if not fail_to_pass:
        detail = NO_FAIL_TO_PASS
        if flaky:
            detail += f" (flaky, left out: {', '.join(flaky[:3])})"
        return Verdict(skip="no_fail_to_pass", cause="no_fail_to_pass", detail=detail, flaky=flaky)
    return Verdict(fail_to_pass=fail_to_pass, pass_to_pass=pass_to_pass[:p2p_cap], flaky=flaky)
